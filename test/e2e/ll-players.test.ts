import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Browser } from "playwright-core";
import { launchChromium } from "../helpers/browser.ts";
import { median, RECORD_MEDIA_EVENTS, watchPlayer, type Seen } from "../helpers/players.ts";
import { serve } from "../helpers/vat.ts";

// Real players in low-latency mode on vat serve's own page: hls.js on --format ll-hls (parts, blocking reloads) and
// dash.js on --format ll-dash (chunked segments), in Debian's Chromium, each for over 20 s: the playhead keeps up with
// real time, nothing waits or stalls, and the live latency the player itself reports stays below 1.5 s.
//
// The 20 s are counted from 2 s after playback starts: a player joins with a seek into the middle of a GOP, which the
// decoder must decode its way up to, and on this loaded machine Chromium reports that as a few ms of waiting.
let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

const SETTLE_MS = 2000;
const PLAY_MS = 20_500;
const MAX_LATENCY_S = 1.5;

test.each([
  ["ll-hls", "hls.js"],
  ["ll-dash", "dash.js"],
] as const)(
  "--format %s played by %s in low-latency mode: 20 s without a stall, its reported latency below 1.5 s",
  async (format) => {
    const server = serve(["--format", format, "--size", "240p", "--fps", "30", "--id", `play-${format}`]);
    const page = await browser.newPage();
    try {
      await server.waitLive(15_000);
      const problems: string[] = [];
      page.on("pageerror", (e) => problems.push(String(e)));
      await page.addInitScript(RECORD_MEDIA_EVENTS);
      await page.goto(`${server.url}/`, { waitUntil: "load" });
      await page.waitForFunction(() => (globalThis as any).vatPlayer !== undefined);
      await page.evaluate(watchPlayer);
      // A jump of the playhead shows too (hls.js seeks back to its target when it falls too far behind).
      await page.evaluate(() => {
        const w = globalThis as any;
        w.document.querySelector("video").addEventListener("seeking", () => w.vatSeen.events.push({ type: "seeking", atMs: performance.now() }));
      });
      await page.waitForFunction(() => (globalThis as any).vatSeen.events.some((e: { type: string }) => e.type === "playing"), null, { timeout: 10_000 });
      const lowLatency = await page.evaluate(() => {
        const p = (globalThis as any).vatPlayer;
        return p.kind === "hls" ? p.hls.lowLatencyMode === true : p.dash.getLowLatencyModeEnabled() === true;
      });
      await Bun.sleep(SETTLE_MS);
      const atSettle = (await page.evaluate(() => (globalThis as any).vatSeen)) as Seen;
      const settledAt = atSettle.samples.at(-1)!.atMs;
      await Bun.sleep(PLAY_MS);
      const seen = (await page.evaluate(() => (globalThis as any).vatSeen)) as Seen;
      expect(problems).toEqual([]);
      expect(lowLatency).toBe(true);

      const joinWaits = atSettle.events.filter((e) => e.type === "waiting").length;
      expect(seen.events.filter((e) => e.atMs > settledAt && e.type !== "playing")).toEqual([]); // no waiting, stalled, error
      expect(seen.stalls.slice(atSettle.stalls.length)).toEqual([]);
      const played = seen.samples.filter((s) => s.atMs >= settledAt);
      const spanS = (played.at(-1)!.atMs - played[0]!.atMs) / 1000;
      const advancedS = played.at(-1)!.currentTimeS - played[0]!.currentTimeS;
      expect(spanS).toBeGreaterThanOrEqual(20);
      // Real time at least (catching up on the target plays faster, never slower than 0.9x for long).
      expect(advancedS).toBeGreaterThanOrEqual(spanS - 1);

      // A second more for the player to come down to its target; after that every sample counts.
      const settled = played.filter((s) => s.atMs >= settledAt + 1000).map((s) => s.latencyS);
      const latencies = settled.filter((l): l is number => l !== null);
      expect(latencies.length).toBe(settled.length);
      console.log(
        `${format}: player latency p50 ${median(latencies).toFixed(3)} s, max ${Math.max(...latencies).toFixed(3)} s; ${joinWaits} waits while joining`,
      );
      expect(Math.max(...latencies)).toBeLessThan(MAX_LATENCY_S);
      expect(Math.min(...latencies)).toBeGreaterThan(0);
    } finally {
      await page.close();
      await server.stop();
    }
  },
  45_000,
);
