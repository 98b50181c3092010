import { describe, expect, test } from "bun:test";
import { parseMediaPlaylist, PlaylistError } from "../../src/hls/playlist.ts";

/** Apple's LL-HLS example (RFC 8216bis appendix), trimmed: two whole segments, parts of a third, a hint, a report. */
const LL = `#EXTM3U
#EXT-X-TARGETDURATION:4
#EXT-X-VERSION:6
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.0,CAN-SKIP-UNTIL=12.0,HOLD-BACK=12.0
#EXT-X-PART-INF:PART-TARGET=0.33334
#EXT-X-MEDIA-SEQUENCE:266
#EXT-X-MAP:URI="init.mp4"
#EXT-X-PROGRAM-DATE-TIME:2019-02-14T02:13:36.106Z
#EXTINF:4.00008,
fileSequence266.mp4
#EXT-X-PART:DURATION=0.33334,URI="filePart267.0.mp4",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.33334,URI="filePart267.1.mp4"
#EXT-X-PART:DURATION=0.33334,URI="filePart267.2.mp4",GAP=YES
#EXTINF:1.00002,
fileSequence267.mp4
#EXT-X-PART:DURATION=0.33334,URI="filePart268.0.mp4",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.33334,URI="filePart268.1.mp4"
#EXT-X-PRELOAD-HINT:TYPE=PART,URI="filePart268.2.mp4"
#EXT-X-RENDITION-REPORT:URI="../1M/waitForMSN.php",LAST-MSN=268,LAST-PART=1
#EXT-X-RENDITION-REPORT:URI="../4M/waitForMSN.php",LAST-MSN=268,LAST-PART=1
`;

describe("LL-HLS tags", () => {
  const p = parseMediaPlaylist(LL);

  test("server control and part target", () => {
    expect(p.serverControl).toEqual({ canBlockReload: true, canSkipUntilS: 12, holdBackS: 12, partHoldBackS: 1 });
    expect(p.partTargetS).toBe(0.33334);
  });

  test("parts belong to the segment after them; those after the last segment to the one being written", () => {
    expect(p.segments.map((s) => s.sequence)).toEqual([266, 267]);
    expect(p.parts.map((x) => `${x.msn}.${x.index}`)).toEqual(["267.0", "267.1", "267.2", "268.0", "268.1"]);
    expect(p.parts.map((x) => x.independent)).toEqual([true, false, false, true, false]);
    expect(p.parts.map((x) => x.gap)).toEqual([false, false, true, false, false]);
    expect(p.parts[1]!.uri).toBe("filePart267.1.mp4");
    expect(p.parts[0]!.durationS).toBe(0.33334);
  });

  test("parts are dated from their segment's date on", () => {
    const t0 = Date.parse("2019-02-14T02:13:36.106Z");
    const seg267 = t0 + 4000.08;
    expect(p.parts[0]!.programDateTimeMs).toBeCloseTo(seg267, 3);
    expect(p.parts[1]!.programDateTimeMs).toBeCloseTo(seg267 + 333.34, 3);
    // The segment being written has no date of its own yet: it starts where 267 ends.
    expect(p.parts[3]!.programDateTimeMs).toBeCloseTo(seg267 + 1000.02, 3);
  });

  test("preload hint and rendition reports", () => {
    expect(p.preloadHint).toEqual({ uri: "filePart268.2.mp4", startBytes: 0, lengthBytes: null });
    expect(p.renditionReports).toEqual([
      { uri: "../1M/waitForMSN.php", lastMsn: 268, lastPart: 1 },
      { uri: "../4M/waitForMSN.php", lastMsn: 268, lastPart: 1 },
    ]);
    expect(p.warnings).toEqual([]);
  });

  test("a delta update numbers its segments after the skipped ones", () => {
    const delta = parseMediaPlaylist(`#EXTM3U
#EXT-X-TARGETDURATION:1
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=6
#EXT-X-PART-INF:PART-TARGET=0.2
#EXT-X-MEDIA-SEQUENCE:10
#EXT-X-SKIP:SKIPPED-SEGMENTS=3
#EXTINF:1.0,
s13.m4s
#EXT-X-PART:DURATION=0.2,URI="p14.0.m4s",INDEPENDENT=YES
`);
    expect(delta.skippedSegments).toBe(3);
    expect(delta.segments.map((s) => s.sequence)).toEqual([13]);
    expect(delta.parts.map((x) => `${x.msn}.${x.index}`)).toEqual(["14.0"]);
  });

  test("byte-range parts of one resource, and a hint with a range", () => {
    const r = parseMediaPlaylist(`#EXTM3U
#EXT-X-TARGETDURATION:1
#EXT-X-PART-INF:PART-TARGET=0.5
#EXT-X-MEDIA-SEQUENCE:5
#EXT-X-PART:DURATION=0.5,URI="seg5.mp4",BYTERANGE="1000@0",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.5,URI="seg5.mp4",BYTERANGE="800"
#EXTINF:1.0,
seg5.mp4
#EXT-X-PART:DURATION=0.5,URI="seg6.mp4",BYTERANGE="900@0"
#EXT-X-PRELOAD-HINT:TYPE=PART,URI="seg6.mp4",BYTERANGE-START=900
`);
    expect(r.parts.map((x) => x.byteRange)).toEqual([
      { lengthBytes: 1000, offsetBytes: 0 },
      { lengthBytes: 800, offsetBytes: 1000 },
      { lengthBytes: 900, offsetBytes: 0 },
    ]);
    expect(r.preloadHint).toEqual({ uri: "seg6.mp4", startBytes: 900, lengthBytes: null });
    expect(r.serverControl).toBeNull();
  });

  test("a plain playlist has none of it", () => {
    const plain = parseMediaPlaylist("#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\na.ts\n");
    expect(plain.partTargetS).toBeNull();
    expect(plain.parts).toEqual([]);
    expect(plain.preloadHint).toBeNull();
    expect(plain.skippedSegments).toBe(0);
  });

  test("malformed values: a part without a duration is left out, a bad hold-back ignored, both said", () => {
    const bad = parseMediaPlaylist(`#EXTM3U
#EXT-X-TARGETDURATION:1
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=soon
#EXT-X-PART-INF:PART-TARGET=0.2
#EXT-X-PART:URI="p.m4s"
`);
    expect(bad.parts).toEqual([]);
    expect(bad.serverControl?.partHoldBackS).toBeNull();
    expect(bad.warnings.map((w) => w.detail)).toEqual([
      "PART-HOLD-BACK 'soon' is not a duration: ignored",
      "#EXT-X-PART without URI or DURATION: ignored",
    ]);
    expect(() => parseMediaPlaylist("#EXTM3U\n#EXT-X-PART-INF:PART-TARGET=x\n")).toThrow(PlaylistError);
  });
});

