import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { startLivePackager } from "../helpers/live-packager.ts";
import { startNginxRtmp } from "../helpers/nginx-rtmp.ts";
import { client, eventually, serve, tempDir } from "../helpers/vat.ts";

// DASH read by vat itself: third-party packagers (nginx-rtmp's DASH, ffmpeg's dash muxer writing a ladder with audio),
// each measured against the vat origin it repackages, with ground truth injected by a relay and a lying clock.
const tmp = tempDir("vat-dash-");
afterAll(() => tmp.cleanup());

type Stream = { role: string; error: string | null; result: any; versusControl: any };

/**
 * Relays in front of nginx-rtmp's DASH, one per hold, that publish each version of the MPD holdMs after every segment
 * it lists is in their one shared cache (fetched as soon as the MPD names it). One poller feeds them all, so clients of
 * a relay holding 0 ms and one holding 1500 ms see the same segments from the same cache, each MPD version published
 * at the same moment: the only difference between them is the hold. (nginx may list a fragment a moment before it can
 * be fetched; the cache keeps that race out of the comparison.) Neither hold is 0: nginx writes availabilityStartTime to the
 * whole second at the first frame it was sent, and a push that starts with a backlog puts a listed segment's advertised
 * availability up to that backlog after its listing. vat waits for a segment's availability as a player does, so that
 * wait would hide part of a shorter hold. Both are a whole number of fragments and a half, so that each relay's new
 * MPDs arrive at the same moments within a fragment, half a fragment from nginx's own and the control's new segments,
 * which the same client is reading: holds half a fragment apart measured 10–25 ms off their difference, the one
 * sharing those moments later.
 */
function holdingRelays(target: string, mpdPath: string, holdsMs: number[]) {
  const cache = new Map<string, Uint8Array>();
  const published: { atMs: number; body: string }[] = [];
  let busy = false;
  const segmentsOf = (mpd: string) => {
    const media = /media="([^"]+)"/.exec(mpd)?.[1];
    const init = /initialization="([^"]+)"/.exec(mpd)?.[1];
    const times = [...mpd.matchAll(/<S t="(\d+)"/g)].map((m) => m[1]!);
    return [...(init ? [init] : []), ...(media ? times.map((t) => media.replace("$Time$", t)) : [])];
  };
  const poll = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      const r = await fetch(new URL(mpdPath, target)).catch(() => null);
      if (!r?.ok) return;
      const body = await r.text();
      if (published.at(-1)?.body === body) return;
      for (const name of segmentsOf(body)) {
        while (!cache.has(name)) {
          const seg = await fetch(new URL(name, new URL(mpdPath, target))).catch(() => null);
          if (seg?.ok) cache.set(name, new Uint8Array(await seg.arrayBuffer()));
          else await Bun.sleep(5);
        }
      }
      published.push({ atMs: performance.now(), body });
    } finally {
      busy = false;
    }
  }, 5);
  const servers = holdsMs.map((holdMs) =>
    Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch(req) {
        const path = new URL(req.url).pathname;
        if (path === mpdPath) {
          const shown = published.filter((p) => p.atMs <= performance.now() - holdMs).at(-1);
          return shown ? new Response(shown.body, { headers: { "content-type": "application/dash+xml" } }) : new Response("not yet", { status: 404 });
        }
        const bytes = cache.get(path.split("/").pop()!);
        return bytes ? new Response(bytes) : new Response("not cached", { status: 404 });
      },
    }),
  );
  return {
    urls: servers.map((s) => `http://127.0.0.1:${s.port}${mpdPath}`),
    stop: () => {
      clearInterval(poll);
      for (const s of servers) s.stop(true);
    },
  };
}

