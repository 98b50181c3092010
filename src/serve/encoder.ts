import { badInput } from "../errors.ts";
import { startFfmpeg, StderrTail, writeToChild, type FfmpegChild } from "../ffmpeg.ts";
import { MPD_NAME, PLAYLIST_NAME } from "./segment-names.ts";
import type { Rendition, StreamFormat } from "./stream-format.ts";
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
  /** Ingest URLs (rtmp://, srt://, udp://) that get the same encoded stream as the origin's output. */
  push?: readonly string[];
  format: StreamFormat;
  /** The ladder, largest (the signal size) first; empty without one. */
  renditions: readonly Rendition[];
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

/** ffmpeg's muxer for the origin's files and its options, in order (given as flags, or as tee slave options). */
interface OriginOutput {
  muxer: "hls" | "dash" | "mp4";
  options: [string, string][];
  target: string;
}

/** Where ffmpeg writes the format's files (the names src/serve/segment-names.ts serves). Pure. */
export function originOutput(s: EncoderSettings, startNumber: number): OriginOutput {
  const ladder = s.renditions.length > 1;
  if (s.format === "ll-hls" || s.format === "ll-dash") {
    // Fragmented MP4 on stdout, one fragment per frame (written as the next frame arrives, ~one frame interval after
    // its own): the origin cuts parts and chunks from it in memory (src/serve/ll-stream.ts).
    return { muxer: "mp4", options: [["movflags", "empty_moov+default_base_moof+frag_every_frame+cmaf"]], target: "pipe:1" };
  }
  if (s.format === "dash") {
    return {
      muxer: "dash",
      options: [
        ["seg_duration", String(s.segmentS)],
        ["window_size", String(s.listSize)],
        // One segment more on disk than listed, as with HLS: a player that read the MPD just before it changed still finds it.
        ["extra_window_size", "1"],
        // Segments addressed by number from the MPD's start time (SegmentTemplate@duration), not a timeline: a player
        // knows when the next one is due without waiting for the MPD to be re-read (a timeline made dash.js stall
        // at every segment a segment and a half behind the live edge).
        ["use_timeline", "0"],
        ["init_seg_name", "init_$RepresentationID$.m4s"],
        ["media_seg_name", "seg_$RepresentationID$_$Number$.m4s"],
        // Relative: the origin's own clock under whatever name players reach it by (its public address is not known here).
        ["utc_timing_url", UTC_TIMING_PATH],
        ...(ladder ? ([["adaptation_sets", "id=0,streams=v"]] as [string, string][]) : []),
      ],
      target: `${s.dir}/${MPD_NAME}`,
    };
  }
  const fmp4 = s.format === "cmaf";
  const v = ladder ? "%v_" : "";
  // After a restart the new encoder's timestamps start over: mark it so players reset their decoders.
  const flags = `delete_segments+temp_file+independent_segments+omit_endlist${startNumber > 0 ? "+discont_start" : ""}`;
  return {
    muxer: "hls",
    options: [
      ["hls_time", String(s.segmentS)],
      ["hls_list_size", String(s.listSize)],
      ["hls_flags", flags],
      ["start_number", String(startNumber)],
      ...(fmp4
        ? ([["hls_segment_type", "fmp4"], ["hls_fmp4_init_filename", ladder ? "init_%v.mp4" : "init.mp4"]] as [string, string][])
        : []),
      ["hls_segment_filename", `${s.dir}/seg_${v}%d.${fmp4 ? "m4s" : "ts"}`],
      ...(ladder
        ? ([["master_pl_name", PLAYLIST_NAME], ["var_stream_map", s.renditions.map((_, i) => `v:${i}`).join(" ")]] as [string, string][])
        : []),
    ],
    target: ladder ? `${s.dir}/stream_%v.m3u8` : `${s.dir}/${PLAYLIST_NAME}`,
  };
}

/** The path of the origin's ISO-8601 clock, named in the MPD's UTCTiming. */
export const UTC_TIMING_PATH = "/time/iso";

/**
 * A ladder's video streams: the signal (rendered at the top size) split, the lower renditions scaled from it in this
 * process, each with a VBV cap that the playlist or MPD declares as its bandwidth. Nothing without a ladder. Pure.
 */
