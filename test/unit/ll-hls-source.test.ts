import { describe, expect, test } from "bun:test";
import { Fmp4Track } from "../../src/client/fmp4-track.ts";
import type { SegmentArrival } from "../../src/client/hls-source.ts";
import type { Fetch } from "../../src/client/http.ts";
import { LlHlsSource } from "../../src/client/ll-hls-source.ts";
import { parseMediaPlaylist } from "../../src/hls/playlist.ts";
import { frameFragment, initSegment, withTrackId } from "../helpers/fmp4-stream.ts";
import { simulatedOptions } from "../helpers/source-options.ts";

/** Two init sections that differ (the video is track 1 in one, track 2 in the other), and a one-frame part for each. */
const INIT_0 = initSegment();
const INIT_1 = withTrackId(withTrackId(INIT_0, "tkhd", 12, 2), "trex", 4, 2);
// Frame 0's data is all zero bytes: empty NAL units, which any track reads.
const PART_0 = frameFragment(0, true, 8);
const PART_1 = withTrackId(PART_0, "tfhd", 4, 2);

const HEAD = `#EXTM3U
#EXT-X-TARGETDURATION:1
#EXT-X-PART-INF:PART-TARGET=0.5
#EXT-X-SERVER-CONTROL:PART-HOLD-BACK=1.5
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-MAP:URI="init_0.mp4"
#EXT-X-PART:DURATION=0.5,URI="p0.0.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.5,URI="p0.1.m4s"
#EXTINF:1.0,
seg_0.m4s
`;
const next = (tags: string) => `${HEAD}${tags}#EXT-X-PART:DURATION=0.5,URI="p1.0.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.5,URI="p1.1.m4s"
#EXTINF:1.0,
seg_1.m4s
`;

/**
 * Segment 0's parts are listed first; the next playlists add segment 1 with `tags` before it. Returns the parts
 * handed on (the first four) and the events.
 */
async function follow(tags: string, part1: Uint8Array, missing: string[] = [], parts = 4, init0: () => Uint8Array = () => INIT_0) {
  const answers: Record<string, () => Uint8Array | string> = {
    "init_0.mp4": init0,
    "init_1.mp4": () => INIT_1,
    "p0.0.m4s": () => PART_0,
    "p0.1.m4s": () => PART_0,
    "p1.0.m4s": () => part1,
    "p1.1.m4s": () => part1,
  };
  let playlists = 0;
  const fetched: string[] = [];
  const fetchFn: Fetch = async (url) => {
    const name = new URL(url).pathname.split("/").pop()!;
    fetched.push(name);
    if (name === "stream.m3u8") return new Response(playlists++ < 1 ? HEAD : next(tags));
    const body = missing.includes(name) ? undefined : answers[name];
    return body ? new Response(body()) : new Response("no such file", { status: 404 });
  };
  const { options: o, events } = simulatedOptions(fetchFn);
  const track = Fmp4Track.open(INIT_0);
  if ("unmeasurable" in track) throw new Error(track.unmeasurable);
  const source = new LlHlsSource("http://origin/video/stream.m3u8", parseMediaPlaylist(HEAD), track, o, () => {});
  const got: SegmentArrival[] = [];
  const outcome = await source.run(async (s) => {
    got.push(s);
  }, () => got.length >= parts || fetched.length > 500);
  return { got, events, fetched, outcome };
}

