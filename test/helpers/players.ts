import { afterAll, beforeAll } from "bun:test";
import type { Browser, Page } from "playwright-core";
import { launchChromium } from "./browser.ts";

/**
 * Driving vat serve's player page (src/serve/player-page.ts) in Chromium: media events recorded from the first script
 * on, the player's own stall reports hooked, playhead, buffer ahead and reported latency sampled every 250 ms.
 */
/**
 * Recorded by the page from its first script on: media events reach a capturing document listener, each with the
 * media buffered ahead of the playhead then (`vatAheadS`: in the buffered range that holds it; 0 in none).
 */
const RECORD_MEDIA_EVENTS = `
  window.vatSeen = { events: [], samples: [], stalls: [] };
  window.vatAheadS = (v) => {
    for (let i = 0; i < v.buffered.length; i++) {
      if (v.buffered.start(i) <= v.currentTime && v.currentTime <= v.buffered.end(i)) return v.buffered.end(i) - v.currentTime;
    }
    return 0;
  };
  for (const type of ["playing", "waiting", "stalled", "error"]) {
    document.addEventListener(type, (e) => window.vatSeen.events.push({ type, atMs: performance.now(), aheadS: window.vatAheadS(e.target) }), true);
  }
`;

/**
 * Less media than this ahead of the playhead when the element waits or the player reports a stall: it ran short of
 * the stream. With more, the wait is Chromium's renderer short of CPU (hls.js reports every waiting as a stall).
 */
export const STARVED_AHEAD_S = 0.5;

export type Seen = {
  events: { type: string; atMs: number; aheadS: number }[];
  /** The playhead, the media buffered ahead of it and the live latency the player reports. */
  samples: { atMs: number; currentTimeS: number; aheadS: number; latencyS: number | null }[];
  /** The player's stall reports with the media then buffered ahead; null for an error (always a failure). */
  stalls: { report: string; aheadS: number | null }[];
};

/**
 * Hooks the player's own stall reports once it has played (dash.js reports its empty buffer while it loads the first
 * segments of a live stream joined behind its start) and samples playhead and reported latency every 250 ms.
 */
function watchPlayer(): void {
  const w = globalThis as any; // runs in the page
  const p = w.vatPlayer;
  const video = w.document.querySelector("video");
  const played = () => w.vatSeen.events.some((e: { type: string }) => e.type === "playing");
  const stall = (report: string) => played() && w.vatSeen.stalls.push({ report, aheadS: w.vatAheadS(video) });
  const error = (report: string) => w.vatSeen.stalls.push({ report, aheadS: null });
  if (p.kind === "hls") {
    p.hls.on(w.Hls.Events.ERROR, (_: unknown, d: any) => {
      if (d.fatal) error(`hls.js ${d.details}`);
      else if (d.details === "bufferStalledError") stall(`hls.js ${d.details}`);
    });
  } else {
    const ev = w.dashjs.MediaPlayer.events;
    p.dash.on(ev.PLAYBACK_STALLED, () => stall("dash.js playbackStalled"));
    p.dash.on(ev.BUFFER_EMPTY, () => stall("dash.js bufferStalled"));
    p.dash.on(ev.ERROR, (e: any) => error(`dash.js error ${e?.error?.message ?? ""}`));
  }
  setInterval(() => {
    const latencyS = p.kind === "hls" ? p.hls.latency : p.dash.getCurrentLiveLatency();
    w.vatSeen.samples.push({ atMs: performance.now(), currentTimeS: video.currentTime, aheadS: w.vatAheadS(video), latencyS: Number.isFinite(latencyS) ? latencyS : null });
  }, 250);
}

/** The player's events and samples within 1.5 s of a moment, one a line, for a failing test's log. */
export function describeAround(seen: Seen, atMs: number): string {
  const near = (t: number) => Math.abs(t - atMs) <= 1500;
  return [
    ...seen.events.filter((e) => near(e.atMs)).map((e) => ({ atMs: e.atMs, text: `${e.type}, ${e.aheadS.toFixed(3)} s ahead` })),
    ...seen.samples
      .filter((s) => near(s.atMs))
      .map((s) => ({ atMs: s.atMs, text: `playhead ${s.currentTimeS.toFixed(3)} s, ${s.aheadS.toFixed(3)} s ahead, latency ${s.latencyS?.toFixed(3) ?? "-"} s` })),
  ]
    .sort((a, b) => a.atMs - b.atMs)
    .map((l) => `  ${((l.atMs - atMs) / 1000).toFixed(3).padStart(7)} s  ${l.text}`)
    .join("\n");
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}


/** One Chromium for the tests of a file: launched before them, closed after. */
export function chromiumForFile(): () => Browser {
  let browser: Browser | undefined;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });
  return () => browser!;
}

/**
 * Opens the origin's player page with media events recorded from its first script and the player watched; returns
 * the page's uncaught errors as they come.
 */
export async function openOriginPage(page: Page, originUrl: string): Promise<string[]> {
  const problems: string[] = [];
  page.on("pageerror", (e) => problems.push(String(e)));
  await page.addInitScript(RECORD_MEDIA_EVENTS);
  await page.goto(`${originUrl}/`, { waitUntil: "load" });
  await page.waitForFunction(() => (globalThis as any).vatPlayer !== undefined);
  await page.evaluate(watchPlayer);
  return problems;
}

/** Until the element first plays. */
export async function waitPlaying(page: Page, timeoutMs = 10_000): Promise<void> {
  await page.waitForFunction(() => (globalThis as any).vatSeen.events.some((e: { type: string }) => e.type === "playing"), null, { timeout: timeoutMs });
}
