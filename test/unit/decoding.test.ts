import { expect, test } from "bun:test";
import { GRAY_OUTPUT } from "../../src/client/decoder.ts";
import { Decoding, MAX_HOLD_S, type DecoderFactory } from "../../src/client/decoding.ts";
import type { MediaUnit } from "../../src/client/source.ts";
import { fakeDecoder, matroskaBlockReader } from "../helpers/fake-decoder.ts";

/** A unit of one frame (its bytes whole), unless told otherwise. */
const unit = (sequence: number, extra: Partial<MediaUnit> = {}): MediaUnit => {
  const u: MediaUnit = {
    sequence, arrivedAtMs: sequence * 1000, bytes: new Uint8Array([sequence]), deliveredBytes: 1, frames: 1, firstFrameEnd: 1,
    discontinuity: false, discontinuitySequence: 0, programDateTimeMs: null, ptsOffsetsMs: [], durationS: 1, ...extra,
  };
  return { frameEnds: u.frames === 1 ? [u.bytes.length] : [], ...u };
};

/** What a fake decoder of numbered input was given: each block's last byte, and its frame number. */
function blocksOf(read: ReturnType<typeof matroskaBlockReader>, b: Uint8Array): { last: number; number: number }[] {
  return read(b).map((f) => ({ last: f.frame[f.frame.length - 1]!, number: f.number }));
}

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
  // The elementary stream: a Matroska header, then each unit's frames as blocks numbered from 0. MPEG-TS: each unit
  // and four copies of its head.
  const read = matroskaBlockReader();
  expect(started[0]!.writes.map((w) => blocksOf(read, new Uint8Array(w)))).toEqual([[], [{ last: 1, number: 0 }], [{ last: 2, number: 1 }]]);
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
    const read = matroskaBlockReader();
    return fakeDecoder({
      write: (b) => {
        for (const { last: seq, number } of blocksOf(read, b)) {
          writes[index]!++;
          if (broken.has(seq)) d.errors++;
          else onFrame({ gray: new Uint8Array([seq]), width: 1, height: 1, decodedAtMs: 0, number });
        }
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
  // Each frame takes its own stamp by its number, 3's too though 2's frame never came out.
  expect(out).toEqual([
    { pixel: 1, segment: 1 },
    { pixel: 3, segment: 3 },
    { pixel: 4, segment: 4 },
    { pixel: 5, segment: 5 },
    { pixel: 6, segment: 6 },
  ]);
  // The frame not decoded is 2's, by its number.
  expect(undecoded).toEqual([{ cause: "decoder", lost: 1, extra: 0, from: 2, until: 2, message: "h264: error while decoding MB 18 6" }]);
});

/** Fake decoders that give out a frame for each unit written (its pixel: the unit's last byte); what each was given. */
function echoingDecoders(): { writes: number[][]; factory: DecoderFactory } {
  const writes: number[][] = [];
  const factory: DecoderFactory = (_input, _output, onFrame) => {
    const mine: number[] = [];
    writes.push(mine);
    const read = matroskaBlockReader();
    return fakeDecoder({
      write: (b) => {
        for (const { last, number } of blocksOf(read, b)) {
          mine.push(last);
          onFrame({ gray: new Uint8Array([last]), width: 1, height: 1, decodedAtMs: 0, number });
        }
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
  const decoding = new Decoding({ kind: "pipe", format: "h264" }, GRAY_OUTPUT, (_i, _o, onFrame) => {
    const read = matroskaBlockReader();
    return fakeDecoder({
      write: (b) => {
        for (const { last, number } of blocksOf(read, b)) {
          errors++; // concealed: the frame still comes out
          onFrame({ gray: new Uint8Array([last]), width: 1, height: 1, decodedAtMs: 0, number });
        }
      },
      errors: () => errors,
    });
  }, () => {}, (u) => void undecoded.push(u));
  await decoding.take(unit(1, { bytes: new Uint8Array([...IDR, 1]), format: "h264" }));
  await decoding.take(unit(2, { bytes: new Uint8Array([...IDR, 2]), format: "h264" }));
  await decoding.finish();
  expect(undecoded).toEqual([]);
});

test("a decoder reading a URL itself is given nothing, and each of its frames is stamped as it leaves it", async () => {
  let emit: (() => void) | null = null;
  const decoding = new Decoding({ kind: "url", url: "rtmp://127.0.0.1/live/s" }, GRAY_OUTPUT, (_i, _o, onFrame) => {
    emit = () => onFrame({ gray: new Uint8Array([7]), width: 1, height: 1, decodedAtMs: 5, number: null });
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