describe("LL-HLS parts across a change of init section or a discontinuity", () => {
  test("a new EXT-X-MAP: fetched once, its parts read with its track, the first of them a discontinuity", async () => {
    const { got, events, fetched } = await follow(`#EXT-X-MAP:URI="init_1.mp4"\n`, PART_1);
    expect(got.map((p) => `${p.sequence} ${p.uri}`)).toEqual(["0 p0.0.m4s", "0 p0.1.m4s", "1 p1.0.m4s", "1 p1.1.m4s"]);
    // Read with init_0's track, the parts of track 2 would hold no frame.
    expect(got.map((p) => p.frames)).toEqual([1, 1, 1, 1]);
    expect(got.map((p) => p.discontinuity)).toEqual([false, false, true, false]);
    expect(fetched.filter((n) => n.startsWith("init_"))).toEqual(["init_1.mp4"]); // init_0 came with the track
    expect(events.filter((e) => e.kind === "stream-info" && e.detail.startsWith("HLS with fMP4"))).toHaveLength(1);
    expect(events.filter((e) => e.kind === "segment-missing" || e.kind === "unmeasurable")).toEqual([]);
  });

  test("EXT-X-DISCONTINUITY and the init section rewritten under its name (a packager started over): read with the new one", async () => {
    // init_0.mp4 now describes track 2 (as ffmpeg's hls muxer with append_list rewrites init.mp4 for a new encode).
    const { got, events, fetched } = await follow("#EXT-X-DISCONTINUITY\n", PART_1, [], 4, () => INIT_1);
    // Read with the old track, the parts of track 2 would hold no frame.
    expect(got.map((p) => p.frames)).toEqual([1, 1, 1, 1]);
    expect(got.map((p) => p.discontinuity)).toEqual([false, false, true, false]);
    expect(fetched.filter((n) => n.startsWith("init_"))).toEqual(["init_0.mp4"]); // again, after the discontinuity only
    expect(events.filter((e) => e.kind === "segment-missing" || e.kind === "unmeasurable")).toEqual([]);
  });

  test("EXT-X-DISCONTINUITY with the same init section: the first part after it is a discontinuity, of the next sequence", async () => {
    const { got, fetched } = await follow("#EXT-X-DISCONTINUITY\n", PART_0);
    expect(got.map((p) => p.frames)).toEqual([1, 1, 1, 1]);
    expect(got.map((p) => p.discontinuity)).toEqual([false, false, true, false]);
    expect(got.map((p) => p.discontinuitySequence)).toEqual([0, 0, 1, 1]);
    // Fetched again after the discontinuity (it could have been rewritten), found the same.
    expect(fetched.filter((n) => n.startsWith("init_"))).toEqual(["init_0.mp4"]);
  });

  test("neither: the parts go on as one stream", async () => {
    const { got } = await follow("", PART_0);
    expect(got.map((p) => [p.frames, p.discontinuity, p.discontinuitySequence])).toEqual(Array.from({ length: 4 }, () => [1, false, 0]));
    // The bitrate counts each part as it came (its boxes too); the decoder is given the frames' bytes.
    expect(got.map((p) => p.deliveredBytes)).toEqual(Array.from({ length: 4 }, () => PART_0.length));
    for (const p of got) expect(p.bytes.length).toBeLessThan(PART_0.length);
    // Joined a second behind the edge on p0.0: it and p0.1 were whole when the playlist joined on listed them (their
    // frames arrived at the join); p1.0 and p1.1 came in a later playlist, delivered as the client followed.
    expect(got.map((p) => [p.uri, p.atJoin])).toEqual([["p0.0.m4s", true], ["p0.1.m4s", true], ["p1.0.m4s", false], ["p1.1.m4s", false]]);
  });

  test("a part the server answers 404 for: the next part handed on follows a gap, and only it", async () => {
    const { got, events } = await follow("", PART_0, ["p0.1.m4s"], 3);
    expect(got.map((p) => [p.uri, p.afterGap === true])).toEqual([["p0.0.m4s", false], ["p1.0.m4s", true], ["p1.1.m4s", false]]);
    expect(events.filter((e) => e.kind === "segment-missing").map((e) => e.detail)).toEqual(["part 0.1 (p0.1.m4s): HTTP 404"]);
  });

  test("an init section that cannot be opened ends the run on why", async () => {
    const { outcome, events } = await follow(`#EXT-X-MAP:URI="init_9.mp4"\n`, PART_1);
    expect(outcome).toBe("failed");
    expect(events.filter((e) => e.kind === "unmeasurable").map((e) => e.detail)).toEqual([
      "its init section http://origin/video/init_9.mp4 cannot be fetched: HTTP 404",
    ]);
  });
});

describe("the parts that arrived at the join", () => {
  /** Segments `from`..`to` of two 0.5 s parts each (the first independent), all whole, as a playlist lists them. */
  const listing = (from: number, to: number) => {
    let s = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-PART-INF:PART-TARGET=0.5\n#EXT-X-SERVER-CONTROL:PART-HOLD-BACK=1.5\n";
    s += `#EXT-X-MEDIA-SEQUENCE:${from}\n#EXT-X-MAP:URI="init_0.mp4"\n`;
    for (let n = from; n <= to; n++) s += `#EXT-X-PART:DURATION=0.5,URI="p${n}.0.m4s",INDEPENDENT=YES\n#EXT-X-PART:DURATION=0.5,URI="p${n}.1.m4s"\n#EXTINF:1.0,\nseg_${n}.m4s\n`;
    return s;
  };

  test("after an outage the client joins again, and the parts the new playlist already listed are marked as at that join", async () => {
    // Joined on segment 0's listing; the next playlist adds segment 1; then the playlist fails for a while, and comes
    // back at segments 6-8 (segment 2 gone): a rejoin a second behind the new edge, on 8.0 and 8.1.
    const answers = [listing(0, 0), listing(0, 1), "fail", "fail", "fail", listing(6, 8), listing(6, 9)];
    let playlists = 0;
    const fetchFn: Fetch = async (url) => {
      const name = new URL(url).pathname.split("/").pop()!;
      if (name === "stream.m3u8") {
        const a = answers[Math.min(playlists++, answers.length - 1)]!;
        return a === "fail" ? new Response("down", { status: 503 }) : new Response(a);
      }
      if (name === "init_0.mp4") return new Response(INIT_0);
      return name.endsWith(".m4s") ? new Response(PART_0) : new Response("no such file", { status: 404 });
    };
    const { options: o } = simulatedOptions(fetchFn);
    const track = Fmp4Track.open(INIT_0);
    if ("unmeasurable" in track) throw new Error(track.unmeasurable);
    const source = new LlHlsSource("http://origin/video/stream.m3u8", parseMediaPlaylist(listing(0, 0)), track, o, () => {});
    const got: SegmentArrival[] = [];
    await source.run(async (s) => {
      got.push(s);
    }, () => got.length >= 6 || playlists > 200);
    expect(got.map((p) => [p.uri, p.atJoin, p.discontinuity])).toEqual([
      ["p0.0.m4s", true, false], ["p0.1.m4s", true, false], ["p1.0.m4s", false, false], ["p1.1.m4s", false, false],
      ["p8.0.m4s", true, true], ["p8.1.m4s", true, false],
    ]);
  });
});
