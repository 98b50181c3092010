import { describe, expect, test } from "bun:test";
import { parsePartS } from "../../src/commands/serve.ts";
import { listAvailableSegments } from "../../src/dash/addressing.ts";
import { parseMpd } from "../../src/dash/mpd.ts";
import { availabilityTimeOffsetS, renderLlMpd, type LlMpd } from "../../src/dash/mpd-writer.ts";
import { renderLlPlaylist, skippableSegments, targetDurationS, type LlPlaylist, type PlaylistSegment } from "../../src/hls/ll-playlist.ts";
import { Mp4Error } from "../../src/mp4/boxes.ts";
import { videoCodecString } from "../../src/mp4/codec-string.ts";
import { FragmentSplitter, type FragmentPiece, type Piece } from "../../src/mp4/fragment-splitter.ts";
import { LlPackager, partBytes, segmentBytes } from "../../src/serve/ll-packager.ts";
import {
  advancePartLimit,
  decideMedia,
  decideReload,
  parseLlName,
  parseReloadQuery,
  type ReloadState,
} from "../../src/serve/ll-requests.ts";
import { framesPerPart, LlStream, mpdPeriods } from "../../src/serve/ll-stream.ts";
import { FRAME_TICKS, fmp4Stream, frameFragment, initSegment, TIMESCALE } from "../helpers/fmp4-stream.ts";

const fragments = (pieces: Piece[]) => pieces.filter((p): p is FragmentPiece => p.kind === "fragment");

describe("fragment splitter", () => {
  const stream = fmp4Stream(7, 5);

  test("the init segment, then one piece per moof + mdat, with its frames, times and keyframe flag", () => {
    const pieces = new FragmentSplitter().push(stream);
    expect(pieces[0]!.kind).toBe("init");
    expect(pieces[0]!.bytes).toEqual(initSegment());
    expect(pieces[0]!.kind === "init" && pieces[0]!.timescale).toBe(TIMESCALE);
    const frags = fragments(pieces);
    expect(frags.map((f) => [f.decodeTime, f.durationTicks, f.frames, f.keyframe])).toEqual(
      Array.from({ length: 7 }, (_, n) => [n * FRAME_TICKS, FRAME_TICKS, 1, n % 5 === 0]),
    );
    frags.forEach((f, n) => expect(f.bytes).toEqual(frameFragment(n, n % 5 === 0)));
  });

  test("any chunking gives the same pieces: one byte at a time, and odd sizes", () => {
    const whole = new FragmentSplitter().push(stream);
    for (const size of [1, 7, 100]) {
      const s = new FragmentSplitter();
      const got: Piece[] = [];
      for (let at = 0; at < stream.length; at += size) got.push(...s.push(stream.subarray(at, at + size)));
      expect(got.map((p) => p.bytes)).toEqual(whole.map((p) => p.bytes));
    }
  });

  test("a piece is given out only once its last byte is in", () => {
    const s = new FragmentSplitter();
    const init = initSegment();
    const frame = frameFragment(0, true);
    expect(s.push(init.subarray(0, init.length - 1))).toEqual([]);
    expect(s.push(init.subarray(init.length - 1)).map((p) => p.kind)).toEqual(["init"]);
    expect(s.push(frame.subarray(0, frame.length - 1))).toEqual([]);
    expect(fragments(s.push(frame.subarray(frame.length - 1))).length).toBe(1);
  });

  test("a box larger than any live frame is refused, not buffered", () => {
    const huge = new Uint8Array([0x7f, 0xff, 0xff, 0xff, ...new TextEncoder().encode("mdat")]);
    expect(() => new FragmentSplitter().push(huge)).toThrow(Mp4Error);
  });

  test("the codecs string from the avcC", () => {
    expect(videoCodecString(initSegment())).toBe("avc1.64001e");
  });
});

/** Frame n's slot at 30 fps from startMs: when a producer that never falls behind makes it. */
const FRAME_MS = (FRAME_TICKS * 1000) / TIMESCALE;
const onTime = (startMs: number) => (n: number) => startMs + n * FRAME_MS;

