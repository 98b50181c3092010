/**
 * Reads a QR code whose place in the frame is already known (ISO/IEC 18004, versions 1–10): samples each module's
 * centre, and decodes the symbol only when it is whole. Its format information must be one of the 32 valid words
 * (at most 3 bits off, as the standard allows), every Reed-Solomon block must be a codeword once corrected (at most
 * half as many wrong codewords as it has check codewords), and the data must be numeric, alphanumeric or ASCII bytes
 * up to a terminator. Anything else is null, never a guess: the caller then reads the frame with a full reader
 * (client/qr-reader.ts), which also finds the code again.
 *
 * A stream's code stays where the renderer put it, so one full read locates it and each later frame costs a few
 * thousand pixel reads here instead of a search of the whole region. Pure: no I/O, no state beyond per-version tables.
 */

import { FORMAT_WORDS, formatCells, GF_EXP, GF_LOG, gfMul, LEVEL_BITS as LEVELS, maskMatrix } from "../signal/qr-symbol.ts";

/** A code's outer corners (module edges, quiet zone excluded), in pixels of the image read. */
export interface Quad {
  topLeft: Point;
  topRight: Point;
  bottomRight: Point;
  bottomLeft: Point;
}
export interface Point {
  x: number;
  y: number;
}

/** The highest version read here: vat's codes are version 3–5 (src/signal/render.ts fixes the version per stream). */
export const MAX_GRID_VERSION = 10;

/** Symbols darker than their light modules by less than this (of 255) are not read here. */
const MIN_CONTRAST = 40;

/** Per version 1–10 and level L, M, Q, H: Reed-Solomon blocks, and error-correction codewords in all of them. */
const EC_BLOCKS = [
  [1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 2, 2], [1, 2, 2, 4], [1, 2, 4, 4],
  [2, 4, 4, 4], [2, 4, 6, 5], [2, 4, 6, 6], [2, 5, 8, 8], [4, 5, 8, 8],
];
const EC_CODEWORDS = [
  [7, 10, 13, 17], [10, 16, 22, 28], [15, 26, 36, 44], [20, 36, 52, 64], [26, 48, 72, 88],
  [36, 64, 96, 112], [40, 72, 108, 130], [48, 88, 132, 156], [60, 110, 160, 192], [72, 130, 192, 224],
];
/**
 * Check codewords a block keeps for detecting misdecodes rather than correcting (ISO/IEC 18004 table 9: versions 1,
 * 2-L and 3-L), per version 1–3 and level L, M, Q, H; none beyond.
 */
const MISDECODE_PROTECTION = [[3, 2, 1, 1], [2, 0, 0, 0], [1, 0, 0, 0]];
/** Format information's two level bits, in the order of the tables' columns (L, M, Q, H). */
const LEVEL_BITS: readonly number[] = [LEVELS.L, LEVELS.M, LEVELS.Q, LEVELS.H];

/** What a version's symbol looks like, worked out once. */
interface Geometry {
  size: number;
  /** Data modules (row * size + col) in placement order: codeword bits, most significant first. */
  dataModules: Int32Array;
  /** Finder-pattern modules known dark, and known light (their separators and inner rings). */
  dark: Int32Array;
  light: Int32Array;
  /** Format information, bit i of each copy: beside the top-left finder, and split between the other two. */
  formatA: Int32Array;
  formatB: Int32Array;
  totalCodewords: number;
}

const geometries = new Map<number, Geometry>();

function geometryOf(version: number): Geometry {
  let g = geometries.get(version);
  if (!g) {
    g = buildGeometry(version);
    geometries.set(version, g);
  }
  return g;
}

function alignmentCentres(version: number, size: number): number[] {
  if (version === 1) return [];
  const count = Math.floor(version / 7) + 2;
  const step = Math.ceil((size - 13) / (2 * count - 2)) * 2;
  const at = [size - 7];
  for (let i = 1; i < count - 1; i++) at.push(at[i - 1]! - step);
  at.push(6);
  return at.reverse();
}

