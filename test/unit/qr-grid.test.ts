import { describe, expect, test } from "bun:test";
import QRCode from "qrcode";
// node-qrcode's own Reed-Solomon encoder: the codewords come from another implementation than the one checked.
import ReedSolomonEncoder from "qrcode/lib/core/reed-solomon-encoder.js";
import { correctBlock, type Quad, readGrid } from "../../src/client/qr-grid.ts";
import { seededRandom } from "../helpers/random.ts";

interface Drawn {
  pixels: Uint8Array;
  side: number;
  quad: Quad;
  size: number;
}

/** The symbol drawn at `px` pixels a module (a fraction spreads each module over pixels it partly covers), 4-module quiet zone. */
function draw(modules: { size: number; data: Uint8Array }, px: number, levels = { dark: 16, light: 235 }): Drawn {
  const n = modules.size;
  const side = Math.ceil((n + 8) * px);
  const pixels = new Uint8Array(side * side);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const r = Math.floor((y + 0.5) / px) - 4;
      const c = Math.floor((x + 0.5) / px) - 4;
      const dark = r >= 0 && r < n && c >= 0 && c < n && modules.data[r * n + c] === 1;
      pixels[y * side + x] = dark ? levels.dark : levels.light;
    }
  }
  const a = 4 * px;
  const b = (4 + n) * px;
  return { pixels, side, size: n, quad: { topLeft: { x: a, y: a }, topRight: { x: b, y: a }, bottomRight: { x: b, y: b }, bottomLeft: { x: a, y: b } } };
}

function read(d: Drawn, version: number): string | null {
  return readGrid(d.pixels, d.side, d.side, d.quad, version);
}

const TEXTS = [
  "vat1|vat|5|1796161192499", // vat's live payload: byte and numeric segments
  "vat1v|abc_def-9|1234567|9999999999|1234567",
  "0",
  "31415926535897932384626", // numeric only, every remainder of three
  "HELLO WORLD $%*+-./:", // alphanumeric
  "x".repeat(60),
];

describe("reading a code at its known grid", () => {
  test("node-qrcode's symbols of versions 1-10, levels L/M/Q/H and all eight masks read back as their text", () => {
    let read_ = 0;
    for (const text of TEXTS) {
      for (const level of ["L", "M", "Q", "H"] as const) {
        for (let version = 1; version <= 10; version++) {
          for (let mask = 0; mask < 8; mask++) {
            let qr: ReturnType<typeof QRCode.create>;
            try {
              qr = QRCode.create(text, { errorCorrectionLevel: level, version, maskPattern: mask as 0 });
            } catch {
              continue; // the text does not fit this version at this level
            }
            expect(`${level} v${version} mask ${mask}: ${read(draw(qr.modules, 3), version)}`).toBe(`${level} v${version} mask ${mask}: ${text}`);
            read_++;
          }
        }
      }
    }
    expect(read_).toBeGreaterThan(1500);
  });

  test("modules of a fractional pixel size, corners a pixel off and levels far from black and white still read", () => {
    const text = "vat1|a-stream|123456|1796161192499";
    const qr = QRCode.create(text, { errorCorrectionLevel: "M", version: 4 });
    for (const px of [2.6, 4, 4.27, 7, 7.3, 21]) {
      const d = draw(qr.modules, px, { dark: 90, light: 170 });
      expect(read(d, 4)).toBe(text);
      const off = (dx: number, dy: number): Drawn => {
        const q = d.quad;
        const move = (p: { x: number; y: number }) => ({ x: p.x + dx, y: p.y + dy });
        return { ...d, quad: { topLeft: move(q.topLeft), topRight: move(q.topRight), bottomRight: move(q.bottomRight), bottomLeft: move(q.bottomLeft) } };
      };
      if (px >= 4) for (const [dx, dy] of [[1, 0], [-1, 0], [0, 1], [0, -1]] as const) expect(read(off(dx, dy), 4)).toBe(text);
    }
  });

  test("up to the code's capacity of wrong codewords is corrected; beyond it the answer is null, never another text", () => {
    // Version 4-M: two blocks of 32 codewords, 18 of them error correction (9 wrong codewords a block corrected).
    const text = "vat1|vat|5|1796161192499";
    const qr = QRCode.create(text, { errorCorrectionLevel: "M", version: 4 });
    const rand = seededRandom(7);
    let corrected = 0;
    let refused = 0;
    for (let trial = 0; trial < 200; trial++) {
      const flips = 1 + Math.floor(rand() * 80);
      const data = qr.modules.data.slice();
      const n = qr.modules.size;
      // Flip modules away from the finders (which locate nothing here, but set the threshold).
      for (let k = 0; k < flips; k++) {
        const r = 9 + Math.floor(rand() * (n - 9));
        const c = 9 + Math.floor(rand() * (n - 9));
        data[r * n + c]! ^= 1;
      }
      const got = read(draw({ size: n, data }, 3), 4);
      if (got === null) refused++;
      else {
        expect(got).toBe(text);
        corrected++;
      }
    }
    expect(corrected).toBeGreaterThan(20);
    expect(refused).toBeGreaterThan(20);
  });

  test("format information is read from either copy, each within 3 wrong bits; with both copies gone, nothing is read", () => {
    const text = "vat1|vat|5|1796161192499";
    const qr = QRCode.create(text, { errorCorrectionLevel: "M", version: 3 });
    const n = qr.modules.size;
    // The copy around the top-left finder, and the one split between the other two (ISO/IEC 18004 figure 25).
    const copyA = [[0, 8], [1, 8], [2, 8], [3, 8], [4, 8], [5, 8], [7, 8], [8, 8], [8, 7], [8, 5], [8, 4], [8, 3], [8, 2], [8, 1], [8, 0]];
    const copyB = [...Array.from({ length: 8 }, (_, i) => [8, n - 1 - i]), ...Array.from({ length: 7 }, (_, i) => [n - 7 + i, 8])];
    const flipped = (cells: number[][]) => {
      const data = qr.modules.data.slice();
      for (const [r, c] of cells) data[r! * n + c!]! ^= 1;
      return read(draw({ size: n, data }, 3), 3);
    };
    expect(flipped(copyA)).toBe(text);
    expect(flipped(copyB)).toBe(text);
    expect(flipped([...copyA.slice(0, 3), ...copyB.slice(5, 8)])).toBe(text);
    expect(flipped([...copyA.slice(0, 4), ...copyB.slice(0, 4)])).toBeNull();
    expect(flipped([...copyA, ...copyB])).toBeNull();
  });

  test("what is not a whole symbol of the version given reads as null", () => {
    const text = "vat1|vat|5|1796161192499";
    const v3 = draw(QRCode.create(text, { errorCorrectionLevel: "M", version: 3 }).modules, 4);
    expect(read(v3, 4)).toBeNull(); // the grid of another version
    expect(read(v3, 0)).toBeNull();
    expect(read(v3, 11)).toBeNull(); // past the versions read here
    const flat = { ...v3, pixels: new Uint8Array(v3.pixels.length).fill(128) };
    expect(read(flat, 3)).toBeNull();
    const rand = seededRandom(3);
    const noise = { ...v3, pixels: Uint8Array.from(v3.pixels, () => Math.floor(rand() * 256)) };
    expect(read(noise, 3)).toBeNull();
    const outside = { ...v3, quad: { ...v3.quad, bottomRight: { x: v3.side + 20, y: v3.side + 20 } } };
    expect(read(outside, 3)).toBeNull();
  });

  test("text beyond ASCII is left to the full reader (its character set is the reader's to decide)", () => {
    const qr = QRCode.create("vat1|é|5|1796161192499", { errorCorrectionLevel: "M", version: 4 });
    expect(read(draw(qr.modules, 3), 4)).toBeNull();
  });
});

