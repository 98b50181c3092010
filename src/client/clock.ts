/** NTP-style clock offset from request/response samples. Pure. */
export interface ClockSample {
  /** Client clock when the request left. */
  sentMs: number;
  /** Server clock in the answer. */
  serverMs: number;
  /** Client clock when the answer arrived. */
  receivedMs: number;
}

export interface ClockOffset {
  /** Server clock − client clock. */
  offsetMs: number;
  /** Half the round trip of the sample used: the true offset lies within ± this. */
  uncertaintyMs: number;
  samples: number;
}

/** Uses the sample with the smallest round trip: its midpoint assumption is the least wrong. */
export function estimateOffset(samples: readonly ClockSample[]): ClockOffset | null {
  let best: ClockSample | null = null;
  for (const s of samples) {
    if (s.receivedMs < s.sentMs) continue;
    if (!best || s.receivedMs - s.sentMs < best.receivedMs - best.sentMs) best = s;
  }
  if (!best) return null;
  const rtt = best.receivedMs - best.sentMs;
  return { offsetMs: best.serverMs - (best.sentMs + rtt / 2), uncertaintyMs: rtt / 2, samples: samples.length };
}

/** Farthest a server clock may be from the client's and still be believed: beyond it, one of them is broken. */
export const MAX_PLAUSIBLE_OFFSET_MS = 24 * 3600 * 1000;

/** Samples may disagree by their round trips; by more than this beyond them, the server's clock is jumping. */
const MAX_DISAGREEMENT_MS = 1000;

/**
 * The offset from samples whose server times came from the network: any value that is no finite time, an offset
 * beyond a day or samples that contradict each other make the clock unusable (null), with a warning saying why.
 */
export function judgeClock(samples: readonly { sentMs: number; serverMs: unknown; receivedMs: number }[]): {
  clock: ClockOffset | null;
  warning: string | null;
} {
  const refuse = (why: string) => ({ clock: null, warning: `server clock ignored (${why}): latency assumes both clocks agree` });
  const bad = samples.find((s) => typeof s.serverMs !== "number" || !Number.isFinite(s.serverMs));
  if (bad) return refuse(`/time answered ${describeValue(bad.serverMs)}, not a time`);
  const usable = samples as readonly ClockSample[];
  const clock = estimateOffset(usable);
  if (!clock) return samples.length ? refuse("no sample with a usable round trip") : { clock: null, warning: null };
  if (Math.abs(clock.offsetMs) > MAX_PLAUSIBLE_OFFSET_MS) {
    return refuse(`it is ${describeOffset(clock.offsetMs)} off, more than a day`);
  }
  for (const s of usable) {
    if (s.receivedMs < s.sentMs) continue;
    const offset = s.serverMs - (s.sentMs + s.receivedMs) / 2;
    const allowed = (s.receivedMs - s.sentMs) / 2 + clock.uncertaintyMs + MAX_DISAGREEMENT_MS;
    if (Math.abs(offset - clock.offsetMs) > allowed) {
      return refuse(`its answers disagree by ${describeOffset(offset - clock.offsetMs)}`);
    }
  }
  return { clock, warning: null };
}

function describeValue(v: unknown): string {
  const text = typeof v === "string" ? `'${v}'` : typeof v === "object" && v !== null ? "an object" : String(v);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

function describeOffset(ms: number): string {
  const a = Math.abs(ms);
  if (a >= 365 * 86_400_000) return `${(a / (365 * 86_400_000)).toPrecision(3)} years`;
  if (a >= 3_600_000) return `${(a / 3_600_000).toFixed(1)} h`;
  if (a >= 1000) return `${(a / 1000).toFixed(1)} s`;
  return `${Math.round(a)} ms`;
}
