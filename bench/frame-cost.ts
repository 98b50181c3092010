/**
 * The client's own per-frame work on a fixed input, without a stream: reading the code (QrReader on the decoder's
 * code region, as CODE_OUTPUT hands it over) and measuring quality (frameQuality on whole yuv420p frames). Not a
 * test. On a shared machine, count instructions rather than time:
 *
 *   bun bench/frame-cost.ts prepare [--size 1080p] [--frames 300] [--dir /tmp/vat-frame-cost]
 *   valgrind --tool=callgrind --callgrind-out-file=/dev/null bun bench/frame-cost.ts run --what qr|quality|reference|none [--count N]
 *     [--kernel simd|js] [--reader grid|zxing]
 *   bun bench/frame-cost.ts run --what qr-agree
 *
 * "prepare" renders the signal, encodes it as vat serve does (x264 at --crf, 30 unless told) and decodes it twice with
 * vat's own decoder arguments (code region, and whole frames for quality) into raw files. "run" loads them and does
 * the work; `--what none` loads only, so its count is the baseline to subtract. Under valgrind the JIT settles late:
 * give --count 1000 or more (the frames are gone through again) for figures that compare. CPU ms per frame are
 * printed as a rough guide. `--what reference` re-renders each frame's reference as the client does for quality
 * (ReferenceFrames: the frame drawn again from its payload), the other half of `--quality`'s cost. `--kernel` picks quality's block sums: WebAssembly SIMD (the default where the runtime has
 * it) or the JavaScript fallback, to compare the two. `--reader` picks how codes are read: at the module grid once
 * zxing has found the code (the client's way, the default) or by zxing on every frame. `--what qr-agree` reads each
 * prepared frame both ways and counts the frames whose texts agree, differ, or that only one way read.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CODE_OUTPUT, CODE_REGION_PX, decoderArgs, type DecoderOutput } from "../src/client/decoder.ts";
import { frameQuality, type QualityKernel, qualityKernels } from "../src/client/quality.ts";
import { QrReader } from "../src/client/qr-reader.ts";
import { encodePayload } from "../src/signal/payload.ts";
import { parseSize } from "../src/signal/profiles.ts";
import { FrameRenderer, planLayout } from "../src/signal/render.ts";

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : dflt;
};
const dir = opt("dir", "/tmp/vat-frame-cost");
const T0 = 1_795_000_000_000;
/** Whole frames kept for quality (a 1080p yuv420p frame is 3 MB); the run goes through them again and again. */
const WHOLE_FRAMES = 50;

function ffmpeg(argv: string[], input?: Uint8Array): Buffer {
  const r = spawnSync("ffmpeg", argv, { input, maxBuffer: 2 ** 31 });
  if (r.status !== 0) throw new Error(`ffmpeg failed: ${r.stderr}`);
  return r.stdout;
}

function prepare(): void {
  const size = parseSize(opt("size", "1080p"));
  const frames = Number(opt("frames", "300"));
  const { width: w, height: h } = size;
  mkdirSync(dir, { recursive: true });
  const r = new FrameRenderer(planLayout(size, "bench"));
  const gray = new Uint8Array(frames * w * h);
  for (let n = 0; n < frames; n++) gray.set(r.render(n, encodePayload({ streamId: "bench", frameNumber: n, generatedAtMs: T0 + n * 40 })), n * w * h);
  const ts = join(dir, "enc.ts");
  ffmpeg(["-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "gray", "-s", `${w}x${h}`, "-framerate", "25", "-i", "pipe:0",
    "-c:v", "libx264", "-preset", "veryfast", "-crf", opt("crf", "30"), "-pix_fmt", "yuv420p", "-f", "mpegts", ts], gray);
  const decode = (out: DecoderOutput, count: number) => {
    const a = decoderArgs({ kind: "url", url: ts }, out).map((x) => (x === "info" ? "error" : x));
    return ffmpeg([...a.slice(0, -1), "-frames:v", String(count), "pipe:1"]);
  };
  const region = decode(CODE_OUTPUT, frames);
  const full = decode({ pixFmt: "yuv420p", scale: null }, WHOLE_FRAMES);
  // The code region is the code's square scaled to at most CODE_REGION_PX rows.
  const rw = Math.sqrt(region.length / frames);
  const rh = rw;
  if (!Number.isInteger(rw) || rw > CODE_REGION_PX) throw new Error(`the code region is not a square of at most ${CODE_REGION_PX} rows`);
  writeFileSync(join(dir, "ref.gray"), gray.subarray(0, WHOLE_FRAMES * w * h));
  writeFileSync(join(dir, "region.gray"), region);
  writeFileSync(join(dir, "full.yuv"), full);
  writeFileSync(join(dir, "meta.json"), JSON.stringify({ size: size.name, w, h, frames, rw, rh }));
  console.log(`prepared ${frames} frames of ${size.name} in ${dir}`);
}

