import { opensOutage } from "../client/events.ts";
import { percentile } from "../client/stats.ts";
import { taskCost, type Prices } from "./aggregate.ts";

/** One stream of a `vat compare` run as read from its database: the control (the origin's own stream) or a playback. */
export interface ComparedStreamFacts {
  role: string;
  /** The provider's name from the providers file; "origin" for the control. */
  provider: string;
  control: boolean;
  /** "measured" or "failed" (from compare_providers; the control is "measured" when it has frames). */
  status: string;
  reason: string | null;
  runId: number | null;
  /**
   * New frames with a latency: frame number, latency, arrival (ms since the epoch); atJoin: arrived at the moment the
   * run joined the stream (client/comparison.ts joinMarks).
   */
  frames: { n: number; latencyMs: number; atMs: number; atJoin?: boolean }[];
  windows: { startMs: number; endMs: number; bitrateKbps: number | null; psnrYMean: number | null; ssimYMean: number | null; framesNew: number | null }[];
  events: { kind: string; atMs: number; durationMs: number | null }[];
  declaredKbps: number | null;
  /** The provider's price for one viewer for an hour at the measured bitrate, as compare stored it. */
  costPerHourUsd: number | null;
  /** What compare stored against the control: relative latency percentiles and the share of frames matched. */
  relativeP50Ms: number | null;
  relativeP95Ms: number | null;
  matchedShare: number | null;
}

export interface ComparisonFacts {
  source: string;
  comparisonId: string;
  startedAtMs: number;
  size: string | null;
  fps: number | null;
  /** The origin's task size (null on this machine without --cpu). */
  cpu: number | null;
  memoryMiB: number | null;
  streams: ComparedStreamFacts[];
}

/** One row of a comparison's table: a stream's figures. */
export interface ComparedStreamFigures {
  role: string;
  provider: string;
  control: boolean;
  status: string;
  reason: string | null;
  frames: number;
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
  relativeP50Ms: number | null;
  relativeP95Ms: number | null;
  matchedShare: number | null;
  stalls: number;
  stallS: number;
  outages: number;
  psnrYMean: number | null;
  ssimYMean: number | null;
  declaredKbps: number | null;
  measuredKbps: number | null;
  costPerHourUsd: number | null;
  /** The provider's hour and the origin's Fargate hour together (the origin's alone when it ran on this machine). */
  costWithOriginPerHourUsd: number | null;
}

export interface ComparisonFigures {
  source: string;
  comparisonId: string;
  /** The configuration the comparison ran at: "240p 25fps local" or "720p 30fps 1024cpu/2GB". */
  configuration: string;
  startedAtMs: number;
  durationS: number;
  streams: ComparedStreamFigures[];
  /** The origin's Fargate cost for an hour at its task size (null when it ran on this machine without one). */
  originCostPerHourUsd: number | null;
}

/**
 * Stalls as the client's summary counts them: the playout's freezes. A `--target-latency` player's rebuffers are
 * another model's figure (the summary's rebuffer line), not more stalls.
 */
const STALL_KINDS = new Set(["stall"]);

/** A comparison's figures per stream, control first. Pure. */
export function comparisonFigures(c: ComparisonFacts, prices: Prices): ComparisonFigures {
  const ends = c.streams.flatMap((s) => s.frames.map((f) => f.atMs));
  const endMs = ends.length ? ends.reduce((m, v) => Math.max(m, v)) : c.startedAtMs;
  const originCostPerHourUsd = taskCost(c.cpu, c.memoryMiB, 3_600_000, prices);
  const mem = c.memoryMiB === null ? null : c.memoryMiB % 1024 === 0 ? `${c.memoryMiB / 1024}GB` : `${c.memoryMiB}MiB`;
  const streams = [...c.streams].sort((a, b) => Number(b.control) - Number(a.control)).map((s): ComparedStreamFigures => {
    const latencies = s.frames.map((f) => f.latencyMs);
    const stalls = s.events.filter((e) => STALL_KINDS.has(e.kind));
    // Over the windows' time: each weighed by its length (a run's last window is often short), one without media as
    // none (compare/store.ts meanBitrateKbps).
    const hadMedia = s.windows.some((w) => w.bitrateKbps !== null);
    const bitrates = hadMedia ? s.windows.flatMap((w) => (w.endMs > w.startMs ? [[w.bitrateKbps ?? 0, w.endMs - w.startMs] as [number, number]] : [])) : [];
    return {
      role: s.role,
      provider: s.provider,
      control: s.control,
      status: s.status,
      reason: s.reason,
      frames: s.frames.length,
      latencyP50Ms: percentile(latencies, 50),
      latencyP95Ms: percentile(latencies, 95),
      relativeP50Ms: s.relativeP50Ms,
      relativeP95Ms: s.relativeP95Ms,
      matchedShare: s.matchedShare,
      stalls: stalls.length,
      stallS: stalls.reduce((t, e) => t + (e.durationMs ?? 0), 0) / 1000,
      outages: s.events.filter(opensOutage).length,
      psnrYMean: weightedMean(s.windows.map((w) => [w.psnrYMean, w.framesNew])),
      ssimYMean: weightedMean(s.windows.map((w) => [w.ssimYMean, w.framesNew])),
      declaredKbps: s.declaredKbps,
      measuredKbps: weightedMean(bitrates),
      costPerHourUsd: s.costPerHourUsd,
      costWithOriginPerHourUsd: s.control || s.costPerHourUsd === null ? null : s.costPerHourUsd + (originCostPerHourUsd ?? 0),
    };
  });
  return {
    source: c.source,
    comparisonId: c.comparisonId,
    configuration: [c.size ?? "?", c.fps === null ? "?fps" : `${c.fps}fps`, c.cpu === null ? "local" : `${c.cpu}cpu/${mem}`].join(" "),
    startedAtMs: c.startedAtMs,
    durationS: Math.max(0, endMs - c.startedAtMs) / 1000,
    streams,
    originCostPerHourUsd,
  };
}

