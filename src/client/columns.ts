import type { Comparison } from "./comparison.ts";
import type { StreamEvent } from "./events.ts";
import type { StreamFacts } from "./source.ts";
import type { DeliveryFigures } from "./delivery.ts";
import type { FrameRecord, RunSummary, WindowSummary } from "./metrics.ts";

/**
 * Every stored figure, declared once: its column (name, SQL type, constraint), the record field it comes from, the
 * schema version that added it, and its unit for people. The CREATE TABLE statements, the migration of older files,
 * the INSERTs, the CSV export and the report's reader are all derived from these tables. Pure.
 *
 * Schema versions (a column's "added"): 1 the first; 2 added full-reference quality, bitrate and comparisons; 3 VMAF;
 * 4 the stream's format facts (protocol, container, codecs, rendition, declared bandwidth, segment duration); 5 a
 * low-latency stream's delivery (part duration, advertised latency, blocking reloads, part lateness, the player model
 * at the advertised latency); 6 a frame's join mark (an LL-HLS part the playlist the client joined on already listed).
 */

export type SqlType = "INTEGER" | "REAL" | "TEXT";
export type SqlValue = string | number | bigint | boolean | null;

interface ColumnBase {
  /** The column's name in SQL. */
  name: string;
  type: SqlType;
  /** Who writes it: the INSERT (default), a later UPDATE of the row, or SQLite itself (an autoincrement id). */
  filled?: "insert" | "later" | "sqlite";
  /** The field's value as stored, when not stored as it is (JSON text, 0/1). */
  encode?: (v: never) => SqlValue;
  /** The stored value as the field holds it, when read back (JSON text parsed). */
  decode?: (v: unknown) => unknown;
  /** For people (summary lines): the unit after the number, and its decimals. */
  unit?: string;
  digits?: number;
}

/**
 * A column of the first schema may carry a constraint (NOT NULL, DEFAULT, PRIMARY KEY); one added later cannot:
 * SQLite's ALTER TABLE ADD COLUMN takes no NOT NULL without a default, nor a key, so an older file could not gain it.
 */
export type Column = ColumnBase & ({ added?: undefined; constraint?: string } | { added: number; constraint?: never });

export interface Table<Row> {
  name: string;
  /** Keyed by the row's field, in the order of the table's columns. */
  columns: { readonly [K in keyof Row]-?: Column };
  /** Table constraints after the columns (a composite primary key). */
  constraints?: string[];
  withoutRowid?: boolean;
  indexes?: string[];
  /** The column a run's rows are exported in order of. */
  orderBy?: string;
}

export type Field<Row> = keyof Row & string;

const json = (v: unknown): SqlValue => (v === null || v === undefined ? null : (JSON.stringify(v) ?? null));
const parseJson = (v: unknown): unknown => {
  if (typeof v !== "string" || v === "") return null;
  try {
    return JSON.parse(v);
  } catch {
    return null;
  }
};

const int = (name: string, constraint?: string): Column => ({ name, type: "INTEGER", ...(constraint ? { constraint } : {}) });
const real = (name: string, constraint?: string): Column => ({ name, type: "REAL", ...(constraint ? { constraint } : {}) });
const text = (name: string, constraint?: string): Column => ({ name, type: "TEXT", ...(constraint ? { constraint } : {}) });
const ms = (name: string, constraint?: string): Column => ({ ...real(name, constraint), unit: "ms", digits: 0 });
const count = (name: string): Column => ({ ...int(name, "NOT NULL") });
/** A column that older files gain: nullable, no constraint. */
const added = (version: number, c: Column): Column => ({ ...c, constraint: undefined, added: version }) as Column;
/** Added in a later version and written at the run's end. */
const later = (version: number, c: Column): Column => ({ ...added(version, c), filled: "later" }) as Column;
const dB = (name: string): Column => ({ ...real(name), unit: "dB", digits: 1 });
const ssim = (name: string): Column => ({ ...real(name), digits: 4 });
const RUN_ID = int("run_id", "NOT NULL REFERENCES runs(id)");

/** What a run's row holds: what the client knows at its start, then what it learns at the end or on the way. */
export interface RunInfo extends StreamFacts {
  startedAtMs: number;
  url: string;
  playlistUrl: string | null;
  streamId: string | null;
  imageSize: number | null;
  sizeName: string | null;
  fps: number | null;
  cpu: string | null;
  memory: string | null;
  videoType: string | null;
  params: unknown;
  clockOffsetMs: number;
  clockUncertaintyMs: number | null;
  clockSynced: boolean;
  windowMs: number;
  vatVersion: string;
  options: unknown;
}

export interface RunRow extends RunInfo, DeliveryFigures {
  id: number;
  endedAtMs: number | null;
  status: string;
  summary: RunSummary | null;
  comparisonId: string | null;
  role: string | null;
}

