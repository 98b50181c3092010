import { spread } from "./stats.ts";

/** A stream's new frames: frame number and arrival (client clock; every stream of a comparison shares that clock). */
export interface ArrivedFrame {
  n: number;
  arrivedAtMs: number;
  /**
   * The frame arrived at the moment the stream was joined (joinMarks): its media was already there when the client
   * first read the manifest, so its arrival is the moment of joining, not of delivery, and says nothing of the stream.
   */
  atJoin?: boolean;
}

/**
 * Which of a run's frames (all kinds, in the order they came) arrived at the moment of joining: those its source
 * marked (the units already whole at the join, an LL-HLS stream's parts behind the edge), and the leading ones with
 * the first one's segment (or part) and arrival stamp: a segment already there when the stream was joined, the
 * chunks of an LL-DASH segment written before its request, and any run stored before sources marked their frames.
 * Both segment and stamp are asked, since a DASH source may give every segment of a SegmentTimeline the same number
 * (nginx-rtmp's window renumbers), and a segment's frames share its arrival (an LL part's frames have their own);
 * only the leading ones, since a later part may come within the same millisecond as the first, after parts that did
 * not. Pure.
 */
export function joinMarks(frames: readonly { segment: number | null; arrivedAtMs: number; atJoin?: boolean | null }[]): boolean[] {
  const first = frames[0];
  let joining = true;
  return frames.map((f) => (joining &&= f.segment === first!.segment && f.arrivedAtMs === first!.arrivedAtMs) || f.atJoin === true);
}

export interface Comparison {
  /** Control frames in the span both streams cover, and how many of them the other stream delivered too. */
  framesControl: number;
  framesMatched: number;
  matchedShare: number | null;
  /** Per matched frame: its arrival on this stream − its arrival on the control. Needs no clock agreement at all. */
  relativeLatencyP50Ms: number | null;
  relativeLatencyP95Ms: number | null;
  relativeLatencyMinMs: number | null;
  relativeLatencyMaxMs: number | null;
  relativeLatencyMeanMs: number | null;
}

/**
 * Matches frames across two streams of one signal by frame number and compares when each arrived. Only the span both
 * streams cover counts, so that one joining later or stopping earlier does not read as lost frames; a stream covers
 * from the first frame it joined on. Frames that arrived at either stream's join are not compared: two streams joined
 * on segments holding the same frames would otherwise compare the two moments of joining (near 0 ms apart, where the
 * stream is some 700 ms behind). So frames lost just after a join count as lost, as anywhere else. Pure.
 */
export function compareStreams(allStream: readonly ArrivedFrame[], allControl: readonly ArrivedFrame[]): Comparison {
  const stream = allStream.filter((f) => !f.atJoin);
  const control = allControl.filter((f) => !f.atJoin);
  const empty: Comparison = {
    framesControl: 0, framesMatched: 0, matchedShare: null, relativeLatencyP50Ms: null, relativeLatencyP95Ms: null,
    relativeLatencyMinMs: null, relativeLatencyMaxMs: null, relativeLatencyMeanMs: null,
  };
  if (stream.length === 0 || control.length === 0) return empty;
  // A loop, not Math.min(...): a run of hours holds more frames than a call can take arguments.
  const range = (f: readonly ArrivedFrame[]) => {
    let lo = Infinity;
    let hi = -Infinity;
    for (const x of f) {
      if (x.n < lo) lo = x.n;
      if (x.n > hi) hi = x.n;
    }
    return [lo, hi] as const;
  };
  const [s0, s1] = range(allStream);
  const [c0, c1] = range(allControl);
  const lo = Math.max(s0, c0);
  const hi = Math.min(s1, c1);
  if (lo > hi) return empty;
  // Frames the stream delivered at its join were delivered: not compared, not lost either.
  const streamJoin = new Set<number>();
  for (const f of allStream) if (f.atJoin) streamJoin.add(f.n);
  const atControl = new Map<number, number>();
  for (const f of control) if (f.n >= lo && f.n <= hi && !streamJoin.has(f.n) && !atControl.has(f.n)) atControl.set(f.n, f.arrivedAtMs);
  const rel: number[] = [];
  const seen = new Set<number>();
  for (const f of stream) {
    if (f.n < lo || f.n > hi || seen.has(f.n)) continue;
    seen.add(f.n);
    const c = atControl.get(f.n);
    if (c !== undefined) rel.push(f.arrivedAtMs - c);
  }
  const s = spread(rel);
  return {
    framesControl: atControl.size,
    framesMatched: rel.length,
    matchedShare: atControl.size > 0 ? rel.length / atControl.size : null,
    relativeLatencyP50Ms: s.p50,
    relativeLatencyP95Ms: s.p95,
    relativeLatencyMinMs: s.min,
    relativeLatencyMaxMs: s.max,
    relativeLatencyMeanMs: s.mean,
  };
}
