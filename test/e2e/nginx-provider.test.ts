import { afterAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startNginxRtmp } from "../helpers/nginx-rtmp.ts";
import { isRunning } from "../helpers/processes.ts";
import { startSrtProvider } from "../helpers/srt-provider.ts";
import { childPids, client, eventually, serve, tempDir } from "../helpers/vat.ts";

const tmp = tempDir("vat-providers-");
afterAll(() => tmp.cleanup());

/** The client stamps an HLS arrival when a playlist poll finds it (every 50 ms): two arrivals differ by up to that. */
const POLL_MS = 50;
const SRT_LATENCY_MS = 400;

test(
  "one encode pushed to nginx-rtmp and to an SRT provider at once: each provider's HLS measured against the control",
  async () => {
    const nginx = await startNginxRtmp({ streamKey: "key-not-shown", fragmentS: 1 });
    const srt = await startSrtProvider({ latencyMs: SRT_LATENCY_MS, fragmentS: 1 });
    const server = serve(["--size", "240p", "--fps", "25", "--id", "prov", "--push", nginx.ingestUrl, "--push", srt.ingestUrl]);
    let encoders: number[] = [];
    try {
      await server.waitLive();
      encoders = childPids(server.proc.pid).filter((p) => readFileSync(`/proc/${p}/comm`, "utf8").trim() === "ffmpeg");
      expect(encoders).toHaveLength(1);
      for (const u of [nginx.hlsUrl, srt.hlsUrl, nginx.dashUrl]) {
        await eventually(async () => (await fetch(u)).status, (s) => s === 200, 10_000);
      }
      // nginx publishes the same stream as live DASH too (fMP4): what a DASH player would read.
      const mpd = await (await fetch(nginx.dashUrl)).text();
      expect(mpd).toContain('type="dynamic"');
      expect(mpd).toMatch(/mimeType="video\/mp4"[\s\S]*width="426"[\s\S]*height="240"/);
      expect(nginx.log()).toContain("publish: name='key-not-shown'");
      // The stream key is the provider's secret: serve's own log and /params never show it.
      expect(server.stderr()).not.toContain("key-not-shown");
      expect(await (await fetch(`${server.url}/params`)).text()).not.toContain("key-not-shown");
      const run = await client([
        "--url", nginx.hlsUrl, "--url", srt.hlsUrl, "--control", server.url, "--duration", "20s",
        "--db", join(tmp.path, "providers.db"), "--json",
      ], { timeoutMs: 40_000 });
      expect(run.exitCode).toBe(0);
      const streams = run.json!.streams;
      expect(streams.map((s: any) => s.role)).toEqual(["control", "stream 1", "stream 2"]);
      for (const s of streams) expect(s.result.summary).toMatchObject({ dropped: 0, unreadable: 0 });
      const [, viaNginx, viaSrt] = streams;
      const fragmentMs = nginx.fragmentS * 1000;
      for (const s of [viaNginx, viaSrt]) {
        const c = s.versusControl;
        expect(s.result.streamId).toBe("prov");
        expect(c.matchedShare).toBeGreaterThanOrEqual(0.99);
        expect(c.framesMatched).toBeGreaterThan(400);
        // Behind the control by no more than a fragment and a second; ahead only by the precision of an arrival.
        expect(c.relativeLatencyP50Ms).toBeGreaterThanOrEqual(-POLL_MS);
        expect(c.relativeLatencyP95Ms).toBeLessThanOrEqual(fragmentMs + 1000);
      }
      // nginx repackages at the origin's own keyframes (no transcoding): it closes each fragment when the origin does.
      expect(viaNginx.versusControl.relativeLatencyP50Ms).toBeLessThan(fragmentMs);
      // SRT holds every packet back by its latency before ffmpeg sees it.
      expect(viaSrt.versusControl.relativeLatencyP50Ms).toBeGreaterThanOrEqual(SRT_LATENCY_MS - POLL_MS);
    } finally {
      await server.stop();
      await Promise.all([nginx.stop(), srt.stop()]);
    }
    for (const pid of [nginx.pid, srt.pid, ...encoders]) expect(isRunning(pid)).toBe(false);
  },
  45_000,
);

test("an ingest that refuses: serve says so in its log, without the stream key", async () => {
  const server = serve(["--size", "240p", "--fps", "25", "--push", "rtmp://127.0.0.1:1/live/secret-key-42"]);
  try {
    await server.waitLive();
    await eventually(async () => server.stderr(), (err) => /127\.0\.0\.1:1/.test(err), 10_000);
    expect(server.stderr()).toMatch(/rtmp:\/\/127\.0\.0\.1:1/);
    expect(server.stderr()).not.toContain("secret-key-42");
  } finally {
    await server.stop();
  }
});