/** The mean of the known values, each weighted by its count (a window's frames); null when none is known. */
function weightedMean(pairs: [number | null, number | null][]): number | null {
  let sum = 0;
  let weight = 0;
  for (const [v, w] of pairs) {
    if (v === null || w === null || w <= 0) continue;
    sum += v * w;
    weight += w;
  }
  return weight > 0 ? sum / weight : null;
}

/**
 * The latency distribution as a CDF: the latency at each of `points` evenly spaced shares (nearest rank), so every
 * stream's curve has the same number of points however many frames it has. Pure.
 */
export function latencyCdf(latencies: readonly number[], points = 100): { latencyMs: number; share: number }[] {
  if (latencies.length === 0) return [];
  const sorted = Float64Array.from(latencies).sort();
  const out: { latencyMs: number; share: number }[] = [];
  for (let i = 0; i <= points; i++) {
    const share = i / points;
    const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(share * sorted.length) - 1));
    out.push({ latencyMs: sorted[rank]!, share });
  }
  return out;
}

/**
 * A stream's latency relative to the control over time: for every frame number both received, how much later it
 * arrived in the stream than in the control (both on the client's clock, so neither server's clock offset enters: a
 * provider has no /time, the origin's offset is estimated), as the median of each bucket of `bucketS` seconds (by the
 * stream's arrival, from `startMs`); the comparison's own figures are the same difference (client/comparison.ts).
 * Frames that arrived at either run's join are left out, as there: they arrived at the join, not when delivered. Pure.
 */
export function relativeOverTime(
  control: readonly { n: number; atMs: number; atJoin?: boolean }[],
  stream: readonly { n: number; atMs: number; atJoin?: boolean }[],
  startMs: number,
  bucketS = 1,
): { atS: number; relativeMs: number }[] {
  const byNumber = new Map<number, number>();
  for (const f of control) if (!f.atJoin && !byNumber.has(f.n)) byNumber.set(f.n, f.atMs);
  const buckets = new Map<number, number[]>();
  for (const f of stream) {
    if (f.atJoin) continue;
    const c = byNumber.get(f.n);
    if (c === undefined) continue;
    const b = Math.floor((f.atMs - startMs) / 1000 / bucketS);
    const list = buckets.get(b);
    if (list) list.push(f.atMs - c);
    else buckets.set(b, [f.atMs - c]);
  }
  return [...buckets.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([b, v]) => ({ atS: b * bucketS, relativeMs: percentile(v, 50)! }));
}

/**
 * What goes on a comparison's timeline: stalls and outages, as spans in seconds from its start (at least 0.1 s wide).
 * A stall's event is stamped where it starts; an outage is drawn from what closed it (a reconnect, the fatal event,
 * the end of the run: each carries its length, stamped where it ended), or from its opening alone when nothing did.
 */
export function timelineSpans(c: ComparisonFacts): { role: string; kind: string; fromS: number; toS: number }[] {
  const span = (role: string, kind: string, fromMs: number, durationMs: number) => {
    const fromS = (fromMs - c.startedAtMs) / 1000;
    return { role, kind, fromS, toS: fromS + Math.max(0.1, durationMs / 1000) };
  };
  return c.streams.flatMap((s) => {
    const closes = s.events.filter((e) => (e.kind === "reconnect" || (e.kind === "outage" && !opensOutage(e))) && (e.durationMs ?? 0) > 0);
    const unclosed = s.events.filter((e) => opensOutage(e) && !closes.some((x) => x.atMs >= e.atMs));
    return [
      ...s.events.filter((e) => STALL_KINDS.has(e.kind)).map((e) => span(s.role, "stall", e.atMs, e.durationMs ?? 0)),
      ...closes.map((e) => span(s.role, "outage", e.atMs - e.durationMs!, e.durationMs!)),
      ...unclosed.map((e) => span(s.role, "outage", e.atMs, 0)),
    ];
  });
}