async function run(): Promise<void> {
  const what = opt("what", "qr");
  const meta = JSON.parse(readFileSync(join(dir, "meta.json"), "utf8")) as { size: string; w: number; h: number; frames: number; rw: number; rh: number };
  const { w, h, rw, rh } = meta;
  // More than were prepared goes through them again: a longer run lets the JIT settle (under valgrind especially).
  const frames = Number(opt("count", String(meta.frames)));
  const region = new Uint8Array(readFileSync(join(dir, "region.gray")));
  const full = new Uint8Array(readFileSync(join(dir, "full.yuv")));
  const ref = new Uint8Array(readFileSync(join(dir, "ref.gray")));
  const readerKind = opt("reader", "grid");
  if (readerKind !== "grid" && readerKind !== "zxing") throw new Error(`--reader: ${readerKind} is not grid or zxing`);
  if (what === "qr-agree") return agree(meta, region);
  const reader = what === "qr" ? await QrReader.create({ grid: readerKind === "grid" }) : null;
  const kernel = opt("kernel", qualityKernels[0]!) as QualityKernel;
  if (!qualityKernels.includes(kernel)) throw new Error(`--kernel: ${kernel} is not one of ${qualityKernels.join(", ")}`);
  const size = parseSize(meta.size);
  const renderer = what === "reference" ? new FrameRenderer(planLayout(size, "bench")) : null;
  const refBuffer = new Uint8Array(w * h);
  const texts = renderer ? Array.from({ length: meta.frames }, (_, n) => encodePayload({ streamId: "bench", frameNumber: n, generatedAtMs: T0 + n * 40 })) : [];
  const c0 = process.cpuUsage();
  let read = 0;
  let psnr = 0;
  let ssim = 0;
  for (let n = 0; n < frames; n++) {
    if (reader) {
      const k = n % meta.frames;
      if (reader.read(region.subarray(k * rw * rh, (k + 1) * rw * rh), rw, rh)) read++;
    } else if (renderer) {
      const k = n % meta.frames;
      renderer.render(k, texts[k]!, refBuffer);
    } else if (what === "quality") {
      const k = n % WHOLE_FRAMES;
      const f = full.subarray(k * w * h * 1.5, (k + 1) * w * h * 1.5);
      const q = frameQuality({ y: f.subarray(0, w * h), u: f.subarray(w * h, w * h * 1.25), v: f.subarray(w * h * 1.25), width: w, height: h }, ref.subarray(k * w * h, (k + 1) * w * h), kernel);
      psnr += q.psnrAll;
      ssim += q.ssimAll;
    }
  }
  const c = process.cpuUsage(c0);
  const ms = (c.user + c.system) / 1000 / frames;
  console.log(JSON.stringify({ what, kernel: what === "quality" ? kernel : undefined, size: meta.size, frames, read, ...(reader ? { readAtGrid: reader.counts.grid, readByZxing: reader.counts.full } : {}), meanPsnrAll: psnr / frames, meanSsimAll: ssim / frames, cpuMsPerFrame: Number(ms.toFixed(3)) }));
}

/** Each prepared frame read at the grid (as the client reads) and by zxing alone: do the texts agree? */
async function agree(meta: { frames: number; rw: number; rh: number }, region: Uint8Array): Promise<void> {
  const { frames, rw, rh } = meta;
  const grid = await QrReader.create();
  const zxing = await QrReader.create({ grid: false });
  const tally = { agree: 0, differ: 0, gridOnly: 0, zxingOnly: 0, neither: 0 };
  for (let k = 0; k < frames; k++) {
    const f = region.subarray(k * rw * rh, (k + 1) * rw * rh);
    const a = grid.read(f, rw, rh)?.text ?? null;
    const b = zxing.read(f, rw, rh)?.text ?? null;
    if (a !== null && b !== null) tally[a === b ? "agree" : "differ"]++;
    else tally[a !== null ? "gridOnly" : b !== null ? "zxingOnly" : "neither"]++;
  }
  console.log(JSON.stringify({ what: "qr-agree", frames, ...tally, readAtGrid: grid.counts.grid }));
}

if (args[0] === "prepare") prepare();
else await run();
