import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { chromiumForFile, median, openOriginPage, STARVED_AHEAD_S, waitPlaying, type Seen } from "../helpers/players.ts";
import { client, serve, tempDir } from "../helpers/vat.ts";

// Real players on vat serve's own player page: hls.js (HLS, CMAF) and dash.js (DASH) in Debian's Chromium, each
// playing for over 10 s without a stall, the live latency it reports agreeing with vat client's measured meanwhile.
// vat client runs at a lower CPU priority than the players under test (its stamps are arrival times: starved.test.ts).
const tmp = tempDir("vat-players-");
const browser = chromiumForFile();
afterAll(() => tmp.cleanup());

const SEGMENT_S = 1;
const PLAY_MS = 11_000;

test.each([
  ["hls", "hls.js"],
  ["cmaf", "hls.js"],
  ["dash", "dash.js"],
] as const)(
  "--format %s played by %s: the playhead advances for 10 s with no stall, its latency between vat client's and that plus its hold-back",
  async (format) => {
    const server = serve(["--format", format, "--size", "240p", "--fps", "25", "--id", `play-${format}`, "--segment", String(SEGMENT_S)]);
    const page = await browser().newPage();
    try {
      await server.waitLive(15_000);
      // Named by the server root: vat client reads the manifest /params names (the MPD for DASH).
      const measured = client(["--url", server.url, "--duration", `${PLAY_MS / 1000 + 2}s`, "--db", join(tmp.path, `${format}.db`), "--json"], { timeoutMs: 40_000, nice: 10 });
      const problems = await openOriginPage(page, server.url);
      await waitPlaying(page);
      await Bun.sleep(PLAY_MS);
      const seen = (await page.evaluate(() => (globalThis as any).vatSeen)) as Seen;
      const run = await measured;
      expect(run.exitCode, run.stderr).toBe(0);
      expect(run.json!.protocol).toBe(format === "dash" ? "dash" : "hls");
      expect(problems).toEqual([]);

      const playingAt = seen.events.find((e) => e.type === "playing")!.atMs;
      // No stall: no waiting and no stall the player reports short of media, no stalled (nothing fetched for 3 s), no
      // error. Chromium also fires waiting for a few ms when its renderer is short of CPU (the machine loaded), with a
      // second or more buffered ahead: the page, not the stream. Those are printed, not failed; the playhead below
      // must still keep real time.
      const after = seen.events.filter((e) => e.atMs > playingAt && e.type !== "playing");
      expect(after.filter((e) => e.type !== "waiting" || e.aheadS < STARVED_AHEAD_S)).toEqual([]);
      expect(seen.stalls.filter((s) => s.aheadS === null || s.aheadS < STARVED_AHEAD_S)).toEqual([]);
      const played = seen.samples.filter((s) => s.atMs >= playingAt);
      const spanS = (played.at(-1)!.atMs - played[0]!.atMs) / 1000;
      const advancedS = played.at(-1)!.currentTimeS - played[0]!.currentTimeS;
      expect(spanS).toBeGreaterThanOrEqual(10);
      expect(advancedS).toBeGreaterThanOrEqual(spanS - 0.5); // real time, give or take a frame's rounding

      const latencies = played.map((s) => s.latencyS).filter((l): l is number => l !== null);
      expect(latencies.length).toBeGreaterThan(played.length / 2);
      const playerMs = median(latencies) * 1000;
      const clientMs = run.json!.summary.latencyP50Ms as number;
      // A player cannot show a frame before it arrives, and shows it no later than its hold-back behind the live edge
      // allows: its latency lies between vat client's (frames stamped as they arrive) and that plus the hold-back,
      // each within a segment (hls.js measures from the newest segment's end, dash.js from segment availability).
      const delayMs = ((await page.evaluate(() => (globalThis as any).vatPlayer.delayS)) as number) * 1000;
      const segmentMs = SEGMENT_S * 1000;
      const busy = [...after.map((e) => `${e.type} ${e.aheadS.toFixed(2)} s`), ...seen.stalls.map((s) => `${s.report} ${s.aheadS?.toFixed(2)} s`)];
      console.log(`${format}: player latency p50 ${Math.round(playerMs)} ms; vat client p50 ${clientMs} ms, hold-back ${delayMs} ms; waits with media ahead: ${busy.join(", ") || "none"}`);
      expect(playerMs).toBeGreaterThanOrEqual(clientMs - segmentMs);
      expect(playerMs).toBeLessThanOrEqual(clientMs + delayMs + segmentMs);
    } finally {
      await page.close();
      await server.stop();
    }
  },
  30_000,
);
