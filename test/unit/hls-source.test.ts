import { describe, expect, test } from "bun:test";
import { segmentElementaryStream } from "../../src/hls/ts-frames.ts";
import { HlsSource, PlaylistParses, type HlsSourceOptions, type SegmentArrival } from "../../src/client/hls-source.ts";
import { simulatedOptions } from "../helpers/source-options.ts";
import { frameFragment, initSegment, withTrackId } from "../helpers/fmp4-stream.ts";
import type { Fetch } from "../../src/client/http.ts";

const PLAYLIST = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:0\n" +
  "#EXTINF:1,\nseg_0.ts\n#EXTINF:1,\nseg_1.ts\n#EXTINF:1,\nseg_2.ts\n#EXT-X-ENDLIST\n";

/** One answer: a response, an error thrown, or a function making a fresh response (streams cannot be cloned cheaply). */
type Answer = Response | Error | ((url: string) => Response);
type Script = Record<string, Answer[]>;

/** A scripted server: each URL answers from its own queue of outcomes, then the last one for good. */
function scripted(script: Script, onFetch: (name: string) => void = () => {}) {
  const calls: string[] = [];
  const urls: string[] = [];
  const fetchFn: Fetch = async (url) => {
    urls.push(url);
    const name = new URL(url).pathname.split("/").pop()!;
    calls.push(name);
    onFetch(name);
    const queue = script[name];
    if (!queue) return new Response("no such file", { status: 404 });
    const next = queue.length > 1 ? queue.shift()! : queue[0]!;
    if (next instanceof Error) throw next;
    if (typeof next === "function") return next(url);
    return next.clone() as Awaited<ReturnType<Fetch>>;
  };
  return { fetchFn, calls, urls };
}

/**
 * A source on a scripted server and a simulated clock: each fetch of a name takes fetchMs[name]. On the instant clock
 * (the default) sleeps and fetches advance it at once, one after another, and nothing waits on the event loop's turns
 * (which a loaded machine spaces out against the fetches' own real timeouts); on the overlapping clock, fetches take
 * their time side by side, as real ones do.
 */
function makeSource(script: Script, fetchMs: Record<string, number> = {}, options: Partial<HlsSourceOptions> = {}, clock: "instant" | "overlapping" = "instant") {
  let delay = (_ms: number) => Promise.resolve();
  const { fetchFn: answer, calls, urls } = scripted(script);
  const fetchFn: Fetch = async (url, init) => {
    const res = await answer(url, init);
    await delay(fetchMs[new URL(url).pathname.split("/").pop()!] ?? 0);
    return res;
  };
  const sim = simulatedOptions(fetchFn, options, { overlapping: clock === "overlapping" });
  delay = sim.delay;
  const source = new HlsSource("http://origin/video/stream.m3u8", sim.options);
  return { source, events: sim.events, calls, urls, nowMs: sim.nowMs };
}

async function runSource(script: Script, fetchMs: Record<string, number> = {}, options: Partial<HlsSourceOptions> = {}, clock: "instant" | "overlapping" = "instant") {
  const made = makeSource(script, fetchMs, options, clock);
  const got: SegmentArrival[] = [];
  await made.source.connect();
  const outcome = await made.source.run(async (s) => {
    got.push(s);
  }, () => made.nowMs() > 60_000);
  return { ...made, outcome, got };
}

const ok = (body: string) => new Response(body);

/** The smallest MPEG-TS segment with one video frame: a PAT, a PMT naming an H.264 stream, one PES start. */
const TS_SEGMENT = (() => {
  const packet = (head: number[]) => [...head, ...new Array<number>(188 - head.length).fill(0xff)];
  const crc = [0, 0, 0, 0]; // not checked by the scanner
  return new Uint8Array([
    ...packet([0x47, 0x40, 0x00, 0x10, 0x00, 0x00, 0xb0, 0x0d, 0x00, 0x01, 0xc1, 0x00, 0x00, 0x00, 0x01, 0xe1, 0x00, ...crc]),
    ...packet([0x47, 0x41, 0x00, 0x10, 0x00, 0x02, 0xb0, 0x12, 0x00, 0x01, 0xc1, 0x00, 0x00, 0xe1, 0x01, 0xf0, 0x00, 0x1b, 0xe1, 0x01, 0xf0, 0x00, ...crc]),
    ...packet([0x47, 0x41, 0x01, 0x10, 0x00, 0x00, 0x01, 0xe0, 0x00, 0x00, 0x80, 0x00, 0x00]),
  ]);
})();
const seg = () => new Response(TS_SEGMENT);

test("a segment whose first fetch fails is fetched again, not lost", async () => {
  const reset = Object.assign(new Error("socket closed"), { code: "ECONNRESET" });
  const r = await runSource({
    "stream.m3u8": [ok(PLAYLIST)],
    "seg_0.ts": [seg()],
    "seg_1.ts": [reset, seg()],
    "seg_2.ts": [seg()],
  });
  expect(r.outcome).toBe("ended");
  expect(r.got.map((s) => s.sequence)).toEqual([0, 1, 2]);
  expect(r.events).toEqual([]);
  expect(r.calls.filter((c) => c === "seg_1.ts")).toHaveLength(2);
  // The decoder is given the video's elementary stream; the bitrate counts the segment as it came.
  for (const s of r.got) {
    expect(s.deliveredBytes).toBe(TS_SEGMENT.length);
    expect(s.bytes.length).toBeLessThan(TS_SEGMENT.length);
  }
});

