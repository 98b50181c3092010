/**
 * Full-reference quality of one frame against its reference, computed the way ffmpeg's `psnr` and `ssim` filters do
 * (so the figures compare with theirs). Pure: planes in, numbers out.
 *
 * - PSNR per plane = 10·log10(255² / MSE); "all" uses the MSE averaged over the planes weighted by their pixel counts
 *   (4:1:1 for 4:2:0), as ffmpeg's psnr_avg does. An identical plane is capped at 100 dB.
 * - SSIM: sums over 4×4 blocks, combined into overlapping 8×8 windows on a 4-pixel grid, with C1 = (0.01·255)²·64 and
 *   C2 = (0.03·255)²·64·63 on the sums, averaged over the windows; "all" weights the planes by pixel count.
 */
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

/**
 * Sums (a, b, a²+b², ab) of each 4×4 block of one block row; returns the block row's squared error. One pass over the
 * pixels gives both figures: with d = a−b and e = a+b, Σd² is the error, and a²+b² = (e²+d²)/2, ab = (e²−d²)/4 exactly.
 * The planes are read four pixels a word (a block's row is one word; the order of its pixels does not matter to its
 * sums). b null: the reference is NEUTRAL everywhere (chroma), so only a is read.
 */
function blockRow(a: Uint32Array, b: Uint32Array | null, stride4: number, y0: number, blocks: number, out: Int32Array): number {
  let sse = 0;
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
      out[z * 4 + 1] = s2;
      out[z * 4 + 2] = (ee + dd) >> 1;
      out[z * 4 + 3] = (ee - dd) >> 2;
    } else {
      let pp = 0;
      for (let o = first + z; o < end; o += stride4) {
        const wa = a[o]!;
        const p0 = wa & 255, p1 = (wa >>> 8) & 255, p2 = (wa >>> 16) & 255, p3 = wa >>> 24;
        s1 += p0 + p1 + p2 + p3;
        pp += p0 * p0 + p1 * p1 + p2 * p2 + p3 * p3;
      }
      out[z * 4 + 1] = 16 * NEUTRAL;
      out[z * 4 + 2] = pp + 16 * NEUTRAL * NEUTRAL;
      out[z * 4 + 3] = NEUTRAL * s1;
      dd = pp - 2 * NEUTRAL * s1 + 16 * NEUTRAL * NEUTRAL;
    }
    out[z * 4] = s1;
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

/** Squared error over the pixels x0..width of rows y0..y1 (those no 4×4 block covers). */
function sseOf(a: Uint8Array, b: Uint8Array | null, stride: number, x0: number, width: number, y0: number, y1: number): number {
  let s = 0;
  for (let y = y0; y < y1; y++) {
    for (let o = y * stride + x0, end = y * stride + width; o < end; o++) {
      const d = a[o]! - (b ? b[o]! : NEUTRAL);
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

let rows = [new Int32Array(0), new Int32Array(0)];

/** One plane (width × height, rows `stride` apart) against its reference b, or against NEUTRAL when b is null. */
export function comparePlane(a: Uint8Array, b: Uint8Array | null, width: number, height: number, stride = width): PlaneFigures {
  const bw = width >> 2;
  const bh = height >> 2;
  if (bw < 2 || bh < 2) return { sse: sseOf(a, b, stride, 0, width, 0, height), ssim: 1 };
  if (rows[0]!.length < bw * 4) rows = [new Int32Array(bw * 4), new Int32Array(bw * 4)];
  let [prev, cur] = rows as [Int32Array, Int32Array];
  const view = stride % 4 === 0 && a.byteOffset % 4 === 0 && (!b || b.byteOffset % 4 === 0);
  const wa = words(a, width, height, stride, 0, view);
  const wb = b ? words(b, width, height, stride, 1, view).w : null;
  let sse = blockRow(wa.w, wb, wa.stride4, 0, bw, prev);
  let total = 0;
  for (let by = 1; by < bh; by++) {
    sse += blockRow(wa.w, wb, wa.stride4, by * 4, bw, cur);
    for (let x = 0; x < bw - 1; x++) {
      const i = x * 4;
      const j = i + 4;
      total += ssimWindow(
        prev[i]! + prev[j]! + cur[i]! + cur[j]!,
        prev[i + 1]! + prev[j + 1]! + cur[i + 1]! + cur[j + 1]!,
        prev[i + 2]! + prev[j + 2]! + cur[i + 2]! + cur[j + 2]!,
        prev[i + 3]! + prev[j + 3]! + cur[i + 3]! + cur[j + 3]!,
      );
    }
    [prev, cur] = [cur, prev];
  }
  sse += sseOf(a, b, stride, bw * 4, width, 0, bh * 4) + sseOf(a, b, stride, 0, width, bh * 4, height);
  return { sse, ssim: total / ((bh - 1) * (bw - 1)) };
}

/** SSIM of one plane (width × height, rows `stride` apart). */
export function ssimPlane(a: Uint8Array, b: Uint8Array, width: number, height: number, stride = width): number {
  return comparePlane(a, b, width, height, stride).ssim;
}

/** The received frame against its reference (same size). The reference is the test signal: gray, neutral chroma. */
export function frameQuality(received: Planes, referenceY: Uint8Array): FrameQuality {
  const { width, height } = received;
  const n = width * height;
  const y = comparePlane(received.y, referenceY, width, height);
  const mseY = y.sse / n;
  const ssimY = y.ssim;
  if (!received.u || !received.v) return { psnrY: psnrFromMse(mseY), psnrAll: psnrFromMse(mseY), ssimY, ssimAll: ssimY };
  const cw = width >> 1;
  const ch = height >> 1;
  const u = comparePlane(received.u, null, cw, ch);
  const v = comparePlane(received.v, null, cw, ch);
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