function ladderArgs(renditions: readonly Rendition[]): string[] {
  if (renditions.length < 2) return [];
  const n = renditions.length;
  // Every rendition shows the signal's 16:9 picture (426x240 is not exactly 854x480 halved): DASH refuses one
  // adaptation set of differing display aspect ratios. Area averaging keeps the code's module edges.
  const dar = "setdar=16/9";
  const graph = [
    `[0:v]split=${n}${renditions.map((_, i) => `[s${i}]`).join("")}`,
    `[s0]${dar}[v0]`,
    ...renditions.slice(1).map((r, j) => `[s${j + 1}]scale=${r.width}:${r.height}:flags=area,${dar}[v${j + 1}]`),
  ].join(";");
  return [
    "-filter_complex", graph,
    ...renditions.flatMap((_, i) => ["-map", `[v${i}]`]),
    ...renditions.flatMap((r, i) => [`-maxrate:v:${i}`, `${r.maxrateKbps}k`, `-bufsize:v:${i}`, `${r.maxrateKbps * 2}k`]),
  ];
}

/**
 * Text inside the tee muxer's output list, escaped for both levels that read it: the list (split at |) unescapes once,
 * then a slave's options (split at :) once more. Pure.
 */
function teeSlave(options: [string, string][], target: string): string {
  const option = (v: string) => v.replace(/[\\:'\]]/g, (c) => `\\${c}`);
  const slave = `[${options.map(([k, v]) => `${k}=${option(v)}`).join(":")}]${target}`;
  return slave.replace(/[\\|']/g, (c) => `\\${c}`);
}

/**
 * ffmpeg arguments: raw gray frames on stdin → x264 (zero latency, keyframe at every segment start; with a ladder,
 * split and scaled in the same process) → the origin's HLS or DASH files and, with push URLs, the same encoded stream
 * (the top rendition) to each ingest through the tee muxer (one encode; an ingest that fails is dropped without
 * stopping the origin's output, which stays the control).
 */
export function encoderArgs(s: EncoderSettings, startNumber: number): string[] {
  const push = s.push ?? [];
  const out = originOutput(s, startNumber);
  const ladder = s.renditions.length > 1;
  const output = push.length
    ? [
        "-flags", "+global_header", ...(ladder ? [] : ["-map", "0:v"]), "-f", "tee",
        [
          teeSlave([["f", out.muxer], ...out.options], out.target),
          ...push.map((u) => `[f=${pushFormat(u)}${ladder ? ":select=0" : ""}:onfail=ignore]${u}`),
        ].join("|"),
      ]
    : ["-f", out.muxer, ...out.options.flatMap(([k, v]) => [`-${k}`, v]), out.target];
  return [
    "-hide_banner", "-nostats", "-loglevel", "warning",
    ...x264Args({ width: s.width, height: s.height, fps: s.fps, keyframeIntervalS: s.segmentS, preset: s.preset, crf: s.crf }),
    ...ladderArgs(s.renditions),
    ...output,
  ];
}

/** The default output (MPEG-TS HLS, no ladder) for settings that do not name a format: the benchmark's. Pure. */
export function hlsEncoderArgs(s: Omit<EncoderSettings, "format" | "renditions">, startNumber: number): string[] {
  return encoderArgs({ ...s, format: "hls", renditions: [] }, startNumber);
}

/** One ffmpeg encoder process. Writes wait for the pipe to drain, so a slow encoder slows the producer. */
export class Encoder {
  readonly stderr: StderrTail;
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  private stopping = false;

  private constructor(
    readonly child: FfmpegChild,
    onLog: (line: string) => void,
    onOutput?: (chunk: Uint8Array) => void,
  ) {
    this.stderr = new StderrTail(child.stderr, 20, onLog);
    if (onOutput) child.stdout.on("data", (chunk: Buffer) => onOutput(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)));
    else child.stdout.resume();
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => resolve({ code, signal }));
    });
  }

  /**
   * An encoder writing HLS from segment startNumber on, or why ffmpeg could not be started (a value, not a throw).
   * onOutput takes what it writes to stdout (the low-latency formats' fMP4).
   */
  static async start(
    settings: EncoderSettings,
    startNumber: number,
    onLog: (line: string) => void,
    onOutput?: (chunk: Uint8Array) => void,
  ): Promise<{ ok: true; encoder: Encoder } | { ok: false; reason: string }> {
    const started = await startFfmpeg(settings.ffmpeg, encoderArgs(settings, startNumber));
    return started.ok ? { ok: true, encoder: new Encoder(started.child, onLog, onOutput) } : started;
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
