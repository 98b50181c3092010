import { expect, test } from "bun:test";
import { GRAY_OUTPUT } from "../../src/client/decoder.ts";
import { Decoding, MAX_HOLD_S, type DecoderFactory } from "../../src/client/decoding.ts";
import type { MediaUnit } from "../../src/client/source.ts";
import { fakeDecoder } from "../helpers/fake-decoder.ts";

const unit = (sequence: number, extra: Partial<MediaUnit> = {}): MediaUnit => ({
  sequence, arrivedAtMs: sequence * 1000, bytes: new Uint8Array([sequence]), frames: 1, firstFrameEnd: 1,
  discontinuity: false, discontinuitySequence: 0, programDateTimeMs: null, ptsOffsetsMs: [], durationS: 1, ...extra,
});

test("the decoder starts before the first unit, in the source's format; a unit in another format gets a decoder of its own", async () => {
  const started: { format: string; writes: number[][] }[] = [];
  const factory: DecoderFactory = (input) => {
    const d = { format: input.kind === "pipe" ? input.format : "url", writes: [] as number[][] };
    started.push(d);
    return fakeDecoder({ write: (b) => void d.writes.push([...b]) });
  };
  const decoding = new Decoding({ kind: "pipe", format: "h264" }, GRAY_OUTPUT, factory, () => {});
  expect(started.map((d) => d.format)).toEqual(["h264"]);
  await decoding.take(unit(1, { format: "h264" }));
  await decoding.take(unit(2)); // no format of its own: the source's
  await decoding.take(unit(3, { format: "mpegts" }));
  await decoding.take(unit(4, { format: "mpegts" }));
  expect(started.map((d) => d.format)).toEqual(["h264", "mpegts"]);
  // The elementary stream: each unit and its delimiter. MPEG-TS: each unit and four copies of its head.
  expect(started[0]!.writes).toEqual([[1], [0, 0, 0, 1, 9, 0xf0], [2], [0, 0, 0, 1, 9, 0xf0]]);
  expect(started[1]!.writes).toEqual([[3], [3], [3], [3], [3], [4], [4], [4], [4], [4]]);
});

/** H.264 units: SPS, PPS and an IDR slice (a decoder can start there), or a non-IDR slice. */
const IDR = [0, 0, 0, 1, 0x67, 0x42, 0, 0, 0, 1, 0x68, 0xce, 0, 0, 0, 1, 0x65, 0x88];
const P = [0, 0, 0, 1, 0x41, 0x9a];

const isDelimiter = (b: Uint8Array) => b.length === 6 && b[4] === 9;

test("a decoder that printed trouble is flushed and started over at the next unit that begins with a keyframe, and what it owed is said", async () => {
  // Each fake decoder gives out a frame for each unit written (its pixel: the unit's last byte), except for the units
  // the test breaks: it drops their frame and prints trouble, as ffmpeg does.
  const broken = new Set([2]);
  const writes: number[] = [];
  const factory: DecoderFactory = (_input, _output, onFrame) => {
    const d = { errors: 0 };
    writes.push(0);
    const index = writes.length - 1;
    return fakeDecoder({
      write: (b) => {
        if (isDelimiter(b)) return;
        writes[index]!++;
        const seq = b[b.length - 1]!;
        if (broken.has(seq)) d.errors++;
        else onFrame({ gray: new Uint8Array([seq]), width: 1, height: 1, decodedAtMs: 0 });
      },
      errors: () => d.errors,
      trouble: "h264: error while decoding MB 18 6",
    });
  };
  const out: { pixel: number; segment: number | null }[] = [];
  const undecoded: unknown[] = [];
  const decoding = new Decoding({ kind: "pipe", format: "h264" }, GRAY_OUTPUT, factory,
    (f, stamp) => void out.push({ pixel: f.gray[0]!, segment: stamp?.segment ?? null }), (u) => void undecoded.push(u));
  // Units 1-6: 2 is broken, 3 goes on with its pictures (no keyframe), 4 begins with one, 5 not, 6 does.
  const bytesOf = (seq: number, key: boolean) => new Uint8Array([...(key ? IDR : P), seq]);
  for (const [seq, key] of [[1, true], [2, true], [3, false], [4, true], [5, false], [6, true]] as const) {
    await decoding.take(unit(seq, { bytes: bytesOf(seq, key), format: "h264" }));
  }
  await decoding.finish();
  // Started over before 4 (not before 3, which cannot be decoded from scratch), and only once.
  expect(writes).toEqual([3, 3]);
  // By count, 3's frame took 2's stamp until the restart: the event says which segments' stamps may be shifted.
  expect(out).toEqual([
    { pixel: 1, segment: 1 },
    { pixel: 3, segment: 2 },
    { pixel: 4, segment: 4 },
    { pixel: 5, segment: 5 },
    { pixel: 6, segment: 6 },
  ]);
  expect(undecoded).toEqual([{ cause: "decoder", lost: 1, extra: 0, from: 2, until: 3, message: "h264: error while decoding MB 18 6" }]);
});

