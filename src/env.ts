/**
 * Every environment variable vat reads, in one place; but for the allocator's MIMALLOC_PURGE_DELAY, which is the
 * runtime's own and is looked at before anything else runs (src/allocator.ts).
 */
export interface VatEnv {
  /** ffmpeg to run instead of the one on PATH. */
  ffmpeg?: string;
  /** An ffmpeg with libvmaf, for VMAF only (when the main one has none), and the model file a libvmaf 1.x needs. */
  vmafFfmpeg?: string;
  vmafModel?: string;
  /** The variables the Fargate launcher sets for `vat serve`. */
  serve: {
    fps?: string;
    imageSize?: string;
    cpu?: string;
    memory?: string;
    videoType?: string;
    id?: string;
    port?: string;
    /** Ingests to push to, one a line (secrets such as stream keys stay out of the command line). */
    push?: string;
    /** The stream's format: hls, cmaf or dash. */
    format?: string;
  };
}

export function readEnv(env: Record<string, string | undefined> = process.env): VatEnv {
  const get = (k: string) => (env[k] === undefined || env[k] === "" ? undefined : env[k]);
  return {
    ffmpeg: get("VAT_FFMPEG"),
    vmafFfmpeg: get("VAT_VMAF_FFMPEG"),
    vmafModel: get("VAT_VMAF_MODEL"),
    serve: {
      fps: get("FPS"),
      imageSize: get("IMAGE_SIZE"),
      cpu: get("CPU"),
      memory: get("MEMORY"),
      videoType: get("VIDEO_TYPE"),
      id: get("ID"),
      port: get("PORT"),
      push: get("VAT_PUSH"),
      format: get("FORMAT"),
    },
  };
}
