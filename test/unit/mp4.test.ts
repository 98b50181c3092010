import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { BoxReader, childBoxes, Mp4Error, readBoxHeader } from "../../src/mp4/boxes.ts";
import { FrameArrivals } from "../../src/mp4/frame-arrivals.ts";
import { ChunkStamps } from "../../src/client/chunk-stamps.ts";
import { MAX_SAMPLES_PER_FRAGMENT, parseMediaSegment, TFHD, TRUN } from "../../src/mp4/fragments.ts";
import { parseInitSegment } from "../../src/mp4/init-segment.ts";
import { defaultsOf, scanFragmentedSegment, type VideoFrame } from "../../src/mp4/video-frames.ts";
import { probeSegmentFrameCount, probeSegmentPackets, writeDash, writeFmp4Hls } from "../helpers/packagers.ts";
import { tempDir } from "../helpers/vat.ts";

// Byte builders: each literal field written out, so a test states the exact layout it feeds the parser.
const u8 = (v: number) => new Uint8Array([v]);
const u16 = (v: number) => new Uint8Array([v >> 8, v & 255]);
const u24 = (v: number) => new Uint8Array([(v >> 16) & 255, (v >> 8) & 255, v & 255]);
function u32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0);
  return b;
}
function i32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v);
  return b;
}
function u64(v: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(v));
  return b;
}
const ascii = (s: string) => new TextEncoder().encode(s);
const zeros = (n: number) => new Uint8Array(n);
function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
const box = (type: string, ...body: Uint8Array[]) => {
  const b = cat(...body);
  return cat(u32(8 + b.length), ascii(type), b);
};
const fullBox = (type: string, version: number, flags: number, ...body: Uint8Array[]) => box(type, u8(version), u24(flags), ...body);

function tkhd(version: 0 | 1, trackId: number, width: number, height: number): Uint8Array {
  const times = version === 1 ? cat(u64(1), u64(2)) : cat(u32(1), u32(2));
  const duration = version === 1 ? u64(0) : u32(0);
  return fullBox("tkhd", version, 3, times, u32(trackId), zeros(4), duration, zeros(8), zeros(8), zeros(36), u32(width * 65536), u32(height * 65536));
}
const mdhd = (version: 0 | 1, timescale: number) =>
  fullBox("mdhd", version, 0, version === 1 ? cat(u64(0), u64(0)) : cat(u32(0), u32(0)), u32(timescale), version === 1 ? u64(0) : u32(0), zeros(4));
const hdlr = (handler: string) => fullBox("hdlr", 0, 0, zeros(4), ascii(handler), zeros(12), ascii("h\0"));
const visualEntry = (type: string, ...children: Uint8Array[]) => box(type, zeros(6), u16(1), zeros(16), u16(320), u16(240), zeros(50), ...children);
const audioEntry = (type: string, ...children: Uint8Array[]) => box(type, zeros(6), u16(1), zeros(8), u16(2), u16(16), zeros(4), u32(48000 * 65536), ...children);
const stsd = (entry: Uint8Array) => fullBox("stsd", 0, 0, u32(1), entry);
function trak(trackId: number, handler: string, timescale: number, entry: Uint8Array, tkhdVersion: 0 | 1 = 0): Uint8Array {
  const w = handler === "vide" ? 320 : 0;
  const h = handler === "vide" ? 240 : 0;
  return box("trak", tkhd(tkhdVersion, trackId, w, h), box("mdia", mdhd(tkhdVersion, timescale), hdlr(handler), box("minf", box("stbl", stsd(entry)))));
}
const trex = (trackId: number, duration: number, size: number, flags: number) => fullBox("trex", 0, 0, u32(trackId), u32(1), u32(duration), u32(size), u32(flags));
const ftyp = box("ftyp", ascii("iso6"), u32(0), ascii("iso6cmfcdash"));

const NON_SYNC = 0x10000;
const SYNC = 0x2000000; // depends on no other sample

function tfhd(trackId: number, flags: number, fields: Uint8Array[] = []) {
  return fullBox("tfhd", 0, flags, u32(trackId), ...fields);
}
const tfdt = (version: 0 | 1, t: number) => fullBox("tfdt", version, 0, version === 1 ? u64(t) : u32(t));
const mfhd = (seq: number) => fullBox("mfhd", 0, 0, u32(seq));

