import { badInput, failed } from "../errors.ts";
import { percentile } from "../client/stats.ts";
import type { DeliveryFigures } from "../client/delivery.ts";
import type { StreamFacts } from "../client/source.ts";

/** What runs are grouped by: a configuration. */
export interface GroupKey {
  size: string | null;
  fps: number | null;
  cpu: number | null;
  memoryMiB: number | null;
  videoType: string;
  /** Where the stream came from: "origin" (a vat server measured directly), a provider's host, or "-" when unknown. */
  provider: string;
}

/** One measurement run as read from a database (vat's own, or the Python prototype's three tables). */
export interface RunFacts extends GroupKey {
  source: string;
  /** The run's id in its database (the prototype's analysis_number, kept as text when it is none). */
  run: number | string;
  format: "vat" | "prototype";
  streamId: string | null;
  startedAtMs: number;
  measuredMs: number;
  framesNew: number;
  dropped: number;
  /** Null where the database does not record it (the prototype's). */
  unreadable: number | null;
  stalls: number | null;
  stallMs: number | null;
  /** Achieved fps over the run (vat's playout definition; the prototype's own figure for its databases). */
  fpsAchieved: number | null;
  /** Latency of every new frame, ms (empty when frames were not stored). */
  latencies: ArrayLike<number>;
  /** Per-window median latency over the run, for charts. */
  latencyOverTime: { atS: number; p50Ms: number }[];
  /**
   * How long the stream stayed healthy: until its first outage, or the whole run when it had none; nothing for a run
   * stored as failed that read no frame.
   */
  healthyMs: number;
  /** The run was stored as failed, or its stream went out (an outage). */
  failed: boolean;
  /** Full-reference quality when it was measured (--quality, --vmaf): PSNR-Y and SSIM-Y over frames, VMAF samples. */
  quality: { frames: number; psnrYSum: number; ssimYSum: number; vmafSamples: number[] } | null;
  /** The stream's format as the client stored it (schema 4; unknown in older files and the prototype's). */
  stream: StreamFacts;
  /** A low-latency stream's delivery (schema 5); null for other streams and older files. */
  delivery: DeliveryFigures | null;
}

/** Fargate list prices, Linux/x86, on demand, USD: per vCPU-hour and per GB-hour. Override with flags or a file. */
export const FARGATE_PRICES: Record<string, { vcpuHour: number; gbHour: number }> = {
  "us-east-1": { vcpuHour: 0.04048, gbHour: 0.004445 },
  "us-east-2": { vcpuHour: 0.04048, gbHour: 0.004445 },
  "us-west-2": { vcpuHour: 0.04048, gbHour: 0.004445 },
  "eu-west-1": { vcpuHour: 0.04048, gbHour: 0.004445 },
  "eu-central-1": { vcpuHour: 0.04656, gbHour: 0.00511 },
  "eu-west-2": { vcpuHour: 0.04656, gbHour: 0.00511 },
  "ap-southeast-1": { vcpuHour: 0.05056, gbHour: 0.00553 },
  "ap-northeast-1": { vcpuHour: 0.05056, gbHour: 0.00553 },
};

export interface Prices {
  region: string;
  vcpuHour: number;
  gbHour: number;
}

/**
 * A prices file's text: `{ "<region>": { "vcpuHour": 0.04048, "gbHour": 0.004445 }, … }`, merged over the built-in
 * table. Pure.
 */
export function parsePricesFile(text: string, where: string): Record<string, { vcpuHour: number; gbHour: number }> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw badInput(`'${where}' is not JSON: write { "<region>": { "vcpuHour": 0.04048, "gbHour": 0.004445 } }`);
  }
  if (!v || typeof v !== "object" || Array.isArray(v)) throw badInput(`'${where}' must be an object of regions`);
  const out: Record<string, { vcpuHour: number; gbHour: number }> = {};
  for (const [region, p] of Object.entries(v as Record<string, unknown>)) {
    const q = p as { vcpuHour?: unknown; gbHour?: unknown } | null;
    if (!q || typeof q.vcpuHour !== "number" || typeof q.gbHour !== "number" || q.vcpuHour < 0 || q.gbHour < 0) {
      throw badInput(`'${where}': region '${region}' needs "vcpuHour" and "gbHour", US dollars of 0 or more`);
    }
    out[region] = { vcpuHour: q.vcpuHour, gbHour: q.gbHour };
  }
  return out;
}