/**
 * A packager of 3-frame parts in 5-frame segments, fed frames n..n+count-1 of a stream with a keyframe every 5, each
 * made at madeMs(n) (the encoder's decode times count frames whenever they were made).
 */
function feed(p: LlPackager, from: number, count: number, madeMs: (n: number) => number = onTime(0)) {
  return Array.from({ length: count }, (_, i) => {
    const n = from + i;
    return p.add({ kind: "fragment", bytes: frameFragment(n, n % 5 === 0), decodeTime: n * FRAME_TICKS, durationTicks: FRAME_TICKS, frames: 1, keyframe: n % 5 === 0 }, madeMs(n));
  }).flat();
}

describe("packager", () => {
  const settings = { framesPerPart: 3, framesPerSegment: 5, keepSegments: 2, periodSlackMs: 100 };

  test("parts of whole frames, the last of a segment shorter; segments whole at a GOP; the next part to be written", () => {
    const p = new LlPackager(settings, 10);
    p.beginRun(initSegment(), TIMESCALE);
    const changes = feed(p, 0, 5);
    expect(changes).toEqual([
      { kind: "fragment", msn: 10, part: 0 },
      { kind: "fragment", msn: 10, part: 0 },
      { kind: "fragment", msn: 10, part: 0 },
      { kind: "part", msn: 10, part: 0 },
      { kind: "fragment", msn: 10, part: 1 },
      { kind: "fragment", msn: 10, part: 1 },
      { kind: "part", msn: 10, part: 1 },
      { kind: "segment", msn: 10 },
    ]);
    const seg = p.segment(10)!;
    expect(seg.parts.map((x) => [x.frames, x.durationTicks, x.independent, x.complete])).toEqual([
      [3, 3 * FRAME_TICKS, true, true],
      [2, 2 * FRAME_TICKS, false, true],
    ]);
    expect(p.nextPart()).toEqual({ msn: 11, part: 0 });
    feed(p, 5, 1);
    expect(p.nextPart()).toEqual({ msn: 11, part: 0 }); // being written
    expect(p.openSegment()!.parts[0]!.complete).toBe(false);
    feed(p, 6, 2);
    expect(p.nextPart()).toEqual({ msn: 11, part: 1 });
    expect(p.newestComplete()).toBe(10);
    // Parts concatenated are the segment, and that is its frames' fragments in order.
    expect(segmentBytes(seg)).toEqual(new Uint8Array([...partBytes(seg.parts[0]!), ...partBytes(seg.parts[1]!)]));
    expect(partBytes(seg.parts[1]!)).toEqual(new Uint8Array([...frameFragment(3, false), ...frameFragment(4, false)]));
  });

  test("each segment dated by when its first frame was made; one period while the media keeps pace", () => {
    const p = new LlPackager(settings);
    p.beginRun(initSegment(), TIMESCALE);
    // Frame 5 is 60 ms late (jitter under the 100 ms slack) and frame 10 early (caught up): neither is a skip.
    feed(p, 0, 11, (n) => onTime(5000)(n) + (n === 5 ? 60 : n === 10 ? -20 : 0));
    expect(p.segments.map((s) => s.startWallMs)).toEqual([5000, 5000 + 5 * FRAME_MS + 60, 5000 + 10 * FRAME_MS - 20]);
    expect(p.originWallMs).toBe(5000);
    expect(p.listedPeriods().map((x) => [x.id, x.firstMsn, x.firstDecodeTime, x.firstWallMs])).toEqual([[0, 0, 0, 5000]]);
  });

  test("frames skipped: the dates jump with the frames' own times, and the next segment begins a period there", () => {
    const p = new LlPackager({ ...settings, keepSegments: 5 });
    p.beginRun(initSegment(), TIMESCALE);
    // 3 s of frames skipped after frame 6, in the middle of segment 1: media time runs on without them.
    const made = (n: number) => onTime(5000)(n) + (n >= 7 ? 3000 : 0);
    feed(p, 0, 21, made);
    expect(p.segments.map((s) => [s.msn, s.startWallMs, s.period.id])).toEqual([
      [0, 5000, 0],
      [1, 5000 + 5 * FRAME_MS, 0],
      [2, made(10), 1],
      [3, made(15), 1],
      [4, made(20), 1],
    ]);
    expect(made(10)).toBeCloseTo(8000 + 10 * FRAME_MS, 6);
    expect(p.listedPeriods().map((x) => [x.id, x.run.id, x.firstMsn, x.firstDecodeTime, x.firstWallMs])).toEqual([
      [0, 0, 0, 0, 5000],
      [1, 0, 2, 10 * FRAME_TICKS, made(10)],
    ]);
    // A period stays while its segments are in the window; the last one always.
    feed(p, 21, 30, made);
    expect(p.listedPeriods().map((x) => x.id)).toEqual([1]);
  });

  test("a bounded window: whole segments past keepSegments are dropped", () => {
    const p = new LlPackager(settings);
    p.beginRun(initSegment(), TIMESCALE);
    feed(p, 0, 26);
    expect(p.segments.map((s) => [s.msn, s.complete])).toEqual([
      [3, true],
      [4, true],
      [5, false],
    ]);
    expect(p.segment(2)).toBeNull();
  });

  test("a keyframe before the GOP is full starts the next segment; an encoder restart closes what is open and starts a discontinuity", () => {
    const p = new LlPackager({ ...settings, keepSegments: 5 });
    p.beginRun(initSegment(), TIMESCALE);
    feed(p, 0, 7); // segment 0 whole, segment 1 open with 2 frames
    expect(p.beginRun(initSegment(), TIMESCALE)).toEqual([
      { kind: "part", msn: 1, part: 0 },
      { kind: "segment", msn: 1 },
    ]);
    expect(p.segment(1)!.frames).toBe(2);
    feed(p, 0, 2, onTime(90_000)); // the new run's times start over at 0
    p.add({ kind: "fragment", bytes: frameFragment(2, true), decodeTime: 2 * FRAME_TICKS, durationTicks: FRAME_TICKS, frames: 1, keyframe: true }, 90_000 + 2 * FRAME_MS);
    expect(p.segments.map((s) => [s.msn, s.run.id, s.discontinuity, s.frames, s.complete])).toEqual([
      [0, 0, false, 5, true],
      [1, 0, false, 2, true],
      [2, 1, true, 2, true],
      [3, 1, false, 1, false],
    ]);
    expect(p.segment(2)!.startWallMs).toBe(90_000);
    expect(p.run!.firstMsn).toBe(2);
    expect(p.listedPeriods().map((x) => [x.run.id, x.firstMsn, x.firstWallMs])).toEqual([
      [0, 0, 0],
      [1, 2, 90_000],
    ]);
  });

  test("the stream dates the encoder's k-th fragment by the k-th frame handed to it, anew for each run", () => {
    const s = new LlStream({ format: "ll-dash", partS: 0.1, fps: 30, framesPerSegment: 5, listSize: 6, width: 426, height: 240, bandwidthBps: 1, utcTimingPath: "/time/iso" });
    s.beginRun();
    // Frames 0-4 on time, then a gap of 3 s; the last fragment's frame time is missing: it follows the one before.
    for (const t of [1000, 1033, 1067, 1100, 1133, 4200, 4233, 4267, 4300, 4333]) s.frameWritten(t);
    s.write(fmp4Stream(11, 5));
    expect(s.packager.segments.map((x) => x.startWallMs)).toEqual([1000, 4200, 4333 + FRAME_MS]);
    expect(s.packager.listedPeriods().map((x) => [x.firstMsn, x.firstWallMs])).toEqual([
      [0, 1000],
      [1, 4200],
    ]);
    // A frame the stopped encoder never gave back is not the next run's.
    s.frameWritten(5000);
    s.endRun();
    s.beginRun();
    s.frameWritten(9000);
    s.write(fmp4Stream(1, 5));
    expect(s.packager.segments.at(-1)!.startWallMs).toBe(9000);
    expect(s.packager.listedPeriods().map((x) => [x.run.id, x.firstMsn, x.firstWallMs])).toEqual([
      [0, 0, 1000],
      [0, 1, 4200],
      [1, 3, 9000],
    ]);
  });

  test("frames per part: whole frames, at least one", () => {
    expect(framesPerPart(0.2, 30)).toBe(6);
    expect(framesPerPart(0.2, 25)).toBe(5);
    expect(framesPerPart(0.2, 24)).toBe(4);
    expect(framesPerPart(0.01, 30)).toBe(1);
  });
});