function buildGeometry(version: number): Geometry {
  const size = 17 + 4 * version;
  const reserved = new Uint8Array(size * size);
  const dark: number[] = [];
  const light: number[] = [];
  const mark = (r: number, c: number) => {
    if (r >= 0 && r < size && c >= 0 && c < size) reserved[r * size + c] = 1;
  };
  for (const [fr, fc] of [[0, 0], [0, size - 7], [size - 7, 0]] as const) {
    for (let r = -1; r <= 7; r++) {
      for (let c = -1; c <= 7; c++) {
        const row = fr + r;
        const col = fc + c;
        if (row < 0 || row >= size || col < 0 || col >= size) continue;
        mark(row, col);
        const ring = Math.max(Math.abs(r - 3), Math.abs(c - 3));
        (ring === 3 || ring <= 1 ? dark : light).push(row * size + col);
      }
    }
  }
  for (let i = 8; i < size - 8; i++) {
    mark(6, i);
    mark(i, 6);
  }
  const centres = alignmentCentres(version, size);
  for (const r of centres) {
    for (const c of centres) {
      const onFinder = (r === 6 && c === 6) || (r === 6 && c === size - 7) || (r === size - 7 && c === 6);
      if (onFinder) continue;
      for (let dr = -2; dr <= 2; dr++) for (let dc = -2; dc <= 2; dc++) mark(r + dr, c + dc);
    }
  }
  if (version >= 7) {
    for (let i = 0; i < 18; i++) {
      mark(Math.floor(i / 3), (i % 3) + size - 11);
      mark((i % 3) + size - 11, Math.floor(i / 3));
    }
  }
  const { nearFinder: formatA, split: formatB } = formatCells(size);
  for (const cell of [...formatA, ...formatB]) reserved[cell] = 1;
  mark(size - 8, 8); // the dark module
  const data: number[] = [];
  let upward = true;
  for (let col = size - 1; col > 0; col -= 2) {
    if (col === 6) col--;
    for (let k = 0; k < size; k++) {
      const row = upward ? size - 1 - k : k;
      for (const c of [col, col - 1]) if (!reserved[row * size + c]) data.push(row * size + c);
    }
    upward = !upward;
  }
  return {
    size,
    dataModules: Int32Array.from(data),
    dark: Int32Array.from(dark),
    light: Int32Array.from(light),
    formatA: Int32Array.from(formatA),
    formatB: Int32Array.from(formatB),
    totalCodewords: data.length >> 3,
  };
}

function popcount(v: number): number {
  let n = 0;
  for (; v; v &= v - 1) n++;
  return n;
}

/** The (level bits << 3 | mask) whose format word is nearest either copy, if within 3 bits; else -1. */
function decodeFormat(a: number, b: number): number {
  let best = -1;
  let bestDistance = 4;
  for (let d = 0; d < 32; d++) {
    const distance = Math.min(popcount(a ^ FORMAT_WORDS[d]!), popcount(b ^ FORMAT_WORDS[d]!));
    if (distance < bestDistance) {
      best = d;
      bestDistance = distance;
    }
  }
  return best;
}

/** p(x) at x, coefficients lowest degree first. */
function evaluate(p: Uint8Array | number[], x: number): number {
  let y = 0;
  for (let k = p.length - 1; k >= 0; k--) y = gfMul(y, x) ^ p[k]!;
  return y;
}

/**
 * Corrects the block (data then error-correction codewords, first codeword the highest power) in place, as the
 * standard's code allows: up to half as many wrong codewords as it has error-correction codewords, less the ones
 * the standard keeps for detection (`reserved`). Berlekamp-Massey for the error locator, Chien search for where,
 * Forney for by how much (the generator's roots are α^0…α^(ec−1)). Returns the number of codewords corrected, or -1
 * when the block cannot be a codeword with so few errors.
 */
