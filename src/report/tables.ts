import { groupLabel, type GroupFigures, type Prices, type RunFacts } from "./aggregate.ts";
import type { ComparedStreamFigures } from "./comparison.ts";
import { formatFigure, RUNS } from "../client/columns.ts";
import { deliveryRows, FORMAT_FIELDS, storedName, type DeliveryField, type DeliveryRow } from "./delivery.ts";

/** A column of a report table: its heading (with unit), its CSV/JSON name, and how a figure reads. Pure. */
export interface Column<T = GroupFigures> {
  name: string;
  heading: string;
  value: (row: T) => string | number | null;
  format?: (v: number, row: T) => string;
  /** Which end of the column is best ("min": less is better), for marking the best row; none: no best. */
  best?: "min" | "max";
}

const fixed = (d: number) => (v: number) => v.toFixed(d);
const pct = (v: number) => `${(v * 100).toFixed(2)} %`;
export const usd = (v: number) => `$${v < 1 ? v.toFixed(4) : v.toFixed(2)}`;
const ms0 = (v: number) => `${v.toFixed(0)} ms`;
/** A configuration's latency, saying so when it is over only some of its runs (others stored no frames). */
const groupMs = (v: number, g: GroupFigures) => (g.latencyRuns < g.runs ? `${ms0(v)} (${g.latencyRuns} of ${g.runs} runs)` : ms0(v));
const dB2 = (v: number) => `${v.toFixed(2)} dB`;

export const COLUMNS: Column<GroupFigures>[] = [
  { name: "configuration", heading: "configuration", value: (g) => g.label },
  { name: "size", heading: "size", value: (g) => g.size },
  { name: "fps_configured", heading: "fps set", value: (g) => g.fps },
  { name: "cpu", heading: "cpu units", value: (g) => g.cpu },
  { name: "memory_mib", heading: "memory MiB", value: (g) => g.memoryMiB },
  { name: "video_type", heading: "video", value: (g) => g.videoType },
  { name: "provider", heading: "provider", value: (g) => g.provider },
  { name: "runs", heading: "runs", value: (g) => g.runs },
  { name: "measured_s", heading: "measured", value: (g) => g.measuredS, format: (v) => `${(v / 60).toFixed(1)} min` },
  { name: "latency_p50_ms", heading: "latency p50", value: (g) => g.latencyP50Ms, format: groupMs, best: "min" },
  { name: "latency_p95_ms", heading: "latency p95", value: (g) => g.latencyP95Ms, format: groupMs, best: "min" },
  { name: "latency_runs", heading: "runs with frames", value: (g) => g.latencyRuns },
  { name: "fps_achieved", heading: "fps achieved", value: (g) => g.fpsAchieved, format: fixed(2), best: "max" },
  { name: "dropped", heading: "dropped", value: (g) => g.dropped, best: "min" },
  { name: "dropped_per_min", heading: "drops per min", value: (g) => g.droppedPerMin, format: fixed(2), best: "min" },
  { name: "unreadable", heading: "unreadable", value: (g) => g.unreadable, best: "min" },
  { name: "unreadable_share", heading: "unreadable share", value: (g) => g.unreadableShare, format: pct, best: "min" },
  { name: "stalls", heading: "stalls", value: (g) => g.stalls, best: "min" },
  { name: "stalled_share", heading: "time stalled", value: (g) => g.stalledShare, format: pct, best: "min" },
  { name: "hours_lasted", heading: "hours lasted", value: (g) => g.hoursLasted, format: (v) => `${v.toFixed(2)} h`, best: "max" },
  { name: "failures", heading: "runs failed", value: (g) => g.failures, best: "min" },
  { name: "psnr_y_mean_db", heading: "PSNR-Y", value: (g) => g.psnrYMean, format: dB2, best: "max" },
  { name: "ssim_y_mean", heading: "SSIM-Y", value: (g) => g.ssimYMean, format: fixed(4), best: "max" },
  { name: "vmaf_mean", heading: "VMAF", value: (g) => g.vmafMean, format: fixed(2), best: "max" },
  { name: "cost_per_run_usd", heading: "cost per run", value: (g) => g.costPerRunUsd, format: usd, best: "min" },
  { name: "cost_total_usd", heading: "cost in all", value: (g) => g.costTotalUsd, format: usd, best: "min" },
  { name: "cost_per_healthy_hour_usd", heading: "cost per healthy hour", value: (g) => g.costPerHealthyHourUsd, format: usd, best: "min" },
];