export function pricesFor(
  region: string,
  override: { vcpuHour?: number; gbHour?: number } = {},
  table: Record<string, { vcpuHour: number; gbHour: number }> = FARGATE_PRICES,
): Prices {
  const base = table[region];
  if (!base && (override.vcpuHour === undefined || override.gbHour === undefined)) {
    throw badInput(
      `no Fargate prices for region '${region}': use one of ${Object.keys(table).join(", ")}, ` +
        "or give --vcpu-hour-usd and --gb-hour-usd (or a --prices file)",
    );
  }
  for (const [k, v] of Object.entries(override)) {
    if (v !== undefined && !(v >= 0)) throw badInput(`price '${v}' for ${k} is not valid: use a number of US dollars, 0 or more`);
  }
  return { region, vcpuHour: override.vcpuHour ?? base!.vcpuHour, gbHour: override.gbHour ?? base!.gbHour };
}

/** Dollars for a task of this size running this long; null when the size is unknown (a local run). Pure. */
export function taskCost(cpu: number | null, memoryMiB: number | null, ms: number, p: Prices): number | null {
  if (cpu === null || memoryMiB === null) return null;
  return (ms / 3_600_000) * ((cpu / 1024) * p.vcpuHour + (memoryMiB / 1024) * p.gbHour);
}


export interface GroupFigures extends GroupKey {
  label: string;
  runs: number;
  measuredS: number;
  framesNew: number;
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
  /** Runs whose frames the percentiles are over: a run stored without its frames (--no-frames) has none. */
  latencyRuns: number;
  fpsAchieved: number | null;
  dropped: number;
  droppedPerMin: number | null;
  unreadable: number | null;
  unreadableShare: number | null;
  stalls: number | null;
  /** Frozen time (the playout's stalls) ÷ measured time; not a --target-latency player's rebuffer ratio. */
  stalledShare: number | null;
  /** Mean hours a run's stream stayed healthy, and how many runs ended in a failure. */
  hoursLasted: number | null;
  failures: number;
  costPerRunUsd: number | null;
  costTotalUsd: number | null;
  costPerHealthyHourUsd: number | null;
  psnrYMean: number | null;
  ssimYMean: number | null;
  vmafMean: number | null;
}

export const SORTABLE = [
  "latency-p50", "latency-p95", "fps", "drops", "unreadable", "stalled", "hours-lasted", "cost", "psnr", "vmaf", "config",
] as const;
export type SortKey = (typeof SORTABLE)[number];

const SORT_FIELD: Record<Exclude<SortKey, "config">, keyof GroupFigures> = {
  "latency-p50": "latencyP50Ms",
  "latency-p95": "latencyP95Ms",
  fps: "fpsAchieved",
  drops: "droppedPerMin",
  unreadable: "unreadableShare",
  stalled: "stalledShare",
  "hours-lasted": "hoursLasted",
  cost: "costPerHealthyHourUsd",
  psnr: "psnrYMean",
  vmaf: "vmafMean",
};

export function groupLabel(k: GroupKey): string {
  const mem = k.memoryMiB === null ? null : k.memoryMiB % 1024 === 0 ? `${k.memoryMiB / 1024}GB` : `${k.memoryMiB}MiB`;
  return [
    k.size ?? "?",
    k.fps === null ? "?fps" : `${k.fps}fps`,
    k.cpu === null ? "local" : `${k.cpu}cpu/${mem}`,
    k.videoType,
    k.provider === "-" || k.provider === "origin" ? null : k.provider,
  ].filter(Boolean).join(" ");
}

function keyOf(r: RunFacts): GroupKey {
  return { size: r.size, fps: r.fps, cpu: r.cpu, memoryMiB: r.memoryMiB, videoType: r.videoType, provider: r.provider };
}

const SIZE_ORDER = ["240p", "480p", "720p", "1080p"];

function compareConfig(a: GroupKey, b: GroupKey): number {
  return (
    SIZE_ORDER.indexOf(a.size ?? "") - SIZE_ORDER.indexOf(b.size ?? "") ||
    (a.fps ?? 0) - (b.fps ?? 0) ||
    (a.cpu ?? 0) - (b.cpu ?? 0) ||
    (a.memoryMiB ?? 0) - (b.memoryMiB ?? 0) ||
    a.videoType.localeCompare(b.videoType) ||
    Number(a.provider !== "origin") - Number(b.provider !== "origin") || // the control first, then providers
    a.provider.localeCompare(b.provider)
  );
}