test("a segment that stays unavailable is given up after three tries, with the reason", async () => {
  const r = await runSource({
    "stream.m3u8": [ok(PLAYLIST)],
    "seg_0.ts": [seg()],
    "seg_1.ts": [new Response("busy", { status: 503 })],
    "seg_2.ts": [seg()],
  });
  expect(r.got.map((s) => s.sequence)).toEqual([0, 2]);
  expect(r.calls.filter((c) => c === "seg_1.ts")).toHaveLength(3);
  expect(r.events.map((e) => [e.kind, e.detail])).toEqual([["segment-missing", "segment 1 (seg_1.ts): HTTP 503"]]);
});

test("a segment already deleted (404) is not asked for again", async () => {
  const r = await runSource({
    "stream.m3u8": [ok(PLAYLIST)],
    "seg_0.ts": [seg()],
    "seg_1.ts": [new Response("gone", { status: 404 })],
    "seg_2.ts": [seg()],
  });
  expect(r.calls.filter((c) => c === "seg_1.ts")).toHaveLength(1);
  expect(r.events[0]!.kind).toBe("segment-missing");
});

test("a segment that takes longer to fetch than to play is a rebuffer risk: an event with both times", async () => {
  const r = await runSource(
    { "stream.m3u8": [ok(PLAYLIST)], "seg_0.ts": [seg()], "seg_1.ts": [seg()], "seg_2.ts": [seg()] },
    { "seg_0.ts": 900, "seg_1.ts": 1500 },
    {},
    "overlapping",
  );
  expect(r.got.map((s) => s.sequence)).toEqual([0, 1, 2]);
  expect(r.events.map((e) => [e.kind, e.durationMs, e.detail])).toEqual([
    ["slow-segment", 1500, "segment 1 took 1.50 s to fetch and plays 1.00 s: rebuffer risk"],
  ]);
});

test("a segment longer than the playlist's target duration is reported (rounded as HLS rounds it)", async () => {
  const playlist = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:0\n" +
    "#EXTINF:1.4,\nseg_0.ts\n#EXTINF:2.6,\nseg_1.ts\n#EXT-X-ENDLIST\n";
  const r = await runSource({ "stream.m3u8": [ok(playlist)], "seg_0.ts": [seg()], "seg_1.ts": [seg()] });
  expect(r.events.map((e) => [e.kind, e.detail])).toEqual([
    ["target-duration", "segment 1 lasts 2.600 s, over the playlist's target duration of 1 s"],
  ]);
});

/** A body of `totalBytes` made on demand, counting what was actually produced (what a reader pulled). */
function streamed(totalBytes: number, opts: { declare?: boolean } = {}) {
  const made = { bytes: 0 };
  const chunk = new Uint8Array(64 * 1024);
  const answer = () => {
    let left = totalBytes;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (left <= 0) return c.close();
        const n = Math.min(left, chunk.length);
        left -= n;
        made.bytes += n;
        c.enqueue(chunk.subarray(0, n));
      },
    });
    return new Response(body, opts.declare ? { headers: { "content-length": String(totalBytes) } } : {});
  };
  return { answer, made };
}

const LIMITS = { maxSegmentBytes: 1024 * 1024, maxPlaylistBytes: 64 * 1024 };

describe("bounded memory", () => {
  test("a segment declaring more than the limit is skipped unread, not retried: a limit event", async () => {
    const big = streamed(500 * 1024 * 1024, { declare: true });
    const r = await runSource(
      { "stream.m3u8": [ok(PLAYLIST)], "seg_0.ts": [seg()], "seg_1.ts": [big.answer], "seg_2.ts": [seg()] },
      {},
      LIMITS,
    );
    expect(r.outcome).toBe("ended");
    expect(r.got.map((s) => s.sequence)).toEqual([0, 2]);
    expect(big.made.bytes).toBeLessThanOrEqual(64 * 1024);
    expect(r.calls.filter((c) => c === "seg_1.ts")).toHaveLength(1);
    expect(r.events.map((e) => [e.kind, e.detail, e.fatal])).toEqual([
      ["limit", "segment 1 (seg_1.ts) skipped: Content-Length 500 MB, over the limit of 1 MB", undefined],
    ]);
  });

  test("a segment without a length is read only up to the limit", async () => {
    const big = streamed(500 * 1024 * 1024);
    const r = await runSource({ "stream.m3u8": [ok(PLAYLIST)], "seg_0.ts": [seg()], "seg_1.ts": [big.answer], "seg_2.ts": [seg()] }, {}, LIMITS);
    expect(r.got.map((s) => s.sequence)).toEqual([0, 2]);
    expect(big.made.bytes).toBeLessThan(LIMITS.maxSegmentBytes + 3 * 64 * 1024);
    expect(r.events.map((e) => [e.kind, e.detail])).toEqual([["limit", "segment 1 (seg_1.ts) skipped: answer over the limit of 1 MB"]]);
  });

  test("a segment at the limit is whole", async () => {
    const exact = streamed(LIMITS.maxSegmentBytes);
    const r = await runSource({ "stream.m3u8": [ok(PLAYLIST)], "seg_0.ts": [exact.answer], "seg_1.ts": [seg()], "seg_2.ts": [seg()] }, {}, LIMITS);
    expect(r.got[0]!.bytes.length).toBe(LIMITS.maxSegmentBytes);
    expect(r.events.filter((e) => e.kind === "limit")).toEqual([]);
  });

  test("a playlist over the limit is a failed poll (one limit event), and the stream goes on when it is back", async () => {
    const huge = streamed(10 * 1024 * 1024);
    const r = await runSource(
      { "stream.m3u8": [ok(LIVE(0)), huge.answer, huge.answer, huge.answer, ok(LIVE(1) + "#EXT-X-ENDLIST\n")], "seg_0.ts": [seg()], "seg_1.ts": [seg()] },
      {},
      LIMITS,
    );
    expect(r.outcome).toBe("ended");
    expect(r.got.map((s) => s.sequence)).toEqual([0, 1]);
    expect(huge.made.bytes).toBeLessThan(3 * (LIMITS.maxPlaylistBytes + 3 * 64 * 1024));
    expect(r.events.map((e) => e.kind)).toEqual(["limit", "outage", "reconnect"]);
    expect(r.events[0]!.detail).toBe("playlist http://origin/video/stream.m3u8: answer over the limit of 64 kB");
  });

  test("a first playlist over the limit is no stream", async () => {
    const huge = streamed(10 * 1024 * 1024);
    await expect(runSource({ "stream.m3u8": [huge.answer] }, {}, LIMITS)).rejects.toThrow(/is not a stream: answer over the limit of 64 kB/);
  });
});