describe("box walker", () => {
  test("sizes: 32-bit, 64-bit largesize, uuid, to-the-end", () => {
    const large = cat(u32(1), ascii("free"), u64(16 + 3), ascii("abc"));
    const uuid = cat(u32(8 + 16 + 2), ascii("uuid"), new Uint8Array(16).fill(0xab), ascii("xy"));
    const plain = box("skip", ascii("12345"));
    const toEnd = cat(u32(0), ascii("mdat"), ascii("rest of file"));
    const boxes = childBoxes(cat(large, uuid, plain, toEnd));
    expect(boxes.map((b) => [b.type, b.start, b.headerSize, b.size])).toEqual([
      ["free", 0, 16, 19],
      ["uuid", 19, 24, 26],
      ["skip", 45, 8, 13],
      ["mdat", 58, 8, 20],
    ]);
    expect(new TextDecoder().decode(boxes[0]!.body)).toBe("abc");
    expect(boxes[1]!.userType).toBe("ab".repeat(16));
    expect(new TextDecoder().decode(boxes[3]!.body)).toBe("rest of file");
  });

  test("a truncated header is no box yet; a size below its header or past its parent is an error", () => {
    expect(readBoxHeader(cat(u32(100), ascii("mo")), 0)).toBeNull();
    expect(readBoxHeader(cat(u32(1), ascii("free"), zeros(4)), 0)).toBeNull();
    expect(() => readBoxHeader(cat(u32(4), ascii("free")), 0)).toThrow(Mp4Error);
    expect(() => childBoxes(cat(u32(4000), ascii("moof"), zeros(8)))).toThrow(/runs past its container/);
    expect(() => childBoxes(cat(box("free"), zeros(3)))).toThrow(/stray bytes/);
    const huge = cat(u32(1), ascii("mdat"), new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
    expect(() => readBoxHeader(huge, 0)).toThrow(Mp4Error);
  });

  test("fields are read big-endian at every width, the high bit and the sign included; past the body is an error", () => {
    const body = new Uint8Array([0xfe, 0xf1, 0x82, 0xe3, 0xd4, 0xc5, 0xb6, 0xa7, 0x98, 0x89, 0xfa, 0xeb, 0xdc, 0xcd, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05]);
    const r = new BoxReader(body, "test");
    expect(r.u8()).toBe(0xfe);
    expect(r.u16()).toBe(0xf182);
    expect(r.u24()).toBe(0xe3d4c5);
    expect(r.u32()).toBe(0xb6a79889);
    expect(r.i32()).toBe(0xfaebdccd - 2 ** 32);
    expect(r.u64()).toBe(0x0000000102030405);
    expect(r.remaining).toBe(0);
    expect(() => r.u8()).toThrow(/'test' is too short: needs 23 bytes, has 22/);
    expect(new BoxReader(cat(u32(0x1fffff), u32(0xffffffff)), "most").u64()).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => new BoxReader(cat(u32(0x200000), u32(0)), "big").u64()).toThrow(/too large to use: 9007199254740992/);
    expect(() => new BoxReader(cat(u32(0x80000000), u32(0)), "big").u64()).toThrow(/too large to use/);
    expect(readBoxHeader(cat(u32(0xfffffff0), ascii("mdat")), 0)?.size).toBe(0xfffffff0);
    // A container's end past the bytes is the bytes' end: a box to the end is as long as what is there.
    expect(readBoxHeader(cat(u32(0), ascii("mdat"), zeros(4)), 0, 1000)?.size).toBe(12);
    expect(readBoxHeader(cat(u32(16), ascii("mo")), 0, 1000)).toBeNull();
  });
});

describe("init segment", () => {
  test("tracks: handler, timescale, size, codec, trex defaults (tkhd/mdhd v0 and v1)", () => {
    const avcC = box("avcC", zeros(7));
    const moov = box(
      "moov",
      fullBox("mvhd", 0, 0, zeros(8), u32(1000), zeros(88)),
      trak(1, "vide", 90000, visualEntry("avc1", avcC)),
      trak(2, "soun", 48000, audioEntry("mp4a", box("esds", zeros(4))), 1),
      box("mvex", trex(1, 3000, 0, NON_SYNC), trex(2, 1024, 0, 0)),
    );
    const init = parseInitSegment(cat(ftyp, moov));
    expect(init.fileType).toEqual({ majorBrand: "iso6", minorVersion: 0, compatibleBrands: ["iso6", "cmfc", "dash"] });
    expect(init.movieTimescale).toBe(1000);
    expect(init.fragmented).toBe(true);
    expect(init.tracks.map((t) => [t.trackId, t.handler, t.timescale, t.width, t.height, t.codec, t.encryption])).toEqual([
      [1, "vide", 90000, 320, 240, "avc1", null],
      [2, "soun", 48000, 0, 0, "mp4a", null],
    ]);
    expect(init.tracks[0]!.defaults).toEqual({ sampleDescriptionIndex: 1, sampleDuration: 3000, sampleSize: 0, sampleFlags: NON_SYNC });
  });

  test.each(["hvc1", "hev1", "av01", "vp09", "avc3"])("codec %s", (codec) => {
    const init = parseInitSegment(box("moov", trak(1, "vide", 15360, visualEntry(codec, box("conf", zeros(2))))));
    expect(init.tracks[0]!.codec).toBe(codec);
    expect(init.fragmented).toBe(false);
  });

  test("encv/enca: encrypted, with the original format and scheme", () => {
    const sinf = (format: string, scheme: string) =>
      box("sinf", box("frma", ascii(format)), fullBox("schm", 0, 0, ascii(scheme), u32(0x10000)), box("schi", box("tenc", zeros(20))));
    const init = parseInitSegment(
      box(
        "moov",
        trak(1, "vide", 90000, visualEntry("encv", box("avcC", zeros(7)), sinf("avc1", "cbcs"))),
        trak(2, "soun", 48000, audioEntry("enca", box("esds", zeros(4)), sinf("mp4a", "cenc"))),
      ),
    );
    expect(init.tracks.map((t) => [t.sampleEntry, t.codec, t.encryption])).toEqual([
      ["encv", "avc1", { originalFormat: "avc1", scheme: "cbcs", schemeVersion: 0x10000 }],
      ["enca", "mp4a", { originalFormat: "mp4a", scheme: "cenc", schemeVersion: 0x10000 }],
    ]);
  });

  test("no moov, or a moov whose track is broken", () => {
    expect(() => parseInitSegment(ftyp)).toThrow(/no 'moov'/);
    expect(() => parseInitSegment(box("moov", box("trak", box("mdia"))))).toThrow(/without 'tkhd'/);
    expect(() => parseInitSegment(box("moov", trak(1, "vide", 0, visualEntry("avc1"))))).toThrow(/timescale of 0/);
  });
});

