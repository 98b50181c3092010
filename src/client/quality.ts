/**
 * Full-reference quality of one frame against its reference, computed the way ffmpeg's `psnr` and `ssim` filters do
 * (so the figures compare with theirs). No I/O but loading its WebAssembly kernel once; planes in, numbers out, with
 * the kernel's memory shared by every caller in the process (referencePlane lends room in it).
 *
 * - PSNR per plane = 10·log10(255² / MSE); "all" uses the MSE averaged over the planes weighted by their pixel counts
 *   (4:1:1 for 4:2:0), as ffmpeg's psnr_avg does. An identical plane is capped at 100 dB.
 * - SSIM: sums over 4×4 blocks, combined into overlapping 8×8 windows on a 4-pixel grid, with C1 = (0.01·255)²·64 and
 *   C2 = (0.03·255)²·64·63 on the sums, averaged over the windows; "all" weights the planes by pixel count.
 *
 * The integer sums (per-plane squared error; SSIM's 4×4 block sums) and SSIM's windows run in WebAssembly SIMD where
 * the runtime has it, in JavaScript otherwise: the sums are exact integers and the windows the same double operations
 * in the same order, so both give the same figures bit for bit.
 */
import { readFileSync } from "node:fs";
import { CHROMA_MAP, LUMA_MAP, mapPlane, Q15_IDENTITY, type FullRangeMap } from "./full-range.ts";
import wasmPath from "./quality.wasm" with { type: "file" };

export interface FrameQuality {
  psnrY: number;
  psnrAll: number;
  ssimY: number;
  ssimAll: number;
}

export interface Planes {
  y: Uint8Array;
  /** Chroma at half size both ways (4:2:0); absent for a gray frame, where the reference's neutral chroma is assumed. */
  u?: Uint8Array;
  v?: Uint8Array;
  width: number;
  height: number;
  /**
   * The planes are limited range as decoded (16–235): each value is first mapped to full range as ffmpeg's
   * `scale=out_range=full` would (src/client/full-range.ts), since the reference is drawn in full range.
   */
  limitedRange?: boolean;
}

const MAX_PSNR = 100;

export function psnrFromMse(m: number): number {
  return m <= 0 ? MAX_PSNR : Math.min(MAX_PSNR, 10 * Math.log10((255 * 255) / m));
}

const C1 = Math.trunc(0.01 * 0.01 * 255 * 255 * 64 + 0.5);
const C2 = Math.trunc(0.03 * 0.03 * 255 * 255 * 64 * 63 + 0.5);

/** The reference's chroma: the test signal is gray. */
const NEUTRAL = 128;

/** One plane against its reference: the squared error summed over every pixel, and the mean SSIM. */
export interface PlaneFigures {
  sse: number;
  ssim: number;
}

/** Block sums are kept planar (all s1, then all s2, a²+b², ab), each run padded to a multiple of 4 (one SIMD group). */
function blocksPadded(blocks: number): number {
  return (blocks + 3) & ~3;
}

/**
 * Sums (a, b, a²+b², ab) of each 4×4 block of one block row; returns the block row's squared error. One pass over the
 * pixels gives both figures: with d = a−b and e = a+b, Σd² is the error, and a²+b² = (e²+d²)/2, ab = (e²−d²)/4 exactly.
 * The planes are read four pixels a word (a block's row is one word; the order of its pixels does not matter to its
 * sums). b null: the reference is NEUTRAL everywhere (chroma), so only a is read.
 */
function blockRow(a: Uint32Array, b: Uint32Array | null, stride4: number, y0: number, blocks: number, out: Int32Array): number {
  let sse = 0;
  const plane = blocksPadded(blocks);
  const first = y0 * stride4;
  const end = first + 4 * stride4;
  for (let z = 0; z < blocks; z++) {
    let s1 = 0;
    let s2 = 0;
    let dd = 0;
    let ee = 0;
    if (b) {
      for (let o = first + z; o < end; o += stride4) {
        const wa = a[o]!;
        const wb = b[o]!;
        const p0 = wa & 255, p1 = (wa >>> 8) & 255, p2 = (wa >>> 16) & 255, p3 = wa >>> 24;
        const q0 = wb & 255, q1 = (wb >>> 8) & 255, q2 = (wb >>> 16) & 255, q3 = wb >>> 24;
        s1 += p0 + p1 + p2 + p3;
        s2 += q0 + q1 + q2 + q3;
        const d0 = p0 - q0, d1 = p1 - q1, d2 = p2 - q2, d3 = p3 - q3;
        const e0 = p0 + q0, e1 = p1 + q1, e2 = p2 + q2, e3 = p3 + q3;
        dd += d0 * d0 + d1 * d1 + d2 * d2 + d3 * d3;
        ee += e0 * e0 + e1 * e1 + e2 * e2 + e3 * e3;
      }
      out[plane + z] = s2;
      out[2 * plane + z] = (ee + dd) >> 1;
      out[3 * plane + z] = (ee - dd) >> 2;
    } else {
      let pp = 0;
      for (let o = first + z; o < end; o += stride4) {
        const wa = a[o]!;
        const p0 = wa & 255, p1 = (wa >>> 8) & 255, p2 = (wa >>> 16) & 255, p3 = wa >>> 24;
        s1 += p0 + p1 + p2 + p3;
        pp += p0 * p0 + p1 * p1 + p2 * p2 + p3 * p3;
      }
      out[plane + z] = 16 * NEUTRAL;
      out[2 * plane + z] = pp + 16 * NEUTRAL * NEUTRAL;
      out[3 * plane + z] = NEUTRAL * s1;
      dd = pp - 2 * NEUTRAL * s1 + 16 * NEUTRAL * NEUTRAL;
    }
    out[z] = s1;
    sse += dd;
  }
  return sse;
}