export function correctBlock(block: Uint8Array, ecCount: number, reserved = 0): number {
  const n = block.length;
  const syndromes = new Uint8Array(ecCount);
  let clean = true;
  for (let j = 0; j < ecCount; j++) {
    let s = 0;
    for (let k = 0; k < n; k++) s = gfMul(s, GF_EXP[j]!) ^ block[k]!;
    syndromes[j] = s;
    if (s !== 0) clean = false;
  }
  if (clean) return 0;
  // Berlekamp-Massey: the shortest locator Λ (lowest degree first) generating the syndromes.
  let locator = [1];
  let previous = [1];
  let length = 0;
  let shift = 1;
  let lastDiscrepancy = 1;
  for (let j = 0; j < ecCount; j++) {
    let d = syndromes[j]!;
    for (let k = 1; k <= length; k++) d ^= gfMul(locator[k] ?? 0, syndromes[j - k]!);
    if (d === 0) {
      shift++;
      continue;
    }
    const factor = gfMul(d, GF_EXP[255 - GF_LOG[lastDiscrepancy]!]!);
    const next = locator.slice();
    for (let k = 0; k < previous.length; k++) {
      while (next.length <= k + shift) next.push(0);
      next[k + shift]! ^= gfMul(factor, previous[k]!);
    }
    if (2 * length <= j) {
      previous = locator;
      length = j + 1 - length;
      lastDiscrepancy = d;
      shift = 1;
    } else {
      shift++;
    }
    locator = next;
  }
  while (locator.length > 1 && locator.at(-1) === 0) locator.pop();
  const errors = locator.length - 1;
  if (errors !== length || 2 * errors > ecCount - reserved) return -1;
  // Ω = S·Λ mod x^ecCount; Λ' keeps Λ's odd terms (characteristic 2).
  const omega = new Uint8Array(ecCount);
  for (let a = 0; a < ecCount; a++) {
    let v = 0;
    for (let k = 0; k <= Math.min(a, errors); k++) v ^= gfMul(locator[k]!, syndromes[a - k]!);
    omega[a] = v;
  }
  let found = 0;
  for (let i = 0; i < n; i++) {
    // Position i counts from the block's end: codeword n-1-i carries x^i, its locator root is α^-i.
    const xInv = GF_EXP[(255 - i) % 255]!;
    if (evaluate(locator, xInv) !== 0) continue;
    let derivative = 0;
    for (let k = 1; k <= errors; k += 2) derivative ^= gfMul(locator[k]!, GF_EXP[(GF_LOG[xInv]! * (k - 1)) % 255]!);
    if (derivative === 0) return -1;
    const magnitude = gfMul(GF_EXP[i % 255]!, gfMul(evaluate(omega, xInv), GF_EXP[255 - GF_LOG[derivative]!]!));
    block[n - 1 - i]! ^= magnitude;
    found++;
  }
  if (found !== errors) return -1;
  for (let j = 0; j < ecCount; j++) {
    let s = 0;
    for (let k = 0; k < n; k++) s = gfMul(s, GF_EXP[j]!) ^ block[k]!;
    if (s !== 0) return -1;
  }
  return errors;
}

/** The data codewords of the symbol, de-interleaved, when every block checks; null otherwise. */
function checkedData(codewords: Uint8Array, version: number, level: number): Uint8Array | null {
  const blocks = EC_BLOCKS[version - 1]![level]!;
  const ecTotal = EC_CODEWORDS[version - 1]![level]!;
  const total = codewords.length;
  const ecPerBlock = ecTotal / blocks;
  const dataTotal = total - ecTotal;
  const longBlocks = total % blocks;
  const shortData = Math.floor(dataTotal / blocks);
  const out = new Uint8Array(dataTotal);
  const block = new Uint8Array(shortData + 1 + ecPerBlock);
  let outAt = 0;
  for (let b = 0; b < blocks; b++) {
    const dataLen = shortData + (b >= blocks - longBlocks ? 1 : 0);
    // Data codewords are interleaved across blocks, the long blocks' last one after all the others; then EC.
    for (let k = 0; k < dataLen; k++) {
      const at = k < shortData ? k * blocks + b : shortData * blocks + (b - (blocks - longBlocks));
      block[k] = codewords[at]!;
    }
    for (let k = 0; k < ecPerBlock; k++) block[dataLen + k] = codewords[dataTotal + k * blocks + b]!;
    const whole = block.subarray(0, dataLen + ecPerBlock);
    if (correctBlock(whole, ecPerBlock, MISDECODE_PROTECTION[version - 1]?.[level] ?? 0) < 0) return null;
    out.set(whole.subarray(0, dataLen), outAt);
    outAt += dataLen;
  }
  return out;
}

const ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

