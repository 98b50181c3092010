/**
 * A QR symbol's modules before any data mask, as node-qrcode places them, without its per-call work (its symbol with a
 * given mask took 0.06-0.09 ms at vat's sizes, this 0.007-0.015: node-qrcode chooses the segments by a shortest path
 * through a graph, makes its Reed-Solomon generator anew and fills a bit matrix through method calls). node-qrcode's
 * choice of segments depends only on which characters are digits, in its alphanumeric set (capitals, space and
 * $%*+-./:) or other bytes, so it is asked once per shape of text and remembered; the function patterns come from one
 * symbol of that version and level it makes; the rest (the bits, Reed-Solomon codewords, their interleaving and zigzag
 * placement, ISO/IEC 18004 7.4-7.7) is done here on flat arrays. Checked module for module against node-qrcode in
 * test/unit/qr-data.test.ts. Printable ASCII and versions 1-40 only (a byte a character); other input gets null, for
 * the caller to ask node-qrcode. Pure but for its caches.
 */
import QRCode from "qrcode";
import { getBlocksCount, getTotalCodewordsCount } from "qrcode/lib/core/error-correction-code.js";
import * as EcLevels from "qrcode/lib/core/error-correction-level.js";
import { GF_EXP, gfMul } from "./qr-symbol.ts";

export type Level = "L" | "M" | "Q" | "H";

/** A segment's mode indicator: numeric, alphanumeric, byte. */
type Mode = 1 | 2 | 4;

interface Segment {
  readonly mode: Mode;
  readonly length: number;
}

/** What every symbol of one version and level shares. */
interface Template {
  readonly size: number;
  /** 1 where a function pattern (or format or version information) sits. */
  readonly reserved: Uint8Array;
  /** The function patterns drawn, with format information for mask 0; 0 elsewhere. */
  readonly base: Uint8Array;
  /** The data modules in placement order (7.7.3: two columns at a time, up and down, from the right). */
  readonly order: Int32Array;
  readonly totalCodewords: number;
  readonly dataCodewords: number;
  readonly blocks: number;
  readonly ecPerBlock: number;
  /** The Reed-Solomon generator polynomial's coefficients, highest degree (1) first. */
  readonly generator: Uint8Array;
}

export interface UnmaskedSymbol {
  readonly size: number;
  /** 1 where a function pattern sits: shared by every symbol of the version, to be read only. */
  readonly reserved: Uint8Array;
  /** Row-major, 1 = dark: function patterns with mask 0's format bits, data not masked. */
  readonly modules: Uint8Array;
}

const templates = new Map<string, Template>();
/** Segment lengths by version, level and shape of text; null for a shape node-qrcode writes in a mode not done here. */
const shapes = new Map<string, readonly Segment[] | null>();
/** Shapes remembered at most (a stream has a handful; texts of every shape would otherwise grow it without end). */
const MAX_SHAPES = 1024;

/** The symbol's modules before masking, or null when the text is not printable ASCII or does not fit the version. */
export function unmaskedModules(text: string, level: Level, version: number): UnmaskedSymbol | null {
  // node-qrcode picks a version itself for one it does not take: that symbol is left to it.
  if (!Number.isInteger(version) || version < 1 || version > 40) return null;
  const shape = shapeOf(text);
  if (shape === null) return null;
  const segments = segmentsFor(text, shape, level, version);
  if (segments === null) return null;
  const t = templateFor(level, version);
  const data = dataCodewords(text, segments, version, t.dataCodewords);
  if (data === null) return null;
  const codewords = interleave(data, t);
  const modules = t.base.slice();
  const { order } = t;
  const bits = t.totalCodewords * 8;
  for (let k = 0; k < bits; k++) modules[order[k]!] = (codewords[k >> 3]! >> (7 - (k & 7))) & 1;
  return { size: t.size, reserved: t.reserved, modules };
}

