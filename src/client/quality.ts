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

export function mse(a: Uint8Array, b: Uint8Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    s += d * d;
  }
  return s / n;
}

export function psnrFromMse(m: number): number {
  return m <= 0 ? MAX_PSNR : Math.min(MAX_PSNR, 10 * Math.log10((255 * 255) / m));
}

const C1 = Math.trunc(0.01 * 0.01 * 255 * 255 * 64 + 0.5);
const C2 = Math.trunc(0.03 * 0.03 * 255 * 255 * 64 * 63 + 0.5);

/** Sums (a, b, a²+b², ab) of each 4×4 block of one block row. */
function blockRow(a: Uint8Array, b: Uint8Array, stride: number, y0: number, blocks: number, out: Int32Array): void {
  for (let z = 0; z < blocks; z++) {
    let s1 = 0;
    let s2 = 0;
    let ss = 0;
    let s12 = 0;
    for (let y = 0; y < 4; y++) {
      let o = (y0 + y) * stride + z * 4;
      for (let x = 0; x < 4; x++, o++) {
        const p = a[o]!;
        const q = b[o]!;
        s1 += p;
        s2 += q;
        ss += p * p + q * q;
        s12 += p * q;
      }
    }
    out[z * 4] = s1;
    out[z * 4 + 1] = s2;
    out[z * 4 + 2] = ss;
    out[z * 4 + 3] = s12;
  }
}

function ssimWindow(s1: number, s2: number, ss: number, s12: number): number {
  const vars = ss * 64 - s1 * s1 - s2 * s2;
  const covar = s12 * 64 - s1 * s2;
  return ((2 * s1 * s2 + C1) * (2 * covar + C2)) / ((s1 * s1 + s2 * s2 + C1) * (vars + C2));
}

/** SSIM of one plane (width × height, rows `stride` apart). */
export function ssimPlane(a: Uint8Array, b: Uint8Array, width: number, height: number, stride = width): number {
  const bw = width >> 2;
  const bh = height >> 2;
  if (bw < 2 || bh < 2) return 1;
  let prev = new Int32Array(bw * 4);
  let cur = new Int32Array(bw * 4);
  blockRow(a, b, stride, 0, bw, prev);
  let total = 0;
  for (let by = 1; by < bh; by++) {
    blockRow(a, b, stride, by * 4, bw, cur);
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
  return total / ((bh - 1) * (bw - 1));
}

let neutral = new Uint8Array(0);
function neutralChroma(n: number): Uint8Array {
  if (neutral.length < n) neutral = new Uint8Array(n).fill(128);
  return neutral.subarray(0, n);
}

/** The received frame against its reference (same size). The reference is the test signal: gray, neutral chroma. */
export function frameQuality(received: Planes, referenceY: Uint8Array): FrameQuality {
  const { width, height } = received;
  const n = width * height;
  const mseY = mse(received.y, referenceY, n);
  const ssimY = ssimPlane(received.y, referenceY, width, height);
  if (!received.u || !received.v) return { psnrY: psnrFromMse(mseY), psnrAll: psnrFromMse(mseY), ssimY, ssimAll: ssimY };
  const cw = width >> 1;
  const ch = height >> 1;
  const c = neutralChroma(cw * ch);
  const mseU = mse(received.u, c, cw * ch);
  const mseV = mse(received.v, c, cw * ch);
  const ssimU = ssimPlane(received.u, c, cw, ch);
  const ssimV = ssimPlane(received.v, c, cw, ch);
  const wY = n / (n + 2 * cw * ch);
  const wC = (cw * ch) / (n + 2 * cw * ch);
  return {
    psnrY: psnrFromMse(mseY),
    psnrAll: psnrFromMse(wY * mseY + wC * (mseU + mseV)),
    ssimY,
    ssimAll: wY * ssimY + wC * (ssimU + ssimV),
  };
}