/**
 * The configurations table of the page, as two tables that each fit a 1280-pixel window: how streams were delivered,
 * then quality and cost. The configuration's parts (size, fps, task, video, provider) are in its label; the CSV and
 * JSON carry every column.
 */
export const PAGE_TABLES: { id: string; title: string; columns: Column<GroupFigures>[] }[] = [
  {
    id: "configurations",
    title: "Configurations: delivery",
    columns: pick([
      "configuration", "runs", "measured_s", "latency_p50_ms", "latency_p95_ms", "fps_configured", "fps_achieved", "dropped",
      "dropped_per_min", "unreadable", "unreadable_share", "stalls", "stalled_share", "hours_lasted", "failures",
    ]),
  },
  {
    id: "configurations-quality-cost",
    title: "Configurations: quality and cost",
    columns: pick(["configuration", "psnr_y_mean_db", "ssim_y_mean", "vmaf_mean", "cost_per_run_usd", "cost_total_usd", "cost_per_healthy_hour_usd"]),
  },
];

function pick(names: string[]): Column<GroupFigures>[] {
  return names.map((n) => COLUMNS.find((c) => c.name === n)!);
}

const kbps = (v: number) => `${v.toFixed(0)} kbit/s`;

/** A comparison's streams, in two tables that fit a 1280-pixel window: latency and continuity; quality, bitrate, cost. */
const STREAM: Column<ComparedStreamFigures> = { name: "stream", heading: "stream", value: (s) => (s.control ? `${s.role} (the origin)` : s.role) };

export const COMPARISON_COLUMNS: Column<ComparedStreamFigures>[][] = [
  [
    STREAM,
    { name: "status", heading: "status", value: (s) => s.status },
    { name: "frames", heading: "frames", value: (s) => s.frames },
    { name: "latency_p50_ms", heading: "latency p50", value: (s) => s.latencyP50Ms, format: ms0, best: "min" },
    { name: "latency_p95_ms", heading: "latency p95", value: (s) => s.latencyP95Ms, format: ms0, best: "min" },
    { name: "relative_p50_ms", heading: "behind control p50", value: (s) => s.relativeP50Ms, format: ms0, best: "min" },
    { name: "relative_p95_ms", heading: "behind control p95", value: (s) => s.relativeP95Ms, format: ms0, best: "min" },
    { name: "matched_share", heading: "frames matched", value: (s) => s.matchedShare, format: pct, best: "max" },
    { name: "stalls", heading: "stalls", value: (s) => s.stalls, best: "min" },
    { name: "stall_s", heading: "stalled", value: (s) => s.stallS, format: (v) => `${v.toFixed(1)} s`, best: "min" },
    { name: "outages", heading: "outages", value: (s) => s.outages, best: "min" },
  ],
  [
    STREAM,
    { name: "psnr_y_mean_db", heading: "PSNR-Y", value: (s) => s.psnrYMean, format: dB2, best: "max" },
    { name: "ssim_y_mean", heading: "SSIM-Y", value: (s) => s.ssimYMean, format: fixed(4), best: "max" },
    { name: "declared_kbps", heading: "bitrate declared", value: (s) => s.declaredKbps, format: kbps },
    { name: "measured_kbps", heading: "bitrate measured", value: (s) => s.measuredKbps, format: kbps },
    { name: "cost_per_hour_usd", heading: "cost per viewer-hour", value: (s) => s.costPerHourUsd, format: usd, best: "min" },
    { name: "cost_with_origin_per_hour_usd", heading: "with the origin", value: (s) => s.costWithOriginPerHourUsd, format: usd, best: "min" },
  ],
];

/** How each stored delivery figure is headed on the page; a figure added to the store must be given one here. */
const DELIVERY_HEADINGS: Record<DeliveryField, { heading: string; best?: "min" }> = {
  partDurationS: { heading: "part" },
  advertisedLatencyMs: { heading: "advertised target" },
  reloads: { heading: "blocking reloads" },
  reloadP50Ms: { heading: "reload p50" },
  reloadP95Ms: { heading: "reload p95" },
  earlyReloads: { heading: "answered early", best: "min" },
  partLateP50Ms: { heading: "part late p50", best: "min" },
  partLateP95Ms: { heading: "part late p95", best: "min" },
  advertisedRebuffers: { heading: "rebuffers at target", best: "min" },
  advertisedRebufferMs: { heading: "rebuffered at target", best: "min" },
};

/** A part's duration is stored in seconds and read in milliseconds, as the client's summary prints it. */
const asMs = (v: number) => formatFigure(RUNS.columns.advertisedLatencyMs, v * 1000);