const seg = (msn: number, over: Partial<PlaylistSegment> = {}): PlaylistSegment => ({
  msn,
  durationS: 1,
  uri: `seg_${msn}.m4s`,
  complete: true,
  parts: null,
  programDateTimeMs: Date.UTC(2026, 0, 1, 0, 0, msn),
  discontinuity: false,
  mapUri: "init_0.mp4",
  ...over,
});
const part = (msn: number, i: number) => ({ durationS: 0.2, uri: `part_${msn}_${i}.m4s`, independent: i === 0 });

describe("LL-HLS playlist", () => {
  const playlist: LlPlaylist = {
    partTargetS: 0.2,
    partHoldBackS: 0.6,
    canSkipUntilS: 6,
    discontinuitySequence: 0,
    segments: [seg(7), seg(8, { parts: [0, 1, 2, 3, 4].map((i) => part(8, i)) }), seg(9, { complete: false, parts: [part(9, 0), part(9, 1)] })],
    preloadHintUri: "part_9_2.m4s",
    minTargetDurationS: 1,
  };

  test("every tag in its place: server control, part info, map, date-time, parts with INDEPENDENT, the preload hint", () => {
    expect(renderLlPlaylist(playlist)).toBe(`#EXTM3U
#EXT-X-VERSION:9
#EXT-X-TARGETDURATION:1
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=6,PART-HOLD-BACK=0.6
#EXT-X-PART-INF:PART-TARGET=0.2
#EXT-X-MEDIA-SEQUENCE:7
#EXT-X-DISCONTINUITY-SEQUENCE:0
#EXT-X-MAP:URI="init_0.mp4"
#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:07.000Z
#EXTINF:1,
seg_7.m4s
#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:08.000Z
#EXT-X-PART:DURATION=0.2,URI="part_8_0.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.2,URI="part_8_1.m4s"
#EXT-X-PART:DURATION=0.2,URI="part_8_2.m4s"
#EXT-X-PART:DURATION=0.2,URI="part_8_3.m4s"
#EXT-X-PART:DURATION=0.2,URI="part_8_4.m4s"
#EXTINF:1,
seg_8.m4s
#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:09.000Z
#EXT-X-PART:DURATION=0.2,URI="part_9_0.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.2,URI="part_9_1.m4s"
#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part_9_2.m4s"
`);
  });

  test("a discontinuity gets its tag and the new run's map", () => {
    const text = renderLlPlaylist({ ...playlist, segments: [seg(7), seg(8, { discontinuity: true, mapUri: "init_1.mp4" })] });
    expect(text).toContain(`seg_7.m4s
#EXT-X-DISCONTINUITY
#EXT-X-MAP:URI="init_1.mp4"
#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:08.000Z
#EXTINF:1,
seg_8.m4s`);
  });

  test("a delta update leaves out the whole segments older than CAN-SKIP-UNTIL, and nothing when there is none", () => {
    const long = { ...playlist, segments: [...[1, 2, 3, 4, 5, 6].map((n) => seg(n)), ...playlist.segments] };
    expect(skippableSegments(long)).toBe(2); // 8.4 s listed: 1 and 2 end more than 6 s before the end
    const delta = renderLlPlaylist(long, true);
    expect(delta).toContain("#EXT-X-MEDIA-SEQUENCE:1\n#EXT-X-DISCONTINUITY-SEQUENCE:0\n#EXT-X-SKIP:SKIPPED-SEGMENTS=2\n#EXT-X-MAP");
    expect(delta).not.toContain("seg_2.m4s");
    expect(delta).toContain("seg_3.m4s");
    expect(renderLlPlaylist(playlist, true)).toBe(renderLlPlaylist(playlist));
  });

  test("target duration: the segment length rounded up, or a longer segment rounded", () => {
    expect(targetDurationS({ segments: [seg(1, { durationS: 0.5 })], minTargetDurationS: 0.5 })).toBe(1);
    expect(targetDurationS({ segments: [seg(1, { durationS: 2.6 })], minTargetDurationS: 2 })).toBe(3);
  });
});

