import { expect, test } from "bun:test";
import { HlsSource, type SegmentArrival, type SourceEvent } from "../../src/client/hls-source.ts";
import type { Fetch } from "../../src/client/http.ts";

const PLAYLIST = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:0\n" +
  "#EXTINF:1,\nseg_0.ts\n#EXTINF:1,\nseg_1.ts\n#EXTINF:1,\nseg_2.ts\n#EXT-X-ENDLIST\n";

/** A scripted server: each URL answers from its own queue of outcomes, then the last one for good. */
function scripted(script: Record<string, (Response | Error)[]>, onFetch: (name: string) => void = () => {}) {
  const calls: string[] = [];
  const fetchFn: Fetch = async (url) => {
    const name = new URL(url).pathname.split("/").pop()!;
    calls.push(name);
    onFetch(name);
    const queue = script[name]!;
    const next = queue.length > 1 ? queue.shift()! : queue[0]!;
    if (next instanceof Error) throw next;
    return next.clone() as Awaited<ReturnType<Fetch>>;
  };
  return { fetchFn, calls };
}

async function runSource(script: Record<string, (Response | Error)[]>, fetchMs: Record<string, number> = {}) {
  let t = 0;
  const { fetchFn, calls } = scripted(script, (name) => (t += fetchMs[name] ?? 0));
  const events: SourceEvent[] = [];
  const got: SegmentArrival[] = [];
  const source = new HlsSource("http://origin/video/stream.m3u8", {
    fetch: fetchFn,
    now: () => t,
    sleep: async (ms) => {
      t += ms;
    },
    pollMs: 50,
    requestTimeoutMs: 1000,
    connectTimeoutMs: 5000,
    maxOutageMs: 60_000,
    onEvent: (e) => events.push(e),
    cancelled: () => null,
  });
  await source.connect();
  const outcome = await source.run(async (s) => {
    got.push(s);
  }, () => false);
  return { outcome, events, got, calls };
}

const ok = (body: string) => new Response(body);

test("a segment whose first fetch fails is fetched again, not lost", async () => {
  const reset = Object.assign(new Error("socket closed"), { code: "ECONNRESET" });
  const r = await runSource({
    "stream.m3u8": [ok(PLAYLIST)],
    "seg_0.ts": [ok("a")],
    "seg_1.ts": [reset, ok("b")],
    "seg_2.ts": [ok("c")],
  });
  expect(r.outcome).toBe("ended");
  expect(r.got.map((s) => s.sequence)).toEqual([0, 1, 2]);
  expect(r.events).toEqual([]);
  expect(r.calls.filter((c) => c === "seg_1.ts")).toHaveLength(2);
});

test("a segment that stays unavailable is given up after three tries, with the reason", async () => {
  const r = await runSource({
    "stream.m3u8": [ok(PLAYLIST)],
    "seg_0.ts": [ok("a")],
    "seg_1.ts": [new Response("busy", { status: 503 })],
    "seg_2.ts": [ok("c")],
  });
  expect(r.got.map((s) => s.sequence)).toEqual([0, 2]);
  expect(r.calls.filter((c) => c === "seg_1.ts")).toHaveLength(3);
  expect(r.events.map((e) => [e.kind, e.detail])).toEqual([["segment-missing", "segment 1 (seg_1.ts): HTTP 503"]]);
});

test("a segment already deleted (404) is not asked for again", async () => {
  const r = await runSource({
    "stream.m3u8": [ok(PLAYLIST)],
    "seg_0.ts": [ok("a")],
    "seg_1.ts": [new Response("gone", { status: 404 })],
    "seg_2.ts": [ok("c")],
  });
  expect(r.calls.filter((c) => c === "seg_1.ts")).toHaveLength(1);
  expect(r.events[0]!.kind).toBe("segment-missing");
});

test("a segment that takes longer to fetch than to play is a rebuffer risk: an event with both times", async () => {
  const r = await runSource(
    { "stream.m3u8": [ok(PLAYLIST)], "seg_0.ts": [ok("a")], "seg_1.ts": [ok("b")], "seg_2.ts": [ok("c")] },
    { "seg_0.ts": 900, "seg_1.ts": 1500 },
  );
  expect(r.got.map((s) => s.sequence)).toEqual([0, 1, 2]);
  expect(r.events.map((e) => [e.kind, e.durationMs, e.detail])).toEqual([
    ["slow-segment", 1500, "segment 1 took 1.50 s to fetch and plays 1.00 s: rebuffer risk"],
  ]);
});

test("a segment longer than the playlist's target duration is reported (rounded as HLS rounds it)", async () => {
  const playlist = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:0\n" +
    "#EXTINF:1.4,\nseg_0.ts\n#EXTINF:2.6,\nseg_1.ts\n#EXT-X-ENDLIST\n";
  const r = await runSource({ "stream.m3u8": [ok(playlist)], "seg_0.ts": [ok("a")], "seg_1.ts": [ok("b")] });
  expect(r.events.map((e) => [e.kind, e.detail])).toEqual([
    ["target-duration", "segment 1 lasts 2.600 s, over the playlist's target duration of 1 s"],
  ]);
});