/** An init with one 90 kHz video track (id 1) whose trex says 3000-tick, non-sync samples, and an audio track (2). */
const INIT = parseInitSegment(
  box(
    "moov",
    trak(1, "vide", 90000, visualEntry("avc1", box("avcC", zeros(7)))),
    trak(2, "soun", 48000, audioEntry("mp4a", box("esds", zeros(4)))),
    box("mvex", trex(1, 3000, 0, NON_SYNC), trex(2, 1024, 0, 0)),
  ),
);

/** moof + mdat where trun's data offset must point past the moof: built twice, the second time with the real size. */
function fragmentWithData(build: (dataOffset: number) => Uint8Array, mdatPayload: Uint8Array): Uint8Array {
  const moofSize = build(0).length;
  return cat(build(moofSize + 8), box("mdat", mdatPayload));
}

const frameTuples = (frames: VideoFrame[]) => frames.map((f) => [f.decodeMs, f.presentationMs, f.offset, f.size, f.keyframe]);

describe("media segment", () => {
  test("trun with every per-sample field, first-sample flags, v1 signed composition offsets, default-base-is-moof", () => {
    const all = TRUN.dataOffset | TRUN.firstSampleFlags | TRUN.sampleDuration | TRUN.sampleSize | TRUN.sampleFlags | TRUN.sampleCompositionTimeOffset;
    const styp = box("styp", ascii("msdh"), u32(0), ascii("msdhmsix"));
    const seg = cat(
      styp,
      fragmentWithData(
        (off) =>
          box(
            "moof",
            mfhd(7),
            box(
              "traf",
              tfhd(1, TFHD.defaultBaseIsMoof),
              tfdt(1, 900000),
              fullBox("trun", 1, all, u32(3), i32(off), u32(NON_SYNC),
                u32(3000), u32(10), u32(SYNC), i32(3000),
                u32(3000), u32(20), u32(NON_SYNC), i32(6000),
                u32(6000), u32(30), u32(NON_SYNC), i32(-3000)),
            ),
          ),
        zeros(60),
      ),
    );
    const scan = scanFragmentedSegment(seg, INIT);
    const dataAt = seg.length - 60;
    // Both first-sample and per-sample flags: the sample's own field wins, as in ffmpeg's demuxer.
    expect(frameTuples(scan.frameList)).toEqual([
      [10000, 10000 + 1000 / 30, dataAt, 10, true],
      [10000 + 1000 / 30, 10000 + 3000 / 30, dataAt + 10, 20, false],
      [10000 + 2000 / 30, 10000 + 1000 / 30, dataAt + 30, 30, false],
    ]);
    expect(scan.frameList.map((f) => f.durationMs)).toEqual([1000 / 30, 1000 / 30, 2000 / 30]);
    expect(scan.frames).toBe(3);
    expect(scan.firstFrameEnd).toBe(dataAt + 10);
    // In decode order: the third frame is shown between the first two.
    [0, 2000 / 30, 0].forEach((ms, i) => expect(scan.ptsOffsetsMs[i]!).toBeCloseTo(ms, 9));
    expect(scan.segment.fragments[0]!.sequenceNumber).toBe(7);
    expect(scan.segment.segmentType?.majorBrand).toBe("msdh");
    expect(scan.truncated).toBe(false);
    expect(scan.encrypted).toBe(false);
  });

  test("trex defaults with first-sample flags; v0 unsigned offsets; tfhd defaults override trex", () => {
    const seg = fragmentWithData(
      (off) =>
        box(
          "moof",
          mfhd(1),
          box(
            "traf",
            tfhd(1, TFHD.defaultBaseIsMoof | TFHD.defaultSampleSize, [u32(100)]),
            tfdt(0, 90000),
            fullBox("trun", 0, TRUN.dataOffset | TRUN.firstSampleFlags | TRUN.sampleCompositionTimeOffset, u32(3), i32(off), u32(0), u32(3000), u32(6000), u32(0)),
          ),
        ),
      zeros(300),
    );
    const f = scanFragmentedSegment(seg, INIT).frameList;
    const data = seg.length - 300;
    expect(frameTuples(f)).toEqual([
      [1000, 1000 + 1000 / 30, data, 100, true],
      [1000 + 1000 / 30, 1000 + 3000 / 30, data + 100, 100, false],
      [1000 + 2000 / 30, 1000 + 2000 / 30, data + 200, 100, false],
    ]);
    const tfhdDefaults = fragmentWithData(
      (off) =>
        box(
          "moof",
          box(
            "traf",
            tfhd(1, TFHD.defaultBaseIsMoof | TFHD.sampleDescriptionIndex | TFHD.defaultSampleDuration | TFHD.defaultSampleSize | TFHD.defaultSampleFlags, [
              u32(1), u32(1500), u32(5), u32(0),
            ]),
            fullBox("trun", 0, TRUN.dataOffset, u32(2), i32(off)),
          ),
        ),
      zeros(10),
    );
    expect(frameTuples(scanFragmentedSegment(tfhdDefaults, INIT).frameList)).toEqual([
      [0, 0, tfhdDefaults.length - 10, 5, true],
      [1000 / 60, 1000 / 60, tfhdDefaults.length - 5, 5, true],
    ]);
  });

  test("explicit base-data-offset; a run without data offset continues the previous; trafs of two tracks", () => {
    // Data laid out as: [audio 8 bytes][video 4+6 bytes][video 7 bytes], all after the moof.
    const build = (moofEnd: number) =>
      box(
        "moof",
        mfhd(2),
        box("traf", tfhd(2, 0, []), tfdt(0, 0), fullBox("trun", 0, TRUN.dataOffset | TRUN.sampleSize, u32(2), i32(moofEnd), u32(4), u32(4))),
        box(
          "traf",
          tfhd(1, TFHD.baseDataOffset, [u64(moofEnd + 8)]),
          tfdt(0, 0),
          fullBox("trun", 0, TRUN.dataOffset | TRUN.sampleSize | TRUN.firstSampleFlags, u32(2), i32(0), u32(0), u32(4), u32(6)),
          fullBox("trun", 0, TRUN.sampleSize, u32(1), u32(7)),
        ),
      );
    const size = build(0).length;
    const seg = cat(build(size + 8), box("mdat", zeros(25)));
    const scan = scanFragmentedSegment(seg, INIT);
    const d = size + 8;
    expect(frameTuples(scan.frameList)).toEqual([
      [0, 0, d + 8, 4, true],
      [1000 / 30, 1000 / 30, d + 12, 6, false],
      [2000 / 30, 2000 / 30, d + 18, 7, false],
    ]);
    const audio = scanFragmentedSegment(seg, INIT, 2);
    expect(audio.frameList.map((f) => [f.offset, f.size, f.durationMs])).toEqual([
      [d, 4, (1024 * 1000) / 48000],
      [d + 4, 4, (1024 * 1000) / 48000],
    ]);
  });

  test("without base flags the second traf's data follows the first's; without tfdt times continue", () => {
    const build = (moofEnd: number) =>
      box(
        "moof",
        box("traf", tfhd(2, 0, []), tfdt(0, 0), fullBox("trun", 0, TRUN.dataOffset | TRUN.sampleSize, u32(1), i32(moofEnd), u32(9))),
        box("traf", tfhd(1, 0, []), tfdt(0, 0), fullBox("trun", 0, TRUN.sampleSize, u32(1), u32(3))),
      );
    const size = build(0).length;
    const first = cat(build(size + 8), box("mdat", zeros(12)));
    const second = fragmentWithData(
      (off) => box("moof", box("traf", tfhd(1, TFHD.defaultBaseIsMoof), fullBox("trun", 0, TRUN.dataOffset | TRUN.sampleSize, u32(1), i32(off), u32(2)))),
      zeros(2),
    );
    const scan = scanFragmentedSegment(cat(first, second), INIT);
    expect(frameTuples(scan.frameList)).toEqual([
      [0, 0, size + 8 + 9, 3, false],
      [1000 / 30, 1000 / 30, first.length + second.length - 2, 2, false],
    ]);
  });

  test("sidx, prft, emsg v0/v1, senc", () => {
    const sidx = fullBox("sidx", 1, 0, u32(1), u32(90000), u64(180000), u64(0), zeros(2), u16(1), u32((1 << 31) | 5000), u32(90000), u32((1 << 31) | (1 << 28)));
    const unixMs = Date.UTC(2026, 11, 1, 10, 0, 0, 500);
    const ntpS = Math.floor(unixMs / 1000) + 2208988800;
    const prft = fullBox("prft", 1, 24, u32(1), u32(ntpS), u32(2 ** 31), u64(180000));
    const emsg0 = fullBox("emsg", 0, 0, ascii("urn:scte:scte35:2013:bin\0"), ascii("1\0"), u32(90000), u32(900), u32(2700), u32(42), ascii("hi"));
    const emsg1 = fullBox("emsg", 1, 0, u32(1000), u64(5000), u32(100), u32(43), ascii("urn:x\0"), ascii("\0"), ascii("yo"));
    const frag = fragmentWithData(
      (off) => box("moof", box("traf", tfhd(1, TFHD.defaultBaseIsMoof), fullBox("senc", 0, 0, u32(1), zeros(8)), fullBox("trun", 0, TRUN.dataOffset | TRUN.sampleSize, u32(1), i32(off), u32(3)))),
      zeros(3),
    );
    const seg = parseMediaSegment(cat(sidx, prft, emsg0, emsg1, frag), new Map());
    expect(seg.segmentIndexes[0]).toEqual({
      referenceId: 1,
      timescale: 90000,
      earliestPresentationTime: 180000,
      firstOffset: 0,
      references: [{ referenceType: 1, referencedSize: 5000, subsegmentDuration: 90000, startsWithSap: true, sapType: 1 }],
    });
    expect(seg.producerReferences).toEqual([{ referenceTrackId: 1, wallClockMs: unixMs, mediaTime: 180000, flags: 24 }]);
    expect(seg.eventMessages.map((e) => [e.schemeIdUri, e.value, e.timescale, e.presentationTimeDelta, e.presentationTime, e.eventDuration, e.id, new TextDecoder().decode(e.messageData)])).toEqual([
      ["urn:scte:scte35:2013:bin", "1", 90000, 900, null, 2700, 42, "hi"],
      ["urn:x", "", 1000, null, 5000, 100, 43, "yo"],
    ]);
    expect(seg.fragments[0]!.trackFragments[0]!.encrypted).toBe(true);
    expect(scanFragmentedSegment(cat(sidx, frag), INIT).encrypted).toBe(true);
  });

  test("hostile sizes and truncation: clear errors or a truncated result, never a hang", () => {
    const hugeCount = box("moof", box("traf", tfhd(1, TFHD.defaultBaseIsMoof), fullBox("trun", 0, TRUN.sampleSize, u32(0xffffffff), u32(1))));
    expect(() => scanFragmentedSegment(hugeCount, INIT)).toThrow(/declares 4294967295 samples/);
    const hugeNoFields = box("moof", box("traf", tfhd(1, TFHD.defaultBaseIsMoof), fullBox("trun", 0, 0, u32(0xffffffff))));
    expect(() => scanFragmentedSegment(hugeNoFields, INIT)).toThrow(/declares 4294967295 samples, past the 1048576 a fragment may hold/);
    // Runs without per-sample fields share one bound per fragment: two halves and one more sample are too many.
    const half = fullBox("trun", 0, 0, u32(MAX_SAMPLES_PER_FRAGMENT / 2));
    const overBudget = box("moof", box("traf", tfhd(1, TFHD.defaultBaseIsMoof), half, half, fullBox("trun", 0, 0, u32(1))));
    expect(() => scanFragmentedSegment(overBudget, INIT)).toThrow(/declares 1 samples, past the 1048576/);
    // At the bound it is a (large) result, not a failure of the scan's own making.
    const atBudget = scanFragmentedSegment(box("moof", box("traf", tfhd(1, TFHD.defaultBaseIsMoof), half, half)), INIT);
    expect(atBudget.missingFrames + atBudget.frames).toBe(MAX_SAMPLES_PER_FRAGMENT);
    // Each of a run's per-sample fields takes 4 bytes: a run of 3 samples with all four needs 48, more than 44.
    const allFields = TRUN.sampleDuration | TRUN.sampleSize | TRUN.sampleFlags | TRUN.sampleCompositionTimeOffset;
    const shortRun = box("moof", box("traf", tfhd(1, TFHD.defaultBaseIsMoof), fullBox("trun", 0, allFields, u32(3), zeros(44))));
    expect(() => scanFragmentedSegment(shortRun, INIT)).toThrow(/'trun' of track 1 declares 3 samples, more than its 44 bytes describe/);
    for (const flag of [TRUN.sampleDuration, TRUN.sampleSize, TRUN.sampleFlags, TRUN.sampleCompositionTimeOffset]) {
      const oneShort = box("moof", box("traf", tfhd(1, TFHD.defaultBaseIsMoof), fullBox("trun", 0, flag, u32(3), zeros(8))));
      expect(() => scanFragmentedSegment(oneShort, INIT)).toThrow(/declares 3 samples, more than its 8 bytes describe/);
    }
    const childTooBig = cat(u32(24), ascii("moof"), u32(4000), ascii("traf"), zeros(8));
    expect(() => scanFragmentedSegment(childTooBig, INIT)).toThrow(/runs past its container/);
    const shortTfhd = box("moof", box("traf", fullBox("tfhd", 0, TFHD.baseDataOffset, u32(1))));
    expect(() => scanFragmentedSegment(shortTfhd, INIT)).toThrow(/'tfhd' is too short/);
    expect(() => scanFragmentedSegment(box("moof", box("traf")), INIT)).toThrow(/without 'tfhd'/);

    const whole = fragmentWithData(
      (off) => box("moof", box("traf", tfhd(1, TFHD.defaultBaseIsMoof), fullBox("trun", 0, TRUN.dataOffset | TRUN.sampleSize, u32(3), i32(off), u32(5), u32(5), u32(5)))),
      zeros(15),
    );
    const cut = scanFragmentedSegment(whole.subarray(0, whole.length - 7), INIT);
    expect([cut.frames, cut.missingFrames, cut.truncated]).toEqual([1, 2, true]);
    const inMoof = scanFragmentedSegment(whole.subarray(0, 20), INIT);
    expect([inMoof.frames, inMoof.truncated, inMoof.firstFrameEnd]).toEqual([0, true, 20]);
    expect(() => scanFragmentedSegment(whole, parseInitSegment(box("moov", trak(2, "soun", 48000, audioEntry("mp4a")))))).toThrow(/no video track/);
  });
});

