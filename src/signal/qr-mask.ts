/**
 * A QR symbol's modules as node-qrcode makes them with the mask it chooses itself, for fewer instructions: node-qrcode
 * scores all eight masks through method calls per module (0.2 ms of a 0.27 ms symbol at vat's sizes). Here the
 * symbol is made once with mask 0, and the eight candidates are scored on flat arrays by node-qrcode's own rules
 * (its N1–N4 penalties, quirks included: runs counted along rows and columns in one pass, format bits in place), the
 * first lowest score winning as in its getBestMask. The result is the same picture, module for module
 * (test/unit/qr-mask.test.ts): prerecorded videos' references are drawn again from it. Pure.
 */
import QRCode from "qrcode";
import { FORMAT_WORDS, formatCells, LEVEL_BITS, maskMatrix } from "./qr-symbol.ts";

type Level = keyof typeof LEVEL_BITS;

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

/** node-qrcode's penalty of a symbol (mask-pattern.js getPenaltyN1..N4, with its weights 3, 3, 40, 10). */
export function penalty(m: Uint8Array, size: number): number {
  let points = 0;
  for (let a = 0; a < size; a++) {
    let runRow = 0;
    let runCol = 0;
    let lastRow = -1;
    let lastCol = -1;
    let bitsRow = 0;
    let bitsCol = 0;
    for (let b = 0; b < size; b++) {
      const alongRow = m[a * size + b]!;
      if (alongRow === lastRow) runRow++;
      else {
        if (runRow >= 5) points += 3 + (runRow - 5);
        lastRow = alongRow;
        runRow = 1;
      }
      const alongCol = m[b * size + a]!;
      if (alongCol === lastCol) runCol++;
      else {
        if (runCol >= 5) points += 3 + (runCol - 5);
        lastCol = alongCol;
        runCol = 1;
      }
      bitsRow = ((bitsRow << 1) & 0x7ff) | alongRow;
      bitsCol = ((bitsCol << 1) & 0x7ff) | alongCol;
      if (b >= 10) {
        if (bitsRow === 0x5d0 || bitsRow === 0x05d) points += 40;
        if (bitsCol === 0x5d0 || bitsCol === 0x05d) points += 40;
      }
    }
    if (runRow >= 5) points += 3 + (runRow - 5);
    if (runCol >= 5) points += 3 + (runCol - 5);
  }
  let blocks = 0;
  for (let r = 0; r < size - 1; r++) {
    for (let c = 0; c < size - 1; c++) {
      const at = r * size + c;
      const sum = m[at]! + m[at + 1]! + m[at + size]! + m[at + size + 1]!;
      if (sum === 4 || sum === 0) blocks++;
    }
  }
  points += blocks * 3;
  let dark = 0;
  for (let k = 0; k < m.length; k++) dark += m[k]!;
  return points + Math.abs(Math.ceil((dark * 100) / m.length / 5) - 10) * 10;
}

/** The symbol's modules (row-major, 1 = dark), exactly as `QRCode.create(text, { errorCorrectionLevel, version })`. */
export function qrModules(text: string, level: Level, version: number): { size: number; data: Uint8Array } {
  const made = QRCode.create(text, { errorCorrectionLevel: level, version, maskPattern: 0 });
  const size = made.modules.size;
  const reserved = (made.modules as unknown as { reservedBit: Uint8Array }).reservedBit;
  const cells = cellsFor(size);
  // The data as placed, before any mask: mask 0's flips undone outside the function patterns.
  const plain = made.modules.data.slice();
  const mask0 = maskMatrix(0, size);
  for (let k = 0; k < plain.length; k++) if (!reserved[k]) plain[k]! ^= mask0[k]!;
  let best: Uint8Array | null = null;
  let bestPenalty = Infinity;
  const candidate = new Uint8Array(plain.length);
  for (let p = 0; p < 8; p++) {
    const flips = maskMatrix(p, size);
    for (let k = 0; k < plain.length; k++) candidate[k] = reserved[k] ? plain[k]! : plain[k]! ^ flips[k]!;
    const word = FORMAT_WORDS[(LEVEL_BITS[level] << 3) | p]!;
    for (let i = 0; i < 15; i++) {
      const bit = (word >> i) & 1;
      candidate[cells[i]!] = bit;
      candidate[cells[15 + i]!] = bit;
    }
    const score = penalty(candidate, size);
    if (score < bestPenalty) {
      bestPenalty = score;
      best = candidate.slice();
    }
  }
  return { size, data: best! };
}
