import { badInput } from "../errors.ts";
import { spawnFfmpeg, StderrTail, writeToChild, type FfmpegChild } from "../ffmpeg.ts";

export interface EncoderSettings {
  ffmpeg: string;
  width: number;
  height: number;
  fps: number;
  segmentS: number;
  /** Segments listed in the playlist; ffmpeg keeps one more on disk and deletes the rest. */
  listSize: number;
  preset: string;
  crf: number;
  dir: string;
  /** Ingest URLs (rtmp://, srt://, udp://) that get the same encoded stream as the HLS output. */
  push?: readonly string[];
}

export const PLAYLIST_NAME = "stream.m3u8";

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

const PUSH_FORMATS: Record<string, string> = { rtmp: "flv", rtmps: "flv", srt: "mpegts", udp: "mpegts", rist: "mpegts" };

/** The muxer an ingest URL takes, or an error naming the schemes that work. Pure. */
export function pushFormat(url: string): string {
  const scheme = /^([a-z]+):\/\//i.exec(url)?.[1]?.toLowerCase();
  const format = scheme ? PUSH_FORMATS[scheme] : undefined;
  if (!format) {
    throw badInput(`cannot push to '${url}': use an ${Object.keys(PUSH_FORMATS).map((k) => `${k}://`).join(", ")} URL`);
  }
  if (/[|[\]]/.test(url)) throw badInput(`cannot push to '${url}': the characters | [ ] are not allowed in it`);
  return format;
}

/**
 * ffmpeg arguments: raw gray frames on stdin → x264 (zero latency, keyframe at every segment start) → HLS files and,
 * with push URLs, the same encoded stream to each ingest through the tee muxer (one encode; an ingest that fails is
 * dropped without stopping the HLS output, which stays the control).
 */
export function hlsEncoderArgs(s: EncoderSettings, startNumber: number): string[] {
  const gop = Math.max(1, Math.round(s.fps * s.segmentS));
  const flags = `delete_segments+temp_file+independent_segments+omit_endlist${startNumber > 0 ? "+discont_start" : ""}`;
  const push = s.push ?? [];
  const output = push.length
    ? [
        "-flags", "+global_header", "-map", "0:v", "-f", "tee",
        [
          `[f=hls:hls_time=${s.segmentS}:hls_list_size=${s.listSize}:hls_flags=${flags}:start_number=${startNumber}:` +
            `hls_segment_filename=${s.dir}/seg_%d.ts]${s.dir}/${PLAYLIST_NAME}`,
          ...push.map((u) => `[f=${pushFormat(u)}:onfail=ignore]${u}`),
        ].join("|"),
      ]
    : [
        "-f", "hls", "-hls_time", String(s.segmentS), "-hls_list_size", String(s.listSize),
        // After a restart the new encoder's timestamps start over: mark it so players reset their decoders.
        "-hls_flags", flags,
        "-start_number", String(startNumber),
        "-hls_segment_filename", `${s.dir}/seg_%d.ts`,
        `${s.dir}/${PLAYLIST_NAME}`,
      ];
  return [
    "-hide_banner", "-nostats", "-loglevel", "warning",
    "-f", "rawvideo", "-pix_fmt", "gray", "-video_size", `${s.width}x${s.height}`, "-framerate", String(s.fps),
    "-i", "pipe:0",
    "-c:v", "libx264", "-preset", s.preset, "-tune", "zerolatency", "-crf", String(s.crf),
    "-threads", String(encoderThreads(s.preset)),
    "-pix_fmt", "yuv420p", "-g", String(gop), "-keyint_min", String(gop), "-sc_threshold", "0", "-bf", "0",
    ...output,
  ];
}

/** One ffmpeg encoder process. Writes wait for the pipe to drain, so a slow encoder slows the producer. */
export class Encoder {
  readonly child: FfmpegChild;
  readonly stderr: StderrTail;
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  private stopping = false;

  constructor(settings: EncoderSettings, startNumber: number, onLog: (line: string) => void) {
    this.child = spawnFfmpeg(settings.ffmpeg, hlsEncoderArgs(settings, startNumber));
    this.stderr = new StderrTail(this.child.stderr, 20, onLog);
    this.child.stdout.resume();
    this.exited = new Promise((resolve) => {
      this.child.once("exit", (code, signal) => resolve({ code, signal }));
    });
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null && !this.stopping;
  }

  /** Resolves when ffmpeg has taken the frame; false if it is gone. */
  async write(frame: Uint8Array): Promise<boolean> {
    if (!this.alive) return false;
    return writeToChild(this.child, frame);
  }

  /** Closes stdin so ffmpeg finishes its segment, and kills it if it takes longer than graceMs. */
  async stop(graceMs = 1000): Promise<void> {
    this.stopping = true;
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