/** Digits, capitals and small letters each stand for their class; other printable characters for themselves. */
function shapeOf(text: string): string | null {
  let shape = "";
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return null;
    shape += c >= 48 && c <= 57 ? "0" : c >= 65 && c <= 90 ? "A" : c >= 97 && c <= 122 ? "a" : text[i];
  }
  return shape;
}

function segmentsFor(text: string, shape: string, level: Level, version: number): readonly Segment[] | null {
  const key = `${version}${level}${shape}`;
  let segments = shapes.get(key);
  if (segments === undefined) {
    segments = null;
    try {
      const made = QRCode.create(text, { errorCorrectionLevel: level, version, maskPattern: 0 });
      const theirs = (made as unknown as { segments: { mode: { bit: number }; getLength(): number }[] }).segments;
      if (theirs.every((s) => s.mode.bit === 1 || s.mode.bit === 2 || s.mode.bit === 4)) {
        segments = theirs.map((s) => ({ mode: s.mode.bit as Mode, length: s.getLength() }));
      }
    } catch {
      // does not fit: node-qrcode says so itself when the caller asks it
    }
    if (shapes.size >= MAX_SHAPES) shapes.clear();
    shapes.set(key, segments);
  }
  return segments;
}

function templateFor(level: Level, version: number): Template {
  const key = `${version}${level}`;
  let t = templates.get(key);
  if (!t) {
    const made = QRCode.create("0", { errorCorrectionLevel: level, version, maskPattern: 0 });
    const size = made.modules.size;
    const reserved = (made.modules as unknown as { reservedBit: Uint8Array }).reservedBit.slice();
    const base = made.modules.data.slice();
    for (let k = 0; k < base.length; k++) if (!reserved[k]) base[k] = 0;
    const order = placementOrder(size, reserved);
    const totalCodewords = order.length >> 3;
    const ecLevel = EcLevels[level];
    const blocks = getBlocksCount(version, ecLevel);
    const dataCodewords = totalCodewords - getTotalCodewordsCount(version, ecLevel);
    const ecPerBlock = Math.floor(totalCodewords / blocks) - Math.floor(dataCodewords / blocks);
    t = { size, reserved, base, order, totalCodewords, dataCodewords, blocks, ecPerBlock, generator: generatorPolynomial(ecPerBlock) };
    templates.set(key, t);
  }
  return t;
}

function placementOrder(size: number, reserved: Uint8Array): Int32Array {
  const order: number[] = [];
  let up = true;
  for (let col = size - 1; col > 0; col -= 2) {
    if (col === 6) col--; // the vertical timing pattern's column is skipped whole
    for (let step = 0; step < size; step++) {
      const row = up ? size - 1 - step : step;
      for (let c = 0; c < 2; c++) if (!reserved[row * size + col - c]) order.push(row * size + col - c);
    }
    up = !up;
  }
  return Int32Array.from(order);
}

const CHAR_COUNT_BITS: Record<Mode, readonly [number, number, number]> = { 1: [10, 12, 14], 2: [9, 11, 13], 4: [8, 16, 16] };
/** The alphanumeric mode's value of each character code (45 characters), -1 for the rest. */
const ALPHANUMERIC = (() => {
  const values = new Int8Array(128).fill(-1);
  [..."0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"].forEach((ch, i) => (values[ch.charCodeAt(0)] = i));
  return values;
})();

