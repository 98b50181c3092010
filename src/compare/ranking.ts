import type { ProviderPrice } from "./providers.ts";

/**
 * The providers of one comparison side by side, ranked by what the user cares about. Pure: figures in, order and text
 * out. Every figure is of the provider's playback as the client saw it; latency is relative to the origin's own stream
 * (the control), read on the same clock at the same moment, so it needs no clock agreement with anyone.
 */
export const RANK_KEYS = ["latency", "stalls", "drops", "quality", "cost"] as const;
export type RankKey = (typeof RANK_KEYS)[number];
export const DEFAULT_RANK: RankKey = "latency";

export interface ProviderRow {
  /** The stream's role in the comparison: the provider's name, or name/N for its Nth playback URL. */
  role: string;
  provider: string;
  /** Redacted: what may be shown and stored. */
  playback: string;
  status: "measured" | "failed";
  /** Why it failed (or why its figures are partial); null when all went well. */
  reason: string | null;
  runId: number | null;
  relativeLatencyP50Ms: number | null;
  relativeLatencyP95Ms: number | null;
  matchedShare: number | null;
  framesNew: number | null;
  dropped: number | null;
  stalls: number | null;
  stallMs: number | null;
  psnrYMean: number | null;
  ssimYMean: number | null;
  bitrateKbps: number | null;
  /** One hour delivered to one viewer at the measured bitrate, from the file's prices; null without prices. */
  costPerHourUsd: number | null;
}

const BYTES_PER_GB = 1e9;

/**
 * Per-minute prices count by the minute; a per-GB price needs the measured bitrate (unknown bitrate → unknown cost
 * rather than a cost that leaves the largest part out). Null when the file gives no price at all.
 */
export function costPerHourUsd(price: ProviderPrice, bitrateKbps: number | null): number | null {
  const { perMinuteDeliveredUsd: delivered, perMinuteIngestedUsd: ingested, perGbUsd: perGb } = price;
  if (delivered === null && ingested === null && perGb === null) return null;
  let usd = ((delivered ?? 0) + (ingested ?? 0)) * 60;
  if (perGb !== null) {
    if (bitrateKbps === null) return null;
    usd += perGb * ((bitrateKbps * 1000) / 8 * 3600) / BYTES_PER_GB;
  }
  return usd;
}

/** Lower is better for every key; quality is negated so that the best picture comes first. */
function sortKeys(row: ProviderRow, by: RankKey): (number | null)[] {
  const latency = [row.relativeLatencyP50Ms, row.relativeLatencyP95Ms];
  switch (by) {
    case "latency":
      return latency;
    case "stalls":
      return [row.stalls, row.stallMs, ...latency];
    case "drops":
      return [row.dropped, ...latency];
    case "quality":
      return [neg(row.psnrYMean), neg(row.ssimYMean), ...latency];
    case "cost":
      return [row.costPerHourUsd, ...latency];
  }
}

const neg = (v: number | null) => (v === null ? null : -v);

/** Measured rows by the key (an unknown figure after every known one), then the failed ones; ties by role. */
export function rankRows(rows: readonly ProviderRow[], by: RankKey): ProviderRow[] {
  const compare = (a: ProviderRow, b: ProviderRow): number => {
    if (a.status !== b.status) return a.status === "measured" ? -1 : 1;
    const ka = sortKeys(a, by);
    const kb = sortKeys(b, by);
    for (let i = 0; i < ka.length; i++) {
      const x = ka[i] ?? null;
      const y = kb[i] ?? null;
      if (x === y) continue;
      if (x === null) return 1;
      if (y === null) return -1;
      return x - y;
    }
    return a.role < b.role ? -1 : a.role > b.role ? 1 : 0;
  };
  return [...rows].sort(compare);
}

const COLUMNS = ["#", "provider", "rel. p50", "rel. p95", "matched", "dropped", "stalls", "PSNR-Y", "kbps", "USD/h", "playback"];

/** The ranked table, one line per playback, failed ones with their reason below the table. */
export function formatRanking(ranked: readonly ProviderRow[], by: RankKey): string {
  const ms = (v: number | null) => (v === null ? "-" : `${Math.round(v)} ms`);
  const num = (v: number | null, digits = 0) => (v === null ? "-" : v.toFixed(digits));
  let place = 0;
  const body = ranked.map((r) =>
    r.status === "failed"
      ? ["-", r.role, "failed", "", "", "", "", "", "", "", r.playback]
      : [
          String(++place), r.role, ms(r.relativeLatencyP50Ms), ms(r.relativeLatencyP95Ms),
          r.matchedShare === null ? "-" : `${(r.matchedShare * 100).toFixed(1)} %`, num(r.dropped),
          r.stalls === null ? "-" : `${r.stalls} (${ms(r.stallMs)})`, num(r.psnrYMean, 1), num(r.bitrateKbps),
          num(r.costPerHourUsd, 4), r.playback,
        ],
  );
  const table = [COLUMNS, ...body];
  const widths = COLUMNS.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  const lines = table.map((row) => row.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd());
  const notes = ranked.filter((r) => r.reason !== null).map((r) => `${r.role}: ${r.status === "failed" ? "failed: " : ""}${r.reason}`);
  return [`ranked by ${by} (latency relative to the origin's own stream)`, ...lines, ...notes].join("\n");
}