describe("frames as bytes arrive", () => {
  const seg = cat(
    box("styp", ascii("msdh"), u32(0)),
    fragmentWithData(
      (off) =>
        box("moof", mfhd(1), box("traf", tfhd(1, TFHD.defaultBaseIsMoof), tfdt(0, 0), fullBox("trun", 0, TRUN.dataOffset | TRUN.sampleSize | TRUN.firstSampleFlags, u32(3), i32(off), u32(0), u32(50), u32(20), u32(30)))),
      zeros(100),
    ),
    fragmentWithData(
      (off) => box("moof", mfhd(2), box("traf", tfhd(1, TFHD.defaultBaseIsMoof), fullBox("trun", 0, TRUN.dataOffset | TRUN.sampleSize, u32(2), i32(off), u32(10), u32(10)))),
      zeros(20),
    ),
  );
  const truth = scanFragmentedSegment(seg, INIT).frameList;

  test.each([1, 7, 64, 1000])("in chunks of %d bytes each frame is reported by the chunk holding its last byte", (chunkSize) => {
    const arrivals = new FrameArrivals(INIT);
    const seen: [number, number][] = [];
    for (let at = 0; at < seg.length; at += chunkSize) {
      const end = Math.min(at + chunkSize, seg.length);
      for (const f of arrivals.push(seg.subarray(at, end))) {
        expect(f.end).toBeGreaterThan(at);
        expect(f.end).toBeLessThanOrEqual(end);
        seen.push([f.index, f.end]);
      }
    }
    expect(seen).toEqual(truth.map((f) => [f.index, f.end]));
    expect(truth.map((f) => f.decodeMs)).toEqual([0, 1000 / 30, 2000 / 30, 3000 / 30, 4000 / 30]);
    expect(arrivals.truncated).toBe(false);
    expect(arrivals.segment.fragments.map((f) => f.sequenceNumber)).toEqual([1, 2]);
  });

  test("stamps: each frame takes the time of the chunk that brought its last byte, in decode order", () => {
    // Chunk boundaries chosen by hand: frame 0 ends in the first, frames 1-2 in the second, 3-4 in the last.
    const cuts = [truth[0]!.end + 1, truth[2]!.end, seg.length];
    const stamps = new ChunkStamps(INIT, 1);
    let from = 0;
    cuts.forEach((to, i) => {
      stamps.push(seg.subarray(from, to), 1000 + 100 * i);
      from = to;
    });
    expect(stamps.frameArrivalsMs(5, 9999)).toEqual([1000, 1100, 1100, 1200, 1200]);
    expect(stamps.firstByteAtMs).toBe(1000);
    // A body cut short: the frames never completed take the end of the transfer.
    const short = new ChunkStamps(INIT, 1);
    short.push(seg.subarray(0, truth[1]!.end), 500);
    expect(short.frameArrivalsMs(5, 700)).toEqual([500, 500, 700, 700, 700]);
  });

  test("a transfer that stops early leaves frames pending and says so", () => {
    const arrivals = new FrameArrivals(INIT);
    const got = arrivals.push(seg.subarray(0, truth[1]!.end + 3));
    expect(got.map((f) => f.index)).toEqual([0, 1]);
    expect(arrivals.pending).toBe(1);
    expect(arrivals.truncated).toBe(true);
  });

  test("an mdat of size 0 (to the end) still completes frames as bytes come", () => {
    const build = (off: number) => box("moof", box("traf", tfhd(1, TFHD.defaultBaseIsMoof), fullBox("trun", 0, TRUN.dataOffset | TRUN.sampleSize, u32(2), i32(off), u32(4), u32(4))));
    const moof = build(build(0).length + 8);
    const open = cat(moof, u32(0), ascii("mdat"), zeros(8));
    const arrivals = new FrameArrivals(INIT);
    expect(arrivals.push(open.subarray(0, moof.length + 8 + 4)).map((f) => f.index)).toEqual([0]);
    expect(arrivals.push(open.subarray(moof.length + 12)).map((f) => f.index)).toEqual([1]);
    expect(arrivals.truncated).toBe(false);
    // A box to the end is whole whatever came: the boxes read are the whole body's, not a body cut short.
    expect(arrivals.segment.truncated).toBe(false);
    expect(arrivals.segment).toEqual(parseMediaSegment(open, defaultsOf(INIT)));
  });

  test("the boxes read as pieces come are the whole body's, pieces of any size; a body whose boxes broke gives none", () => {
    const emsg = fullBox("emsg", 0, 0, ascii("urn:x\0"), ascii("v\0"), u32(1000), u32(0), u32(0), u32(7), ascii("payload"));
    const body = cat(emsg, seg);
    const whole = parseMediaSegment(body, defaultsOf(INIT));
    for (const size of [1, 5, 33, 200, body.length]) {
      const stamps = new ChunkStamps(INIT, 1);
      // One buffer reused for every piece, as a reader may: nothing read may point into it.
      const piece = new Uint8Array(size);
      for (let at = 0; at < body.length; at += size) {
        const n = Math.min(size, body.length - at);
        piece.set(body.subarray(at, at + n));
        stamps.push(piece.subarray(0, n), at);
        piece.fill(0xee);
      }
      expect(stamps.segment).toEqual(whole);
      expect(new TextDecoder().decode(stamps.segment!.eventMessages[0]!.messageData)).toBe("payload");
      // Cut short inside the second fragment: read so far, and said to be cut.
      const cut = new ChunkStamps(INIT, 1);
      for (let at = 0; at < body.length - 5; at += size) cut.push(body.subarray(at, Math.min(at + size, body.length - 5)), at);
      expect(cut.segment).toEqual(parseMediaSegment(body.subarray(0, body.length - 5), defaultsOf(INIT)));
      expect(cut.segment!.truncated).toBe(true);
    }
    // A snapshot: what is pushed after it is taken does not change it.
    const early = new ChunkStamps(INIT, 1);
    early.push(body.subarray(0, emsg.length), 0);
    const before = early.segment!;
    early.push(body.subarray(emsg.length), 1);
    expect(before.fragments).toEqual([]);
    expect(early.segment!.fragments).toHaveLength(2);
    // A describing box the stamps cannot follow: they stop, and their boxes are not to be used.
    const broken = new ChunkStamps(INIT, 1);
    broken.push(cat(u32(0x7fffffff), ascii("moof")), 0);
    expect(broken.broken).toMatch(/declares 2147483647 bytes/);
    expect(broken.segment).toBeNull();
  });

  test("a describing box of absurd size is refused instead of buffered", () => {
    const arrivals = new FrameArrivals(INIT);
    expect(() => arrivals.push(cat(u32(0x7fffffff), ascii("moof")))).toThrow(/declares 2147483647 bytes/);
  });
});