/** A live window of three segments ending at `newest`. */
function LIVE(newest: number, names = (n: number) => `seg_${n}.ts`): string {
  const first = Math.max(0, newest - 2);
  let text = `#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:${first}\n`;
  for (let n = first; n <= newest; n++) text += `#EXTINF:1,\n${names(n)}\n`;
  return text;
}

describe("URIs a remote playlist may name", () => {
  test("file: and data: segments are refused unopened: segment-missing with why", async () => {
    const playlist = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nseg_0.ts\n#EXTINF:1,\nfile:///etc/passwd\n" +
      "#EXTINF:1,\ndata:video/mp2t;base64,AAAA\n#EXTINF:1,\nseg_3.ts\n#EXT-X-ENDLIST\n";
    const r = await runSource({ "stream.m3u8": [ok(playlist)], "seg_0.ts": [seg()], "seg_3.ts": [seg()] });
    expect(r.got.map((s) => s.sequence)).toEqual([0, 3]);
    expect(r.urls.every((u) => u.startsWith("http://origin/"))).toBe(true);
    expect(r.events.map((e) => [e.kind, e.detail])).toEqual([
      ["segment-missing", "segment 1 (file:///etc/passwd): refused: a playlist may only name http(s) URIs, not file:"],
      ["segment-missing", "segment 2 (data:video/mp2t;base64,AAAA): refused: a playlist may only name http(s) URIs, not data:"],
    ]);
  });

  test("a redirect to file: is refused; one to http is followed and relative URIs resolve against where it led", async () => {
    const redirect = (to: string) => new Response(null, { status: 302, headers: { location: to } });
    const playlist = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nseg_0.ts\n#EXTINF:1,\nseg_1.ts\n#EXT-X-ENDLIST\n";
    const r = await runSource({
      "stream.m3u8": [redirect("http://edge/live/moved.m3u8")],
      "moved.m3u8": [ok(playlist)],
      "seg_0.ts": [redirect("file:///etc/passwd")],
      "seg_1.ts": [seg()],
    });
    expect(r.source.url).toBe("http://edge/live/moved.m3u8");
    expect(r.got.map((s) => s.sequence)).toEqual([1]);
    expect(r.urls).toContain("http://edge/live/seg_1.ts");
    expect(r.urls.filter((u) => u.includes("seg_0"))).toHaveLength(1);
    expect(r.events.map((e) => [e.kind, e.detail])).toEqual([
      ["segment-missing", "segment 0 (seg_0.ts): refused: only http(s) is fetched, not 'file:///etc/passwd'"],
    ]);
  });

  test("a redirect loop ends", async () => {
    const loop = (url: string) => new Response(null, { status: 301, headers: { location: url } });
    const r = await runSource({ "stream.m3u8": [ok(PLAYLIST)], "seg_0.ts": [loop], "seg_1.ts": [seg()], "seg_2.ts": [seg()] });
    expect(r.got.map((s) => s.sequence)).toEqual([1, 2]);
    expect(r.events[0]!.detail).toBe("segment 0 (seg_0.ts): more than 10 redirects");
    expect(r.calls.filter((c) => c === "seg_0.ts").length).toBeLessThanOrEqual(3 * 11);
  });
});