export const RUNS: Table<RunRow> = {
  name: "runs",
  columns: {
    id: { ...int("id", "PRIMARY KEY AUTOINCREMENT"), filled: "sqlite" },
    startedAtMs: int("started_at_ms", "NOT NULL"),
    endedAtMs: { ...int("ended_at_ms"), filled: "later" },
    status: { ...text("status", "NOT NULL DEFAULT 'running'"), filled: "later" },
    url: text("url", "NOT NULL"),
    playlistUrl: text("playlist_url"),
    streamId: text("stream_id"),
    imageSize: int("image_size"),
    sizeName: text("size_name"),
    fps: real("fps"),
    cpu: text("cpu"),
    memory: text("memory"),
    videoType: text("video_type"),
    params: { ...text("params_json"), encode: json, decode: parseJson },
    clockOffsetMs: real("clock_offset_ms", "NOT NULL DEFAULT 0"),
    clockUncertaintyMs: real("clock_uncertainty_ms"),
    clockSynced: { ...int("clock_synced", "NOT NULL DEFAULT 0"), encode: (v: boolean) => (v ? 1 : 0), decode: (v) => v === 1 },
    windowMs: int("window_ms", "NOT NULL"),
    vatVersion: text("vat_version", "NOT NULL"),
    options: { ...text("options_json"), encode: json, decode: parseJson },
    summary: { ...text("summary_json"), filled: "later", encode: json, decode: parseJson },
    comparisonId: { ...added(2, text("comparison_id")), filled: "later" },
    role: { ...added(2, text("role")), filled: "later" },
    protocol: added(4, text("protocol")),
    container: added(4, text("container")),
    codecs: added(4, text("codecs")),
    rendition: added(4, text("rendition")),
    declaredBandwidthBps: added(4, { ...int("declared_bandwidth_bps"), unit: "bit/s" }),
    segmentDurationS: added(4, { ...real("segment_duration_s"), unit: "s", digits: 3 }),
    partDurationS: later(5, { ...real("part_duration_s"), unit: "s", digits: 3 }),
    advertisedLatencyMs: later(5, ms("advertised_latency_ms")),
    reloads: later(5, int("reloads")),
    reloadP50Ms: later(5, ms("reload_p50_ms")),
    reloadP95Ms: later(5, ms("reload_p95_ms")),
    earlyReloads: later(5, int("early_reloads")),
    partLateP50Ms: later(5, ms("part_late_p50_ms")),
    partLateP95Ms: later(5, ms("part_late_p95_ms")),
    advertisedRebuffers: later(5, int("advertised_rebuffers")),
    advertisedRebufferMs: later(5, ms("advertised_rebuffer_ms")),
  },
};

/** The run's delivery figures (client/delivery.ts), written with its end. */
export const DELIVERY_FIELDS = [
  "partDurationS", "advertisedLatencyMs", "reloads", "reloadP50Ms", "reloadP95Ms", "earlyReloads", "partLateP50Ms",
  "partLateP95Ms", "advertisedRebuffers", "advertisedRebufferMs",
] as const satisfies readonly (keyof DeliveryFigures)[];

export interface FrameRow extends FrameRecord {
  run: number;
}

export const FRAMES: Table<FrameRow> = {
  name: "frames",
  columns: {
    run: RUN_ID,
    index: int("idx", "NOT NULL"),
    kind: text("kind", "NOT NULL"),
    frameNumber: int("frame_number"),
    generatedAtMs: ms("generated_at_ms"),
    arrivedAtMs: ms("arrived_at_ms", "NOT NULL"),
    decodedAtMs: ms("decoded_at_ms", "NOT NULL"),
    playedAtMs: ms("played_at_ms"),
    latencyMs: ms("latency_ms"),
    gapBefore: count("gap_before"),
    segment: int("segment"),
    readMs: ms("read_ms"),
    psnrY: added(2, dB("psnr_y")),
    psnrAll: added(2, dB("psnr_all")),
    ssimY: added(2, ssim("ssim_y")),
    ssimAll: added(2, ssim("ssim_all")),
    atJoin: { ...added(6, int("at_join")), encode: (v: boolean) => (v ? 1 : 0), decode: (v) => v === 1 },
  },
  constraints: ["PRIMARY KEY (run_id, idx)"],
  withoutRowid: true,
  orderBy: "idx",
};

export interface WindowRow extends WindowSummary {
  run: number;
  /** From the VMAF samples of the frames that arrived in the window, once they are scored (after it closed). */
  vmafMean: number | null;
}

