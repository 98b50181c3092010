import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  chooseVariant,
  parseAttributes,
  parseMediaPlaylist,
  parseMultivariantPlaylist,
  PlaylistError,
  renderLivePlaylist,
  resolveRemoteUri,
} from "../../src/hls/playlist.ts";
import type { VariantChoice } from "../../src/client/variants.ts";
import { countVideoFrames, scanSegment } from "../../src/hls/ts-frames.ts";
import { ffprobeFrames } from "../helpers/vat.ts";

describe("media playlists", () => {
  test("an ffmpeg live playlist", () => {
    const p = parseMediaPlaylist(
      "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:41\n#EXT-X-INDEPENDENT-SEGMENTS\n" +
        "#EXTINF:1.000000,\nseg_41.ts\n#EXTINF:1.000000,\nseg_42.ts\n#EXT-X-DISCONTINUITY\n" +
        "#EXT-X-PROGRAM-DATE-TIME:2026-11-24T10:00:00.500Z\n#EXTINF:0.966667,\nseg_43.ts\n",
    );
    expect(p.targetDurationS).toBe(1);
    expect(p.mediaSequence).toBe(41);
    expect(p.endList).toBe(false);
    expect(p.segments.map((s) => [s.sequence, s.uri, s.durationS, s.discontinuity])).toEqual([
      [41, "seg_41.ts", 1, false],
      [42, "seg_42.ts", 1, false],
      [43, "seg_43.ts", 0.966667, true],
    ]);
    expect(p.segments[2]!.programDateTimeMs).toBe(Date.parse("2026-11-24T10:00:00.500Z"));
  });

  test("VOD with CRLF and no media sequence", () => {
    const p = parseMediaPlaylist("#EXTM3U\r\n#EXT-X-TARGETDURATION:2\r\n#EXTINF:2,\r\na.ts\r\n#EXT-X-ENDLIST\r\n");
    expect(p.endList).toBe(true);
    expect(p.segments).toEqual([{ sequence: 0, uri: "a.ts", durationS: 2, discontinuity: false, discontinuitySequence: 0 }]);
  });

  test("a looping live playlist: discontinuity numbers and program date-times survive writing and reading", () => {
    const t0 = Date.parse("2026-11-25T08:00:00.000Z");
    const text = renderLivePlaylist(
      [
        { sequence: 58, uri: "seg_58.ts", durationS: 1, programDateTimeMs: t0 + 8000, discontinuity: false },
        { sequence: 59, uri: "seg_59.ts", durationS: 0.5, programDateTimeMs: t0 + 9000, discontinuity: false },
        { sequence: 60, uri: "seg_60.ts", durationS: 1, programDateTimeMs: t0 + 9500, discontinuity: true },
        { sequence: 61, uri: "seg_61.ts", durationS: 1, programDateTimeMs: t0 + 10_500, discontinuity: false },
      ],
      6,
    );
    expect(text).toContain("#EXT-X-DISCONTINUITY-SEQUENCE:6\n");
    expect(text).toContain("#EXT-X-PROGRAM-DATE-TIME:2026-11-25T08:00:09.500Z\n");
    const p = parseMediaPlaylist(text);
    expect(p.mediaSequence).toBe(58);
    expect(p.discontinuitySequence).toBe(6);
    expect(p.targetDurationS).toBe(1);
    expect(p.segments.map((s) => [s.sequence, s.discontinuity, s.discontinuitySequence, s.programDateTimeMs! - t0, s.durationS])).toEqual([
      [58, false, 6, 8000, 1],
      [59, false, 6, 9000, 0.5],
      [60, true, 7, 9500, 1],
      [61, false, 7, 10_500, 1],
    ]);
  });

  test("not playlists", () => {
    expect(() => parseMediaPlaylist("<html>hello</html>")).toThrow(PlaylistError);
    expect(() => parseMediaPlaylist("#EXTM3U\nseg.ts\n")).toThrow(/no #EXTINF/);
    expect(() => parseMediaPlaylist("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nlow.m3u8\n")).toThrow(/master/);
  });
});

const HEAD = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n";

describe("values a playlist cannot hold: the text is not a playlist, with the reason", () => {
  test.each([
    ["a media sequence beyond 2^53", `${HEAD}#EXT-X-MEDIA-SEQUENCE:1e20\n#EXTINF:2,\na.ts\n`, /MEDIA-SEQUENCE '1e20'/],
    ["a media sequence of 17 digits", `${HEAD}#EXT-X-MEDIA-SEQUENCE:99999999999999999\n#EXTINF:2,\na.ts\n`, /MEDIA-SEQUENCE/],
    ["a negative media sequence", `${HEAD}#EXT-X-MEDIA-SEQUENCE:-3\n#EXTINF:2,\na.ts\n`, /MEDIA-SEQUENCE '-3'/],
    ["a media sequence whose segments pass 2^53", `${HEAD}#EXT-X-MEDIA-SEQUENCE:9007199254740991\n#EXTINF:2,\na.ts\n#EXTINF:2,\nb.ts\n`, /beyond/],
    ["a text target duration", "#EXTM3U\n#EXT-X-TARGETDURATION:soon\n#EXTINF:2,\na.ts\n", /TARGETDURATION 'soon'/],
    ["an infinite target duration", "#EXTM3U\n#EXT-X-TARGETDURATION:1e309\n#EXTINF:2,\na.ts\n", /TARGETDURATION/],
    ["a discontinuity sequence that is NaN", `${HEAD}#EXT-X-DISCONTINUITY-SEQUENCE:NaN\n#EXTINF:2,\na.ts\n`, /DISCONTINUITY-SEQUENCE 'NaN'/],
    ["a byte range that is text", `${HEAD}#EXT-X-BYTERANGE:lots\n#EXTINF:2,\na.ts\n`, /BYTERANGE 'lots'/],
    ["a key without a method", `${HEAD}#EXT-X-KEY:URI="k"\n#EXTINF:2,\na.ts\n`, /METHOD/],
    ["a map without a URI", `${HEAD}#EXT-X-MAP:BYTERANGE="10@0"\n#EXTINF:2,\na.ts\n`, /MAP without URI/],
    ["junk lines after the header", `#EXTM3U\n${"junk ".repeat(20)}\n`, /has no #EXTINF/],
  ])("%s", (_name, text, reason) => {
    expect(() => parseMediaPlaylist(text)).toThrow(PlaylistError);
    expect(() => parseMediaPlaylist(text)).toThrow(reason);
  });

  test("2^53 − 1 itself is a media sequence", () => {
    expect(parseMediaPlaylist(`${HEAD}#EXT-X-MEDIA-SEQUENCE:9007199254740991\n#EXTINF:2,\na.ts\n`).segments[0]!.sequence).toBe(
      Number.MAX_SAFE_INTEGER,
    );
  });
});

describe("values a playlist should not hold: mended, with a warning", () => {
  test.each([
    ["NaN", "NaN"],
    ["text", "two seconds"],
    ["negative", "-5"],
    ["infinite", "1e309"],
    ["longer than a day", "100000"],
    ["empty", ""],
  ])("EXTINF %s is taken as the target duration", (_name, value) => {
    const p = parseMediaPlaylist(`${HEAD}#EXTINF:${value},\na.ts\n#EXTINF:1.5,\nb.ts\n`);
    expect(p.segments.map((s) => s.durationS)).toEqual([2, 1.5]);
    expect(p.warnings).toHaveLength(1);
    expect(p.warnings[0]!.code).toBe("extinf");
    expect(p.warnings[0]!.detail).toContain("of segment 0 is not a duration");
  });

  test("a program date-time that is no date is dropped", () => {
    const p = parseMediaPlaylist(`${HEAD}#EXT-X-PROGRAM-DATE-TIME:yesterday\n#EXTINF:2,\na.ts\n`);
    expect(p.segments[0]!.programDateTimeMs).toBeUndefined();
    expect(p.warnings.map((w) => w.code)).toEqual(["program-date-time"]);
  });

  test("valid values give no warning", () => {
    expect(parseMediaPlaylist(`${HEAD}#EXTINF:1.966,\na.ts\n#EXTINF:.5,\nb.ts\n#EXTINF:0,\nc.ts\n`).warnings).toEqual([]);
  });
});

describe("megabyte lines cost linear time (no regular expression that backtracks)", () => {
  const long = 2_000_000;
  test("an EXTINF of two million digits and a letter", () => {
    const p = parseMediaPlaylist(`${HEAD}#EXTINF:${"1".repeat(long)}x,\na.ts\n`);
    expect(p.segments[0]!.durationS).toBe(2);
    expect(p.warnings[0]!.detail).toStartWith(`#EXTINF '${"1".repeat(40)}…' of segment 0`);
  });
  test("attribute lists of two million letters, with and without '='", () => {
    expect(parseAttributes("A".repeat(long))).toEqual({});
    expect(parseAttributes(`URI="${"x".repeat(long)}`)).toEqual({ URI: "x".repeat(long) });
    expect(() => parseMediaPlaylist(`${HEAD}#EXT-X-KEY:${"A".repeat(long)}\n#EXTINF:2,\na.ts\n`)).toThrow(/without METHOD/);
    expect(parseMultivariantPlaylist(`#EXTM3U\n#EXT-X-STREAM-INF:${"B".repeat(long)}=1\nv.m3u8\n`)!.variants).toHaveLength(1);
  });
  test("a target duration and a date of two million characters", () => {
    expect(() => parseMediaPlaylist(`#EXTM3U\n#EXT-X-TARGETDURATION:${"9".repeat(long)}x\n`)).toThrow(/TARGETDURATION/);
    const p = parseMediaPlaylist(`${HEAD}#EXT-X-PROGRAM-DATE-TIME:${"2".repeat(long)}\n#EXTINF:2,\na.ts\n`);
    expect(p.warnings.map((w) => w.code)).toEqual(["program-date-time"]);
  });
});

describe("byte ranges, init sections and keys", () => {
  test("EXT-X-BYTERANGE: an absent offset continues the previous range of the same URI", () => {
    const p = parseMediaPlaylist(
      `${HEAD}#EXTINF:2,\n#EXT-X-BYTERANGE:1000@200\nall.ts\n#EXTINF:2,\n#EXT-X-BYTERANGE:500\nall.ts\n` +
        `#EXTINF:2,\n#EXT-X-BYTERANGE:700\nall.ts\n#EXTINF:2,\nwhole.ts\n`,
    );
    expect(p.segments.map((s) => s.byteRange)).toEqual([
      { lengthBytes: 1000, offsetBytes: 200 },
      { lengthBytes: 500, offsetBytes: 1200 },
      { lengthBytes: 700, offsetBytes: 1700 },
      undefined,
    ]);
    expect(p.warnings).toEqual([]);
  });

  test("EXT-X-BYTERANGE without offset after another URI starts at 0, with a warning", () => {
    const p = parseMediaPlaylist(`${HEAD}#EXTINF:2,\n#EXT-X-BYTERANGE:10@0\na.ts\n#EXTINF:2,\n#EXT-X-BYTERANGE:20\nb.ts\n`);
    expect(p.segments[1]!.byteRange).toEqual({ lengthBytes: 20, offsetBytes: 0 });
    expect(p.warnings.map((w) => w.code)).toEqual(["byterange"]);
  });

  test("EXT-X-MAP applies to the segments after it, until the next one", () => {
    const p = parseMediaPlaylist(
      `${HEAD}#EXT-X-MAP:URI="init.mp4"\n#EXTINF:2,\na.m4s\n#EXT-X-MAP:URI="init2.mp4",BYTERANGE="720@16"\n` +
        `#EXTINF:2,\nb.m4s\n#EXT-X-MAP:URI="i3.mp4",BYTERANGE="50"\n#EXTINF:2,\nc.m4s\n`,
    );
    expect(p.segments.map((s) => s.init)).toEqual([
      { uri: "init.mp4" },
      { uri: "init2.mp4", byteRange: { lengthBytes: 720, offsetBytes: 16 } },
      { uri: "i3.mp4", byteRange: { lengthBytes: 50, offsetBytes: 0 } },
    ]);
  });

  test.each([
    ["NONE", undefined],
    ["AES-128", "AES-128"],
    ["SAMPLE-AES", "SAMPLE-AES"],
  ])("EXT-X-KEY METHOD=%s", (method, encryption) => {
    const p = parseMediaPlaylist(`${HEAD}#EXT-X-KEY:METHOD=${method},URI="https://k/1",IV=0x1\n#EXTINF:2,\na.ts\n`);
    expect(p.segments[0]!.encryption).toBe(encryption);
  });

  test("a key in force until METHOD=NONE", () => {
    const p = parseMediaPlaylist(
      `${HEAD}#EXTINF:2,\na.ts\n#EXT-X-KEY:METHOD=AES-128,URI="k"\n#EXTINF:2,\nb.ts\n#EXTINF:2,\nc.ts\n` +
        `#EXT-X-KEY:METHOD=NONE\n#EXTINF:2,\nd.ts\n`,
    );
    expect(p.segments.map((s) => s.encryption ?? "-")).toEqual(["-", "AES-128", "AES-128", "-"]);
  });

  test.each<[string, Record<string, string>]>([
    ['BANDWIDTH=1280000,CODECS="avc1.4d401f,mp4a.40.2",RESOLUTION=1280x720,NAME="a=b"', {
      BANDWIDTH: "1280000",
      CODECS: "avc1.4d401f,mp4a.40.2",
      RESOLUTION: "1280x720",
      NAME: "a=b",
    }],
    ["METHOD=NONE", { METHOD: "NONE" }],
    ['URI="unclosed,METHOD=AES-128', { URI: "unclosed,METHOD=AES-128" }],
    ['lower=1,A="x" ,B=2', { A: "x", B: "2" }],
    ["", {}],
  ])("attribute list %s", (text, attributes) => {
    expect(parseAttributes(text)).toEqual(attributes);
  });
});

const LADDER = `#EXTM3U
#EXT-X-VERSION:6
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",NAME="English",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,URI="audio/en.m3u8"
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",NAME="Deutsch",LANGUAGE="de",URI="audio/de.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=2500000,AVERAGE-BANDWIDTH=2200000,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2",FRAME-RATE=30.000,AUDIO="aac"
720/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=854x480,CODECS="avc1.64001e,mp4a.40.2",AUDIO="aac"
480/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=5000000,RESOLUTION=1920x1080,FRAME-RATE=60
1080/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=3000000,RESOLUTION=1280x720,FRAME-RATE=60
720p60/index.m3u8
`;

describe("multivariant playlists", () => {
  test("every variant with its attributes, and the renditions", () => {
    const m = parseMultivariantPlaylist(LADDER)!;
    expect(m.variants[0]).toEqual({
      uri: "720/index.m3u8",
      bandwidth: 2_500_000,
      averageBandwidth: 2_200_000,
      resolution: { width: 1280, height: 720 },
      codecs: ["avc1.64001f", "mp4a.40.2"],
      frameRate: 30,
      audio: "aac",
    });
    expect(m.variants.map((v) => [v.uri, v.bandwidth])).toEqual([
      ["720/index.m3u8", 2_500_000],
      ["480/index.m3u8", 800_000],
      ["1080/index.m3u8", 5_000_000],
      ["720p60/index.m3u8", 3_000_000],
    ]);
    expect(m.renditions).toEqual([
      { type: "AUDIO", groupId: "aac", name: "English", language: "en", uri: "audio/en.m3u8", default: true, autoselect: true },
      { type: "AUDIO", groupId: "aac", name: "Deutsch", language: "de", uri: "audio/de.m3u8", default: false, autoselect: false },
    ]);
    expect(m.warnings).toEqual([]);
  });

  test("a media playlist is not one", () => {
    expect(parseMultivariantPlaylist("#EXTM3U\n#EXTINF:1,\na.ts\n")).toBeNull();
    expect(() => parseMultivariantPlaylist("<html>")).toThrow(PlaylistError);
  });

  test("malformed attributes are left out, with warnings", () => {
    const m = parseMultivariantPlaylist(
      "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=fast,RESOLUTION=big,FRAME-RATE=-1\na.m3u8\n#EXT-X-STREAM-INF:RESOLUTION=640x360\nb.m3u8\n",
    )!;
    expect(m.variants).toEqual([{ uri: "a.m3u8", bandwidth: null }, { uri: "b.m3u8", bandwidth: null, resolution: { width: 640, height: 360 } }]);
    expect(m.warnings.map((w) => w.detail)).toEqual([
      "variant 0: BANDWIDTH 'fast' is not a whole number: ignored",
      "variant 0: RESOLUTION 'big' is not WxH: ignored",
      "variant 0: FRAME-RATE '-1' is not a rate: ignored",
      "variant 1 (b.m3u8) has no BANDWIDTH",
    ]);
  });

  const variants = parseMultivariantPlaylist(LADDER)!.variants;
  test.each<[string, VariantChoice, string | null]>([
    ["highest", { kind: "highest" }, "1080/index.m3u8"],
    ["lowest", { kind: "lowest" }, "480/index.m3u8"],
    ["a cap between two", { kind: "bandwidth", bitsPerS: 2_900_000 }, "720/index.m3u8"],
    ["a cap exactly on one", { kind: "bandwidth", bitsPerS: 3_000_000 }, "720p60/index.m3u8"],
    ["a cap under all: the lowest", { kind: "bandwidth", bitsPerS: 100 }, "480/index.m3u8"],
    ["720p: the higher of two", { kind: "resolution", width: null, height: 720 }, "720p60/index.m3u8"],
    ["854x480", { kind: "resolution", width: 854, height: 480 }, "480/index.m3u8"],
    ["a resolution not there", { kind: "resolution", width: null, height: 2160 }, null],
    ["a width that does not match", { kind: "resolution", width: 1000, height: 720 }, null],
    ["index 0: the lowest bandwidth, as in every ladder", { kind: "index", index: 0 }, "480/index.m3u8"],
    ["index 2", { kind: "index", index: 2 }, "720p60/index.m3u8"],
    ["an index past the end", { kind: "index", index: 4 }, null],
  ])("chooseVariant: %s", (_name, choice, uri) => {
    const picked = chooseVariant(variants, choice);
    expect(picked?.variant.uri ?? null).toBe(uri);
    if (picked) expect(variants[picked.index]).toBe(picked.variant);
  });

  test("chooseVariant: an audio-only variant is passed over", () => {
    const m = parseMultivariantPlaylist(`${LADDER}#EXT-X-STREAM-INF:BANDWIDTH=64000,CODECS="mp4a.40.2"\naudio.m3u8\n`)!;
    expect(chooseVariant(m.variants, { kind: "lowest" })!.variant.uri).toBe("480/index.m3u8");
    expect(chooseVariant(m.variants, { kind: "bandwidth", bitsPerS: 100_000 })!.variant.uri).toBe("480/index.m3u8");
    expect(chooseVariant(m.variants, { kind: "index", index: 0 })!.variant.uri).toBe("480/index.m3u8");
    expect(chooseVariant(m.variants, { kind: "index", index: 4 })).toBeNull();
    const onlyAudio = [{ uri: "a.m3u8", bandwidth: 64_000, codecs: ["mp4a.40.2"] }];
    expect(chooseVariant(onlyAudio, { kind: "highest" })!.variant.uri).toBe("a.m3u8");
  });

  test("chooseVariant: variants without bandwidth rank lowest; nothing to choose from", () => {
    const v = [{ uri: "x", bandwidth: null }, { uri: "y", bandwidth: 10 }];
    expect(chooseVariant(v, { kind: "highest" })!.variant.uri).toBe("y");
    expect(chooseVariant(v, { kind: "lowest" })!.variant.uri).toBe("x");
    expect(chooseVariant([], { kind: "highest" })).toBeNull();
  });
});

describe("URIs named by a playlist", () => {
  test.each([
    ["seg_1.ts", "http://h/live/stream.m3u8", "http://h/live/seg_1.ts"],
    ["../x/seg.ts", "https://h/live/stream.m3u8", "https://h/x/seg.ts"],
    ["//cdn.example/seg.ts", "https://h/live/stream.m3u8", "https://cdn.example/seg.ts"],
    ["HTTP://Other/seg.ts", "https://h/live/stream.m3u8", "http://other/seg.ts"],
  ])("%s is fetched", (uri, base, url) => {
    expect(resolveRemoteUri(uri, base)).toEqual({ ok: true, url });
  });
  test.each([
    ["file:///etc/passwd", "file:"],
    ["data:video/mp2t;base64,R0lG", "data:"],
    ["ftp://h/seg.ts", "ftp:"],
    ["javascript:alert(1)", "javascript:"],
    ["blob:http://h/1", "blob:"],
  ])("%s is refused", (uri, scheme) => {
    const r = resolveRemoteUri(uri, "http://h/live/stream.m3u8");
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toContain(scheme);
  });
});

describe("frames in an MPEG-TS segment", () => {
  test.each([
    [25, 1],
    [30, 2],
    [7, 1],
  ])("counts %d frames the way ffprobe does (%d s)", (fps, seconds) => {
    const dir = mkdtempSync(join(tmpdir(), "vat-ts-"));
    try {
      const file = join(dir, "s.ts");
      const made = spawnSync("ffmpeg", [
        "-v", "error", "-f", "lavfi", "-i", `testsrc2=size=320x180:rate=${fps}`, "-t", String(seconds),
        "-c:v", "libx264", "-preset", "ultrafast", "-f", "mpegts", file,
      ]);
      expect(made.status).toBe(0);
      const truth = ffprobeFrames(file);
      expect(truth).toBe(fps * seconds);
      expect(countVideoFrames(new Uint8Array(readFileSync(file)))).toBe(truth);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("bytes that are no transport stream hold no frames", () => {
    expect(countVideoFrames(new TextEncoder().encode("not a transport stream".repeat(50)))).toBe(0);
    expect(countVideoFrames(new Uint8Array(0))).toBe(0);
  });
});

test("a segment's head: its tables and whole first frame, and nothing of the second", () => {
  const dir = mkdtempSync(join(tmpdir(), "vat-ts-"));
  try {
    const file = join(dir, "s.ts");
    const made = spawnSync("ffmpeg", [
      "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=10", "-t", "1", "-c:v", "libx264",
      "-preset", "ultrafast", "-g", "10", "-f", "mpegts", file,
    ]);
    expect(made.status).toBe(0);
    const bytes = new Uint8Array(readFileSync(file));
    const scan = scanSegment(bytes);
    expect(scan.frames).toBe(10);
    expect(scan.firstFrameEnd % 188).toBe(0);
    const head = join(dir, "head.ts");
    writeFileSync(head, bytes.subarray(0, scan.firstFrameEnd));
    expect(ffprobeFrames(head)).toBe(1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.each([
  ["no B-frames", ["-preset", "ultrafast", "-bf", "0"]],
  ["B-frames (decode order differs)", ["-preset", "medium", "-bf", "3"]],
])("frame presentation times in a segment match ffprobe's (%s)", (_name, x264) => {
  const dir = mkdtempSync(join(tmpdir(), "vat-ts-"));
  try {
    const file = join(dir, "s.ts");
    const made = spawnSync("ffmpeg", [
      "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25", "-t", "2", "-c:v", "libx264", ...x264,
      "-f", "mpegts", file,
    ]);
    expect(made.status).toBe(0);
    const probe = spawnSync("ffprobe", [
      "-v", "error", "-select_streams", "v", "-show_entries", "packet=pts_time", "-of", "csv=p=0", file,
    ]);
    const truth = probe.stdout.toString().split("\n").map((l) => l.replace(/,$/, "").trim()).filter(Boolean).map(Number);
    expect(truth).toHaveLength(50);
    const offsets = scanSegment(new Uint8Array(readFileSync(file))).ptsOffsetsMs;
    expect(offsets).toHaveLength(50);
    // Decode order, as the packets come; the earliest presentation time is 0.
    const earliest = Math.min(...truth);
    offsets.forEach((ms, i) => expect(ms).toBeCloseTo((truth[i]! - earliest) * 1000, 3));
    expect(Math.max(...offsets)).toBeCloseTo(1960, 3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