describe("a media sequence going back", () => {
  test("an older copy on every other poll (same URIs at the same numbers) is ignored, noted once: no restart", async () => {
    // The server's newest moves 2, 1, 3, 2, 4, 3, ... 8, 7: every second answer is the copy before.
    const polls: Answer[] = [ok(LIVE(2))]; // connect's
    for (let n = 2; n <= 8; n++) polls.push(ok(LIVE(n)), ok(LIVE(n - 1)));
    polls.push(ok(LIVE(8) + "#EXT-X-ENDLIST\n"));
    const segs: Script = {};
    for (let n = 0; n <= 8; n++) segs[`seg_${n}.ts`] = [seg()];
    const r = await runSource({ "stream.m3u8": polls, ...segs });
    expect(r.outcome).toBe("ended");
    expect(r.got.map((s) => s.sequence)).toEqual([2, 3, 4, 5, 6, 7, 8]);
    expect(r.got.some((s) => s.discontinuity)).toBe(false);
    expect(r.events.map((e) => e.kind)).toEqual(["stale-playlist"]);
    expect(r.events[0]!.detail).toContain("older copy of the playlist (media sequence back from 2 to 1");
    expect(r.source.olderPlaylists).toBe(7);
    for (let n = 2; n <= 8; n++) expect(r.calls.filter((c) => c === `seg_${n}.ts`)).toHaveLength(1);
  });

  test("a new stream (numbers started over with new segments) is a restart", async () => {
    const restarted = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:1,\nnew_0.ts\n#EXTINF:1,\nnew_1.ts\n#EXT-X-ENDLIST\n";
    const r = await runSource({
      "stream.m3u8": [ok(LIVE(40)), ok(LIVE(40)), ok(LIVE(41)), ok(restarted)],
      "seg_40.ts": [seg()],
      "seg_41.ts": [seg()],
      "new_1.ts": [seg()],
    });
    expect(r.got.map((s) => [s.uri, s.discontinuity])).toEqual([["seg_40.ts", false], ["seg_41.ts", false], ["new_1.ts", true]]);
    expect(r.events.map((e) => [e.kind, e.detail])).toEqual([["stream-restart", "media sequence went back from 41 to 1"]]);
  });

  test("the same names at other numbers (a packager that restarted its count) is a restart too", async () => {
    const r = await runSource({
      "stream.m3u8": [ok(LIVE(5)), ok(LIVE(5)), ok(LIVE(2, (n) => `seg_${n + 3}.ts`) + "#EXT-X-ENDLIST\n")],
      "seg_5.ts": [seg(), seg()],
    });
    expect(r.events.map((e) => e.kind)).toEqual(["stream-restart"]);
    expect(r.got.map((s) => [s.sequence, s.discontinuity])).toEqual([[5, false], [2, true]]);
  });
});

describe("values from the playlist", () => {
  test("EXTINF -5 on every segment: mended to the target duration, one bad-value event", async () => {
    const playlist = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:-5,\nseg_0.ts\n#EXTINF:-5,\nseg_1.ts\n#EXTINF:NaN,\nseg_2.ts\n#EXT-X-ENDLIST\n";
    const r = await runSource({ "stream.m3u8": [ok(playlist)], "seg_0.ts": [seg()], "seg_1.ts": [seg()], "seg_2.ts": [seg()] });
    expect(r.got.map((s) => s.durationS)).toEqual([1, 1, 1]);
    expect(r.events.map((e) => [e.kind, e.detail])).toEqual([
      ["bad-value", "#EXTINF '-5' of segment 0 is not a duration from 0 to 86400 s: taken as the target duration (1 s)"],
    ]);
  });

  test("a media sequence beyond 2^53 in a later poll is a failed poll, not a stuck client", async () => {
    const r = await runSource(
      { "stream.m3u8": [ok(LIVE(0)), ok(LIVE(0)), ok("#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:1e20\n#EXTINF:1,\nx.ts\n")], "seg_0.ts": [seg()] },
      {},
      { maxOutageMs: 3000 },
    );
    expect(r.outcome).toBe("failed");
    expect(r.events.map((e) => e.kind)).toEqual(["outage", "outage"]);
    expect(r.events[0]!.detail).toBe("stream unreachable: answer is not a playlist (#EXT-X-MEDIA-SEQUENCE '1e20' is not a whole number from 0 to 9007199254740991)");
  });

  test("an encrypted stream is unmeasurable: a fatal event, nothing fetched", async () => {
    const playlist = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-KEY:METHOD=AES-128,URI=\"key.bin\"\n#EXTINF:1,\nseg_0.ts\n";
    const r = await runSource({ "stream.m3u8": [ok(playlist)], "seg_0.ts": [seg()] });
    expect(r.outcome).toBe("failed");
    expect(r.got).toEqual([]);
    expect(r.calls).not.toContain("seg_0.ts");
    expect(r.calls).not.toContain("key.bin");
    expect(r.events.map((e) => [e.kind, e.fatal])).toEqual([["unmeasurable", true]]);
    expect(r.events[0]!.detail).toStartWith("encrypted (METHOD=AES-128)");
    expect(r.source.failure).toEqual(r.events[0]!);
  });
});

test("a long outage ends the run as failed with a fatal event, not an exception", async () => {
  const r = await runSource({ "stream.m3u8": [ok(LIVE(0)), new Response("down", { status: 503 })], "seg_0.ts": [seg()] }, {}, { maxOutageMs: 5000 });
  expect(r.outcome).toBe("failed");
  const last = r.events.at(-1)!;
  expect(last).toMatchObject({ kind: "outage", fatal: true });
  expect(last.detail).toMatch(/^the stream has been unreachable for [5-7] s \(HTTP 503\); giving up$/);
  expect(r.events.filter((e) => e.fatal)).toHaveLength(1);
  expect(r.source.failure).toBe(last);
});

