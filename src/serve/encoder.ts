import { badInput } from "../errors.ts";
import { startFfmpeg, StderrTail, writeToChild, type FfmpegChild } from "../ffmpeg.ts";
import { PLAYLIST_NAME } from "./segment-names.ts";
import { x264Args } from "./x264.ts";

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

// Where the x264 settings are checked; `vat generate` reads them from here too.

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
    ...x264Args({ width: s.width, height: s.height, fps: s.fps, keyframeIntervalS: s.segmentS, preset: s.preset, crf: s.crf }),
    ...output,
  ];
}

/** One ffmpeg encoder process. Writes wait for the pipe to drain, so a slow encoder slows the producer. */
export class Encoder {
  readonly stderr: StderrTail;
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  private stopping = false;

  private constructor(
    readonly child: FfmpegChild,
    onLog: (line: string) => void,
  ) {
    this.stderr = new StderrTail(child.stderr, 20, onLog);
    child.stdout.resume();
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => resolve({ code, signal }));
    });
  }

  /** An encoder writing HLS from segment startNumber on, or why ffmpeg could not be started (a value, not a throw). */
  static async start(settings: EncoderSettings, startNumber: number, onLog: (line: string) => void): Promise<{ ok: true; encoder: Encoder } | { ok: false; reason: string }> {
    const started = await startFfmpeg(settings.ffmpeg, hlsEncoderArgs(settings, startNumber));
    return started.ok ? { ok: true, encoder: new Encoder(started.child, onLog) } : started;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null && !this.stopping;
  }

  /** Resolves when ffmpeg has taken the frame; false if it is gone. */
  async write(frame: Uint8Array): Promise<boolean> {
    if (!this.alive) return false;
    return writeToChild(this.child, frame);
  }

  kill(): void {
    this.child.kill("SIGKILL");
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
