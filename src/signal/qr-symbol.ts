/**
 * What every QR symbol shares (ISO/IEC 18004), for the renderer's symbol (signal/qr-data.ts, signal/qr-mask.ts) and
 * the client's grid reader (client/qr-grid.ts): the format words, where their bits go, the eight data masks, and the
 * field its Reed-Solomon codewords are reckoned in. Pure (the masks' tables are worked out once per symbol size, the
 * field's at load).
 */

/** The 32 valid format words (after the standard's XOR mask), indexed by level bits << 3 | mask. */
export const FORMAT_WORDS: readonly number[] = Array.from({ length: 32 }, (_, d) => {
  let rem = d << 10;
  for (let bit = 14; bit >= 10; bit--) if (rem & (1 << bit)) rem ^= 0x537 << (bit - 10);
  return ((d << 10) | rem) ^ 0x5412;
});

/** Format information's two level bits, by level. */
export const LEVEL_BITS = { L: 1, M: 0, Q: 3, H: 2 } as const;

/**
 * Where format bit i goes in a symbol of `size` modules (row · size + column), in both copies: beside the top-left
 * finder, and split between the other two.
 */
export function formatCells(size: number): { nearFinder: number[]; split: number[] } {
  const nearFinder: number[] = [];
  const split: number[] = [];
  for (let i = 0; i < 15; i++) {
    const [ar, ac] = i < 6 ? [i, 8] : i < 8 ? [i + 1, 8] : i === 8 ? [8, 7] : [8, 14 - i];
    const [br, bc] = i < 8 ? [8, size - 1 - i] : [size - 15 + i, 8];
    nearFinder.push(ar * size + ac);
    split.push(br * size + bc);
  }
  return { nearFinder, split };
}

/** Whether data mask `mask` (0–7) flips the module at row i, column j. */
function masked(mask: number, i: number, j: number): boolean {
  switch (mask) {
    case 0: return (i + j) % 2 === 0;
    case 1: return i % 2 === 0;
    case 2: return j % 3 === 0;
    case 3: return (i + j) % 3 === 0;
    case 4: return (Math.floor(i / 2) + Math.floor(j / 3)) % 2 === 0;
    case 5: return ((i * j) % 2) + ((i * j) % 3) === 0;
    case 6: return (((i * j) % 2) + ((i * j) % 3)) % 2 === 0;
    default: return (((i * j) % 3) + ((i + j) % 2)) % 2 === 0;
  }
}

const maskMatrices = new Map<number, Uint8Array>();

/** Data mask `mask` (0–7) over a symbol of `size` modules: 1 where it flips the module (row · size + column). */
export function maskMatrix(mask: number, size: number): Uint8Array {
  const key = size * 8 + mask;
  let flips = maskMatrices.get(key);
  if (!flips) {
    flips = new Uint8Array(size * size);
    for (let r = 0; r < size; r++) for (let c = 0; c < size; c++) flips[r * size + c] = masked(mask, r, c) ? 1 : 0;
    maskMatrices.set(key, flips);
  }
  return flips;
}

/**
 * GF(256) with the QR polynomial x^8 + x^4 + x^3 + x^2 + 1: α^i at GF_EXP[i] (twice over, so a sum of two logs needs
 * no modulo), log_α(x) at GF_LOG[x].
 */
export const GF_EXP = new Uint8Array(512);
export const GF_LOG = new Uint8Array(256);
for (let i = 0, x = 1; i < 255; i++) {
  GF_EXP[i] = x;
  GF_LOG[x] = i;
  x <<= 1;
  if (x & 0x100) x ^= 0x11d;
}
for (let i = 255; i < 512; i++) GF_EXP[i] = GF_EXP[i - 255]!;

/** a · b in GF(256). */
export function gfMul(a: number, b: number): number {
  return a === 0 || b === 0 ? 0 : GF_EXP[GF_LOG[a]! + GF_LOG[b]!]!;
}
