import { runSession, UnmeasuredRun, type ClientConfig, type SessionObserver } from "../client/session.ts";

/**
 * Whether a provider's playback carries the origin's stream yet: a short session of a few frames, read by the same
 * client that measures, so that "up" means vat's own codes came back with the origin's stream id, not merely that a
 * URL answers. Nothing is stored (an in-memory database); every wait is bounded by the provider's start timeout.
 */
export interface PlaybackCheck {
  cfg: ClientConfig;
  streamId: string;
  timeoutMs: number;
  cancelled: () => string | null;
  /** What the stream did while waited for (an outage, a missing segment): the last one explains a timeout. */
  onEvent: (detail: string) => void;
}

/** Up: with the URL to measure (the client itself follows a ladder to the chosen variant). */
export type PlaybackState = { up: true; url: string } | { up: false; reason: string; cause: unknown };

/** Frames that prove the stream is there: a few, so that one stray decode is not taken for a stream. */
const PROBE_FRAMES = 3;
const CONNECT_REASON_GRACE_MS = 1500;
/** The client's hint is for its own option; here the wait is the provider's start_timeout. */
const CLIENT_HINT = /\s*\([^()]*--connect-timeout[^()]*\)/;

export async function waitForPlayback(c: PlaybackCheck): Promise<PlaybackState> {
  const within = `within ${formatSeconds(c.timeoutMs)}`;
  // Connecting and reading share one deadline: a stream that answers late has only what is left of it. The grace lets
  // the client's own connect timeout, which says what it last got, speak first when connecting is what took too long.
  const deadline = performance.now() + c.timeoutMs + CONNECT_REASON_GRACE_MS;
  const stop = () => c.cancelled() ?? (performance.now() >= deadline ? "start timeout" : null);
  const url = c.cfg.url;
  const cfg: ClientConfig = {
    ...c.cfg,
    url,
    db: ":memory:",
    frameLimit: PROBE_FRAMES,
    durationMs: c.timeoutMs,
    connectTimeoutMs: c.timeoutMs,
    storeFrames: false,
    csvDir: null,
    clockSync: false,
    quality: false,
    vmaf: null,
    targetLatencyMs: null,
  };
  delete cfg.comparison;
  const observer: SessionObserver = {
    info: () => {},
    window: () => {},
    status: () => {},
    event: (e) => c.onEvent(`${e.kind}: ${e.detail}`),
  };
  try {
    const r = await runSession(cfg, stop, observer);
    if (c.cancelled()) return { up: false, reason: `stopped by ${c.cancelled()} while waiting`, cause: null };
    if (r.summary.framesNew === 0) return { up: false, reason: `no frame with vat's code ${within}`, cause: null };
    if (r.streamId !== null && r.streamId !== c.streamId) {
      return { up: false, reason: `carries stream id '${r.streamId}', not the origin's '${c.streamId}'`, cause: null };
    }
    return { up: true, url };
  } catch (err) {
    if (c.cancelled()) return { up: false, reason: `stopped by ${c.cancelled()} while waiting`, cause: err };
    const message = (err instanceof UnmeasuredRun ? err.message : (err as Error).message).replace(CLIENT_HINT, "");
    return { up: false, reason: `no vat frames ${within}: ${message}`, cause: err instanceof UnmeasuredRun ? err.error : err };
  }
}

function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}