describe("ffmpeg 5.1 fixtures against ffprobe", () => {
  const dirs: { cleanup(): void }[] = [];
  afterAll(() => dirs.forEach((d) => d.cleanup()));
  const scratch = () => {
    const d = tempDir("vat-mp4-");
    dirs.push(d);
    return d.path;
  };

  function expectMatchesProbe(init: string, segments: string[], dir: string, fps: number) {
    const parsedInit = parseInitSegment(readFileSync(init));
    expect(parsedInit.tracks.find((t) => t.handler === "vide")?.codec).toBe("avc1");
    let decodeEndMs: number | null = null;
    for (const file of segments) {
      const bytes = readFileSync(file);
      const scan = scanFragmentedSegment(bytes, parsedInit);
      const probe = probeSegmentPackets(init, file, dir);
      expect(scan.frames).toBe(probe.length);
      expect(scan.frames).toBe(probeSegmentFrameCount(init, file, dir));
      expect(scan.frameList.map((f) => [f.offset, f.size, f.keyframe])).toEqual(probe.map((p) => [p.pos, p.size, p.keyframe]));
      scan.frameList.forEach((f, i) => {
        expect(f.decodeMs).toBeCloseTo(probe[i]!.dtsMs, 3);
        expect(f.presentationMs).toBeCloseTo(probe[i]!.ptsMs, 3);
        expect(f.durationMs).toBeCloseTo(1000 / fps, 3);
      });
      expect(scan.firstFrameEnd).toBe(probe[0]!.pos + probe[0]!.size);
      // Segments follow each other in decode time.
      if (decodeEndMs !== null) expect(scan.frameList[0]!.decodeMs).toBeCloseTo(decodeEndMs, 3);
      const last = scan.frameList.at(-1)!;
      decodeEndMs = last.decodeMs + last.durationMs;
      // Streaming the same bytes in 500-byte chunks reports every frame once, by the chunk holding its end.
      const arrivals = new FrameArrivals(parsedInit);
      const order: number[] = [];
      for (let at = 0; at < bytes.length; at += 500) {
        for (const f of arrivals.push(bytes.subarray(at, at + 500))) {
          expect(Math.floor((f.end - 1) / 500)).toBe(at / 500);
          order.push(f.index);
        }
      }
      expect(order).toEqual(scan.frameList.map((f) => f.index));
      // The boxes read as they streamed in are what parsing the whole segment gives: the client scans from them.
      expect(arrivals.segment).toEqual(scan.segment);
      expect(scanFragmentedSegment(bytes, parsedInit, undefined, arrivals.segment)).toEqual(scan);
    }
  }

  test("HLS fMP4 (EXT-X-MAP), 25 fps, GOP 25, B-frames, 1 s segments", () => {
    const dir = scratch();
    const out = writeFmp4Hls(dir, { fps: 25, gop: 25, durationS: 3, segmentS: 1, bframes: 2 });
    expect(readFileSync(out.playlist, "utf8")).toContain('#EXT-X-MAP:URI="init.mp4"');
    expect(out.segments.length).toBe(3);
    expectMatchesProbe(out.init, out.segments, dir, 25);
    const keyframes = out.segments.map((s) => scanFragmentedSegment(readFileSync(s), parseInitSegment(readFileSync(out.init))).frameList.filter((f) => f.keyframe).length);
    expect(keyframes).toEqual([1, 1, 1]);
  });

  test("DASH with SegmentTimeline, 30 fps, GOP 15 (two GOPs per segment), with audio", () => {
    const dir = scratch();
    const out = writeDash(dir, { fps: 30, gop: 15, durationS: 2, segmentS: 1, timeline: true, audio: true });
    expect(out.segments.length).toBe(2);
    expectMatchesProbe(out.init, out.segments, dir, 30);
  });

  test("corrupted bytes give a result or an Mp4Error, nothing else (seeded mutations of real files)", () => {
    const dir = scratch();
    const out = writeDash(dir, { fps: 25, gop: 25, durationS: 1, segmentS: 1, timeline: true, extra: ["-streaming", "1"] });
    const initBytes = readFileSync(out.init);
    const segment = readFileSync(out.segments[0]!).subarray(0, 4000);
    const init = parseInitSegment(initBytes);
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const foreign: string[] = [];
    let refused = 0;
    // Streamed segments whose boxes were read as they came: each must scan as the whole segment does.
    let streamed = 0;
    const differing: number[] = [];
    const attempt = <T>(f: () => T): T | null => {
      try {
        return f();
      } catch (err) {
        if (err instanceof Mp4Error) refused++;
        else foreign.push(String(err));
        return null;
      }
    };
    for (let i = 0; i < 4000; i++) {
      const bytes = new Uint8Array(i % 2 ? segment : initBytes);
      for (let k = 0; k < 1 + Math.floor(random() * 4); k++) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      if (i % 2 === 0) {
        attempt(() => parseInitSegment(bytes));
        continue;
      }
      const whole = attempt(() => scanFragmentedSegment(bytes, init));
      const arrivals = new FrameArrivals(init);
      const read = attempt(() => {
        for (let at = 0; at < bytes.length; at += 300) arrivals.push(bytes.subarray(at, at + 300));
        return arrivals.segment;
      });
      if (read === null) continue;
      streamed++;
      // A body whose boxes could be followed as it came but not parsed whole would turn an unreadable part readable.
      const fromRead = attempt(() => scanFragmentedSegment(bytes, init, undefined, read));
      if (whole === null || fromRead === null || !Bun.deepEquals(fromRead, whole)) differing.push(i);
    }
    expect(foreign).toEqual([]);
    expect(refused).toBeGreaterThan(0);
    expect(streamed).toBeGreaterThan(1000);
    expect(differing).toEqual([]);
  });

  test("DASH SegmentTemplate@duration with -ldash/-streaming (several fragments per segment)", () => {
    const dir = scratch();
    const out = writeDash(dir, {
      fps: 25, gop: 25, durationS: 2, segmentS: 1, timeline: false,
      extra: ["-ldash", "1", "-streaming", "1", "-frag_type", "duration", "-frag_duration", "0.2"],
    });
    const first = readFileSync(out.segments[0]!);
    const scan = scanFragmentedSegment(first, parseInitSegment(readFileSync(out.init)));
    expect(scan.segment.fragments.length).toBeGreaterThan(1);
    expectMatchesProbe(out.init, out.segments, dir, 25);
  });
});