const scratch = [new Uint8Array(0), new Uint8Array(0)];

/**
 * The plane as 32-bit words, rows stride4 words apart: a view when both planes are aligned so (view), otherwise its
 * rows copied into scratch slot k at a stride rounded up to 4 bytes (480p is 854 pixels wide).
 */
function words(p: Uint8Array, width: number, height: number, stride: number, k: number, view: boolean): { w: Uint32Array; stride4: number } {
  if (view) return { w: new Uint32Array(p.buffer, p.byteOffset, p.byteLength >> 2), stride4: stride >> 2 };
  const padded = (width + 3) & ~3;
  if (scratch[k]!.length < padded * height) scratch[k] = new Uint8Array(padded * height);
  const s = scratch[k]!;
  for (let y = 0; y < height; y++) s.set(p.subarray(y * stride, y * stride + width), y * padded);
  return { w: new Uint32Array(s.buffer, 0, (padded * height) / 4), stride4: padded / 4 };
}

/** Squared error over the pixels x0..width of rows y0..y1 (those no 4×4 block covers); a's values through map if given. */
function sseOf(a: Uint8Array, b: Uint8Array | null, stride: number, x0: number, width: number, y0: number, y1: number, map: FullRangeMap | null = null): number {
  const t = map?.table;
  let s = 0;
  for (let y = y0; y < y1; y++) {
    for (let o = y * stride + x0, end = y * stride + width; o < end; o++) {
      const d = (t ? t[a[o]!]! : a[o]!) - (b ? b[o]! : NEUTRAL);
      s += d * d;
    }
  }
  return s;
}

function ssimWindow(s1: number, s2: number, ss: number, s12: number): number {
  const vars = ss * 64 - s1 * s1 - s2 * s2;
  const covar = s12 * 64 - s1 * s2;
  return ((2 * s1 * s2 + C1) * (2 * covar + C2)) / ((s1 * s1 + s2 * s2 + C1) * (vars + C2));
}

/**
 * Where the 4×4 block sums come from: `row(by)` sums block row by (kept until row by+1 has been summed) and returns
 * its squared error; `windows(by, total)` adds to total, one after the other, the SSIM of the windows over block rows
 * by−1 and by.
 */
interface BlockRows {
  row(by: number): number;
  windows(by: number, total: number): number;
}

/** Which code computes the block sums and the windows: WebAssembly SIMD (src/client/quality.wat) or plain JavaScript. */
export type QualityKernel = "simd" | "js";

let jsSlots: [Int32Array, Int32Array] = [new Int32Array(0), new Int32Array(0)];

function jsBlockRows(a: Uint8Array, b: Uint8Array | null, width: number, height: number, stride: number): BlockRows {
  const bw = width >> 2;
  if (jsSlots[0].length < blocksPadded(bw) * 4) jsSlots = [new Int32Array(blocksPadded(bw) * 4), new Int32Array(blocksPadded(bw) * 4)];
  const slots = jsSlots;
  const view = stride % 4 === 0 && a.byteOffset % 4 === 0 && (!b || b.byteOffset % 4 === 0);
  const wa = words(a, width, height, stride, 0, view);
  const wb = b ? words(b, width, height, stride, 1, view).w : null;
  const p = blocksPadded(bw);
  return {
    row: (by) => blockRow(wa.w, wb, wa.stride4, by * 4, bw, slots[by & 1]!),
    windows(by, total) {
      const prev = slots[(by - 1) & 1]!;
      const cur = slots[by & 1]!;
      for (let i = 0; i < bw - 1; i++) {
        const j = i + 1;
        total += ssimWindow(
          prev[i]! + prev[j]! + cur[i]! + cur[j]!,
          prev[p + i]! + prev[p + j]! + cur[p + i]! + cur[p + j]!,
          prev[2 * p + i]! + prev[2 * p + j]! + cur[2 * p + i]! + cur[2 * p + j]!,
          prev[3 * p + i]! + prev[3 * p + j]! + cur[3 * p + i]! + cur[3 * p + j]!,
        );
      }
      return total;
    },
  };
}