/** An encoder restart inside the window: a discontinuity and a new init section before segment 11, and again before 12. */
const RESTARTED = `#EXTM3U
#EXT-X-TARGETDURATION:1
#EXT-X-PART-INF:PART-TARGET=0.5
#EXT-X-MEDIA-SEQUENCE:10
#EXT-X-DISCONTINUITY-SEQUENCE:3
#EXT-X-MAP:URI="init_0.mp4"
#EXT-X-PART:DURATION=0.5,URI="p10.0.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.5,URI="p10.1.m4s"
#EXTINF:1.0,
seg_10.m4s
#EXT-X-DISCONTINUITY
#EXT-X-MAP:URI="init_1.mp4",BYTERANGE="720@16"
#EXT-X-PART:DURATION=0.5,URI="p11.0.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.5,URI="p11.1.m4s"
#EXTINF:1.0,
seg_11.m4s
#EXT-X-DISCONTINUITY
#EXT-X-MAP:URI="init_2.mp4"
#EXT-X-PART:DURATION=0.5,URI="p12.0.m4s",INDEPENDENT=YES
#EXT-X-PRELOAD-HINT:TYPE=PART,URI="p12.1.m4s"
`;

describe("parts across a discontinuity", () => {
  const p = parseMediaPlaylist(RESTARTED);
  const of = (f: (x: (typeof p.parts)[number]) => unknown) => p.parts.map(f);

  test("each part has its segment's init section, the segment being written included", () => {
    expect(of((x) => `${x.msn}.${x.index}`)).toEqual(["10.0", "10.1", "11.0", "11.1", "12.0"]);
    expect(of((x) => x.map?.uri)).toEqual(["init_0.mp4", "init_0.mp4", "init_1.mp4", "init_1.mp4", "init_2.mp4"]);
    expect(p.parts[2]!.map!.byteRange).toEqual({ lengthBytes: 720, offsetBytes: 16 });
    expect(p.parts[0]!.map!.byteRange).toBeUndefined();
  });

  test("the first part after EXT-X-DISCONTINUITY is the discontinuity; each part has its segment's discontinuity sequence", () => {
    expect(of((x) => x.discontinuity)).toEqual([false, false, true, false, true]);
    expect(of((x) => x.discontinuitySequence)).toEqual([3, 3, 4, 4, 5]);
    // The segments say the same.
    expect(p.segments.map((s) => [s.discontinuity, s.discontinuitySequence, s.init?.uri])).toEqual([
      [false, 3, "init_0.mp4"],
      [true, 4, "init_1.mp4"],
    ]);
  });

  test("without any EXT-X-MAP, parts have none, and no discontinuity", () => {
    const plain = parseMediaPlaylist(RESTARTED.replace(/^#EXT-X-(MAP|DISCONTINUITY)(:.*)?\n/gm, ""));
    expect(plain.parts.map((x) => [x.map, x.discontinuity, x.discontinuitySequence])).toEqual(
      Array.from({ length: 5 }, () => [undefined, false, 3]),
    );
  });
});