describe("multivariant playlists", () => {
  const MEDIA = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nseg_0.ts\n#EXT-X-ENDLIST\n";
  const LADDER = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=854x480\nlow.m3u8\n" +
    "#EXT-X-STREAM-INF:BANDWIDTH=2500000,RESOLUTION=1280x720\nhigh.m3u8\n";

  test("the highest variant by default, with a stream-info event; the chosen one on request", async () => {
    const script = { "stream.m3u8": [ok(LADDER)], "low.m3u8": [ok(MEDIA)], "high.m3u8": [ok(MEDIA)], "seg_0.ts": [seg()] };
    const r = await runSource(script);
    expect(r.source.url).toBe("http://origin/video/high.m3u8");
    expect(r.events.map((e) => [e.kind, e.detail])).toEqual([
      ["stream-info", "variant 1280x720 at 2500 kbit/s (2 of 2 in the playlist): http://origin/video/high.m3u8"],
    ]);
    const low = await runSource(script, {}, { variant: { kind: "resolution", width: null, height: 480 } });
    expect(low.source.url).toBe("http://origin/video/low.m3u8");
    await expect(runSource(script, {}, { variant: { kind: "resolution", width: null, height: 1080 } })).rejects.toThrow(
      "http://origin/video/stream.m3u8: no variant matches --variant (it has 854x480 at 800 kbit/s, 1280x720 at 2500 kbit/s); use highest",
    );
  });

  test.each([
    ["a master naming itself", { "stream.m3u8": [ok("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nstream.m3u8\n")] }, /naming itself/],
    [
      "two masters naming each other",
      { "stream.m3u8": [ok("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nother.m3u8\n")], "other.m3u8": [ok("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nstream.m3u8\n")] },
      /other.m3u8 is a multivariant playlist named by another/,
    ],
    ["a master naming a file", { "stream.m3u8": [ok("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nfile:///etc/passwd\n")] }, /not file:/],
  ])("%s is no stream, after at most two requests", async (_name, script, reason) => {
    let requests = 0;
    const counting: Script = Object.fromEntries(Object.entries(script).map(([k, v]) => [k, [() => (requests++, (v[0] as Response).clone() as unknown as Response)]]));
    await expect(runSource(counting)).rejects.toThrow(reason);
    expect(requests).toBeLessThanOrEqual(2);
  });

  test("the connect timeout bounds the whole chain: a variant that never answers", async () => {
    const { source, calls, nowMs } = makeSource(
      { "stream.m3u8": [ok(LADDER)], "high.m3u8": [new Response("later", { status: 503 })] },
      { "stream.m3u8": 700, "high.m3u8": 700 },
    );
    await expect(source.connect()).rejects.toThrow(/high.m3u8 answers but has no stream \(HTTP 503 for 5 s\)/);
    expect(nowMs()).toBeLessThan(5000 + 700 + 200);
    expect(calls[0]).toBe("stream.m3u8");
  });
});

test("a segment holding no video (garbage) is said once", async () => {
  const r = await runSource({ "stream.m3u8": [ok(PLAYLIST)], "seg_0.ts": [ok("junk")], "seg_1.ts": [ok("more junk")], "seg_2.ts": [seg()] });
  expect(r.got.map((s) => s.frames)).toEqual([0, 0, 1]);
  expect(r.events.map((e) => [e.kind, e.detail])).toEqual([
    ["bad-value", "segment 0 (seg_0.ts, 4 bytes) holds no MPEG-TS video frame: not a transport stream, or garbage"],
  ]);
});

test("an endless segment times out (the timeout covers the body), and is tried again", async () => {
  const endless = () => {
    let open = true;
    const drip = (c: ReadableStreamDefaultController<Uint8Array>) =>
      new Promise<void>((resolve) => setTimeout(() => (open && c.enqueue(new Uint8Array(10)), resolve()), 20));
    return new Response(new ReadableStream<Uint8Array>({ pull: drip, cancel: () => void (open = false) }));
  };
  const r = await runSource(
    { "stream.m3u8": [ok(PLAYLIST)], "seg_0.ts": [seg()], "seg_1.ts": [endless], "seg_2.ts": [seg()] },
    {},
    { requestTimeoutMs: 200 },
  );
  expect(r.got.map((s) => s.sequence)).toEqual([0, 2]);
  expect(r.calls.filter((c) => c === "seg_1.ts")).toHaveLength(3);
  expect(r.events.map((e) => [e.kind, e.detail])).toEqual([["segment-missing", "segment 1 (seg_1.ts): timed out"]]);
});

describe("older copies and restarts, at the edges", () => {
  test("an older copy whose segment URIs carry other tokens is still an older copy", async () => {
    const signed = (token: string) => (n: number) => `seg_${n}.ts?token=${token}`;
    const r = await runSource({
      "stream.m3u8": [ok(LIVE(5, signed("a"))), ok(LIVE(5, signed("a"))), ok(LIVE(4, signed("b"))), ok(LIVE(6, signed("c")) + "#EXT-X-ENDLIST\n")],
      "seg_5.ts": [seg()],
      "seg_6.ts": [seg()],
    });
    expect(r.events.map((e) => e.kind)).toEqual(["stale-playlist"]);
    expect(r.got.map((s) => s.sequence)).toEqual([5, 6]);
  });

  test("going back with a later discontinuity sequence is a restart, even under the same names", async () => {
    const later = LIVE(4).replace("#EXT-X-MEDIA-SEQUENCE", "#EXT-X-DISCONTINUITY-SEQUENCE:1\n#EXT-X-MEDIA-SEQUENCE") + "#EXT-X-ENDLIST\n";
    const r = await runSource({ "stream.m3u8": [ok(LIVE(5)), ok(LIVE(5)), ok(later)], "seg_5.ts": [seg()], "seg_4.ts": [seg()] });
    expect(r.events.map((e) => e.kind)).toEqual(["stream-restart"]);
    expect(r.got.map((s) => [s.sequence, s.discontinuity])).toEqual([[5, false], [4, true]]);
  });
});

