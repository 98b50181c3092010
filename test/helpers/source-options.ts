import type { HlsSourceOptions, SourceEvent } from "../../src/client/hls-source.ts";
import type { Fetch } from "../../src/client/http.ts";

/**
 * Simulated time in which waits overlap as real ones do: each sleep (or delay) ends at its own time, and the clock
 * jumps to the earliest pending end once everything else has run (no promise left to settle), so a fetch that takes
 * 900 ms beside one that takes 1500 ms ends at 900 ms, not after both.
 */
export class SimulatedClock {
  t = 0;
  private waits: { at: number; order: number; resolve: () => void }[] = [];
  private order = 0;
  private kicked = false;

  sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      this.waits.push({ at: this.t + Math.max(0, ms), order: this.order++, resolve });
      this.kick();
    });

  private kick(): void {
    if (this.kicked) return;
    this.kicked = true;
    // After every promise the last wait's end set off has settled.
    setImmediate(() => setImmediate(() => {
      this.kicked = false;
      this.fire();
    }));
  }

  private fire(): void {
    if (this.waits.length === 0) return;
    this.waits.sort((a, b) => a.at - b.at || a.order - b.order);
    const next = this.waits.shift()!;
    this.t = Math.max(this.t, next.at);
    next.resolve();
    if (this.waits.length > 0) this.kick();
  }
}

/**
 * A source's options on a simulated clock, its events collected. By default sleeps advance the clock at once and
 * nothing else does (`advance` moves it by hand: a fetch's duration); with `overlapping`, waits run on a
 * SimulatedClock and a fetch takes its time with `delay`, side by side with the others.
 */
export function simulatedOptions(fetchFn: Fetch, overrides: Partial<HlsSourceOptions> = {}, mode: { overlapping?: boolean } = {}) {
  let t = 0;
  const clock = mode.overlapping ? new SimulatedClock() : null;
  const events: SourceEvent[] = [];
  const nowMs = () => (clock ? clock.t : t);
  const options: HlsSourceOptions = {
    fetch: fetchFn,
    now: nowMs,
    sleep: clock
      ? clock.sleep
      : async (ms) => {
          t += ms;
        },
    pollMs: 50,
    requestTimeoutMs: 1000,
    connectTimeoutMs: 5000,
    maxOutageMs: 60_000,
    onEvent: (e) => events.push(e),
    cancelled: () => null,
    ...overrides,
  };
  const delay = (ms: number) => (clock ? clock.sleep(ms) : Promise.resolve(void (t += ms)));
  return { options, events, nowMs, advance: (ms: number) => (t += ms), delay };
}
