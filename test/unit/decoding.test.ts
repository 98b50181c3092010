import { expect, test } from "bun:test";
import { GRAY_OUTPUT } from "../../src/client/decoder.ts";
import { Decoding, type DecoderFactory } from "../../src/client/decoding.ts";
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
