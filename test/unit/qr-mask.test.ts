import { expect, test } from "bun:test";
import QRCode from "qrcode";
import { encodePayload, encodeVideoPayload, maxPayloadLength } from "../../src/signal/payload.ts";
import { qrModules } from "../../src/signal/qr-mask.ts";
import { seededRandom } from "../helpers/random.ts";

const ID_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789-_";

test("vat's payloads come out module for module as node-qrcode draws them with the mask it chooses", () => {
  const rand = seededRandom(5);
  const masksSeen = new Set<number>();
  let symbols = 0;
  for (let trial = 0; trial < 1500; trial++) {
    const idLength = 1 + Math.floor(rand() * 32);
    const id = Array.from({ length: idLength }, () => ID_CHARS[Math.floor(rand() * ID_CHARS.length)]).join("");
    const video = trial % 3 === 0;
    const text = video
      ? encodeVideoPayload({ streamId: id, frameNumber: Math.floor(rand() * 9_999_999), msFromStart: Math.floor(rand() * 1e9), loopFrames: 9_999_999 })
      : encodePayload({ streamId: id, frameNumber: Math.floor(rand() * 1e9), generatedAtMs: 1_700_000_000_000 + Math.floor(rand() * 1e11) });
    // The version is fixed per stream for its longest payload (src/signal/render.ts planLayout).
    const version = QRCode.create("x".repeat(maxPayloadLength(id, video ? "video" : "live")), { errorCorrectionLevel: "M" }).version;
    const theirs = QRCode.create(text, { errorCorrectionLevel: "M", version });
    masksSeen.add(theirs.maskPattern as number);
    const ours = qrModules(text, "M", version);
    expect(ours.size).toBe(theirs.modules.size);
    if (!Buffer.from(ours.data).equals(Buffer.from(theirs.modules.data))) expect(`${text} v${version}: differs`).toBe(`${text} v${version}: same`);
    symbols++;
  }
  expect(symbols).toBe(1500);
  // The choice is really made: different texts get different masks.
  expect(masksSeen.size).toBeGreaterThanOrEqual(6);
});

test("other texts, versions 1-10 and every level match too", () => {
  const rand = seededRandom(9);
  let symbols = 0;
  for (let trial = 0; trial < 400; trial++) {
    const level = (["L", "M", "Q", "H"] as const)[trial % 4]!;
    const version = 1 + (trial % 10);
    const length = 1 + Math.floor(rand() * 40);
    const text = Array.from({ length }, () => String.fromCharCode(32 + Math.floor(rand() * 95))).join("");
    let theirs: ReturnType<typeof QRCode.create>;
    try {
      theirs = QRCode.create(text, { errorCorrectionLevel: level, version });
    } catch {
      continue; // does not fit this version at this level
    }
    expect(Buffer.from(qrModules(text, level, version).data).equals(Buffer.from(theirs.modules.data))).toBe(true);
    symbols++;
  }
  expect(symbols).toBeGreaterThan(150);
});