export const WINDOWS: Table<WindowRow> = {
  name: "windows",
  columns: {
    run: RUN_ID,
    index: int("idx", "NOT NULL"),
    startMs: ms("start_ms", "NOT NULL"),
    endMs: ms("end_ms", "NOT NULL"),
    framesDecoded: count("frames_decoded"),
    framesNew: count("frames_new"),
    fpsAchieved: { ...real("fps_achieved", "NOT NULL"), unit: "fps", digits: 1 },
    fpsStream: { ...real("fps_stream"), unit: "fps", digits: 1 },
    dropped: count("dropped"),
    duplicates: count("duplicates"),
    outOfOrder: count("out_of_order"),
    unreadable: count("unreadable"),
    stalls: count("stalls"),
    stallMs: ms("stall_ms", "NOT NULL"),
    latencyMinMs: ms("latency_min_ms"),
    latencyP50Ms: ms("latency_p50_ms"),
    latencyP95Ms: ms("latency_p95_ms"),
    latencyMaxMs: ms("latency_max_ms"),
    latencyMeanMs: ms("latency_mean_ms"),
    jitterMs: ms("jitter_ms"),
    psnrYMean: added(2, dB("psnr_y_mean")),
    psnrYMin: added(2, dB("psnr_y_min")),
    psnrYP5: added(2, dB("psnr_y_p5")),
    ssimYMean: added(2, ssim("ssim_y_mean")),
    ssimYMin: added(2, ssim("ssim_y_min")),
    ssimYP5: added(2, ssim("ssim_y_p5")),
    psnrAllMean: added(2, dB("psnr_all_mean")),
    ssimAllMean: added(2, ssim("ssim_all_mean")),
    bitrateKbps: added(2, { ...real("bitrate_kbps"), unit: "kbps", digits: 0 }),
    vmafMean: { ...added(3, { ...real("vmaf_mean"), digits: 1 }), filled: "later" },
  },
  constraints: ["PRIMARY KEY (run_id, idx)"],
  withoutRowid: true,
  orderBy: "idx",
};

/** Whether an event ended the run is the run's status, not a column. */
export interface EventRow extends Omit<StreamEvent, "fatal"> {
  id: number;
  run: number;
}

export const EVENTS: Table<EventRow> = {
  name: "events",
  columns: {
    id: { ...int("id", "PRIMARY KEY AUTOINCREMENT"), filled: "sqlite" },
    run: RUN_ID,
    atMs: ms("at_ms", "NOT NULL"),
    kind: text("kind", "NOT NULL"),
    durationMs: ms("duration_ms"),
    detail: text("detail"),
  },
  indexes: ["CREATE INDEX IF NOT EXISTS events_run ON events(run_id, at_ms)"],
  orderBy: "at_ms",
};

/** One frame's VMAF score (--vmaf samples every Nth frame). */
export interface VmafSample {
  frameIndex: number;
  frameNumber: number;
  arrivedAtMs: number;
  vmaf: number;
}

export const VMAF_SAMPLES: Table<VmafSample & { run: number }> = {
  name: "vmaf_samples",
  columns: {
    run: RUN_ID,
    frameIndex: int("frame_index", "NOT NULL"),
    frameNumber: int("frame_number", "NOT NULL"),
    arrivedAtMs: ms("arrived_at_ms", "NOT NULL"),
    vmaf: { ...real("vmaf", "NOT NULL"), digits: 1 },
  },
  constraints: ["PRIMARY KEY (run_id, frame_index)"],
  orderBy: "frame_index",
};

export interface ComparisonRow extends Comparison {
  comparisonId: string;
  run: number;
  controlRun: number;
}

export const COMPARISONS: Table<ComparisonRow> = {
  name: "comparisons",
  columns: {
    comparisonId: text("comparison_id", "NOT NULL"),
    run: int("run_id", "NOT NULL REFERENCES runs(id)"),
    controlRun: int("control_run_id", "NOT NULL REFERENCES runs(id)"),
    framesControl: count("frames_control"),
    framesMatched: count("frames_matched"),
    matchedShare: real("matched_share"),
    relativeLatencyP50Ms: ms("relative_latency_p50_ms"),
    relativeLatencyP95Ms: ms("relative_latency_p95_ms"),
    relativeLatencyMinMs: ms("relative_latency_min_ms"),
    relativeLatencyMaxMs: ms("relative_latency_max_ms"),
    relativeLatencyMeanMs: ms("relative_latency_mean_ms"),
  },
  constraints: ["PRIMARY KEY (comparison_id, run_id)"],
};

/** Every table, parents first (runs is referenced by the others). */
export const TABLES: readonly AnyTable[] = [RUNS, FRAMES, WINDOWS, EVENTS, VMAF_SAMPLES, COMPARISONS];

/** A table of whatever row, for what treats every table alike (creating, migrating). */
export type AnyTable = Table<Record<string, unknown>>;