/** The text of numeric, alphanumeric and byte segments (ASCII only); null for any other mode or a malformed one. */
function parseSegments(data: Uint8Array, version: number): string | null {
  const bitCount = data.length * 8;
  let at = 0;
  const fits = (n: number) => at + n <= bitCount;
  const take = (n: number): number => {
    let v = 0;
    for (let k = 0; k < n; k++, at++) v = (v << 1) | ((data[at >> 3]! >> (7 - (at & 7))) & 1);
    return v;
  };
  const wide = version >= 10;
  let text = "";
  while (bitCount - at >= 4) {
    const mode = take(4);
    if (mode === 0) break;
    if (mode === 1) {
      if (!fits(wide ? 12 : 10)) return null;
      const count = take(wide ? 12 : 10);
      if (at + Math.floor(count / 3) * 10 + [0, 4, 7][count % 3]! > bitCount) return null;
      for (let left = count; left > 0; left -= 3) {
        const digits = Math.min(3, left);
        const v = take([0, 4, 7, 10][digits]!);
        if (v >= 10 ** digits) return null;
        text += String(v).padStart(digits, "0");
      }
    } else if (mode === 2) {
      if (!fits(wide ? 11 : 9)) return null;
      const count = take(wide ? 11 : 9);
      if (at + Math.floor(count / 2) * 11 + (count % 2) * 6 > bitCount) return null;
      for (let left = count; left > 0; left -= 2) {
        if (left >= 2) {
          const v = take(11);
          if (v >= 45 * 45) return null;
          text += ALPHANUMERIC[Math.floor(v / 45)]! + ALPHANUMERIC[v % 45]!;
        } else {
          const v = take(6);
          if (v >= 45) return null;
          text += ALPHANUMERIC[v]!;
        }
      }
    } else if (mode === 4) {
      if (!fits(wide ? 16 : 8)) return null;
      const count = take(wide ? 16 : 8);
      if (at + count * 8 > bitCount) return null;
      for (let k = 0; k < count; k++) {
        const v = take(8);
        // Beyond ASCII the text depends on a character set the symbol may not name: the full reader decides.
        if (v >= 0x80) return null;
        text += String.fromCharCode(v);
      }
    } else {
      return null; // ECI, Kanji, structured append, FNC1: not what vat writes
    }
  }
  return text;
}

/**
 * The code's text, read at the module grid the quad spans; null unless the symbol decodes whole (every Reed-Solomon
 * block corrected within its capacity). `values` is scratch space of at least (17 + 4·version)² bytes, to spare an allocation a frame.
 */
export function readGrid(
  gray: Uint8Array,
  stride: number,
  height: number,
  quad: Quad,
  version: number,
  values?: Uint8Array,
): string | null {
  if (!Number.isInteger(version) || version < 1 || version > MAX_GRID_VERSION) return null;
  const g = geometryOf(version);
  const n = g.size;
  const v = values && values.length >= n * n ? values : new Uint8Array(n * n);
  const { topLeft: tl, topRight: tr, bottomRight: br, bottomLeft: bl } = quad;
  for (let r = 0; r < n; r++) {
    const fy = (r + 0.5) / n;
    // The row's two ends on the left and right edges; module centres lie on the line between them.
    const lx = tl.x + (bl.x - tl.x) * fy;
    const ly = tl.y + (bl.y - tl.y) * fy;
    const rx = tr.x + (br.x - tr.x) * fy;
    const ry = tr.y + (br.y - tr.y) * fy;
    for (let c = 0; c < n; c++) {
      const fx = (c + 0.5) / n;
      const x = Math.floor(lx + (rx - lx) * fx);
      const y = Math.floor(ly + (ry - ly) * fx);
      if (x < 0 || x >= stride || y < 0 || y >= height) return null;
      v[r * n + c] = gray[y * stride + x]!;
    }
  }
  let darkSum = 0;
  for (let k = 0; k < g.dark.length; k++) darkSum += v[g.dark[k]!]!;
  let lightSum = 0;
  for (let k = 0; k < g.light.length; k++) lightSum += v[g.light[k]!]!;
  const darkMean = darkSum / g.dark.length;
  const lightMean = lightSum / g.light.length;
  if (lightMean - darkMean < MIN_CONTRAST) return null;
  const threshold = (darkMean + lightMean) / 2;
  let a = 0;
  let b = 0;
  for (let i = 0; i < 15; i++) {
    if (v[g.formatA[i]!]! < threshold) a |= 1 << i;
    if (v[g.formatB[i]!]! < threshold) b |= 1 << i;
  }
  const format = decodeFormat(a, b);
  if (format < 0) return null;
  const level = LEVEL_BITS.indexOf(format >> 3);
  const flips = maskMatrix(format & 7, n);
  const codewords = new Uint8Array(g.totalCodewords);
  const modules = g.dataModules;
  for (let k = 0; k < g.totalCodewords * 8; k++) {
    const isDark = v[modules[k]!]! < threshold ? 1 : 0;
    if (isDark ^ flips[modules[k]!]!) codewords[k >> 3]! |= 0x80 >> (k & 7);
  }
  const data = checkedData(codewords, version, level);
  return data && parseSegments(data, version);
}
