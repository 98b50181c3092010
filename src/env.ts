/** Every environment variable vat reads, in one place. */
export interface VatEnv {
  /** ffmpeg to run instead of the one on PATH. */
  ffmpeg?: string;
  /** The variables the Fargate launcher sets for `vat serve`. */
  serve: {
    fps?: string;
    imageSize?: string;
    cpu?: string;
    memory?: string;
    videoType?: string;
    id?: string;
    port?: string;
  };
}

export function readEnv(env: Record<string, string | undefined> = process.env): VatEnv {
  const get = (k: string) => (env[k] === undefined || env[k] === "" ? undefined : env[k]);
  return {
    ffmpeg: get("VAT_FFMPEG"),
    serve: {
      fps: get("FPS"),
      imageSize: get("IMAGE_SIZE"),
      cpu: get("CPU"),
      memory: get("MEMORY"),
      videoType: get("VIDEO_TYPE"),
      id: get("ID"),
      port: get("PORT"),
    },
  };
}
