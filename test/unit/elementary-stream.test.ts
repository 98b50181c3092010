import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Feeder, FILLER_FRAMES } from "../../src/client/feeder.ts";
import type { MediaUnit } from "../../src/client/source.ts";
import { segmentElementaryStream } from "../../src/hls/ts-frames.ts";
import { accessUnitDelimiter, delimiterEnd, toAnnexB } from "../../src/mp4/annexb.ts";

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
  const after = (bytes: number[], format: "h264" | "hevc", from = 0, end = bytes.length) =>
    bytes.slice(delimiterEnd(new Uint8Array(bytes), from, end, format));

  test("one opening a unit is passed over with its start code, 3- and 4-byte ones alike; the next keeps its own", () => {
    expect(after([...AUD_264, ...SPS, ...IDR], "h264")).toEqual([...SPS, ...IDR]);
    expect(after([0, 0, 1, 0x09, 0x30, ...P], "h264")).toEqual(P);
    expect(after([...AUD_265, 0, 0, 1, 0x26, 0x01, 0xaf], "hevc")).toEqual([0, 0, 1, 0x26, 0x01, 0xaf]);
    // From an offset, as in a transport packet's payload, and up to its end only.
    expect(after([7, 7, ...AUD_264, ...P], "h264", 2)).toEqual(P);
    expect(after([...AUD_264, ...P], "h264", 0, AUD_264.length + 2)).toEqual([...AUD_264, ...P]);
  });

  test("a unit that does not open with one is left as it is: other NAL units, the other codec's, no start code", () => {
    expect(after([...SPS, ...AUD_264, ...IDR], "h264")).toEqual([...SPS, ...AUD_264, ...IDR]);
    expect(after([...AUD_265, ...IDR], "h264")).toEqual([...AUD_265, ...IDR]);
    expect(after([...AUD_264, ...IDR], "hevc")).toEqual([...AUD_264, ...IDR]);
    expect(after([0, 1, 0x09, 0xf0, ...P], "h264")).toEqual([0, 1, 0x09, 0xf0, ...P]);
  });

  test("each codec's delimiter is one its own reader takes as a delimiter", () => {
    expect([...accessUnitDelimiter("h264")]).toEqual(AUD_264);
    expect([...accessUnitDelimiter("hevc")]).toEqual(AUD_265);
    expect(after([...accessUnitDelimiter("hevc"), ...SPS], "hevc")).toEqual(SPS);
  });

  test("fMP4 samples: a delimiter among a frame's NAL units is not written out", () => {
    const nal = (b: number[]) => [0, 0, 0, b.length, ...b];
    const sample = [...nal([0x09, 0xf0]), ...nal([0x65, 0x88, 0x84]), ...nal([0x09, 0xf0]), ...nal([0x41, 0x9a])];
    const segment = new Uint8Array(sample);
    const frame = (index: number, offset: number, end: number, keyframe: boolean) => ({
      index, decodeMs: 0, presentationMs: 0, durationMs: 40, offset, size: end - offset, end, keyframe,
    });
    const config = { format: "h264" as const, lengthSize: 4, parameterSets: new Uint8Array(SPS) };
    const es = toAnnexB(segment, [frame(0, 0, 13, true), frame(1, 13, 25, false)], config);
    expect([...es.bytes]).toEqual([...SPS, 0, 0, 0, 1, 0x65, 0x88, 0x84, 0, 0, 0, 1, 0x41, 0x9a]);
    expect(es.firstFrameEnd).toBe(SPS.length + 7);
  });
});

describe("an MPEG-TS segment's elementary stream", () => {
  test.each([
    ["h264", ["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency"], 9],
    ["hevc", ["-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error"], 35],
  ] as const)("%s: the NAL units ffmpeg reads from the segment, in order, its delimiters left out", (format, codec, aud) => {
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
      expect(nalUnits(es!.bytes)).toEqual(want);
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
    sequence: 4, arrivedAtMs: 100, bytes: enc.encode("KEYab"), frames: 3, firstFrameEnd: 3, discontinuity: false,
    discontinuitySequence: 0, programDateTimeMs: null, ptsOffsetsMs: [0, 40, 80], durationS: 0.12, ...extra,
  });
  const text = (w: Uint8Array) => (w[0] === 0 ? `AUD:${w.length}` : new TextDecoder().decode(w));

  test.each([
    ["h264", "AUD:6"],
    ["hevc", "AUD:7"],
  ] as const)("%s: the unit and a delimiter, no copy; its frames take its stamps, nothing else is expected", (format, aud) => {
    const f = new Feeder();
    expect(f.feed(unit(), format).map(text)).toEqual(["KEYab", aud]);
    const out = Array.from({ length: 4 }, () => f.next());
    expect(out.slice(0, 3).map((s) => (s as { place: { offsetMs: number } }).place.offsetMs)).toEqual([0, 40, 80]);
    expect(out[3]).toBeNull();
  });

  test("an LL-HLS part gets the same; MPEG-TS four copies, dropped by count", () => {
    const f = new Feeder();
    expect(f.feed(unit({ continuesGroup: true }), "h264").map(text)).toEqual(["KEYab", "AUD:6"]);
    expect(Array.from({ length: 4 }, () => f.next()).map((s) => (s === null ? null : typeof s))).toEqual(["object", "object", "object", null]);
    expect(f.feed(unit(), "mpegts").map(text)).toEqual(["KEYab", ...Array(FILLER_FRAMES).fill("KEY")]);
    expect(Array.from({ length: 3 + FILLER_FRAMES }, () => f.next()).slice(3)).toEqual(Array(FILLER_FRAMES).fill("filler"));
  });
});