function entries<Row>(t: Table<Row>): [Field<Row>, Column][] {
  return Object.entries(t.columns) as [Field<Row>, Column][];
}

/** The table's column names, in order. */
export function columnNames<Row>(t: Table<Row>): string[] {
  return entries(t).map(([, c]) => c.name);
}

function columnSql(c: Column): string {
  return [c.name, c.type, c.constraint].filter(Boolean).join(" ");
}

export function createTableSql<Row>(t: Table<Row>): string {
  const lines = [...entries(t).map(([, c]) => columnSql(c)), ...(t.constraints ?? [])];
  return `CREATE TABLE IF NOT EXISTS ${t.name} (\n  ${lines.join(",\n  ")}\n)${t.withoutRowid ? " WITHOUT ROWID" : ""};`;
}

/**
 * The ALTER TABLE statements that bring an older file's table up to date: one per column added since, missing from
 * the columns it has.
 */
export function migrationSql<Row>(t: Table<Row>, have: ReadonlySet<string>): string[] {
  return entries(t)
    .filter(([, c]) => c.added !== undefined && !have.has(c.name))
    .map(([, c]) => `ALTER TABLE ${t.name} ADD COLUMN ${columnSql(c)}`);
}

/** The fields a row's first write fills (not those filled later, nor SQLite's own id). */
export function insertFields<Row>(t: Table<Row>): Field<Row>[] {
  return entries(t).filter(([, c]) => (c.filled ?? "insert") === "insert").map(([f]) => f);
}

/** INSERT of the fields a row's first write fills, bound by field name ($field). */
export function insertSql<Row>(t: Table<Row>, verb = "INSERT"): string {
  const fields = insertFields(t);
  return `${verb} INTO ${t.name} (${fields.map((f) => t.columns[f].name).join(", ")}) VALUES (${fields.map((f) => `$${f}`).join(", ")})`;
}

/** UPDATE of some fields of the rows matching others, bound by field name. */
export function updateSql<Row>(t: Table<Row>, set: readonly Field<Row>[], where: readonly Field<Row>[]): string {
  const eq = (f: Field<Row>) => `${t.columns[f].name} = $${f}`;
  return `UPDATE ${t.name} SET ${set.map(eq).join(", ")} WHERE ${where.map(eq).join(" AND ")}`;
}

/** The values to bind for these fields of a record, as stored: encoded, and a field it lacks as null. */
export function bindValues<Row>(t: Table<Row>, row: Partial<Row>, fields: readonly Field<Row>[]): Record<string, SqlValue> {
  const out: Record<string, SqlValue> = {};
  for (const f of fields) {
    const c = t.columns[f];
    const v = row[f] as unknown;
    out[f] = c.encode ? (c.encode as (v: unknown) => SqlValue)(v) : v === undefined ? null : (v as SqlValue);
  }
  return out;
}

/**
 * SELECT of the given fields of a table, each as its field name. A column the file lacks (an older schema) reads as
 * null, so one reader serves every version.
 */
export function selectSql<Row>(
  t: Table<Row>,
  fields: readonly Field<Row>[],
  have: ReadonlySet<string>,
  where = "",
): string {
  const cols = fields.map((f) => {
    const name = t.columns[f].name;
    return have.has(name) ? `${name} AS "${f}"` : `NULL AS "${f}"`;
  });
  return `SELECT ${cols.join(", ")} FROM ${t.name}${where ? ` WHERE ${where}` : ""}`;
}

/**
 * A stored row as its record would hold it, trusting nothing: a number column holding text, NaN or infinity (a file
 * written by other hands) reads as null, a text column holding a number as its text, JSON that does not parse as null.
 */
export function decodeRow<Row, F extends Field<Row>>(t: Table<Row>, raw: Record<string, unknown>, fields: readonly F[]) {
  const out = {} as { [K in F]: Row[K] | null };
  for (const f of fields) {
    const c = t.columns[f];
    const v = raw[f];
    (out as Record<string, unknown>)[f] = c.decode ? c.decode(v) : decodeValue(c.type, v);
  }
  return out;
}

function decodeValue(type: SqlType, v: unknown): number | string | null {
  if (v === null || v === undefined) return null;
  if (type === "TEXT") return typeof v === "string" ? v : typeof v === "number" || typeof v === "bigint" ? String(v) : null;
  const n = typeof v === "bigint" ? Number(v) : v;
  return typeof n === "number" && Number.isFinite(n) ? n : null;
}

/** A figure for people, with its column's decimals and unit; "-" when unknown. */
export function formatFigure(c: Column, v: number | null | undefined, withUnit = true): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "-";
  const digits = c.digits ?? 0;
  const n = digits === 0 ? String(Math.round(v)) : v.toFixed(digits);
  return withUnit && c.unit ? `${n} ${c.unit}` : n;
}
