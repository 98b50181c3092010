/**
 * A QR symbol's modules as node-qrcode makes them with the mask it chooses itself, for fewer instructions: node-qrcode
 * scores all eight masks through method calls per module (0.2 ms of a 0.27 ms symbol at vat's sizes). Here the
 * unmasked symbol (qr-data.ts, or node-qrcode's own with mask 0 undone for text that does not take) gets each of the
 * eight masks, scored on flat arrays by node-qrcode's own rules (its N1–N4 penalties, quirks included: runs counted
 * along rows and columns in one pass, format bits in place), the first lowest score winning as in its getBestMask.
 * The result is the same picture, module for module (test/unit/qr-mask.test.ts): prerecorded videos' references are
 * drawn again from it. Pure.
 */
import QRCode from "qrcode";
import { unmaskedModules, type Level, type UnmaskedSymbol } from "./qr-data.ts";
import { FORMAT_WORDS, formatCells, LEVEL_BITS, maskMatrix } from "./qr-symbol.ts";

/** Per symbol size: the format cells of both copies (bit i at i and 15 + i). */
const formatCellsOf = new Map<number, number[]>();

function cellsFor(size: number): number[] {
  let cells = formatCellsOf.get(size);
  if (!cells) {
    const { nearFinder, split } = formatCells(size);
    cells = [...nearFinder, ...split];
    formatCellsOf.set(size, cells);
  }
  return cells;
}

/** Points a run earns as it reaches each length (N1: 3 at its fifth module, 1 for each after, so 3 + (length - 5)). */
const RUN_POINTS = (() => {
  const points = new Int32Array(178).fill(1); // 177 modules a side at most
  points.fill(0, 0, 5);
  points[5] = 3;
  return points;
})();
/** By a 2×2 block's count of dark modules: 1 when all four are alike (N2). */
const ALIKE_BLOCK = Int32Array.of(1, 0, 0, 0, 1);

/**
 * node-qrcode's penalty of a symbol (mask-pattern.js getPenaltyN1..N4, with its weights 3, 3, 40, 10), without a
 * branch on the modules' values: half of them end a run, and a mispredicted branch at each cost twice the arithmetic.
 * Every term adds, so once the points reach atLeast (the best mask's so far) the rest is not counted: the result is
 * then some figure ≥ atLeast, enough to lose, as a tie loses to the first lowest.
 */
export function penalty(m: Uint8Array, size: number, atLeast = Infinity): number {
  // N2 and N4 first (cheaper), then N1 and N3 line by line.
  let blocks = 0;
  for (let r = 0; r < size - 1; r++) {
    const rowStart = r * size;
    for (let c = 0; c < size - 1; c++) {
      const at = rowStart + c;
      blocks += ALIKE_BLOCK[m[at]! + m[at + 1]! + m[at + size]! + m[at + size + 1]!]!;
    }
  }
  let dark = 0;
  for (let k = 0; k < m.length; k++) dark += m[k]!;
  let points = blocks * 3 + Math.abs(Math.ceil((dark * 100) / m.length / 5) - 10) * 10;
  for (let a = 0; a < size && points < atLeast; a++) {
    let runRow = 0;
    let runCol = 0;
    let lastRow = 0; // a first module starts a run of 1 whatever this is, since the run so far is 0
    let lastCol = 0;
    let bitsRow = 0;
    let bitsCol = 0;
    let finderLike = 0;
    const rowStart = a * size;
    for (let b = 0; b < size; b++) {
      const alongRow = m[rowStart + b]!;
      const alongCol = m[b * size + a]!;
      // One longer when alike, else 1: -1 keeps the run, 0 clears it.
      runRow = (runRow & -((alongRow ^ lastRow) ^ 1)) + 1;
      runCol = (runCol & -((alongCol ^ lastCol) ^ 1)) + 1;
      points += RUN_POINTS[runRow]! + RUN_POINTS[runCol]!;
      lastRow = alongRow;
      lastCol = alongCol;
      // N3: the last 11 modules, 1:1:3:1:1 with four light ones before or after.
      bitsRow = ((bitsRow << 1) & 0x7ff) | alongRow;
      bitsCol = ((bitsCol << 1) & 0x7ff) | alongCol;
      if (b >= 10) finderLike += +(bitsRow === 0x5d0) + +(bitsRow === 0x05d) + +(bitsCol === 0x5d0) + +(bitsCol === 0x05d);
    }
    points += finderLike * 40;
  }
  return points;
}

/** The symbol's modules (row-major, 1 = dark), exactly as `QRCode.create(text, { errorCorrectionLevel, version })`. */
export function qrModules(text: string, level: Level, version: number): { size: number; data: Uint8Array } {
  const { size, reserved, modules: plain } = unmaskedModules(text, level, version) ?? unmaskedByNodeQrcode(text, level, version);
  const cells = cellsFor(size);
  let best: Uint8Array | null = null;
  let bestPenalty = Infinity;
  const candidate = new Uint8Array(plain.length);
  for (let p = 0; p < 8; p++) {
    const flips = dataFlips(p, size, reserved);
    for (let k = 0; k < plain.length; k++) candidate[k] = plain[k]! ^ flips[k]!;
    const word = FORMAT_WORDS[(LEVEL_BITS[level] << 3) | p]!;
    for (let i = 0; i < 15; i++) {
      const bit = (word >> i) & 1;
      candidate[cells[i]!] = bit;
      candidate[cells[15 + i]!] = bit;
    }
    const score = penalty(candidate, size, bestPenalty);
    if (score < bestPenalty) {
      bestPenalty = score;
      best = candidate.slice();
    }
  }
  return { size, data: best! };
}

const dataFlipsOf = new Map<number, Uint8Array>();

/** Mask p's flips outside the function patterns (which a symbol's size, its version, fixes). */
function dataFlips(p: number, size: number, reserved: Uint8Array): Uint8Array {
  const key = size * 8 + p;
  let flips = dataFlipsOf.get(key);
  if (!flips) {
    flips = maskMatrix(p, size).map((f, k) => (reserved[k] ? 0 : f));
    dataFlipsOf.set(key, flips);
  }
  return flips;
}

/** The same as unmaskedModules, for any text: node-qrcode's symbol with mask 0, its flips undone. */
function unmaskedByNodeQrcode(text: string, level: Level, version: number): UnmaskedSymbol {
  const made = QRCode.create(text, { errorCorrectionLevel: level, version, maskPattern: 0 });
  const size = made.modules.size;
  const reserved = (made.modules as unknown as { reservedBit: Uint8Array }).reservedBit;
  const modules = made.modules.data.slice();
  const mask0 = maskMatrix(0, size);
  for (let k = 0; k < modules.length; k++) if (!reserved[k]) modules[k]! ^= mask0[k]!;
  return { size, reserved, modules };
}