/**
 * A packager that started over (ffmpeg's hls muxer with append_list) rewrote init.mp4 for its new encode: here the
 * video moved to track 2. Before it, init.mp4 and a segment of track 1; after, init.mp4 and a segment of track 2 (read
 * with the old section, it would hold no frame of the video track). `after` segments follow the discontinuity.
 */
function rewrittenInit(after: ("lost" | "new")[]) {
  const init0 = initSegment();
  const seg0 = frameFragment(0, true, 8);
  const names = after.map((_, i) => `seg_${i + 1}.m4s`);
  const playlist = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-MAP:URI=\"init.mp4\"\n" +
    "#EXTINF:1,\nseg_0.m4s\n#EXT-X-DISCONTINUITY\n" + names.map((n) => `#EXTINF:1,\n${n}\n`).join("") + "#EXT-X-ENDLIST\n";
  const script: Script = {
    "stream.m3u8": [ok(playlist)],
    "init.mp4": [new Response(init0), new Response(withTrackId(withTrackId(init0, "tkhd", 12, 2), "trex", 4, 2))],
    "seg_0.m4s": [new Response(seg0)],
  };
  after.forEach((kind, i) => (script[names[i]!] = [kind === "lost" ? new Response("gone", { status: 404 }) : new Response(withTrackId(seg0, "tfhd", 4, 2))]));
  return runSource(script);
}

test("fMP4: after EXT-X-DISCONTINUITY the init section is fetched again, and one rewritten under its name is read", async () => {
  const r = await rewrittenInit(["new"]);
  expect(r.outcome).toBe("ended");
  expect(r.got.map((s) => [s.sequence, s.frames, s.discontinuity])).toEqual([[0, 1, false], [1, 1, true]]);
  expect(r.calls.filter((c) => c === "init.mp4")).toHaveLength(2);
  expect(r.events.filter((e) => e.kind === "bad-value" || e.kind === "segment-missing")).toEqual([]);
});

test("fMP4: the segment after EXT-X-DISCONTINUITY lost, the next one still read with the rewritten init section", async () => {
  const r = await rewrittenInit(["lost", "new"]);
  expect(r.outcome).toBe("ended");
  expect(r.got.map((s) => [s.sequence, s.frames, s.discontinuity, s.afterGap === true])).toEqual([[0, 1, false, false], [2, 1, true, true]]);
});

test("EXT-X-BYTERANGE segments are asked for by Range; a server that ignores it is cut down to the range", async () => {
  const whole = new Uint8Array([...TS_SEGMENT, ...TS_SEGMENT]);
  const ranges: (string | null)[] = [];
  const playlist = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\n#EXT-X-BYTERANGE:564@0\nall.ts\n#EXTINF:1,\n#EXT-X-BYTERANGE:564\nall.ts\n#EXT-X-ENDLIST\n";
  const fetchFn: Fetch = async (url, init) => {
    if (url.endsWith(".m3u8")) return new Response(playlist) as Awaited<ReturnType<Fetch>>;
    ranges.push(new Headers(init?.headers).get("range"));
    return new Response(whole) as Awaited<ReturnType<Fetch>>;
  };
  const got: SegmentArrival[] = [];
  const source = new HlsSource("http://origin/v.m3u8", {
    fetch: fetchFn, now: () => 0, sleep: async () => {}, pollMs: 50, requestTimeoutMs: 1000, connectTimeoutMs: 1000,
    maxOutageMs: 1000, onEvent: () => {}, cancelled: () => null,
  });
  await source.connect();
  expect(await source.run(async (s) => void got.push(s), () => false)).toBe("ended");
  expect(ranges).toEqual(["bytes=0-563", "bytes=564-1127"]);
  // Each range's video, as the decoder gets it (the elementary stream of one copy of the segment).
  const one = segmentElementaryStream(TS_SEGMENT).es!.bytes;
  expect(got.map((s) => [s.bytes, s.frames])).toEqual([[one, 1], [one, 1]]);
});