interface SimdExports {
  memory: WebAssembly.Memory;
  block_row(a: number, b: number, stride: number, bstride: number, blocks: number, out: number, mul: number, add: number, shift: number): number;
  windows(prev: number, cur: number, blocks: number, total: number, c1: number, c2: number): number;
}

/** The SIMD kernel, or null where this runtime's WebAssembly has no SIMD (the module then fails to compile). */
const simd: SimdExports | null = (() => {
  try {
    return new WebAssembly.Instance(new WebAssembly.Module(readFileSync(wasmPath))).exports as unknown as SimdExports;
  } catch (e) {
    if (e instanceof WebAssembly.CompileError) return null;
    throw e;
  }
})();

/** The kernels this runtime has, the fastest first. */
export const qualityKernels: readonly QualityKernel[] = simd ? ["simd", "js"] : ["js"];

/** The kernel's loads run up to 12 bytes past a plane's last block or a sums slot's end; regions start 16-byte aligned. */
const SLACK = 16;
const align16 = (n: number) => (n + 15) & ~15;

/**
 * Where a plane of width × height lies in the module's memory: the plane compared at 0, its reference (or, for a
 * reference that is NEUTRAL everywhere, one row of it read with a stride of 0) at ref, the two block rows' sums at
 * sums. A frame's chroma planes (a quarter of its luma's size) lie below its luma's ref in frames of 32 × 32 pixels
 * and more (every signal size), so comparing them leaves the luma's reference as it was (ReferenceFrames.lastReference
 * reads it afterwards).
 */
function heapLayout(width: number, height: number): { ref: number; sums: number; slotBytes: number; end: number } {
  const n = width * height;
  const ref = align16(n + SLACK);
  const sums = align16(ref + n + SLACK);
  const slotBytes = blocksPadded(width >> 2) * 16;
  return { ref, sums, slotBytes, end: sums + 2 * slotBytes + SLACK };
}

function heapFor(k: SimdExports, end: number): Uint8Array {
  const have = k.memory.buffer.byteLength;
  if (have < end) k.memory.grow(Math.ceil((end - have) / 65536));
  return new Uint8Array(k.memory.buffer);
}

/**
 * Room for a width × height reference inside the SIMD kernel's memory: a reference drawn here is compared where it
 * lies, without a copy (comparePlane with it as b, rows `width` apart). Its bytes last until the next comparison of
 * a plane of this size or larger with another reference, and the view until the memory grows for a larger size (it
 * is then empty, and comparePlane refuses it); null where there is no SIMD kernel.
 */
export function referencePlane(width: number, height: number): Uint8Array | null {
  if (!simd) return null;
  const l = heapLayout(width, height);
  return new Uint8Array(heapFor(simd, l.end).buffer, l.ref, width * height);
}

/**
 * a copied into the module's memory, then b unless it already lies there (referencePlane), or one row of NEUTRAL for
 * a null b; a's values go through `map` as the kernel reads them.
 */
function simdBlockRows(k: SimdExports, a: Uint8Array, b: Uint8Array | null, width: number, height: number, stride: number, map: FullRangeMap | null): BlockRows {
  const bw = width >> 2;
  const n = width * height;
  const l = heapLayout(width, height);
  const heap = heapFor(k, l.end);
  const copy = (p: Uint8Array, at: number) => {
    if (stride === width) heap.set(p.subarray(0, n), at);
    else for (let y = 0; y < height; y++) heap.set(p.subarray(y * stride, y * stride + width), at + y * width);
  };
  copy(a, 0);
  let bstride = width;
  if (!b) {
    heap.fill(NEUTRAL, l.ref, l.ref + width + SLACK);
    bstride = 0;
  } else if (!(b.buffer === heap.buffer && b.byteOffset === l.ref && stride === width)) copy(b, l.ref);
  const step = map?.q15 ?? Q15_IDENTITY;
  const rowBytes = 4 * width;
  const slot = (by: number) => (by & 1 ? l.sums + l.slotBytes : l.sums);
  return {
    row: (by) => k.block_row(by * rowBytes, l.ref + by * 4 * bstride, width, bstride, bw, slot(by), step.mul, step.add, step.shift),
    windows: (by, total) => k.windows(slot(by - 1), slot(by), bw, total, C1, C2),
  };
}

let jsMapped = new Uint8Array(0);