test(
  "nginx-rtmp's DASH against the control: nothing dropped or repeated, every frame matched; segments published 2 s later measure 2 s later",
  async () => {
    const nginx = await startNginxRtmp({ streamKey: "dash", fragmentS: 1 });
    const server = serve(["--size", "240p", "--fps", "25", "--id", "dash", "--push", nginx.ingestUrl]);
    const mpdPath = new URL(nginx.dashUrl).pathname;
    const relays = holdingRelays(nginx.dashUrl, mpdPath, [1500, 3500]);
    try {
      await server.waitLive();
      await eventually(async () => (await fetch(nginx.dashUrl)).status, (s) => s === 200, 15_000);
      const run = await client([
        // Arrivals are as precise as the MPD polls: 20 ms here, so that the relay's hold is measured to within 50 ms.
        "--control", server.url, "--url", nginx.dashUrl, "--url", relays.urls[0]!, "--url", relays.urls[1]!, "--duration", "20s", "--poll", "20ms",
        "--db", join(tmp.path, "nginx.db"), "--json",
      ], { timeoutMs: 45_000 });
      expect(run.exitCode).toBe(0);
      const [control, direct, early, delayed] = run.json!.streams as Stream[];
      for (const s of [control!, direct!, early!, delayed!]) expect(s.result.summary).toMatchObject({ dropped: 0, duplicates: 0, unreadable: 0 });
      const fragmentMs = nginx.fragmentS * 1000;
      for (const s of [direct!, early!, delayed!]) {
        expect(s.versusControl.matchedShare).toBeGreaterThanOrEqual(0.99);
        expect(s.versusControl.framesMatched).toBeGreaterThan(300);
      }
      // Behind the control by no more than a fragment and a second (the MPD lists a fragment once nginx closes it);
      // ahead only by the precision of an arrival (both are polled every 20 ms): nginx cuts at the origin's keyframes.
      expect(direct!.versusControl.relativeLatencyP50Ms).toBeGreaterThanOrEqual(-20);
      expect(direct!.versusControl.relativeLatencyP50Ms).toBeLessThanOrEqual(fragmentMs + 1000);
      // The relays' holds are the only difference between their two streams: 2 s ± 50 ms.
      const shift = delayed!.versusControl.relativeLatencyP50Ms - early!.versusControl.relativeLatencyP50Ms;
      expect(Math.abs(shift - 2000)).toBeLessThanOrEqual(50);
    } finally {
      relays.stop();
      await server.stop();
      await nginx.stop();
    }
  },
  90_000,
);