/** The data codewords: segments, terminator, pad bits and pad codewords (7.4.9-7.4.10), or null past capacity. */
function dataCodewords(text: string, segments: readonly Segment[], version: number, count: number): Uint8Array | null {
  const out = new Uint8Array(count);
  const capacity = count * 8;
  let at = 0;
  const put = (value: number, bits: number): void => {
    for (let i = bits - 1; i >= 0; i--, at++) if ((value >>> i) & 1) out[at >> 3]! |= 0x80 >>> (at & 7);
  };
  const countBits = version < 10 ? 0 : version < 27 ? 1 : 2;
  let need = 0;
  for (const s of segments) need += 4 + CHAR_COUNT_BITS[s.mode][countBits] + segmentBits(s);
  if (need > capacity) return null;
  let i = 0;
  for (const { mode, length } of segments) {
    put(mode, 4);
    put(length, CHAR_COUNT_BITS[mode][countBits]);
    const end = i + length;
    if (mode === 1) {
      for (; i + 3 <= end; i += 3) put(digit(text, i) * 100 + digit(text, i + 1) * 10 + digit(text, i + 2), 10);
      if (end - i === 2) put(digit(text, i) * 10 + digit(text, i + 1), 7);
      else if (end - i === 1) put(digit(text, i), 4);
    } else if (mode === 2) {
      for (; i + 2 <= end; i += 2) put(ALPHANUMERIC[text.charCodeAt(i)]! * 45 + ALPHANUMERIC[text.charCodeAt(i + 1)]!, 11);
      if (end - i === 1) put(ALPHANUMERIC[text.charCodeAt(i)]!, 6);
    } else {
      for (; i < end; i++) put(text.charCodeAt(i), 8);
    }
    i = end;
  }
  if (at + 4 <= capacity) at += 4; // the terminator (node-qrcode writes none when fewer than four bits are left)
  at = (at + 7) & ~7;
  for (let k = at >> 3, pad = 0; k < count; k++, pad++) out[k] = pad % 2 ? 0x11 : 0xec;
  return out;
}

function segmentBits(s: Segment): number {
  if (s.mode === 1) return 10 * Math.floor(s.length / 3) + (s.length % 3 ? (s.length % 3) * 3 + 1 : 0);
  if (s.mode === 2) return 11 * Math.floor(s.length / 2) + 6 * (s.length % 2);
  return 8 * s.length;
}

function digit(text: string, i: number): number {
  return text.charCodeAt(i) - 48;
}

/** Blocks of data with their error correction, interleaved (7.6): shorter blocks first, as node-qrcode splits them. */
function interleave(data: Uint8Array, t: Template): Uint8Array {
  const { blocks, ecPerBlock, dataCodewords } = t;
  const longBlocks = t.totalCodewords % blocks;
  const shortData = Math.floor(dataCodewords / blocks);
  const out = new Uint8Array(t.totalCodewords);
  const ec = new Uint8Array(ecPerBlock);
  let from = 0;
  for (let b = 0; b < blocks; b++) {
    const size = b < blocks - longBlocks ? shortData : shortData + 1;
    // Data codeword i of block b goes to i * blocks + b, but past the short blocks' end only long blocks are left.
    for (let i = 0; i < size; i++) {
      out[i < shortData ? i * blocks + b : shortData * blocks + (b - (blocks - longBlocks))] = data[from + i]!;
    }
    remainder(data, from, size, t.generator, ec);
    for (let i = 0; i < ecPerBlock; i++) out[dataCodewords + i * blocks + b] = ec[i]!;
    from += size;
  }
  return out;
}

/** (x - α^0)(x - α^1)…(x - α^(degree-1)) over GF(256). */
function generatorPolynomial(degree: number): Uint8Array {
  let poly = Uint8Array.of(1);
  for (let i = 0; i < degree; i++) {
    const next = new Uint8Array(poly.length + 1);
    for (let j = 0; j < poly.length; j++) {
      next[j]! ^= poly[j]!;
      next[j + 1]! ^= gfMul(poly[j]!, GF_EXP[i]!);
    }
    poly = next;
  }
  return poly;
}

/** The remainder of data · x^degree divided by the generator: a block's error correction codewords. */
function remainder(data: Uint8Array, from: number, length: number, generator: Uint8Array, out: Uint8Array): void {
  const degree = out.length;
  out.fill(0);
  for (let i = 0; i < length; i++) {
    const factor = data[from + i]! ^ out[0]!;
    out.copyWithin(0, 1);
    out[degree - 1] = 0;
    if (factor !== 0) for (let j = 0; j < degree; j++) out[j]! ^= gfMul(generator[j + 1]!, factor);
  }
}
