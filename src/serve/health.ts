/** Whether the origin is producing a live stream. Pure: the caller supplies what it saw and the time. */
export interface SegmentProgress {
  startedAtMs: number;
  /** When the newest segment first appeared in the playlist; null before the first one. */
  lastNewSegmentAtMs: number | null;
  lastSequence: number | null;
}

export interface HealthVerdict {
  healthy: boolean;
  reason: string;
  lastSegmentAgeMs: number | null;
}

/** A segment is fresh while it is younger than three segment durations (at least 3 s). */
export function staleAfterMs(segmentS: number): number {
  return Math.max(3000, segmentS * 3000);
}

export function judgeHealth(p: SegmentProgress, segmentS: number, nowMs: number): HealthVerdict {
  if (p.lastNewSegmentAtMs === null) {
    return {
      healthy: false,
      reason: `starting: no segment written yet (${((nowMs - p.startedAtMs) / 1000).toFixed(1)} s since start)`,
      lastSegmentAgeMs: null,
    };
  }
  const age = nowMs - p.lastNewSegmentAtMs;
  if (age > staleAfterMs(segmentS)) {
    return {
      healthy: false,
      reason: `no new segment for ${(age / 1000).toFixed(1)} s (expected one every ${segmentS} s): the encoder is not producing`,
      lastSegmentAgeMs: age,
    };
  }
  return { healthy: true, reason: "live", lastSegmentAgeMs: age };
}
