import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Feeder, FILLER_FRAMES } from "../../src/client/feeder.ts";
import type { MediaUnit } from "../../src/client/source.ts";
import { segmentElementaryStream } from "../../src/hls/ts-frames.ts";
import { accessUnitDelimiter, delimiterLength, startsWithKeyframe, toAnnexB } from "../../src/mp4/annexb.ts";
import { matroskaBlockReader } from "../helpers/fake-decoder.ts";

const AUD_264 = [0, 0, 0, 1, 0x09, 0xf0];
const AUD_265 = [0, 0, 0, 1, 0x46, 0x01, 0x50];
const SPS = [0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x15];
const IDR = [0, 0, 1, 0x65, 0x88, 0x84, 0x10];
const P = [0, 0, 1, 0x41, 0x9a, 0x02];

/** The NAL units of an Annex B stream, each without its start code (3 or 4 bytes: both are valid). */
function nalUnits(es: Uint8Array): string[] {
  const hex = Buffer.from(es).toString("hex");
  return hex.split(/0{6}01|0{4}01/).filter((n) => n.length > 0);
}

describe("access unit delimiters", () => {
  const length = (head: number[], format: "h264" | "hevc") => delimiterLength(new Uint8Array(head), format);

  test("one opening a unit is its start code (3 or 4 bytes) and its fixed length; the next NAL unit keeps its own", () => {
    expect(length([...AUD_264, ...SPS].slice(0, 8), "h264")).toBe(6);
    expect(length([0, 0, 1, 0x09, 0x30, ...P].slice(0, 8), "h264")).toBe(5);
    expect(length([...AUD_265, 0, 0, 1, 0x26, 0x01, 0xaf].slice(0, 8), "hevc")).toBe(7);
    // A unit that is only its delimiter.
    expect(length(AUD_264, "h264")).toBe(6);
  });

  test("a unit that does not open with one gives 0: other NAL units, the other codec's, no start code, a longer one", () => {
    expect(length([...SPS, ...AUD_264].slice(0, 8), "h264")).toBe(0);
    expect(length([...AUD_265, ...IDR].slice(0, 8), "h264")).toBe(0);
    expect(length([...AUD_264, ...IDR].slice(0, 8), "hevc")).toBe(0);
    expect(length([0, 1, 0x09, 0xf0, ...P].slice(0, 8), "h264")).toBe(0);
    // Followed by neither a start code nor the unit's end: not a delimiter this reads.
    expect(length([...AUD_264, 0x55, 0, 0, 1], "h264")).toBe(0);
    expect(length([0, 0, 0, 1, 0x09], "h264")).toBe(0);
  });

  test("each codec's delimiter is one its own reader takes as a delimiter", () => {
    expect([...accessUnitDelimiter("h264")]).toEqual(AUD_264);
    expect([...accessUnitDelimiter("hevc")]).toEqual(AUD_265);
    expect(length([...accessUnitDelimiter("hevc"), ...SPS].slice(0, 8), "hevc")).toBe(7);
  });

  test("fMP4 samples: a delimiter among a frame's NAL units is not written out; one of vat's goes between frames", () => {
    const nal = (b: number[]) => [0, 0, 0, b.length, ...b];
    const sample = [...nal([0x09, 0xf0]), ...nal([0x65, 0x88, 0x84]), ...nal([0x09, 0xf0]), ...nal([0x41, 0x9a])];
    const segment = new Uint8Array(sample);
    const frame = (index: number, offset: number, end: number, keyframe: boolean) => ({
      index, decodeMs: 0, presentationMs: 0, durationMs: 40, offset, size: end - offset, end, keyframe,
    });
    const config = { format: "h264" as const, lengthSize: 4, parameterSets: new Uint8Array(SPS) };
    const es = toAnnexB(segment, [frame(0, 0, 13, true), frame(1, 13, 25, false)], config);
    expect([...es.bytes]).toEqual([...SPS, 0, 0, 0, 1, 0x65, 0x88, 0x84, ...AUD_264, 0, 0, 0, 1, 0x41, 0x9a]);
    expect(es.firstFrameEnd).toBe(SPS.length + 7);
    // Each frame ends where vat's delimiter before the next begins.
    expect(es.frameEnds).toEqual([SPS.length + 7, es.bytes.length]);
  });
});

