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
