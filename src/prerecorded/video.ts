import { existsSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { badInput, failed, interrupted } from "../errors.ts";
import { spawnFfmpeg, StderrTail, writeToChild } from "../ffmpeg.ts";
import { x264Args } from "../serve/x264.ts";
import { encodeVideoPayload, MAX_VIDEO_FRAMES } from "../signal/payload.ts";
import type { SizeProfile } from "../signal/profiles.ts";
import { FrameRenderer, planLayout } from "../signal/render.ts";
import { VERSION } from "../version.ts";
import { sidecarPath, type VideoDescription } from "./sidecar.ts";

export interface VideoSpec {
  ffmpeg: string;
  signalId: string;
  size: SizeProfile;
  fps: number;
  durationS: number;
  keyframeIntervalS: number;
  preset: string;
  crf: number;
  output: string;
}

export interface RenderProgress {
  frames: number;
  total: number;
  elapsedMs: number;
}

/** Frames a video of this length holds; refuses lengths the payload cannot number. */
export function videoFrames(durationS: number, fps: number): number {
  const frames = Math.round(durationS * fps);
  if (frames < 1 || frames > MAX_VIDEO_FRAMES) {
    throw badInput(`a ${durationS} s video at ${fps} fps has ${frames} frames: use 1 to ${MAX_VIDEO_FRAMES} frames`);
  }
  return frames;
}

/** ffmpeg arguments: raw gray frames → H.264 with a keyframe every interval, no B-frames (as the live encoder). */
export function videoEncoderArgs(s: VideoSpec, tmpOut: string, format: string | null): string[] {
  return [
    "-hide_banner", "-nostats", "-loglevel", "error", "-y",
    ...x264Args({ width: s.size.width, height: s.size.height, fps: s.fps, keyframeIntervalS: s.keyframeIntervalS, preset: s.preset, crf: s.crf }),
    ...(format === "mp4" ? ["-movflags", "+faststart"] : []),
    ...(format ? ["-f", format] : []),
    tmpOut,
  ];
}

const FORMATS: Record<string, string> = { mp4: "mp4", mov: "mov", mkv: "matroska", ts: "mpegts" };

/**
 * Renders the test signal into a video file and its JSON description. Frame n carries its number and its time from
 * the video's start. Both files appear whole (written aside, then renamed) or not at all.
 */
export async function renderVideo(
  s: VideoSpec,
  onProgress: (p: RenderProgress) => void,
  cancelled: () => string | null,
): Promise<VideoDescription> {
  const ext = /\.([A-Za-z0-9]+)$/.exec(s.output)?.[1]?.toLowerCase() ?? "";
  const format = FORMATS[ext];
  if (!format) {
    throw badInput(`cannot tell the format of '${s.output}': end the name in ${Object.keys(FORMATS).map((e) => `.${e}`).join(", ")}`);
  }
  const total = videoFrames(s.durationS, s.fps);
  const layout = planLayout(s.size, s.signalId, "video");
  const renderer = new FrameRenderer(layout);
  const tmp = `${s.output}.tmp-${process.pid}`;
  const child = spawnFfmpeg(s.ffmpeg, videoEncoderArgs(s, tmp, format));
  const stderr = new StderrTail(child.stderr, 20);
  child.stdout.resume();
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const started = performance.now();
  const frame = new Uint8Array(renderer.frameBytes);
  let lastReport = 0;
  try {
    for (let n = 0; n < total; n++) {
      const stop = cancelled();
      if (stop) throw interrupted(stop, `stopped by ${stop} after ${n} of ${total} frames; nothing written`);
      const text = encodeVideoPayload({ streamId: s.signalId, frameNumber: n, msFromStart: (n * 1000) / s.fps, loopFrames: total });
      renderer.render(n, text, frame);
      if (!(await writeToChild(child, frame))) break;
      const now = performance.now();
      if (now - lastReport >= 250) {
        lastReport = now;
        onProgress({ frames: n + 1, total, elapsedMs: now - started });
      }
    }
    child.stdin.end();
    const code = await exited;
    if (code !== 0) throw failed(`ffmpeg could not write '${s.output}': ${stderr.last || `exit code ${code}`}`);
    onProgress({ frames: total, total, elapsedMs: performance.now() - started });
    const description: VideoDescription = {
      kind: "vat-test-signal",
      vatVersion: VERSION,
      signalId: s.signalId,
      size: s.size.name,
      width: s.size.width,
      height: s.size.height,
      fps: s.fps,
      frames: total,
      durationS: total / s.fps,
      keyframeIntervalS: s.keyframeIntervalS,
      codec: "h264",
      preset: s.preset,
      crf: s.crf,
      payload: `vat1v|${s.signalId}|<frame>|<ms from the video's start>|${total}`,
      layout,
      video: basename(s.output),
      bytes: statSync(tmp).size,
      createdAt: new Date().toISOString(),
    };
    const sidecar = sidecarPath(s.output);
    writeFileSync(`${sidecar}.tmp-${process.pid}`, `${JSON.stringify(description, null, 2)}\n`);
    renameSync(tmp, s.output);
    renameSync(`${sidecar}.tmp-${process.pid}`, sidecar);
    return description;
  } catch (err) {
    child.kill("SIGKILL");
    await exited;
    throw err;
  } finally {
    for (const f of [tmp, `${sidecarPath(s.output)}.tmp-${process.pid}`]) if (existsSync(f)) rmSync(f, { force: true });
  }
}