describe("a unit a decoder can start from", () => {
  const starts = (bytes: number[], format: "h264" | "hevc") => startsWithKeyframe(new Uint8Array(bytes), format);
  test("H.264: its first slice is an IDR; parameter sets, SEI and a delimiter may come before it", () => {
    expect(starts([...AUD_264, ...SPS, 0, 0, 1, 0x68, 0xce, 0, 0, 1, 0x06, 0x05, ...IDR, ...P], "h264")).toBe(true);
    expect(starts([...SPS, ...P, ...IDR], "h264")).toBe(false);
    // A non-IDR I slice (an open GOP's keyframe): first_mb_in_slice 0 ("1"), slice_type 7 ("0001000"); P is type 5.
    expect(starts([...SPS, 0, 0, 1, 0x41, 0b10001000, 0x10], "h264")).toBe(true);
    expect(starts([...SPS, 0, 0, 1, 0x41, 0b10001100, 0x10], "h264")).toBe(false);
    expect(starts([...SPS], "h264")).toBe(false);
    expect(starts([], "h264")).toBe(false);
  });
  test("HEVC: its first slice is an IRAP picture (IDR, CRA, BLA)", () => {
    const vps = [0, 0, 1, 0x40, 0x01, 0x0c];
    for (const type of [16, 19, 20, 21]) expect(starts([...AUD_265, ...vps, 0, 0, 1, type << 1, 0x01, 0xaf], "hevc")).toBe(true);
    for (const type of [0, 1, 9]) expect(starts([...vps, 0, 0, 1, type << 1, 0x01, 0xaf], "hevc")).toBe(false);
  });
});

