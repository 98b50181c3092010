/**
 * Driving vat serve's player page (src/serve/player-page.ts) in Chromium: media events recorded from the first script
 * on, the player's own stall reports hooked, playhead and reported latency sampled every 250 ms.
 */
/** Recorded by the page from its first script on: media events reach a capturing document listener. */
export const RECORD_MEDIA_EVENTS = `
  window.vatSeen = { events: [], samples: [], stalls: [] };
  for (const type of ["playing", "waiting", "stalled", "error"]) {
    document.addEventListener(type, () => window.vatSeen.events.push({ type, atMs: performance.now() }), true);
  }
`;

export type Seen = {
  events: { type: string; atMs: number }[];
  samples: { atMs: number; currentTimeS: number; latencyS: number | null }[];
  stalls: string[];
};

/**
 * Hooks the player's own stall reports once it has played (dash.js reports its empty buffer while it loads the first
 * segments of a live stream joined behind its start) and samples playhead and reported latency every 250 ms.
 */
export function watchPlayer(): void {
  const w = globalThis as any; // runs in the page
  const p = w.vatPlayer;
  const video = w.document.querySelector("video");
  const played = () => w.vatSeen.events.some((e: { type: string }) => e.type === "playing");
  if (p.kind === "hls") {
    p.hls.on(w.Hls.Events.ERROR, (_: unknown, d: any) => {
      if (d.fatal) w.vatSeen.stalls.push(`hls.js ${d.details}`);
      else if (d.details === "bufferStalledError" && played()) w.vatSeen.stalls.push(`hls.js ${d.details}`);
    });
  } else {
    const ev = w.dashjs.MediaPlayer.events;
    p.dash.on(ev.PLAYBACK_STALLED, () => played() && w.vatSeen.stalls.push("dash.js playbackStalled"));
    p.dash.on(ev.BUFFER_EMPTY, () => played() && w.vatSeen.stalls.push("dash.js bufferStalled"));
    p.dash.on(ev.ERROR, (e: any) => w.vatSeen.stalls.push(`dash.js error ${e?.error?.message ?? ""}`));
  }
  setInterval(() => {
    const latencyS = p.kind === "hls" ? p.hls.latency : p.dash.getCurrentLiveLatency();
    w.vatSeen.samples.push({ atMs: performance.now(), currentTimeS: video.currentTime, latencyS: Number.isFinite(latencyS) ? latencyS : null });
  }, 250);
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