describe("LL-DASH MPD", () => {
  const mpd: LlMpd = {
    availabilityStartMs: Date.UTC(2026, 0, 1),
    publishMs: Date.UTC(2026, 0, 1, 0, 1),
    timeShiftBufferS: 6,
    minimumUpdatePeriodS: 1,
    segmentDurationS: 1,
    chunkDurationS: 1 / 30,
    latencyTargetMs: 800,
    utcTimingUrl: "/time/iso",
    width: 426,
    height: 240,
    fps: 30,
    codecs: "avc1.64001e",
    bandwidthBps: 461000,
    periods: [
      { id: "run0", startS: 0, durationS: null, startNumber: 0, presentationTimeOffset: 0, timescale: 15360, segmentTicks: 15360, initUri: "init_0.mp4", mediaTemplate: "seg_$Number$.m4s" },
      { id: "run1", startS: 40.5, durationS: null, startNumber: 40, presentationTimeOffset: 0, timescale: 15360, segmentTicks: 15360, initUri: "init_1.mp4", mediaTemplate: "seg_$Number$.m4s" },
    ],
  };

  test("dynamic, CMAF live profile, availabilityTimeOffset of a segment less a chunk, UTCTiming, a latency target", () => {
    const parsed = parseMpd(renderLlMpd(mpd), "http://o/video/stream.mpd");
    expect(parsed.type).toBe("dynamic");
    expect(parsed.profiles).toContain("urn:mpeg:dash:profile:cmaf:2019");
    expect(parsed.availabilityStartTimeMs).toBe(mpd.availabilityStartMs);
    expect(parsed.utcTimings).toEqual([{ schemeIdUri: "urn:mpeg:dash:utc:http-iso:2014", value: "/time/iso" }]);
    expect(parsed.serviceLatency).toMatchObject({ targetMs: 800 });
    expect(parsed.periods.map((p) => [p.id, p.startS])).toEqual([
      ["run0", 0],
      ["run1", 40.5],
    ]);
    const rep = parsed.periods[1]!.adaptationSets[0]!.representations[0]!;
    expect(rep.codecs).toBe("avc1.64001e");
    expect(rep.addressing).toMatchObject({ kind: "template", duration: 15360, startNumber: 40, availabilityTimeOffsetS: 0.967, availabilityTimeComplete: false, timeline: null });
    expect(availabilityTimeOffsetS(mpd)).toBe(0.967);
  });

  test("segment N can be fetched from its start plus one chunk (its availability less the offset)", () => {
    const parsed = parseMpd(renderLlMpd(mpd), "http://o/video/stream.mpd");
    const period = parsed.periods[1]!;
    const rep = period.adaptationSets[0]!.representations[0]!;
    // 45.1 s in: segment 44 (40 + 4) began at 44.5 s and has been fetchable since 44.533.
    const now = mpd.availabilityStartMs + 45_100;
    const newest = listAvailableSegments(parsed, period, rep, now).at(-1)!;
    expect(newest.number).toBe(44);
    expect(newest.url).toBe("http://o/video/seg_44.m4s");
    expect(newest.availableFromMs - mpd.availabilityStartMs).toBeCloseTo(44_500 + 1000 / 30, 0);
  });

  test("frames skipped: a period from the next segment's first frame; the one before lasts its segments, and no segment is due before it is made", () => {
    const p = new LlPackager({ framesPerPart: 3, framesPerSegment: 30, keepSegments: 10, periodSlackMs: 100 });
    p.beginRun(initSegment(), TIMESCALE);
    const t0 = mpd.availabilityStartMs;
    // 1 s segments at 30 fps; 3 s of frames skipped after frame 40 (in segment 1).
    const made = (n: number) => t0 + n * FRAME_MS + (n > 40 ? 3000 : 0);
    for (let n = 0; n < 125; n++) {
      p.add({ kind: "fragment", bytes: frameFragment(n, n % 30 === 0), decodeTime: n * FRAME_TICKS, durationTicks: FRAME_TICKS, frames: 1, keyframe: n % 30 === 0 }, made(n));
    }
    const periods = mpdPeriods(p.listedPeriods(), p.originWallMs!, 1);
    expect(periods.map((x) => [x.id, x.startNumber, x.presentationTimeOffset, x.durationS])).toEqual([
      ["p0", 0, 0, 2],
      ["p1", 2, 60 * FRAME_TICKS, null],
    ]);
    expect(periods[1]!.startS).toBeCloseTo(5, 6); // frame 60 was made 2 s + 3 s skipped after frame 0
    const parsed = parseMpd(renderLlMpd({ ...mpd, periods }), "http://o/video/stream.mpd");
    expect(parsed.periods.map((x) => [x.startS, x.durationS])).toEqual([
      [0, 2],
      [5, null],
    ]);
    const [first, second] = parsed.periods;
    const rep = (x: typeof first) => x!.adaptationSets[0]!.representations[0]!;
    // The first period addresses its own two segments only, not the next period's under its own timing.
    expect(listAvailableSegments(parsed, first!, rep(first), t0 + 4000).map((x) => x.number)).toEqual([0, 1]);
    // 4.05 s after frame 60: segment 6 (frames 180..) began at made(180) and is due one chunk after that, not before.
    const now = made(180) + 50;
    const newest = listAvailableSegments(parsed, second!, rep(second), now).at(-1)!;
    expect(newest.number).toBe(6);
    expect(newest.availableFromMs).toBeCloseTo(made(180) + FRAME_MS, 0);
    expect(p.segment(4)!.startWallMs).toBe(made(120));
  });

  test("periods never overlap: one whose first frame came early starts where the one before ends", () => {
    const run = { id: 0, init: new Uint8Array(), timescale: TIMESCALE, firstMsn: 0 };
    const periods = mpdPeriods(
      [
        { id: 0, run, firstMsn: 0, firstDecodeTime: 0, firstWallMs: 1000 },
        { id: 1, run: { ...run, id: 1 }, firstMsn: 3, firstDecodeTime: 0, firstWallMs: 3500 },
      ],
      1000,
      1,
    );
    expect(periods.map((x) => [x.startS, x.durationS, x.initUri])).toEqual([
      [0, 3, "init_0.mp4"],
      [3, null, "init_1.mp4"],
    ]);
  });
});