describe("ffmpeg's dash muxer: a two-rendition ladder with audio, from the origin's stream", () => {
  test(
    "--variant all measures every rendition at its own size, nothing dropped; a UTCTiming 5 s ahead is the clock offset",
    async () => {
      const server = serve(["--size", "480p", "--fps", "25", "--id", "ladder"]);
      // A clock 5 s ahead of this machine's, as UTCTiming's http-xsdate/http-iso scheme answers.
      const clock = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response(new Date(Date.now() + 5000).toISOString()) });
      try {
        await server.waitLive();
        const packager = await startLivePackager({
          originUrl: server.url, format: "dash", fps: 25,
          rungs: [{ width: 854, height: 480, kbps: 1200 }, { width: 426, height: 240, kbps: 400 }],
          extra: ["-utc_timing_url", `http://127.0.0.1:${clock.port}/`],
        });
        try {
          const mpd = await (await fetch(packager.url)).text();
          expect(mpd).toContain("UTCTiming");
          expect(mpd).toMatch(/contentType="audio"|mimeType="audio\/mp4"/);
          const db = join(tmp.path, "ladder.db");
          const run = await client(["--control", server.url, "--url", packager.url, "--variant", "all", "--duration", "15s", "--db", db, "--json"], {
            timeoutMs: 40_000,
          });
          expect(run.exitCode).toBe(0);
          const streams = run.json!.streams as Stream[];
          expect(streams.map((s) => s.role)).toEqual([
            "control", "stream 1, rendition 0 (426x240 at 400 kbit/s)", "stream 1, rendition 1 (854x480 at 1200 kbit/s)",
          ]);
          const store = new Database(db, { readonly: true });
          for (const [i, s] of streams.slice(1).entries()) {
            expect(s.result.summary).toMatchObject({ dropped: 0, duplicates: 0, unreadable: 0 });
            expect(s.versusControl.matchedShare).toBeGreaterThanOrEqual(0.99);
            expect(s.versusControl.framesMatched).toBeGreaterThan(200);
            const info = store.query("SELECT detail FROM events WHERE run_id = $run AND kind = 'stream-info'").all({ run: s.result.runId }) as { detail: string }[];
            expect(info.map((e) => e.detail).join("\n")).toContain(["426x240", "854x480"][i]!);
            const facts = store.query("SELECT protocol, container, rendition, declared_bandwidth_bps AS bw, segment_duration_s AS seg FROM runs WHERE id = $run").get({ run: s.result.runId });
            expect(facts).toEqual({ protocol: "dash", container: "fmp4", rendition: ["426x240", "854x480"][i]!, bw: [400_000, 1_200_000][i]!, seg: 1 });
            // The server's clock (UTCTiming) is 5 s ahead: the offset says so, and latency on the server's clock
            // exceeds the control's by that plus what the comparison (which needs no clock) measured.
            expect(Math.abs(s.result.clock.offsetMs - 5000)).toBeLessThanOrEqual(50);
            // Frame by frame: (latency here − latency on the control) − (arrival here − arrival on the control) is
            // what the two clock offsets add, 5 s (the control's own offset is that of this machine, near 0).
            const extra = store
              .query(
                `SELECT (p.latency_ms - c.latency_ms) - (p.arrived_at_ms - c.arrived_at_ms) AS extra FROM frames p
                 JOIN frames c ON c.frame_number = p.frame_number AND c.run_id = $control AND c.kind = 'new'
                 WHERE p.run_id = $run AND p.kind = 'new' ORDER BY extra`,
              )
              .all({ run: s.result.runId, control: streams[0]!.result.runId }) as { extra: number }[];
            expect(extra.length).toBeGreaterThan(200);
            const median = extra[extra.length >> 1]!.extra;
            expect(Math.abs(median - (5000 - (streams[0]!.result.clock?.offsetMs ?? 0)))).toBeLessThanOrEqual(1);
          }
          store.close();
        } finally {
          await packager.stop();
        }
      } finally {
        clock.stop(true);
        await server.stop();
      }
    },
    90_000,
  );
});

/**
 * The origin's live MPD as two Periods split at splitS (seconds since availabilityStartTime): the first ends there,
 * the second starts there with the same segments, addressed by a startNumber and presentationTimeOffset of its own
 * (as a provider that inserts a Period, for an ad or a new encoder, writes it), the MPD to be read again every
 * `updateS` (the origin says 500 s: then nothing but the clock says when the second Period begins).
 */
function twoPeriods(mpd: string, splitS: number, updateS: number): string {
  const period = /<Period id="0" start="PT0(?:\.0)?S">([\s\S]*?)<\/Period>/.exec(mpd)!;
  const timescale = Number(/<SegmentTemplate timescale="(\d+)"/.exec(period[1]!)![1]);
  const second = period[1]!
    .replace('startNumber="1"', `startNumber="${1 + splitS}" presentationTimeOffset="${splitS * timescale}"`);
  return mpd
    .replace(/minimumUpdatePeriod="[^"]*"/, `minimumUpdatePeriod="PT${updateS}S"`)
    .replace(period[0], `<Period id="0" start="PT0S" duration="PT${splitS}S">${period[1]}</Period><Period id="1" start="PT${splitS}S">${second}</Period>`);
}