/**
 * Groups runs by configuration and computes each group's figures. Pure. Definitions (the README repeats them):
 * latency percentiles over every new frame of the group's runs; achieved fps = the runs' figures weighted by measured
 * time; drops per minute = dropped frames ÷ measured minutes; time stalled = frozen time ÷ measured time; hours
 * lasted = the mean time a run's stream stayed healthy (to its first outage, or to the end of a run that had none; none
 * for a run stored as failed that read no frame); runs failed = runs stored as failed or with an outage;
 * cost = task size × list price × measured time, per run (mean), in all, and per healthy hour.
 */
export function aggregate(runs: readonly RunFacts[], prices: Prices, sort: SortKey = "config"): GroupFigures[] {
  const groups = new Map<string, RunFacts[]>();
  for (const r of runs) {
    const k = JSON.stringify(keyOf(r));
    const list = groups.get(k);
    if (list) list.push(r);
    else groups.set(k, [r]);
  }
  const out: GroupFigures[] = [];
  for (const list of groups.values()) {
    const key = keyOf(list[0]!);
    const measuredMs = sum(list.map((r) => r.measuredMs));
    const healthyMs = sum(list.map((r) => r.healthyMs));
    const framesNew = sum(list.map((r) => r.framesNew));
    const latencies = new Float64Array(sum(list.map((r) => r.latencies.length)));
    let at = 0;
    for (const r of list) {
      latencies.set(Float64Array.from(r.latencies), at);
      at += r.latencies.length;
    }
    const withFps = list.filter((r) => r.fpsAchieved !== null && r.measuredMs > 0);
    const fpsWeight = sum(withFps.map((r) => r.measuredMs));
    const dropped = sum(list.map((r) => r.dropped));
    const unreadable = sumKnown(list.map((r) => r.unreadable));
    const stallMs = sumKnown(list.map((r) => r.stallMs));
    const costs = list.map((r) => taskCost(r.cpu, r.memoryMiB, r.measuredMs, prices));
    const qFrames = sum(list.map((r) => r.quality?.frames ?? 0));
    const vmafs = list.flatMap((r) => r.quality?.vmafSamples ?? []);
    const costTotal = costs.every((c) => c !== null) ? sum(costs as number[]) : null;
    out.push({
      ...key,
      label: groupLabel(key),
      runs: list.length,
      measuredS: measuredMs / 1000,
      framesNew,
      latencyP50Ms: percentile(latencies, 50),
      latencyP95Ms: percentile(latencies, 95),
      latencyRuns: list.filter((r) => r.latencies.length > 0).length,
      fpsAchieved: fpsWeight > 0 ? sum(withFps.map((r) => r.fpsAchieved! * r.measuredMs)) / fpsWeight : null,
      dropped,
      droppedPerMin: measuredMs > 0 ? dropped / (measuredMs / 60_000) : null,
      unreadable,
      unreadableShare: unreadable !== null && framesNew + unreadable > 0 ? unreadable / (framesNew + unreadable) : null,
      stalls: sumKnown(list.map((r) => r.stalls)),
      stalledShare: stallMs !== null && measuredMs > 0 ? stallMs / measuredMs : null,
      hoursLasted: list.length > 0 ? healthyMs / list.length / 3_600_000 : null,
      failures: list.filter((r) => r.failed).length,
      costPerRunUsd: costTotal === null ? null : costTotal / list.length,
      costTotalUsd: costTotal,
      costPerHealthyHourUsd: costTotal === null || healthyMs <= 0 ? null : costTotal / (healthyMs / 3_600_000),
      psnrYMean: qFrames > 0 ? sum(list.map((r) => r.quality?.psnrYSum ?? 0)) / qFrames : null,
      ssimYMean: qFrames > 0 ? sum(list.map((r) => r.quality?.ssimYSum ?? 0)) / qFrames : null,
      vmafMean: vmafs.length > 0 ? sum(vmafs) / vmafs.length : null,
    });
  }
  out.sort((a, b) => compareConfig(a, b));
  if (sort !== "config") {
    const f = SORT_FIELD[sort];
    // Ascending, except where more is better; unknowns last.
    const dir = ["fps", "hours-lasted", "psnr", "vmaf"].includes(sort) ? -1 : 1;
    out.sort((a, b) => {
      const x = a[f] as number | null;
      const y = b[f] as number | null;
      if (x === null || y === null) return x === null ? (y === null ? 0 : 1) : -1;
      return dir * (x - y);
    });
  }
  return out;
}

/** The sum of what is known; null when nothing is. */
function sumKnown(values: readonly (number | null)[]): number | null {
  const known = values.filter((v): v is number => v !== null);
  return known.length ? sum(known) : null;
}

function sum(values: readonly number[]): number {
  let s = 0;
  for (const v of values) s += v;
  return s;
}