describe("an MPEG-TS segment's elementary stream", () => {
  test.each([
    ["h264", ["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency"], 9],
    ["hevc", ["-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error"], 35],
  ] as const)("%s: the NAL units ffmpeg reads from the segment, in order, its delimiters left out and vat's between frames", (format, codec, aud) => {
    const dir = mkdtempSync(join(tmpdir(), "vat-es-"));
    try {
      const ts = join(dir, "s.ts");
      const made = spawnSync("ffmpeg", [
        "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25", "-t", "1", ...codec, "-g", "25",
        "-f", "mpegts", ts,
      ]);
      expect(made.status).toBe(0);
      const truth = spawnSync("ffmpeg", [
        "-v", "error", "-i", ts, "-c", "copy", "-bsf:v", `filter_units=remove_types=${aud}`, "-f", format, "pipe:1",
      ], { maxBuffer: 1 << 26 });
      expect(truth.status).toBe(0);
      const bytes = new Uint8Array(readFileSync(ts));
      const { scan, es } = segmentElementaryStream(bytes);
      expect(es?.format).toBe(format);
      expect(scan.frames).toBe(25);
      const want = nalUnits(new Uint8Array(truth.stdout));
      expect(want.length).toBeGreaterThan(25);
      // vat's own delimiter between each two frames, and nothing else of its own.
      const ours = nalUnits(es!.bytes);
      const delimiter = Buffer.from(accessUnitDelimiter(format).subarray(4)).toString("hex");
      expect(ours.filter((n) => n !== delimiter)).toEqual(want);
      expect(ours.filter((n) => n === delimiter)).toHaveLength(24);
      expect(es!.frames).toBe(25);
      // The head ends where the second frame's first NAL unit starts: a whole first frame, nothing of the next.
      const first = nalUnits(es!.bytes.subarray(0, es!.firstFrameEnd));
      expect(first).toEqual(want.slice(0, first.length));
      const vcl = (n: string) => (format === "h264" ? (parseInt(n.slice(0, 2), 16) & 31) <= 5 : (parseInt(n.slice(0, 2), 16) >> 1) < 32);
      expect(first.filter(vcl).length).toBeGreaterThan(0);
      expect(vcl(want[first.length]!)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  /** A 188-byte packet: the payload after an adaptation field of stuffing that fills the rest. */
  const packet = (pid: number, start: boolean, payload: number[]) => {
    const pad = 184 - payload.length;
    const head = [0x47, (start ? 0x40 : 0) | (pid >> 8), pid & 0xff];
    if (pad === 0) return [...head, 0x10, ...payload];
    return [...head, 0x30, ...(pad === 1 ? [0] : [pad - 1, 0, ...new Array<number>(pad - 2).fill(0xff)]), ...payload];
  };
  const VIDEO = 0x100;
  const PAT = packet(0, true, [0, 0, 0xb0, 13, 0, 1, 0xc1, 0, 0, 0, 1, 0xf0, 0, 0, 0, 0, 0]);
  const PMT = packet(0x1000, true, [0, 2, 0xb0, 18, 0, 1, 0xc1, 0, 0, 0xe1, 0, 0xf0, 0, 0x1b, 0xe1, 0, 0xf0, 0, 0, 0, 0, 0]);
  /** A PES header with a PTS (14 bytes). */
  const pesHeader = (pts: number) => [0, 0, 1, 0xe0, 0, 0, 0x80, 0x80, 5, 0x21 | ((pts >> 29) & 0x0e), (pts >> 22) & 0xff, 0x01 | ((pts >> 14) & 0xfe), (pts >> 7) & 0xff, 0x01 | ((pts << 1) & 0xfe)];
  const segment = (...packets: number[][]) => segmentElementaryStream(new Uint8Array([...PAT, ...PMT, ...packets.flat()]));

  test("a PES header, or a delimiter, that runs on into the next packet is left out all the same", () => {
    const frame2 = packet(VIDEO, true, [...pesHeader(3600), ...AUD_264, ...P]);
    // The header fills its packet; the delimiter is the next packet's start.
    const a = segment(packet(VIDEO, true, pesHeader(0)), packet(VIDEO, false, [...AUD_264, ...SPS, ...IDR]), frame2);
    // The header cut after 5 bytes; the delimiter cut after its start code's 00 00, then after its type byte.
    const h = pesHeader(0);
    const b = segment(packet(VIDEO, true, h.slice(0, 5)), packet(VIDEO, false, [...h.slice(5), 0, 0]), packet(VIDEO, false, [0, 1, 0x09]),
      packet(VIDEO, false, [0xf0, ...SPS, ...IDR]), frame2);
    for (const { scan, es } of [a, b]) {
      expect(scan.frames).toBe(2);
      expect(es!.frames).toBe(2);
      expect([...es!.bytes]).toEqual([...SPS, ...IDR, ...AUD_264, ...P]);
      expect(es!.firstFrameEnd).toBe(SPS.length + IDR.length);
      expect(es!.frameEnds).toEqual([SPS.length + IDR.length, es!.bytes.length]);
    }
  });

  test("a PES whose header is not one is left out whole, and not counted among the frames the decoder is given; the first frame is the first with bytes", () => {
    const bad = packet(VIDEO, true, [0, 0, 2, 0xe0, 0, 0, 0x80, 0x80, 0, ...SPS]);
    const { scan, es } = segment(bad, packet(VIDEO, false, IDR), packet(VIDEO, true, [...pesHeader(0), ...SPS, ...IDR]),
      packet(VIDEO, true, [...pesHeader(3600), ...P]));
    expect(scan.frames).toBe(3);
    expect(es!.frames).toBe(2);
    expect([...es!.bytes]).toEqual([...SPS, ...IDR, ...AUD_264, ...P]);
    expect(es!.firstFrameEnd).toBe(SPS.length + IDR.length);
    expect(es!.frameEnds).toEqual([SPS.length + IDR.length, es!.bytes.length]);
  });

  test("another codec (MPEG-2 video) has none: the segment goes to the decoder as it is", () => {
    const made = spawnSync("ffmpeg", [
      "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25", "-t", "0.4", "-c:v", "mpeg2video", "-f", "mpegts", "pipe:1",
    ], { maxBuffer: 1 << 26 });
    expect(made.status).toBe(0);
    const { scan, es } = segmentElementaryStream(new Uint8Array(made.stdout));
    expect(scan.frames).toBe(10);
    expect(es).toBeNull();
  });
});

describe("feeder on an elementary stream", () => {
  const enc = new TextEncoder();
  const unit = (extra: Partial<MediaUnit> = {}): MediaUnit => ({
    sequence: 4, arrivedAtMs: 100, bytes: enc.encode("KEYab"), deliveredBytes: 5, frames: 3, firstFrameEnd: 3, frameEnds: [3, 4, 5],
    discontinuity: false, discontinuitySequence: 0, programDateTimeMs: null, ptsOffsetsMs: [0, 80, 40], durationS: 0.12, ...extra,
  });
  const text = (w: Uint8Array) => new TextDecoder().decode(w);
  const offset = (s: ReturnType<Feeder["next"]>) => (s as { place: { offsetMs: number } }).place.offsetMs;

  test.each([
    ["h264", "V_MPEG4/ISO/AVC"],
    ["hevc", "V_MPEGH/ISO/HEVC"],
  ] as const)("%s: a Matroska header, then a block a frame numbered from 0; each frame out takes the stamp of its number", (format, codecId) => {
    const f = new Feeder();
    const writes = f.feed(unit(), format);
    expect(writes).toHaveLength(2);
    expect(text(writes[0]!)).toContain(codecId);
    const read = matroskaBlockReader();
    expect(read(writes[0]!)).toEqual([]);
    expect(read(writes[1]!).map((b) => [b.number, text(b.frame)])).toEqual([[0, "KEY"], [1, "a"], [2, "b"]]);
    // The next unit's blocks go on from 3, with no header.
    const more = f.feed({ ...unit(), sequence: 5 }, format);
    expect(more).toHaveLength(1);
    expect(read(more[0]!).map((b) => b.number)).toEqual([3, 4, 5]);
    // Out of order (B-frames), each by its number: its own presentation offset (decode order in the unit).
    expect(offset(f.next(1))).toBe(80);
    expect(offset(f.next(0))).toBe(0);
    expect(f.next(1)).toBe("unknown"); // given out twice: not measured
    expect(f.next(99)).toBe("unknown"); // never given
    expect(f.next(null)).toBe("unknown"); // the decoder did not say
    expect((f.next(4) as { segment: number }).segment).toBe(5);
    // 2, 3 and 5 not given out yet: owed (at a flush, frames not decoded).
    expect(f.owed()).toBe(3);
    expect(f.unexpected).toBe(3);
  });

  test("frames with presentation times: each block at its frame's time (the first at 10 s), so that B-frames come out in time order, each known by it", () => {
    const f = new Feeder();
    const read = matroskaBlockReader();
    // Decode order: I (shown at 1000 ms), P (1080), B (1040).
    const writes = f.feed(unit({ framePtsMs: [1000, 1080, 1040] }), "h264");
    expect(read(writes[0]!)).toEqual([]);
    expect(read(writes[1]!).map((b) => b.number)).toEqual([10_000, 10_080, 10_040]);
    // Out in presentation order: the B-frame (third in) is known by its time, with its own offset.
    expect(offset(f.next(10_000))).toBe(0);
    expect(offset(f.next(10_040))).toBe(40);
    expect(offset(f.next(10_080))).toBe(80);
    // A unit without times goes on 1 ms after the latest time.
    expect(read(f.feed(unit({ sequence: 5, framePtsMs: undefined }), "h264")[0]!).map((b) => b.number)).toEqual([10_081, 10_082, 10_083]);
    // A repeated presentation time is not given twice.
    expect(read(f.feed(unit({ sequence: 6, framePtsMs: [1200, 1200, 1240] }), "h264")[0]!).map((b) => b.number)).toEqual([10_200, 10_201, 10_240]);
    // A 33-bit PTS that wrapped since the last unit goes on from it.
    const wrap = 2 ** 33 / 90;
    const g = new Feeder();
    g.feed(unit({ framePtsMs: [wrap - 120, wrap - 40, wrap - 80] }), "h264");
    const after = unit({ sequence: 5, framePtsMs: [0, 80, 40] });
    expect(g.startsNewDecoder(after)).toBe(false);
    expect(read(g.feed(after, "h264")[0]!).map((b) => b.number)).toEqual([10_120, 10_200, 10_160]);
    // A clock gone back before the first frame (less its margin) needs a new decoder, whose times start again.
    const back = unit({ sequence: 6, framePtsMs: [-20_000, -19_920, -19_960] });
    expect(g.startsNewDecoder(back)).toBe(true);
    g.clear();
    expect(read(g.feed(back, "h264")[1]!).map((b) => b.number)).toEqual([10_000, 10_080, 10_040]);
  });

  test("a unit with no frames gives the decoder nothing; one whose frames' ends are not known is refused", () => {
    const f = new Feeder();
    expect(f.feed(unit({ frames: 0, frameEnds: [] }), "h264")).toEqual([]);
    expect(() => f.feed(unit({ frameEnds: undefined }), "h264")).toThrow("3 frames but no frame ends");
  });

  test("MPEG-TS: four copies of the head, dropped by count; frames out in presentation order take the unit's offsets sorted", () => {
    const f = new Feeder();
    expect(f.feed(unit(), "mpegts").map(text)).toEqual(["KEYab", ...Array(FILLER_FRAMES).fill("KEY")]);
    const out = Array.from({ length: 3 + FILLER_FRAMES }, () => f.next());
    expect(out.slice(0, 3).map(offset)).toEqual([0, 40, 80]);
    expect(out.slice(3)).toEqual(Array(FILLER_FRAMES).fill("filler"));
    expect(f.next()).toBe("unknown");
  });
});
