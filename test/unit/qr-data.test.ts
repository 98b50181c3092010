import { expect, test } from "bun:test";
import QRCode from "qrcode";
import { encodePayload, encodeVideoPayload } from "../../src/signal/payload.ts";
import { unmaskedModules, type Level } from "../../src/signal/qr-data.ts";
import { maskMatrix } from "../../src/signal/qr-symbol.ts";
import { seededRandom } from "../helpers/random.ts";

const LEVELS = ["L", "M", "Q", "H"] as const;

/** node-qrcode's symbol with mask 0, or null where the text does not fit. */
function theirs(text: string, level: Level, version: number): Uint8Array | null {
  try {
    return QRCode.create(text, { errorCorrectionLevel: level, version, maskPattern: 0 }).modules.data;
  } catch {
    return null;
  }
}

/** Ours with mask 0 applied to the data modules, to compare with node-qrcode's whole symbol. */
function oursMasked0(text: string, level: Level, version: number): Uint8Array | null {
  const s = unmaskedModules(text, level, version);
  if (!s) return null;
  const mask0 = maskMatrix(0, s.size);
  return s.modules.map((m, k) => (s.reserved[k] ? m : m ^ mask0[k]!));
}

/** The same shape of text: every digit, capital and small letter swapped for another of its class. */
function sibling(text: string, rand: () => number): string {
  const pick = (set: string) => set[Math.floor(rand() * set.length)]!;
  return text.replace(/[0-9]/g, () => pick("0123456789")).replace(/[A-Z]/g, () => pick("ABCDEFGHIJKLMNOPQRSTUVWXYZ")).replace(/[a-z]/g, () => pick("abcdefghijklmnopqrstuvwxyz"));
}

test("texts of a shape seen before come out as node-qrcode places them, every version and level", () => {
  const rand = seededRandom(17);
  // Texts mixing the three modes node-qrcode chooses between, so its segments run numeric, alphanumeric and byte.
  const alphabet = "0123456789012345678901234567890123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:abcdefxyz|_~!#";
  let compared = 0;
  for (let trial = 0; trial < 320; trial++) {
    const level = LEVELS[trial % 4]!;
    const version = 1 + (Math.floor(trial / 4) % 40);
    // Long enough to fill a good part of the version (up to ~3 characters a codeword).
    const length = 1 + Math.floor(rand() * Math.min(300, version * version * 2 + 20));
    const text = Array.from({ length }, () => alphabet[Math.floor(rand() * alphabet.length)]).join("");
    const first = theirs(text, level, version);
    expect(oursMasked0(text, level, version)).toEqual(first);
    if (!first) continue;
    // The second text of this shape takes the remembered segments.
    const next = sibling(text, rand);
    const expected = theirs(next, level, version)!;
    const got = oursMasked0(next, level, version);
    if (!got || !Buffer.from(got).equals(Buffer.from(expected))) expect(`${next} v${version}${level}: differs`).toBe("same");
    compared++;
  }
  expect(compared).toBeGreaterThan(150);
});

test("vat's payloads take this path, and match node-qrcode", () => {
  const rand = seededRandom(3);
  for (let i = 0; i < 200; i++) {
    const text =
      i % 2
        ? encodePayload({ streamId: "Live_feed-7.a", frameNumber: Math.floor(rand() * 1e9), generatedAtMs: 1_700_000_000_000 + Math.floor(rand() * 1e11) })
        : encodeVideoPayload({ streamId: "sweep-3", frameNumber: Math.floor(rand() * 1e6), msFromStart: Math.floor(rand() * 1e8), loopFrames: 9_999_999 });
    const ours = oursMasked0(text, "M", 4);
    expect(ours).not.toBeNull();
    expect(Buffer.from(ours!).equals(Buffer.from(theirs(text, "M", 4)!))).toBe(true);
  }
});

test("texts filled to their version's capacity, and a few characters short of it", () => {
  const rand = seededRandom(23);
  const alphabet = "0123456789012345678901234567890123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:abcdefxyz|_~!#";
  let compared = 0;
  for (const version of [1, 5, 9, 10, 26, 27, 40]) {
    for (const level of LEVELS) {
      const source = Array.from({ length: 5000 }, () => alphabet[Math.floor(rand() * alphabet.length)]).join("");
      // The longest prefix of the source that node-qrcode fits in this version at this level.
      let fits = 0;
      let tooLong = source.length;
      while (tooLong - fits > 1) {
        const mid = (fits + tooLong) >> 1;
        if (theirs(source.slice(0, mid), level, version)) fits = mid;
        else tooLong = mid;
      }
      for (const length of [fits + 1, fits, fits - 1, fits - 3]) {
        if (length < 1) continue;
        const text = source.slice(0, length);
        const expected = theirs(text, level, version);
        expect(oursMasked0(text, level, version)).toEqual(expected);
        if (!expected) continue;
        const next = sibling(text, rand);
        expect(Buffer.from(oursMasked0(next, level, version)!).equals(Buffer.from(theirs(next, level, version)!))).toBe(true);
        compared++;
      }
    }
  }
  expect(compared).toBeGreaterThanOrEqual(3 * 7 * 4 - 4);
}, 30_000); // a few seconds of node-qrcode searches: far more on a loaded machine

test("texts alike but for the class of their characters are not taken for one another", () => {
  // Each pair would share its remembered segments under a coarser notion of shape: node-qrcode writes them differently.
  const pairs = [
    ["AAAAAAAAAAAAAAAAAAAAAAAA", "aaaaaaaaaaaaaaaaaaaaaaaa"],
    ["111111111111111111111111", "AAAAAAAAAAAAAAAAAAAAAAAA"],
    ["$$$$$$$$$$$$$$$$$$$$$$$$", "||||||||||||||||||||||||"],
    ["vat1|id|123456789|1700000000000", "vat1|id|ABCDEFGHI|1700000000000"],
    ["x 1 x 2 x 3 x 4 x 5 x 6 x 7", "x_1_x_2_x_3_x_4_x_5_x_6_x_7"],
    ["ABC:DEF/GHI.JKL-MNO+PQR*ST", "ABCaDEFbGHIcJKLdMNOePQRfST"],
  ];
  for (const version of [3, 5, 10]) {
    for (const [first, second] of pairs) {
      for (const text of [first!, second!]) {
        const expected = theirs(text, "M", version);
        expect(expected).not.toBeNull();
        expect(Buffer.from(oursMasked0(text, "M", version)!).equals(Buffer.from(expected!))).toBe(true);
      }
    }
  }
});

test("text outside printable ASCII, a version node-qrcode would choose itself, or too long, is left to node-qrcode", () => {
  expect(unmaskedModules("grüße 42", "M", 3)).toBeNull();
  expect(unmaskedModules("tab\there", "M", 3)).toBeNull();
  for (const version of [0, 41, 4.5, Number.NaN]) expect(unmaskedModules("hello", "M", version)).toBeNull();
  expect(theirs("x".repeat(200), "M", 2)).toBeNull();
  expect(unmaskedModules("x".repeat(200), "M", 2)).toBeNull();
  // A shape that fits one version and not a smaller one: the answer is remembered per version.
  expect(unmaskedModules("abc123".repeat(4), "H", 3)).not.toBeNull();
  expect(theirs("abc123".repeat(4), "H", 2)).toBeNull();
  expect(unmaskedModules("abc123".repeat(4), "H", 2)).toBeNull();
});