/**
 * One plane (width × height, rows `stride` apart) against its reference b, or against NEUTRAL when b is null; a's
 * values are first mapped through `map` when given (limited to full range). Every kernel gives the same figures bit
 * for bit (the sums are integers; the end step is this one).
 */
export function comparePlane(
  a: Uint8Array,
  b: Uint8Array | null,
  width: number,
  height: number,
  stride = width,
  kernel: QualityKernel = qualityKernels[0]!,
  map: FullRangeMap | null = null,
): PlaneFigures {
  const least = (height - 1) * stride + width;
  if (a.length < least || (b && b.length < least)) throw new RangeError(`a ${width}x${height} plane (stride ${stride}) needs ${least} bytes: got ${a.length} and ${b?.length ?? "none"}`);
  const bw = width >> 2;
  const bh = height >> 2;
  if (bw < 2 || bh < 2) return { sse: sseOf(a, b, stride, 0, width, 0, height, map), ssim: 1 };
  const useSimd = kernel === "simd" && simd !== null;
  if (map && !useSimd) {
    if (jsMapped.length < a.length) jsMapped = new Uint8Array(a.length);
    const mapped = jsMapped.subarray(0, a.length);
    mapPlane(a, mapped, map.table);
    return comparePlane(mapped, b, width, height, stride, kernel);
  }
  const sums = useSimd ? simdBlockRows(simd!, a, b, width, height, stride, map) : jsBlockRows(a, b, width, height, stride);
  let sse = sums.row(0);
  let total = 0;
  for (let by = 1; by < bh; by++) {
    sse += sums.row(by);
    total = sums.windows(by, total);
  }
  sse += sseOf(a, b, stride, bw * 4, width, 0, bh * 4, map) + sseOf(a, b, stride, 0, width, bh * 4, height, map);
  return { sse, ssim: total / ((bh - 1) * (bw - 1)) };
}

/** SSIM of one plane (width × height, rows `stride` apart). */
export function ssimPlane(a: Uint8Array, b: Uint8Array, width: number, height: number, stride = width, kernel?: QualityKernel): number {
  return comparePlane(a, b, width, height, stride, kernel).ssim;
}

/**
 * A chroma plane that is NEUTRAL at every pixel once mapped (an encode of a gray picture keeps its chroma flat):
 * what comparePlane would give against the neutral reference, exactly (no error; every SSIM window of two equal
 * constant blocks is 1, so is their mean), found by one read of the plane instead of its block sums and windows.
 * Null when any pixel differs.
 */
function neutralPlane(p: Uint8Array, n: number, map: FullRangeMap | null): PlaneFigures | null {
  const raw = map ? map.table.indexOf(NEUTRAL) : NEUTRAL;
  if (raw < 0 || (map && map.table.lastIndexOf(NEUTRAL) !== raw) || p.length < n) return null;
  const word = raw * 0x01010101;
  let i = 0;
  if (p.byteOffset % 4 === 0) {
    const words = new Uint32Array(p.buffer, p.byteOffset, n >> 2);
    for (; i < words.length; i++) if (words[i] !== word) return null;
    i <<= 2;
  }
  for (; i < n; i++) if (p[i] !== raw) return null;
  return { sse: 0, ssim: 1 };
}

/** The received frame against its reference (same size). The reference is the test signal: gray, neutral chroma. */
export function frameQuality(received: Planes, referenceY: Uint8Array, kernel?: QualityKernel): FrameQuality {
  const { width, height } = received;
  const n = width * height;
  const limited = received.limitedRange === true;
  const y = comparePlane(received.y, referenceY, width, height, width, kernel, limited ? LUMA_MAP : null);
  const mseY = y.sse / n;
  const ssimY = y.ssim;
  if (!received.u || !received.v) return { psnrY: psnrFromMse(mseY), psnrAll: psnrFromMse(mseY), ssimY, ssimAll: ssimY };
  const cw = width >> 1;
  const ch = height >> 1;
  const chroma = (p: Uint8Array) => neutralPlane(p, cw * ch, limited ? CHROMA_MAP : null) ?? comparePlane(p, null, cw, ch, cw, kernel, limited ? CHROMA_MAP : null);
  const u = chroma(received.u);
  const v = chroma(received.v);
  const mseU = u.sse / (cw * ch);
  const mseV = v.sse / (cw * ch);
  const wY = n / (n + 2 * cw * ch);
  const wC = (cw * ch) / (n + 2 * cw * ch);
  return {
    psnrY: psnrFromMse(mseY),
    psnrAll: psnrFromMse(wY * mseY + wC * (mseU + mseV)),
    ssimY,
    ssimAll: wY * ssimY + wC * (u.ssim + v.ssim),
  };
}
