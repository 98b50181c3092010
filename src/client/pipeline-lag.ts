import type { StreamEvent } from "./events.ts";

/**
 * A frame that waited this long between its bytes arriving and being read has been queued behind others: a client
 * keeping up reads a segment's last frame within a few hundred ms of its arrival (docs/performance.md).
 */
export const BEHIND_DELAY_MS = 2000;
/** ...on every frame for this long: a single slow moment (a GC pause, a burst of segments after an outage) is not it. */
export const BEHIND_FOR_MS = 5000;

/**
 * Watches the pipeline delay (decoded − arrived) and says when the client cannot keep up with the stream. Frames are
 * stamped at arrival, so its latency figures stay right, but a client that is short of CPU queues frames without
 * bound (memory grows, results come late). Pure: the session feeds it every frame and reports what it returns.
 */
export class PipelineLag {
  /** When the current run of frames over the bound started (decoded time), or null. */
  private overSinceMs: number | null = null;
  private reported = false;
  /** Episodes reported so far. */
  episodes = 0;
  /** The largest delay seen, ms. */
  maxDelayMs = 0;

  /** One frame; returns the event to report when this frame shows the client has fallen behind. */
  push(arrivedAtMs: number, decodedAtMs: number): StreamEvent | null {
    const delayMs = decodedAtMs - arrivedAtMs;
    this.maxDelayMs = Math.max(this.maxDelayMs, delayMs);
    if (delayMs <= BEHIND_DELAY_MS) {
      // Caught up: a later episode is reported again.
      this.overSinceMs = null;
      this.reported = false;
      return null;
    }
    this.overSinceMs ??= decodedAtMs;
    if (this.reported || decodedAtMs - this.overSinceMs < BEHIND_FOR_MS) return null;
    this.reported = true;
    this.episodes++;
    return {
      kind: "behind",
      atMs: decodedAtMs,
      durationMs: decodedAtMs - this.overSinceMs,
      detail:
        `this client cannot keep up: frames wait ${Math.round(delayMs)} ms between arriving and being read ` +
        `(over ${BEHIND_DELAY_MS} ms for ${Math.round((decodedAtMs - this.overSinceMs) / 1000)} s); latency stays ` +
        "right (frames are stamped on arrival) but frames queue in memory: give it more CPU or measure fewer streams",
    };
  }
}
