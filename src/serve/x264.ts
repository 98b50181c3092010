import { badInput } from "../errors.ts";

const PRESETS = ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"];

/** x264 settings as given, checked: a preset name and a constant rate factor 0-51. Pure. */
export function checkX264(preset: string, crf: number): { preset: string; crf: number } {
  if (!PRESETS.includes(preset)) throw badInput(`unknown x264 preset '${preset}': use one of ${PRESETS.join(", ")}`);
  if (!(crf >= 0 && crf <= 51)) throw badInput(`crf '${crf}' is out of range: use 0 to 51`);
  return { preset, crf };
}

/**
 * One x264 thread for the fast presets: it keeps up with 1080p60 and saves waking a pool of sliced threads for every
 * frame (measured at 1080p30 ultrafast: 0.26 → 0.23 CPU-s per second of video). Slower presets get ffmpeg's default.
 */
export function encoderThreads(preset: string): number {
  return preset === "ultrafast" || preset === "superfast" ? 1 : 0;
}

export interface X264Settings {
  width: number;
  height: number;
  fps: number;
  /** Seconds between keyframes: the HLS segment length the stream is (or can be) cut into. */
  keyframeIntervalS: number;
  preset: string;
  crf: number;
}

/**
 * The one encode vat makes, live or into a file: raw gray frames on stdin → x264, zero latency, a keyframe at every
 * interval and nowhere else (no scene cuts), no B-frames. The caller adds the output. Pure.
 */
export function x264Args(s: X264Settings): string[] {
  const gop = Math.max(1, Math.round(s.fps * s.keyframeIntervalS));
  return [
    "-f", "rawvideo", "-pix_fmt", "gray", "-video_size", `${s.width}x${s.height}`, "-framerate", String(s.fps),
    "-i", "pipe:0",
    "-c:v", "libx264", "-preset", s.preset, "-tune", "zerolatency", "-crf", String(s.crf),
    "-threads", String(encoderThreads(s.preset)),
    "-pix_fmt", "yuv420p", "-g", String(gop), "-keyint_min", String(gop), "-sc_threshold", "0", "-bf", "0",
  ];
}