describe("Reed-Solomon correction of one block", () => {
  test("against node-qrcode's encoder: errors up to half the check codewords are corrected, more are refused", () => {
    const rand = seededRandom(11);
    let refused = 0;
    for (let trial = 0; trial < 1500; trial++) {
      const ec = [7, 10, 16, 18, 22, 24, 26, 28][trial % 8]!;
      const data = Uint8Array.from({ length: 8 + Math.floor(rand() * 40) }, () => Math.floor(rand() * 256));
      const block = new Uint8Array([...data, ...new ReedSolomonEncoder(ec).encode(data)]);
      const sent = block.slice();
      const errors = trial % (ec + 4);
      const at = new Set<number>();
      while (at.size < errors) at.add(Math.floor(rand() * block.length));
      for (const k of at) block[k]! ^= 1 + Math.floor(rand() * 255);
      const result = correctBlock(block, ec);
      if (2 * errors <= ec) {
        expect(result).toBe(errors);
        expect([...block]).toEqual([...sent]);
      } else if (result < 0) {
        refused++;
      } else {
        // Past the capacity a block can land within reach of another codeword; it must then check as one.
        expect(correctBlock(block.slice(), ec)).toBe(0);
      }
    }
    expect(refused).toBeGreaterThan(400);
  });

  test("codewords the standard keeps for detection are not spent on correction (version 1-L: 7 check codewords, 2 errors)", () => {
    const data = Uint8Array.from({ length: 19 }, (_, i) => (i * 37 + 11) & 0xff);
    const sent = new Uint8Array([...data, ...new ReedSolomonEncoder(7).encode(data)]);
    const hit = (errors: number) => {
      const block = sent.slice();
      for (let k = 0; k < errors; k++) block[k * 5]! ^= 0x5a;
      return block;
    };
    expect(correctBlock(hit(2), 7, 3)).toBe(2);
    expect(correctBlock(hit(3), 7, 3)).toBe(-1);
    expect(correctBlock(hit(3), 7)).toBe(3);
  });
});