/**
 * The delivery table: a low-latency run's protocol, container and stored delivery figures, each named (in CSV and
 * JSON) as its column in the database and shown with its column's unit.
 */
export const DELIVERY_COLUMNS: Column<DeliveryRow>[] = [
  { name: "configuration", heading: "configuration", value: (d) => d.configuration },
  { name: "database", heading: "database", value: (d) => d.database },
  { name: "run", heading: "run", value: (d) => d.run },
  { name: storedName("protocol"), heading: "protocol", value: (d) => d.protocol },
  { name: storedName("container"), heading: "container", value: (d) => d.container },
  ...(Object.entries(DELIVERY_HEADINGS) as [DeliveryField, (typeof DELIVERY_HEADINGS)[DeliveryField]][]).map(
    ([f, h]): Column<DeliveryRow> => ({
      name: storedName(f),
      heading: h.heading,
      value: (d) => d[f],
      format: f === "partDurationS" ? asMs : (v) => formatFigure(RUNS.columns[f], v),
      ...(h.best ? { best: h.best } : {}),
    }),
  ),
];

/** Rows as plain records, named as their columns. */
function records<T>(columns: readonly Column<T>[], rows: readonly T[]): Record<string, string | number | null>[] {
  return rows.map((row) => Object.fromEntries(columns.map((c) => [c.name, cellValue(c, row)])));
}

/** The figures as plain records, one per configuration, named as in the CSV. */
export function groupRecords(groups: readonly GroupFigures[]): Record<string, string | number | null>[] {
  return records(COLUMNS, groups);
}

function csvCell(v: string | number | null): string {
  if (v === null) return "";
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function groupsCsv(groups: readonly GroupFigures[]): string {
  const lines = [COLUMNS.map((c) => c.name).join(",")];
  for (const r of groupRecords(groups)) lines.push(COLUMNS.map((c) => csvCell(r[c.name] ?? null)).join(","));
  return `${lines.join("\n")}\n`;
}

/** What `--json` prints: the same figures as the HTML and CSV, plus the runs they came from and the prices used. */
export function reportJson(groups: readonly GroupFigures[], runs: readonly RunFacts[], prices: Prices, sources: readonly string[]) {
  return {
    prices: { ...prices, unit: "USD", note: "Fargate on demand, Linux/x86: per vCPU-hour and per GB-hour" },
    databases: sources,
    configurations: groupRecords(groups),
    runs: runs.map((r) => ({
      database: r.source,
      run: r.run,
      format: r.format,
      stream_id: r.streamId,
      configuration: groupLabel(r),
      measured_s: r.measuredMs / 1000,
      frames_new: r.framesNew,
      dropped: r.dropped,
      unreadable: r.unreadable,
      stalls: r.stalls,
      fps_achieved: r.fpsAchieved,
      healthy_s: r.healthyMs / 1000,
      failed: r.failed,
      ...Object.fromEntries(FORMAT_FIELDS.map((f) => [storedName(f), r.stream[f]])),
    })),
    delivery: records(DELIVERY_COLUMNS, deliveryRows(runs)),
  };
}

/** The runs a report read, one row each. */
export const RUN_COLUMNS: Column<RunFacts>[] = [
  { name: "database", heading: "database", value: (r) => r.source },
  { name: "run", heading: "run", value: (r) => r.run },
  { name: "format", heading: "format", value: (r) => r.format },
  { name: "stream_id", heading: "stream", value: (r) => r.streamId },
  { name: "measured_s", heading: "measured", value: (r) => r.measuredMs / 1000, format: (v) => `${(v / 60).toFixed(1)} min` },
  { name: "frames_new", heading: "new frames", value: (r) => r.framesNew },
  { name: "dropped", heading: "dropped", value: (r) => r.dropped },
  { name: "fps_achieved", heading: "fps achieved", value: (r) => r.fpsAchieved, format: fixed(2) },
  {
    name: "healthy_h",
    heading: "healthy",
    value: (r) => r.healthyMs / 3_600_000,
    format: (v, r) => `${v.toFixed(2)} h${r.failed ? " (failed)" : ""}`,
  },
];

/** A cell's value, or null where it is unknown or no finite number (nothing a report should show as NaN). */
export function cellValue<T>(c: Column<T>, row: T): string | number | null {
  const v = c.value(row);
  return typeof v === "number" && !Number.isFinite(v) ? null : v;
}

export function cellText<T>(c: Column<T>, row: T): string {
  const v = cellValue(c, row);
  if (v === null) return "–";
  return typeof v === "number" && c.format ? c.format(v, row) : String(v);
}
