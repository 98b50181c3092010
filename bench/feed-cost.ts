/**
 * What the decoder's filler costs: the same segments fed to vat's decoder (its own arguments, src/client/decoder.ts,
 * code region out) the way the client feeds them, in one run. Not a test. On a shared machine count instructions:
 *
 *   bun bench/feed-cost.ts --dir <a `vat serve --dir` folder of seg_N.ts> [--segments 10] [--valgrind]
 *
 * Inputs, each the whole byte stream the feeder writes for --segments segments (written to a file first, so that the
 * decoder reads it as fast as it can):
 *   mpegts      the segments as they are, each followed by FILLER_FRAMES copies of its head (the MPEG-TS feed, and
 *               how H.264/HEVC segments in MPEG-TS were fed before they went as their elementary stream)
 *   matroska    their video as the feeder writes it: Matroska, a numbered block a frame, each frame's number printed
 *   bare        the elementary stream with a delimiter after each segment, read raw (ffmpeg's parser splits it):
 *               the frames alone, numbered by nothing
 *   null        ffmpeg's own single-threaded decode of the segments, nothing out (`-threads 1 -f null`): the floor
 * Each line gives ffmpeg's instructions (callgrind, with --valgrind) or CPU seconds (user + system), and the share
 * over bare.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CODE_OUTPUT, decoderArgs, type PipeFormat } from "../src/client/decoder.ts";
import { Feeder } from "../src/client/feeder.ts";
import type { MediaUnit } from "../src/client/source.ts";
import { segmentElementaryStream } from "../src/hls/ts-frames.ts";
import { accessUnitDelimiter } from "../src/mp4/annexb.ts";
import { concat } from "../src/mp4/fragment-splitter.ts";

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : dflt;
};
const dir = opt("dir", "");
if (!dir) throw new Error("--dir: a folder of seg_N.ts segments (vat serve --dir)");
const count = Number(opt("segments", "10"));
const valgrind = args.includes("--valgrind");

const files = readdirSync(dir)
  .filter((f) => /^seg_\d+\.ts$/.test(f))
  .sort((a, b) => parseInt(a.slice(4)) - parseInt(b.slice(4)))
  .slice(0, count);
const segments = files.map((f) => new Uint8Array(readFileSync(join(dir, f))));
const unit = (bytes: Uint8Array, frames: number, firstFrameEnd: number, sequence: number, frameEnds?: number[]): MediaUnit => ({
  sequence, arrivedAtMs: 0, bytes, deliveredBytes: bytes.length, frames, firstFrameEnd, discontinuity: false, discontinuitySequence: 0,
  programDateTimeMs: null, ptsOffsetsMs: [], durationS: 1, ...(frameEnds ? { frameEnds } : {}),
});

const ts = segments.map((s, i) => {
  const { scan, es } = segmentElementaryStream(s);
  if (!es) throw new Error(`${files[i]}: no H.264/HEVC video`);
  return { scan, es };
});
const format = ts[0]!.es!.format;
const fed = (feeder: Feeder, units: MediaUnit[], as: PipeFormat) => concat(units.flatMap((u) => feeder.feed(u, as)));
const inputs: { name: string; format: PipeFormat; raw?: boolean; bytes: Uint8Array }[] = [
  { name: "mpegts", format: "mpegts", bytes: fed(new Feeder(), segments.map((s, i) => unit(s, ts[i]!.scan.frames, ts[i]!.scan.firstFrameEnd, i)), "mpegts") },
  { name: "matroska", format, bytes: fed(new Feeder(), ts.map(({ es }, i) => unit(es!.bytes, es!.frames, es!.firstFrameEnd, i, es!.frameEnds)), format) },
  { name: "bare", format, raw: true, bytes: concat(ts.flatMap(({ es }) => [es!.bytes, accessUnitDelimiter(format)])) },
];

const work = mkdtempSync(join(tmpdir(), "vat-feed-cost-"));
function measure(argv: string[]): number {
  const wrapped = valgrind
    ? ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", "ffmpeg", ...argv]
    : ["/usr/bin/time", "-f", "cpu %U %S", "ffmpeg", ...argv];
  const r = spawnSync(wrapped[0]!, wrapped.slice(1), { stdio: ["ignore", "ignore", "pipe"], maxBuffer: 1 << 26 });
  const err = r.stderr.toString();
  if (r.status !== 0) throw new Error(`ffmpeg failed: ${err.slice(-500)}`);
  if (valgrind) return Number(/Collected : (\d+)/.exec(err)![1]);
  const m = /cpu ([\d.]+) ([\d.]+)/.exec(err)!;
  return Number(m[1]) + Number(m[2]);
}

try {
  const results: [string, number][] = [];
  for (const input of inputs) {
    const file = join(work, `${input.name}.${input.format}`);
    writeFileSync(file, input.bytes);
    // The feeder's input as the client's decoder reads it; the bare stream by ffmpeg's raw reader, output the same.
    const a = decoderArgs(input.raw ? { kind: "url", url: file } : { kind: "pipe", format: input.format }, CODE_OUTPUT).map((x) => (x === "info" ? "error" : x));
    if (input.raw) a.splice(a.indexOf("-i"), 0, "-f", input.format);
    else a[a.indexOf("pipe:0")] = file;
    results.push([input.name, measure([...a.slice(0, -1), "-y", "/dev/null"])]);
  }
  const whole = join(work, "whole.ts");
  writeFileSync(whole, concat(segments));
  results.push(["null", measure(["-v", "error", "-threads", "1", "-i", whole, "-map", "0:v:0", "-f", "null", "-"])]);
  const bare = results.find(([n]) => n === "bare")![1];
  const frames = ts.reduce((n, { scan }) => n + scan.frames, 0);
  console.log(`${files.length} segments of ${dir} (${format}), ${frames} frames; ${valgrind ? "instructions" : "CPU s"}`);
  for (const [name, v] of results) {
    console.log(`${name.padEnd(11)} ${(valgrind ? (v / 1e6).toFixed(0) + " M" : v.toFixed(3) + " s").padStart(10)}  ${(v / bare).toFixed(3)} × bare`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