describe("requests", () => {
  test("names: only the origin's own", () => {
    expect(parseLlName("stream.m3u8", "stream.m3u8")).toEqual({ kind: "manifest" });
    expect(parseLlName("stream.mpd", "stream.m3u8")).toBeNull();
    expect(parseLlName("init_3.mp4", "stream.m3u8")).toEqual({ kind: "init", run: 3 });
    expect(parseLlName("seg_12.m4s", "stream.m3u8")).toEqual({ kind: "segment", msn: 12 });
    expect(parseLlName("part_12_4.m4s", "stream.m3u8")).toEqual({ kind: "part", ref: { msn: 12, part: 4 } });
    for (const bad of ["part_01_2.m4s", "seg_-1.m4s", "../etc/passwd", "seg_1.m4s.tmp", "part_1.m4s", "init.mp4"]) expect(parseLlName(bad, "stream.m3u8")).toBeNull();
  });

  test("delivery directives", () => {
    const q = (s: string) => parseReloadQuery(new URLSearchParams(s));
    expect(q("")).toEqual({ kind: "plain", skip: false });
    expect(q("_HLS_skip=YES")).toEqual({ kind: "plain", skip: true });
    expect(q("_HLS_msn=5&_HLS_part=2&_HLS_skip=YES")).toEqual({ kind: "block", msn: 5, part: 2, skip: true });
    expect(q("_HLS_msn=5")).toEqual({ kind: "block", msn: 5, part: null, skip: false });
    expect(q("_HLS_part=2").kind).toBe("bad");
    expect(q("_HLS_msn=x").kind).toBe("bad");
    expect(q("_HLS_msn=5&_HLS_part=-1").kind).toBe("bad");
  });

  // Segment 20 whole with 5 parts, segment 21 open with parts 0 and 1 whole (2 being written).
  const state: ReloadState = {
    newestSegment: 20,
    newestPart: { msn: 21, part: 1 },
    partsOf: (msn) => (msn <= 20 ? 5 : null),
    partsPerSegment: 5,
    partTargetS: 0.2,
  };

  test("blocking reload: now once the asked part exists, wait for the next ones, 400 too far ahead", () => {
    expect(decideReload({ msn: 21, part: 1 }, state)).toEqual({ kind: "now" });
    expect(decideReload({ msn: 19, part: null }, state)).toEqual({ kind: "now" });
    expect(decideReload({ msn: 21, part: 2 }, state)).toEqual({ kind: "wait" });
    expect(decideReload({ msn: 21, part: null }, state)).toEqual({ kind: "wait" }); // the segment is not whole yet
    expect(decideReload({ msn: 20, part: 5 }, state)).toEqual({ kind: "now" }); // past the last part: 21.0, which exists
    expect(decideReload({ msn: 23, part: 0 }, state)).toEqual({ kind: "wait" }); // 9 parts ahead, within 15
    expect(decideReload({ msn: 23, part: 4 }, state)).toEqual({ kind: "wait" }); // 13 ahead
    expect(decideReload({ msn: 24, part: 0 }, state).kind).toBe("bad"); // more than two segments past the last
    expect(decideReload({ msn: 23, part: 4 }, { ...state, partTargetS: 1, partsPerSegment: 2 }).kind).toBe("bad");
    expect(decideReload({ msn: 0, part: 0 }, { ...state, newestSegment: null, newestPart: null })).toEqual({ kind: "wait" });
  });

  test("advance part limit: 3 s of parts below 1 s parts, else 3", () => {
    expect(advancePartLimit(0.2)).toBe(15);
    expect(advancePartLimit(0.333)).toBe(9);
    expect(advancePartLimit(1)).toBe(3);
    expect(advancePartLimit(2)).toBe(3);
  });

  test("media: whole, streamed while written, waited for when next, else absent", () => {
    const next = { msn: 21, part: 2 };
    expect(decideMedia({ msn: 21, part: 1 }, "complete", next)).toEqual({ kind: "whole" });
    expect(decideMedia({ msn: 21, part: 2 }, "open", next)).toEqual({ kind: "stream" });
    expect(decideMedia({ msn: 21, part: 2 }, "absent", next)).toEqual({ kind: "wait" }); // the hint, not begun
    expect(decideMedia({ msn: 21, part: 3 }, "absent", next)).toEqual({ kind: "absent" });
    expect(decideMedia({ msn: 21, part: null }, "open", next)).toEqual({ kind: "stream" });
    expect(decideMedia({ msn: 22, part: null }, "absent", next)).toEqual({ kind: "wait" }); // DASH: the next segment
    expect(decideMedia({ msn: 23, part: null }, "absent", next)).toEqual({ kind: "absent" });
    expect(decideMedia({ msn: 22, part: null }, "absent", { msn: 22, part: 0 })).toEqual({ kind: "wait" });
    expect(decideMedia({ msn: 3, part: null }, "absent", next)).toEqual({ kind: "absent" }); // dropped
  });

  test("--part: a length from one frame to half a segment, in ms or with a unit", () => {
    expect(parsePartS("200ms", 30, 1)).toBe(0.2);
    expect(parsePartS("0.25s", 30, 1)).toBe(0.25);
    expect(parsePartS("200", 30, 1)).toBe(0.2);
    expect(() => parsePartS("10ms", 30, 1)).toThrow("part length '10ms' is out of range: use 33 ms (one frame at 30 fps) to 500 ms (half the 1 s segment)");
    expect(() => parsePartS("600", 30, 1)).toThrow("out of range");
    expect(() => parsePartS("fast", 30, 1)).toThrow("not a duration");
  });
});
