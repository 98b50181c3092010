import { judgeClock, type ClockSample } from "./clock.ts";
import type { ClockReading } from "./server-info.ts";
import { fetchText, type Fetch } from "./http.ts";
import type { UtcTiming } from "../dash/mpd.ts";

/** The UTCTiming schemes vat reads (ISO/IEC 23009-1 5.8.5.7 and the DASH-IF list), best first. */
const SCHEMES = {
  iso: ["urn:mpeg:dash:utc:http-iso:2014", "urn:mpeg:dash:utc:http-xsdate:2014"],
  head: ["urn:mpeg:dash:utc:http-head:2014"],
  direct: ["urn:mpeg:dash:utc:direct:2014"],
};

/** The time an http-iso / http-xsdate answer names, ms since the epoch; null when it names none. Pure. */
export function parseUtcAnswer(text: string): number | null {
  const t = text.trim();
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)?$/.test(t)) return null;
  const ms = Date.parse(/(Z|[+-]\d\d:?\d\d)$/.test(t) ? t : `${t}Z`);
  return Number.isFinite(ms) ? ms : null;
}

/** The first UTCTiming of the MPD that vat can sample, in its preference order. */
export function pickUtcTiming(timings: readonly UtcTiming[]): UtcTiming | null {
  for (const list of [SCHEMES.iso, SCHEMES.head, SCHEMES.direct]) {
    const t = timings.find((x) => list.includes(x.schemeIdUri));
    if (t) return t;
  }
  return null;
}

const SAMPLES = 8;

/**
 * The server clock's offset from a DASH UTCTiming source, as /time gives it for vat's own servers (NTP-style: the
 * sample with the shortest round trip). http-head has one-second resolution, direct none better than the MPD fetch.
 */
export async function sampleUtcTiming(
  t: UtcTiming,
  deps: { fetch: Fetch; now: () => number },
  fetchedAtMs: { sentMs: number; receivedMs: number },
): Promise<ClockReading> {
  const none = { clock: null, warning: null };
  if (SCHEMES.direct.includes(t.schemeIdUri)) {
    const serverMs = parseUtcAnswer(t.value);
    return serverMs === null ? none : judgeClock([{ ...fetchedAtMs, serverMs }]);
  }
  const head = SCHEMES.head.includes(t.schemeIdUri);
  const samples: ClockSample[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const sentMs = deps.now();
    // Through the client's HTTP: http(s) only, redirects checked, a small answer (the MPD is remote input).
    const r = await fetchText(deps.fetch, t.value, { timeoutMs: 2000, maxBytes: 4096, method: head ? "HEAD" : "GET" });
    const receivedMs = deps.now();
    // A Date header counts whole seconds: its time lies anywhere in the second it names, on average half-way.
    const serverMs = !r.ok ? null : head ? (r.date ? Date.parse(r.date) + 500 : null) : parseUtcAnswer(r.value);
    if (serverMs === null || !Number.isFinite(serverMs)) {
      if (samples.length === 0) return none;
      break;
    }
    samples.push({ sentMs, serverMs, receivedMs });
    if (head) break; // a whole-second clock gains nothing from more samples
  }
  const reading = judgeClock(samples);
  return head && reading.clock ? { ...reading, clock: { ...reading.clock, uncertaintyMs: reading.clock.uncertaintyMs + 500 } } : reading;
}
