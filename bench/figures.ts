/**
 * The benchmark's arithmetic, with no I/O: process accounting from /proc stat lines, ratios, the rule that says a
 * client has fallen behind, each format's bound beside MPEG-TS HLS, and the rewrite that turns serve's encoder
 * arguments into x264 alone on a looped file.
 */
import { isLowLatency, type StreamFormat } from "../src/serve/stream-format.ts";

/** One line of /proc/<pid>/stat, reduced to what the benchmark needs. Times are in clock ticks, memory in pages. */
export interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime of the process itself (all its threads). */
  ownTicks: number;
  /** cutime + cstime: the children it has waited for (and theirs). */
  reapedChildTicks: number;
  rssPages: number;
}

/** Parses /proc/<pid>/stat; the command name in parentheses may hold spaces and parentheses, so fields count from the last ')'. */
export function parseProcStat(pid: number, text: string): ProcStat {
  const close = text.lastIndexOf(")");
  if (close < 0) throw new Error(`not a /proc stat line: '${text.slice(0, 60)}'`);
  // Field 3 (state) is index 0 here; field n is index n - 3.
  const f = text.slice(close + 2).trim().split(" ");
  const num = (field: number) => {
    const v = Number(f[field - 3]);
    if (!Number.isFinite(v)) throw new Error(`/proc/${pid}/stat has no field ${field}`);
    return v;
  };
  return {
    pid,
    ppid: num(4),
    ownTicks: num(14) + num(15),
    reapedChildTicks: num(16) + num(17),
    rssPages: num(24),
  };
}

/** The root and every live descendant of it among these processes (the root first); empty when the root is gone. */
export function processTree(root: number, stats: readonly ProcStat[]): ProcStat[] {
  const byParent = new Map<number, ProcStat[]>();
  for (const s of stats) byParent.set(s.ppid, [...(byParent.get(s.ppid) ?? []), s]);
  const top = stats.find((s) => s.pid === root);
  if (!top) return [];
  const out = [top];
  for (let i = 0; i < out.length; i++) out.push(...(byParent.get(out[i]!.pid) ?? []));
  return out;
}

/**
 * CPU ticks a process tree has used: each live process's own time plus that of the children it has reaped. A child
 * that ends moves its time from the live sum into its parent's reaped sum, so the total never drops or counts twice.
 */
export function treeTicks(tree: readonly ProcStat[]): number {
  return tree.reduce((sum, s) => sum + s.ownTicks + s.reapedChildTicks, 0);
}

export function treeRssPages(tree: readonly ProcStat[]): number {
  return tree.reduce((sum, s) => sum + s.rssPages, 0);
}

/** a ÷ b, or null when either is missing or b is not positive (a ratio against nothing says nothing). */
export function ratio(a: number | null, b: number | null): number | null {
  if (a === null || b === null || !(b > 0)) return null;
  return a / b;
}

/** Above this p95 pipeline delay a client is taken to be falling behind the streams it reads. */
export const BEHIND_DELAY_P95_MS = 100;

export interface StreamLoad {
  streams: number;
  dropped: number;
  delayP95Ms: number | null;
  /** The client ended before its span did (crashed or gave up). */
  failed: boolean;
}

/** A client has fallen behind when frames were dropped, its p95 pipeline delay passed the bound, or it failed. */
export function fallsBehind(load: StreamLoad): boolean {
  return load.failed || load.dropped > 0 || load.delayP95Ms === null || load.delayP95Ms > BEHIND_DELAY_P95_MS;
}

/** The most streams measured before the first load that fell behind (loads in the order run, fewest streams first). */
export function streamsThatFit(loads: readonly StreamLoad[]): number {
  let fit = 0;
  for (const l of loads) {
    if (fallsBehind(l)) break;
    fit = l.streams;
  }
  return fit;
}

/**
 * Serve's encoder arguments with their stdin input replaced by a raw file read at its frame rate in an endless loop:
 * x264 then does exactly serve's work without serve. Throws when the arguments no longer read raw frames from stdin,
 * so a change in the encoder cannot silently turn this into a different comparison.
 */
export function loopedFileInput(encoderArgs: readonly string[], file: string): string[] {
  const input = encoderArgs.findIndex((a, i) => a === "-i" && encoderArgs[i + 1] === "pipe:0");
  const format = encoderArgs.findIndex((a, i) => a === "-f" && encoderArgs[i + 1] === "rawvideo");
  if (input < 0 || format < 0 || format > input) {
    throw new Error(`serve's encoder no longer reads raw frames from stdin: ${encoderArgs.join(" ")}`);
  }
  return [
    ...encoderArgs.slice(0, format),
    "-re", "-stream_loop", "-1",
    ...encoderArgs.slice(format, input),
    "-i", file,
    ...encoderArgs.slice(input + 2),
  ];
}

export interface ReadFrame {
  run: number;
  kind: string;
  frameNumber: number | null;
}

/**
 * Frames read per second of video, per stream: the new frames read ÷ the video they span, from each run's first to
 * its last frame number read, at the stream's frame rate. Counting by frame numbers, not by the span's wall time or
 * by whole segments, keeps a span from gaining or losing frames at its ends whether a segment's frames arrive at once
 * (HLS, DASH) or one by one (LL-HLS parts, LL-DASH chunks). Null without a frame read.
 */
export function readFps(frames: readonly ReadFrame[], fps: number): number | null {
  const runs = new Map<number, { first: number; last: number; read: number }>();
  for (const f of frames) {
    if (f.kind !== "new" || f.frameNumber === null) continue;
    const r = runs.get(f.run);
    if (!r) runs.set(f.run, { first: f.frameNumber, last: f.frameNumber, read: 1 });
    else {
      r.first = Math.min(r.first, f.frameNumber);
      r.last = Math.max(r.last, f.frameNumber);
      r.read++;
    }
  }
  let read = 0;
  let spanned = 0;
  for (const r of runs.values()) {
    read += r.read;
    spanned += r.last - r.first + 1;
  }
  return spanned ? (read * fps) / spanned : null;
}

/** The bound on what fMP4 HLS and DASH may cost the client beside MPEG-TS HLS at the same size: 10 % more. */
export const FORMAT_COST_MARGIN = 0.1;
/** The bound on what LL-HLS and LL-DASH may cost, client or server, beside MPEG-TS HLS at the same size: 15 % more. */
export const LL_FORMAT_COST_MARGIN = 0.15;

/** The bound a format's cost ratio to MPEG-TS HLS is judged against. */
export function formatCostMargin(format: StreamFormat): number {
  return isLowLatency(format) ? LL_FORMAT_COST_MARGIN : FORMAT_COST_MARGIN;
}

export interface FormatCost {
  size: string;
  format: StreamFormat;
}

/**
 * Each row's cost (cpuOf: the client's, or the server's) divided by that of MPEG-TS HLS (format "hls") at the same
 * size, in the rows' order; null for a row without a figure or a size without an HLS figure.
 */
export function costToHls<T extends FormatCost>(rows: readonly T[], cpuOf: (row: T) => number | null): (number | null)[] {
  return rows.map((r) => {
    const hls = rows.find((h) => h.size === r.size && h.format === "hls");
    return ratio(cpuOf(r), hls ? cpuOf(hls) : null);
  });
}

/** Whether a format's cost ratio to HLS keeps within its bound; null when there is no ratio to judge. */
export function withinFormatMargin(format: StreamFormat, costRatio: number | null): boolean | null {
  return costRatio === null ? null : costRatio <= 1 + formatCostMargin(format);
}