describe("a restarted server that names its segments by number", () => {
  /** A window ending at `newest`, every segment dated from `t0` (as vat serve and ffmpeg write them). */
  const dated = (newest: number, t0: number) =>
    LIVE(newest).replace(/#EXTINF:1,\nseg_(\d+)\.ts/g, (line, n) => `#EXT-X-PROGRAM-DATE-TIME:${new Date(t0 + Number(n) * 1000).toISOString()}\n${line}`);

  test("back after an outage with the same names at the same numbers: a restart, not an older copy", async () => {
    const r = await runSource({
      // Segments 2 and 3 are listed under the same names before and after.
      "stream.m3u8": [ok(LIVE(4)), ok(LIVE(4)), new Response("down", { status: 503 }), ok(LIVE(3) + "#EXT-X-ENDLIST\n")],
      "seg_4.ts": [seg()],
      "seg_3.ts": [seg()],
    });
    expect(r.events.map((e) => e.kind)).toEqual(["outage", "reconnect", "stream-restart"]);
    expect(r.got.map((s) => [s.sequence, s.discontinuity])).toEqual([[4, false], [3, true]]);
  });

  test("the same names at the same numbers with other dates: a restart", async () => {
    const first = Date.parse("2026-12-01T10:00:00Z");
    const r = await runSource({
      "stream.m3u8": [ok(dated(4, first)), ok(dated(4, first)), ok(dated(3, first + 60_000) + "#EXT-X-ENDLIST\n")],
      "seg_4.ts": [seg()],
      "seg_3.ts": [seg()],
    });
    expect(r.events.map((e) => e.kind)).toEqual(["stream-restart"]);
  });

  test("an older copy keeps its dates: still ignored", async () => {
    const first = Date.parse("2026-12-01T10:00:00Z");
    const r = await runSource({
      "stream.m3u8": [ok(dated(7, first)), ok(dated(7, first)), ok(dated(6, first)), ok(dated(8, first) + "#EXT-X-ENDLIST\n")],
      "seg_7.ts": [seg()],
      "seg_8.ts": [seg()],
    });
    expect(r.events.map((e) => e.kind)).toEqual(["stale-playlist"]);
    expect(r.got.map((s) => s.sequence)).toEqual([7, 8]);
  });
});

test("a playlist answered with the same text as the poll before is not parsed again; any change is", () => {
  const parses = new PlaylistParses();
  const first = parses.parse(PLAYLIST);
  expect(parses.parse(PLAYLIST.slice(0, 10) + PLAYLIST.slice(10))).toBe(first);
  const changed = PLAYLIST.replace("#EXT-X-ENDLIST\n", "");
  const second = parses.parse(changed);
  expect(second).not.toBe(first);
  expect(second.endList).toBe(false);
  expect(first.endList).toBe(true);
  expect(parses.parse(PLAYLIST)).not.toBe(second);
});

describe("the playlist's polls pause between segments (poll-schedule.ts), wired into the source", () => {
  /**
   * A live origin on the simulated clock: segment i (1 s, or as `lengthS` says) is listed once the clock passes
   * `listedAtMs(i)`; the last 6 are listed. `headers` go on every playlist answer; a poll `olderCopy` picks is
   * answered with the playlist as it was two segments earlier.
   */
  function liveOrigin(o: {
    listedAtMs: (i: number) => number;
    headers?: Record<string, string>;
    olderCopy?: (t: number) => boolean;
    /** How long each segment takes to fetch (by its number). */
    fetchMs?: (i: number) => number;
  }) {
    let now = () => 0;
    let delay = (_ms: number) => Promise.resolve();
    const playlistPolls: number[] = [];
    const listedUpTo = (t: number) => {
      let n = -1;
      while (o.listedAtMs(n + 1) <= t) n++;
      return n;
    };
    const fetchFn: Fetch = async (url) => {
      const name = new URL(url).pathname.split("/").pop()!;
      if (name !== "stream.m3u8") {
        await delay(o.fetchMs?.(Number(name.replace(/\D/g, ""))) ?? 0);
        return new Response(TS_SEGMENT);
      }
      const t = now();
      playlistPolls.push(t);
      const last = listedUpTo(t) - (o.olderCopy?.(t) ? 2 : 0);
      const first = Math.max(0, last - 5);
      let text = `#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:${first}\n`;
      for (let i = first; i <= last; i++) text += `#EXTINF:1.000,\nseg_${i}.ts\n`;
      return new Response(text, { headers: o.headers ?? {} });
    };
    const sim = simulatedOptions(fetchFn, {}, { overlapping: true });
    now = sim.nowMs;
    delay = sim.delay;
    const source = new HlsSource("http://origin/video/stream.m3u8", sim.options);
    return { source, sim, playlistPolls };
  }

  async function run(origin: ReturnType<typeof liveOrigin>, untilMs: number) {
    const got: SegmentArrival[] = [];
    await origin.source.connect();
    await origin.source.run(async (s) => {
      got.push(s);
    }, () => origin.sim.nowMs() > untilMs);
    return got;
  }

  test("on time: every segment asked for within a poll of its listing, under half the polls, nothing said", async () => {
    const origin = liveOrigin({ listedAtMs: (i) => 330 + i * 1000 });
    const got = await run(origin, 20_000);
    for (const s of got.slice(1)) expect(s.requestedAtMs - (330 + s.sequence * 1000)).toBeLessThanOrEqual(50);
    expect(got.length).toBeGreaterThan(18);
    expect(origin.playlistPolls.length).toBeLessThan((20_000 / 50) * 0.45);
    expect(origin.sim.events).toEqual([]);
  });

  test("a segment that comes during a pause is said, with how late it may be; the polls keep --poll after it", async () => {
    // Segment 10 is cut short: listed 600 ms after 9, and all after it 400 ms sooner than the clock said.
    const at = (i: number) => 330 + i * 1000 - (i >= 10 ? 400 : 0);
    const origin = liveOrigin({ listedAtMs: at });
    const got = await run(origin, 20_000);
    const early = origin.sim.events.filter((e) => e.kind === "early-segment");
    expect(early).toHaveLength(1);
    expect(early[0]!.detail).toStartWith("segment 10 came while the playlist's polls paused");
    const s10 = got.find((s) => s.sequence === 10)!;
    expect(s10.requestedAtMs - at(10)).toBeGreaterThan(50);
    expect(early[0]!.durationMs!).toBeGreaterThanOrEqual(s10.requestedAtMs - at(10));
    // Every poll after it at the cadence.
    const after = origin.playlistPolls.filter((t) => t > s10.requestedAtMs);
    expect(after.length).toBeGreaterThanOrEqual((20_000 - s10.requestedAtMs) / 50 - 2);
  });

  test("an older copy answered to the poll that ends a pause does not hide a segment that came during it", async () => {
    // Segment 10 comes 400 ms early, and the first poll after the pause is answered by a copy a segment old.
    const at = (i: number) => 330 + i * 1000 - (i >= 10 ? 400 : 0);
    let firstAfterPause: number | null = null;
    const origin = liveOrigin({
      listedAtMs: at,
      olderCopy: (t) => {
        if (t < at(10) || (firstAfterPause !== null && t !== firstAfterPause)) return false;
        firstAfterPause = t;
        return true;
      },
    });
    await run(origin, 20_000);
    expect(origin.sim.events.map((e) => e.kind)).toEqual(["stale-playlist", "early-segment"]);
    expect(origin.sim.events[1]!.detail).toStartWith("segment 10 came while the playlist's polls paused or failed after the pause");
    // An older copy shows a cache or a lagging edge in the way: the cadence from then on.
    const after = origin.playlistPolls.filter((t) => t > firstAfterPause!);
    expect(after.length).toBeGreaterThanOrEqual((20_000 - firstAfterPause!) / 50 - 2);
  });

  test("a segment whose fetch outlasts the pause it would have been followed by: the next is not taken as early", async () => {
    // Segment 6 takes 1.2 s to fetch: 7 is listed meanwhile, on time, and asked for while 6 still arrives.
    const origin = liveOrigin({ listedAtMs: (i) => 330 + i * 1000, fetchMs: (i) => (i === 6 ? 1200 : 0) });
    const got = await run(origin, 15_000);
    expect(origin.sim.events.map((e) => e.kind)).toEqual(["slow-segment"]);
    expect(got.find((s) => s.sequence === 7)!.requestedAtMs).toBeLessThanOrEqual(330 + 7000 + 50);
  });

  test("a slow body delays only its own segment: the next is asked for within a poll of its listing meanwhile", async () => {
    // Joined 600 ms into segment 0's life; every body takes 900 ms. Asked for one after another, each segment would
    // wait for the body before it (segment 1 asked for at 900 instead of 400).
    const listedAt = (i: number) => -600 + i * 1000;
    const origin = liveOrigin({ listedAtMs: listedAt, fetchMs: () => 900 });
    const got = await run(origin, 12_000);
    expect(got.map((s) => s.sequence)).toEqual(Array.from({ length: got.length }, (_, i) => i));
    expect(got.length).toBeGreaterThan(10);
    for (const s of got.slice(1)) {
      expect(s.requestedAtMs - listedAt(s.sequence)).toBeLessThanOrEqual(50);
      expect(s.arrivedAtMs - s.requestedAtMs).toBe(900);
    }
    expect(origin.sim.events).toEqual([]);
  });

  test("a body held 3.5 s while the playlist goes on listing on time: a slow segment, not a stale playlist", async () => {
    const origin = liveOrigin({ listedAtMs: (i) => 330 + i * 1000, fetchMs: (i) => (i === 3 ? 3500 : 0) });
    const got = await run(origin, 12_000);
    expect(got.map((s) => s.sequence)).toEqual(Array.from({ length: got.length }, (_, i) => i));
    expect(origin.sim.events.map((e) => e.kind)).toEqual(["slow-segment"]);
  });

  test("segments fetched side by side are handed on in order, each with its own arrival", async () => {
    // Segment 3's body takes 1.5 s: 4 (and 5) are listed meanwhile and come at once, before it.
    const listedAt = (i: number) => 330 + i * 1000;
    const origin = liveOrigin({ listedAtMs: listedAt, fetchMs: (i) => (i === 3 ? 1500 : 0) });
    const got = await run(origin, 9_000);
    expect(got.map((s) => s.sequence)).toEqual(Array.from({ length: got.length }, (_, i) => i));
    const s3 = got.find((s) => s.sequence === 3)!;
    const s4 = got.find((s) => s.sequence === 4)!;
    expect(s3.arrivedAtMs - s3.requestedAtMs).toBe(1500);
    expect(s4.requestedAtMs - listedAt(4)).toBeLessThanOrEqual(50);
    expect(s4.arrivedAtMs).toBe(s4.requestedAtMs);
    expect(s4.arrivedAtMs).toBeLessThan(s3.arrivedAtMs);
    expect(origin.sim.events.map((e) => e.kind)).toEqual(["slow-segment"]);
  });

  test("answers that may come from a cache (Age, a positive max-age) keep the cadence throughout", async () => {
    for (const headers of [{ age: "0" }, { "cache-control": "public, max-age=1" }] as Record<string, string>[]) {
      const origin = liveOrigin({ listedAtMs: (i) => 330 + i * 1000, headers });
      await run(origin, 10_000);
      expect(origin.playlistPolls.length).toBeGreaterThan(10_000 / 50 - 5);
      expect(origin.sim.events).toEqual([]);
    }
  });
});
