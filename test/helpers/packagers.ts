/**
 * ffmpeg commands that write fMP4 HLS and DASH into a folder from a synthetic source of known fps and GOP, and
 * ffprobe's view of what they wrote: ground truth that does not go through vat's own parsers.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { locateFfmpeg } from "../../src/ffmpeg.ts";

export interface SourceOptions {
  fps: number;
  /** Frames per GOP (keyframe interval); with scene-cut detection off, every GOP has exactly this many. */
  gop: number;
  durationS: number;
  width?: number;
  height?: number;
  /** B-frames: make presentation order differ from decode order (composition offsets). */
  bframes?: number;
  /** Add a sine audio track. */
  audio?: boolean;
}

function sourceArgs(o: SourceOptions): string[] {
  const size = `${o.width ?? 320}x${o.height ?? 240}`;
  const args = ["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", `testsrc=size=${size}:rate=${o.fps}:duration=${o.durationS}`];
  if (o.audio) args.push("-f", "lavfi", "-i", `sine=frequency=440:sample_rate=48000:duration=${o.durationS}`);
  args.push(
    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
    "-g", String(o.gop), "-keyint_min", String(o.gop), "-sc_threshold", "0", "-bf", String(o.bframes ?? 0),
  );
  if (o.audio) args.push("-c:a", "aac", "-b:a", "64k");
  return args;
}

function run(args: string[]): void {
  const r = spawnSync(locateFfmpeg(), args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ffmpeg ${args.join(" ")} failed: ${r.stderr}`);
}

/** HLS with fMP4 segments (`-hls_segment_type fmp4`): init.mp4, seg_N.m4s, index.m3u8. */
export function writeFmp4Hls(dir: string, o: SourceOptions & { segmentS: number }): { playlist: string; init: string; segments: string[] } {
  run([
    ...sourceArgs(o),
    "-f", "hls", "-hls_time", String(o.segmentS), "-hls_playlist_type", "vod", "-hls_segment_type", "fmp4",
    "-hls_fmp4_init_filename", "init.mp4", "-hls_segment_filename", join(dir, "seg_%d.m4s"), join(dir, "index.m3u8"),
  ]);
  return { playlist: join(dir, "index.m3u8"), init: join(dir, "init.mp4"), segments: numbered(dir, /^seg_(\d+)\.m4s$/) };
}

/**
 * DASH (`-f dash`): with a SegmentTimeline ($Time$-free, $Number$ names) or, with `timeline: false`, a
 * SegmentTemplate@duration. Writes init-stream0.m4s and chunk-stream0-NNNNN.m4s beside manifest.mpd.
 */
export function writeDash(
  dir: string,
  o: SourceOptions & { segmentS: number; timeline: boolean; extra?: string[] },
): { mpd: string; init: string; segments: string[] } {
  run([
    ...sourceArgs(o),
    "-f", "dash", "-seg_duration", String(o.segmentS), "-use_timeline", o.timeline ? "1" : "0", "-use_template", "1",
    ...(o.extra ?? []), join(dir, "manifest.mpd"),
  ]);
  return { mpd: join(dir, "manifest.mpd"), init: join(dir, "init-stream0.m4s"), segments: numbered(dir, /^chunk-stream0-(\d+)\.m4s$/) };
}

function numbered(dir: string, pattern: RegExp): string[] {
  return readdirSync(dir)
    .map((f) => ({ f, n: Number(pattern.exec(f)?.[1] ?? NaN) }))
    .filter((x) => Number.isFinite(x.n))
    .sort((a, b) => a.n - b.n)
    .map((x) => join(dir, x.f));
}

export interface ProbedPacket {
  /** Times in ms. */
  ptsMs: number;
  dtsMs: number;
  durationMs: number;
  /** Byte offset in the media segment (the init segment's length taken off) and size. */
  pos: number;
  size: number;
  keyframe: boolean;
}

/**
 * ffprobe's video packets of one media segment: the init and the segment are joined into one file (what a player
 * feeds its demuxer), probed, and each position taken back into the segment.
 */
export function probeSegmentPackets(init: string, segment: string, scratch: string): ProbedPacket[] {
  const initBytes = readFileSync(init);
  const joined = join(scratch, "probe-joined.mp4");
  writeFileSync(joined, Buffer.concat([initBytes, readFileSync(segment)]));
  const r = spawnSync(
    "ffprobe",
    ["-v", "error", "-select_streams", "v:0", "-show_packets", "-show_entries", "packet=pts_time,dts_time,duration_time,pos,size,flags", "-of", "json", joined],
    { encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`ffprobe failed: ${r.stderr}`);
  const packets = (JSON.parse(r.stdout) as { packets: Record<string, string>[] }).packets;
  return packets.map((p) => ({
    ptsMs: Number(p.pts_time) * 1000,
    dtsMs: Number(p.dts_time) * 1000,
    durationMs: Number(p.duration_time) * 1000,
    pos: Number(p.pos) - initBytes.length,
    size: Number(p.size),
    keyframe: (p.flags ?? "").includes("K"),
  }));
}

/** Decoded frames of the segment as ffprobe -show_frames counts them. */
export function probeSegmentFrameCount(init: string, segment: string, scratch: string): number {
  const joined = join(scratch, "probe-joined.mp4");
  writeFileSync(joined, Buffer.concat([readFileSync(init), readFileSync(segment)]));
  const r = spawnSync("ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_frames", "-show_entries", "frame=pts", "-of", "csv=p=0", joined], {
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`ffprobe failed: ${r.stderr}`);
  return r.stdout.split("\n").filter((l) => l.trim()).length;
}
