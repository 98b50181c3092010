import type { HlsSourceOptions, SourceEvent } from "../../src/client/hls-source.ts";
import type { Fetch } from "../../src/client/http.ts";

/** A source's options on a simulated clock (sleeps advance it, nothing else does), its events collected. */
export function simulatedOptions(fetchFn: Fetch, overrides: Partial<HlsSourceOptions> = {}) {
  let t = 0;
  const events: SourceEvent[] = [];
  const options: HlsSourceOptions = {
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
    ...overrides,
  };
  return { options, events, nowMs: () => t, advance: (ms: number) => (t += ms) };
}