/** Fake decoders that give out a frame for each unit written (its pixel: the unit's last byte); what each was given. */
function echoingDecoders(): { writes: number[][]; factory: DecoderFactory } {
  const writes: number[][] = [];
  const factory: DecoderFactory = (_input, _output, onFrame) => {
    const mine: number[] = [];
    writes.push(mine);
    return fakeDecoder({
      write: (b) => {
        if (isDelimiter(b)) return;
        mine.push(b[b.length - 1]!);
        onFrame({ gray: new Uint8Array([b[b.length - 1]!]), width: 1, height: 1, decodedAtMs: 0 });
      },
    });
  };
  return { writes, factory };
}

test("after lost media, units that go on from it are not given to a decoder; decoding starts over at the next keyframe", async () => {
  const { writes, factory } = echoingDecoders();
  const out: { pixel: number; segment: number | null }[] = [];
  const undecoded: unknown[] = [];
  const decoding = new Decoding({ kind: "pipe", format: "h264" }, GRAY_OUTPUT, factory,
    (f, stamp) => void out.push({ pixel: f.gray[0]!, segment: stamp?.segment ?? null }), (u) => void undecoded.push(u));
  const bytesOf = (seq: number, key: boolean) => new Uint8Array([...(key ? IDR : P), seq]);
  // 1, 2; then 3 was lost: 4 and 5 go on from it, 6 begins with a keyframe. A lost unit followed by a keyframe (9
  // after 8) needs no holding back, only a clean start.
  await decoding.take(unit(1, { bytes: bytesOf(1, true), format: "h264" }));
  await decoding.take(unit(2, { bytes: bytesOf(2, false), format: "h264" }));
  await decoding.take(unit(4, { bytes: bytesOf(4, false), format: "h264", afterGap: true, frames: 2 }));
  await decoding.take(unit(5, { bytes: bytesOf(5, false), format: "h264" }));
  await decoding.take(unit(6, { bytes: bytesOf(6, true), format: "h264" }));
  await decoding.take(unit(7, { bytes: bytesOf(7, false), format: "h264" }));
  await decoding.take(unit(9, { bytes: bytesOf(9, true), format: "h264", afterGap: true }));
  await decoding.finish();
  expect(writes).toEqual([[1, 2], [6, 7], [9]]);
  expect(out).toEqual([1, 2, 6, 7, 9].map((n) => ({ pixel: n, segment: n })));
  expect(undecoded).toEqual([{ cause: "lost-media", lost: 3, extra: 0, from: 4, until: 5, message: "" }]);
});

test("a decoder that printed trouble but owed nothing at its flush is not reported", async () => {
  const undecoded: unknown[] = [];
  let errors = 0;
  const decoding = new Decoding({ kind: "pipe", format: "h264" }, GRAY_OUTPUT, (_i, _o, onFrame) =>
    fakeDecoder({
      write: (b) => {
        if (isDelimiter(b)) return;
        errors++; // concealed: the frame still comes out
        onFrame({ gray: new Uint8Array([b[b.length - 1]!]), width: 1, height: 1, decodedAtMs: 0 });
      },
      errors: () => errors,
    }), () => {}, (u) => void undecoded.push(u));
  await decoding.take(unit(1, { bytes: new Uint8Array([...IDR, 1]), format: "h264" }));
  await decoding.take(unit(2, { bytes: new Uint8Array([...IDR, 2]), format: "h264" }));
  await decoding.finish();
  expect(undecoded).toEqual([]);
});

test("a decoder reading a URL itself is given nothing, and each of its frames is stamped as it leaves it", async () => {
  let emit: (() => void) | null = null;
  const decoding = new Decoding({ kind: "url", url: "rtmp://127.0.0.1/live/s" }, GRAY_OUTPUT, (_i, _o, onFrame) => {
    emit = () => onFrame({ gray: new Uint8Array([7]), width: 1, height: 1, decodedAtMs: 5 });
    return fakeDecoder({ write: () => { throw new Error("a URL decoder is written to"); } });
  }, (f, stamp) => void stamps.push({ pixel: f.gray[0]!, stamp }));
  const stamps: { pixel: number; stamp: unknown }[] = [];
  await decoding.take(unit(1));
  emit!();
  emit!();
  expect(stamps).toEqual([{ pixel: 7, stamp: null }, { pixel: 7, stamp: null }]);
});

test("after lost media, a stream without keyframes (refreshed a slice at a time) is decoded again once MAX_HOLD_S of it was held back", async () => {
  const { writes, factory } = echoingDecoders();
  const undecoded: unknown[] = [];
  const decoding = new Decoding({ kind: "pipe", format: "h264" }, GRAY_OUTPUT, factory, () => {}, (u) => void undecoded.push(u));
  const pUnit = (seq: number, extra: Partial<MediaUnit> = {}) => unit(seq, { bytes: new Uint8Array([...P, seq]), format: "h264", ...extra });
  await decoding.take(unit(1, { bytes: new Uint8Array([...IDR, 1]), format: "h264" }));
  await decoding.take(pUnit(3, { afterGap: true }));
  for (let seq = 4; seq <= 3 + MAX_HOLD_S + 1; seq++) await decoding.take(pUnit(seq));
  await decoding.finish();
  // 1 s units: 3 to 12 held back (10 s), 13 and 14 decoded by a new decoder.
  expect(writes).toEqual([[1], [13, 14]]);
  expect(undecoded).toEqual([{ cause: "lost-media", lost: MAX_HOLD_S, extra: 0, from: 3, until: 12, message: "" }]);
});
