import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { firstVariantUri, parseMediaPlaylist, PlaylistError, renderLivePlaylist } from "../../src/hls/playlist.ts";
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

  test("master playlist variant", () => {
    expect(firstVariantUri("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000\nlow/index.m3u8\n")).toBe("low/index.m3u8");
    expect(firstVariantUri("#EXTM3U\n#EXTINF:1,\na.ts\n")).toBeNull();
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
      "-v", "error", "-select_streams", "v", "-show_entries", "frame=pts_time", "-of", "csv=p=0", file,
    ]);
    const truth = probe.stdout.toString().split("\n").map((l) => l.replace(/,$/, "").trim()).filter(Boolean).map(Number);
    expect(truth).toHaveLength(50);
    const offsets = scanSegment(new Uint8Array(readFileSync(file))).ptsOffsetsMs;
    expect(offsets).toHaveLength(50);
    offsets.forEach((ms, i) => expect(ms).toBeCloseTo((truth[i]! - truth[0]!) * 1000, 3));
    expect(offsets.at(-1)).toBeCloseTo(1960, 3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