test.each([
  ["read again every 500 s", 500],
  ["read again at every look", 0],
])(
  "a live MPD whose second Period starts mid-run (%s): the first Period's last segment is read, then the second Period's, with no wait for the MPD's next read",
  async (_name, updateS) => {
    const server = serve(["--format", "dash", "--size", "240p", "--fps", "25", "--id", "periods"]);
    let splitS: number | null = null;
    const asked: number[] = [];
    const relay = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      async fetch(req) {
        const { pathname, search } = new URL(req.url);
        const r = await fetch(new URL(pathname + search, server.url));
        const seg = /seg_\w+_(\d+)\.m4s$/.exec(pathname);
        if (seg) asked.push(Number(seg[1]));
        if (!pathname.endsWith(".mpd") || !r.ok) return new Response(await r.arrayBuffer(), { status: r.status, headers: r.headers });
        const mpd = await r.text();
        const start = Date.parse(/availabilityStartTime="([^"]+)"/.exec(mpd)![1]!);
        // 6 s after the client's first read of the MPD.
        splitS ??= Math.ceil((Date.now() - start) / 1000) + 6;
        return new Response(twoPeriods(mpd, splitS, updateS), { headers: { "content-type": "application/dash+xml" } });
      },
    });
    try {
      await server.waitLive();
      await eventually(async () => (await fetch(`${server.url}/video/stream.mpd`)).status, (s) => s === 200, 15_000);
      const run = await client(["--url", `http://127.0.0.1:${relay.port}/video/stream.mpd`, "--duration", "14s", "--db", join(tmp.path, "periods.db"), "--json"], { timeoutMs: 45_000 });
      expect(run.exitCode).toBe(0);
      const summary = run.json!.summary;
      expect(summary).toMatchObject({ dropped: 0, duplicates: 0, unreadable: 0 });
      // The first Period's last segment (number splitS: its seconds splitS-1 to splitS) and the second Period's
      // first (splitS + 1), each asked for; and the second Period read on to the end of the run.
      expect(splitS).not.toBeNull();
      expect(asked).toContain(splitS!);
      expect(asked).toContain(splitS! + 1);
      expect(Math.max(...asked)).toBeGreaterThanOrEqual(splitS! + 5);
      expect(summary.stallMs).toBeLessThan(500);
    } finally {
      relay.stop(true);
      await server.stop();
    }
  },
  60_000,
);

describe("DASH vat can fetch but not measure: one line, exit 1, no run stored", () => {
  const mpd = (adaptation: string) => `<?xml version="1.0"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT10S" minBufferTime="PT2S" profiles="urn:mpeg:dash:profile:isoff-live:2011">
  <Period id="0" start="PT0S">${adaptation}</Period>
</MPD>`;
  const cases: [string, string, RegExp][] = [
    [
      "encrypted (ContentProtection)",
      `<AdaptationSet contentType="video" mimeType="video/mp4"><ContentProtection schemeIdUri="urn:mpeg:dash:mp4protection:2011" value="cenc"/>
        <Representation id="v" bandwidth="1000000" width="1280" height="720" codecs="avc1.64001f"><SegmentTemplate media="v-$Number$.m4s" initialization="v-init.mp4" duration="2" timescale="1"/></Representation></AdaptationSet>`,
      /the stream is encrypted \(ContentProtection\): vat measures clear streams only$/,
    ],
    [
      "audio only",
      `<AdaptationSet contentType="audio" mimeType="audio/mp4">
        <Representation id="a" bandwidth="64000" codecs="mp4a.40.2"><SegmentTemplate media="a-$Number$.m4s" initialization="a-init.mp4" duration="2" timescale="1"/></Representation></AdaptationSet>`,
      /no video adaptation set in the MPD \(audio-only\?\): nothing to measure$/,
    ],
  ];
  for (const [name, adaptation, message] of cases) {
    test(name, async () => {
      const origin = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response(mpd(adaptation)) });
      try {
        const db = join(tmp.path, `${name.split(" ")[0]}.db`);
        const r = await client(["--url", `http://127.0.0.1:${origin.port}/live.mpd`, "--db", db, "--duration", "5s"]);
        expect(r.exitCode).toBe(1);
        const lines = r.stderr.trim().split("\n");
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(message);
        expect(await Bun.file(db).exists()).toBe(false);
      } finally {
        origin.stop(true);
      }
    });
  }
});
