import { Database } from "bun:sqlite";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { percentile } from "../client/stats.ts";
import { VatError, badInput } from "../errors.ts";
import { SIZE_NAMES } from "../signal/profiles.ts";
import {
  EVENTS, FRAMES, RUNS, VMAF_SAMPLES, WINDOWS, decodeRow, selectSql, type Field, type Table,
} from "../client/columns.ts";
import type { RunFacts } from "./aggregate.ts";
import { DELIVERY_READ, NO_FORMAT, runFormat } from "./delivery.ts";

const DB_FILE = /\.(db|sqlite|sqlite3)$/i;

/** The database files named by PATHs: files as given, folders searched recursively. Sorted, no repeats. */
export function findDatabases(paths: readonly string[]): string[] {
  const found = new Set<string>();
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && DB_FILE.test(e.name)) found.add(p);
    }
  };
  for (const p of paths) {
    if (!existsSync(p)) throw badInput(`'${p}' does not exist: give database files or folders that hold them`);
    if (statSync(p).isDirectory()) walk(p);
    else found.add(p);
  }
  if (found.size === 0) throw badInput(`no databases (*.db, *.sqlite) in ${paths.map((p) => `'${p}'`).join(", ")}`);
  return [...found].sort();
}

/** Every run in one database: vat's own tables, or the Python prototype's stream_params/stream_data. */
export function readRuns(file: string): RunFacts[] {
  return readDatabase(file, (db, names) => {
    if (names.has("runs") && names.has("windows")) return readVat(db, file);
    if (names.has("stream_params") && names.has("stream_data")) return readPrototype(db, file, names.has("stream_data_final"));
    throw badInput(`'${file}' holds no vat runs and no prototype tables (stream_params, stream_data)`);
  });
}

/** A database opened read-only for `read` (given its tables), closed after; what cannot be read is bad input. */
export function readDatabase<T>(file: string, read: (db: Database, tables: Set<string>) => T): T {
  let db: Database;
  try {
    db = new Database(file, { readonly: true });
  } catch (err) {
    throw badInput(`cannot open '${file}': ${(err as Error).message}`);
  }
  try {
    return read(db, tables(db));
  } catch (err) {
    if (err instanceof VatError) throw err;
    throw badInput(`cannot read '${file}': ${(err as Error).message}`);
  } finally {
    db.close();
  }
}

/**
 * A `vat compare` playback is its provider's: named by its role in the providers file (nginx, nginx/2), not by the
 * host of its URL, which several providers (or one provider's several playbacks) may share.
 */
function comparedProviderNames(db: Database): Map<string, string> {
  const rows = db.query("SELECT comparison_id AS c, role AS r FROM compare_providers").all() as { c: unknown; r: unknown }[];
  return new Map(rows.flatMap((x) => (typeof x.c === "string" && typeof x.r === "string" ? [[`${x.c}\n${x.r}`, x.r] as [string, string]] : [])));
}

function tables(db: Database): Set<string> {
  return new Set((db.query("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')").all() as { name: string }[]).map((t) => t.name));
}

export function columns(db: Database, table: string): Set<string> {
  return new Set((db.query(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name));
}

export function memoryMiB(v: unknown): number | null {
  const n = Number(v);
  if (v === null || v === undefined || v === "" || !Number.isFinite(n) || n <= 0) return null;
  return n < 256 ? n * 1024 : n; // the old sweep's memory is in GB
}

export function numberOrNull(v: unknown): number | null {
  const n = Number(v);
  return v === null || v === undefined || v === "" || !Number.isFinite(n) ? null : n;
}

/**
 * A vat origin measured directly is "origin"; anything else is named by its URL's host and port (a provider, a CDN,
 * two relays on one machine), and so is every stream of a comparison but its control (whatever it passes through
 * from the origin). A stream of a comparison that knows its rendition (a ladder's, read with --variant all) is named
 * with it too: the renditions of one server are different streams.
 */
export function providerOf(url: string, params: Record<string, unknown> | null, role: string | null = null, rendition: string | null = null): string {
  const base = (role === null || role === "control") && params && typeof params.vat === "object" ? "origin" : hostOf(url);
  return role !== null && rendition ? `${base} ${rendition}` : base;
}

function hostOf(url: string): string {
  try {
    return new URL(url).host || "-";
  } catch {
    return "-";
  }
}

/** The fields of vat's tables the report reads, by table (columns an older file lacks read as null). */
const RUN_FIELDS = [
  "id", "startedAtMs", "endedAtMs", "url", "streamId", "imageSize", "sizeName", "fps", "cpu", "memory", "videoType", "params",
  "summary", "role", "comparisonId", "status", "rendition", ...DELIVERY_READ,
] as const;
const WINDOW_FIELDS = ["startMs", "endMs", "framesNew", "dropped", "unreadable", "stalls", "stallMs", "fpsAchieved", "latencyP50Ms"] as const;

/** A prepared query of some of a table's fields, decoded by the table's own rules (what is not a number reads as null). */
export function tableSelector(db: Database) {
  return <Row, F extends Field<Row>>(t: Table<Row>, fields: readonly F[], where: string, then = "") => {
    const q = db.query(`${selectSql(t, fields, columns(db, t.name), where)} ${then}`);
    return (...args: (string | number)[]) => (q.all(...args) as Record<string, unknown>[]).map((raw) => decodeRow(t, raw, fields));
  };
}

function readVat(db: Database, file: string): RunFacts[] {
  const select = tableSelector(db);
  const providerNames = tables(db).has("compare_providers") ? comparedProviderNames(db) : new Map<string, string>();
  const runs = select(RUNS, RUN_FIELDS, "", "ORDER BY id")();
  const windowsOf = select(WINDOWS, WINDOW_FIELDS, "run_id = ?", "ORDER BY idx");
  const latenciesOf = select(FRAMES, ["latencyMs"], "run_id = ? AND kind = 'new' AND latency_ms IS NOT NULL");
  const outagesOf = select(EVENTS, ["atMs"], "run_id = ? AND kind = 'outage'");
  const qualityOf = columns(db, FRAMES.name).has(FRAMES.columns.psnrY.name)
    ? select(FRAMES, ["psnrY", "ssimY"], "run_id = ? AND psnr_y IS NOT NULL")
    : () => [];
  const vmafOf = tables(db).has("vmaf_samples") ? select(VMAF_SAMPLES, ["vmaf"], "run_id = ?") : () => [];
  const out: RunFacts[] = [];
  for (const r of runs) {
    const id = r.id!;
    const windows = windowsOf(id);
    if (windows.length === 0) continue; // a run that measured nothing
    const started = r.startedAtMs ?? minOf(windows.map((w) => w.startMs));
    const ended = r.endedAtMs ?? maxOf(windows.map((w) => w.endMs));
    if (started === null) continue; // no time to measure it by
    const measuredMs = ended === null ? 0 : Math.max(0, ended - started);
    const params = isRecord(r.params) ? r.params : null;
    const summary = isRecord(r.summary) ? (r.summary as unknown as Record<string, unknown>) : null;
    const firstOutage = minOf(outagesOf(id).map((e) => e.atMs));
    const framesNew = sumOf(windows.map((w) => w.framesNew));
    // Stored as failed (it could not be measured, or stopped on an error), or its stream went out.
    const storedFailed = typeof r.status === "string" && r.status.startsWith("failed");
    const weighted = windows.filter((w) => w.fpsAchieved !== null && w.framesNew !== null);
    const framesWeight = sumOf(windows.map((w) => w.framesNew));
    out.push({
      source: file,
      run: id,
      format: "vat",
      streamId: r.streamId,
      size: r.sizeName ?? (r.imageSize !== null ? (SIZE_NAMES[r.imageSize] ?? null) : null),
      fps: r.fps,
      cpu: numberOrNull(r.cpu),
      memoryMiB: memoryMiB(r.memory),
      videoType: (r.videoType ?? "live").toLowerCase(),
      provider: (r.comparisonId !== null && r.role !== null ? providerNames.get(`${r.comparisonId}\n${r.role}`) : undefined) ??
        providerOf(r.url ?? "", params, r.role, r.rendition),
      startedAtMs: started,
      measuredMs,
      framesNew,
      // The run's own count when it finished: a late frame un-drops a gap a closed window had already counted.
      dropped: numberOrNull(summary?.dropped) ?? sumOf(windows.map((w) => w.dropped)),
      unreadable: sumOf(windows.map((w) => w.unreadable)),
      stalls: sumOf(windows.map((w) => w.stalls)),
      stallMs: sumOf(windows.map((w) => w.stallMs)),
      fpsAchieved:
        numberOrNull(summary?.fpsAchieved) ??
        (framesWeight > 0 ? sumOf(weighted.map((w) => w.fpsAchieved! * w.framesNew!)) / framesWeight : null),
      latencies: Float64Array.from(latenciesOf(id).flatMap((f) => (f.latencyMs === null ? [] : [f.latencyMs]))),
      latencyOverTime: windows.flatMap((w) =>
        w.startMs !== null && w.latencyP50Ms !== null ? [{ atS: (w.startMs - started) / 1000, p50Ms: w.latencyP50Ms }] : [],
      ),
      // A failed run that read no frame never had a healthy stream to measure.
      healthyMs: firstOutage !== null ? Math.max(0, firstOutage - started) : storedFailed && framesNew === 0 ? 0 : measuredMs,
      failed: firstOutage !== null || storedFailed,
      quality: qualityFacts(qualityOf(id), vmafOf(id).flatMap((v) => (v.vmaf === null ? [] : [v.vmaf]))),
      ...runFormat(r),
    });
  }
  return providerNames.size ? withControlConfiguration(out, runs) : out;
}

/**
 * A playback of a `vat compare` run reads no vat /params (a provider serves it), so it knows nothing of the origin's
 * size, rate or task: it is measured at its control's configuration, and grouped there by provider.
 */
function withControlConfiguration(facts: RunFacts[], runs: readonly { id: number | null; comparisonId: string | null; role: string | null }[]): RunFacts[] {
  const comparisonOf = new Map(runs.map((r) => [r.id, r.comparisonId]));
  const controls = new Map<string, RunFacts>();
  for (const f of facts) {
    const c = comparisonOf.get(f.run as number);
    if (c && runs.find((r) => r.id === f.run)?.role === "control") controls.set(c, f);
  }
  return facts.map((f) => {
    const control = controls.get(comparisonOf.get(f.run as number) ?? "");
    if (!control || control === f) return f;
    return { ...f, size: control.size, fps: control.fps, cpu: control.cpu, memoryMiB: control.memoryMiB, videoType: control.videoType };
  });
}

function qualityFacts(frames: { psnrY: number | null; ssimY: number | null }[], vmaf: number[]): RunFacts["quality"] {
  const scored = frames.filter((f) => f.psnrY !== null);
  if (scored.length === 0 && vmaf.length === 0) return null;
  return {
    frames: scored.length,
    psnrYSum: sumOf(scored.map((f) => f.psnrY)),
    ssimYSum: sumOf(scored.map((f) => f.ssimY)),
    vmafSamples: vmaf,
  };
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Sum, least and most of the values that are known (null: unknown, or a stored value that is no number). */
function sumOf(values: readonly (number | null)[]): number {
  let s = 0;
  for (const v of values) if (v !== null) s += v;
  return s;
}

function minOf(values: readonly (number | null)[]): number | null {
  const known = values.filter((v): v is number => v !== null);
  return known.length ? known.reduce((m, v) => Math.min(m, v)) : null;
}

function maxOf(values: readonly (number | null)[]): number | null {
  const known = values.filter((v): v is number => v !== null);
  return known.length ? known.reduce((m, v) => Math.max(m, v)) : null;
}

/**
 * The prototype's databases: stream_params(cpu, ram, image_size, fps, video_type, analysis_number) and
 * stream_data(frame_number, frame_number_received, time_generated, time_received, analysis_number), times in seconds.
 * They record no unreadable frames or stalls (shown as unknown); hours lasted is the span of received frames.
 * Written by other hands, they are trusted in nothing: a frame whose number or arrival is no finite number is no
 * frame, one whose generation time is not gives no latency.
 */
function readPrototype(db: Database, file: string, hasFinal: boolean): RunFacts[] {
  const params = db.query("SELECT * FROM stream_params ORDER BY analysis_number").all() as Record<string, unknown>[];
  const frames = db.query(
    "SELECT frame_number AS n, time_generated AS g, time_received AS r FROM stream_data WHERE analysis_number = ? ORDER BY frame_number_received",
  );
  const final = hasFinal ? db.query("SELECT frames_dropped AS d FROM stream_data_final WHERE analysis_number = ?") : null;
  const out: RunFacts[] = [];
  for (const p of params) {
    const key = p.analysis_number as string | number | null;
    if (key === null || key === undefined) continue;
    const rows = (frames.all(key) as Record<string, unknown>[]).flatMap((x) => {
      const n = numberOrNull(x.n);
      const r = numberOrNull(x.r);
      return n === null || r === null ? [] : [{ n, r, g: numberOrNull(x.g) }];
    });
    if (rows.length === 0) continue;
    let first = Infinity;
    let last = -Infinity;
    let gaps = 0;
    let prev: number | null = null;
    for (const x of rows) {
      first = Math.min(first, x.r);
      last = Math.max(last, x.r);
      if (prev !== null && x.n > prev + 1) gaps += x.n - prev - 1;
      if (prev === null || x.n > prev) prev = x.n;
    }
    const spanMs = (last - first) * 1000;
    const droppedRows = final ? (final.all(key) as { d: unknown }[]).map((x) => numberOrNull(x.d)) : [];
    const droppedFinal = droppedRows.some((d) => d !== null) ? sumOf(droppedRows) : null;
    const sizeIndex = numberOrNull(p.image_size);
    const timed = rows.flatMap((x) => (x.g === null ? [] : [{ g: x.g, r: x.r }]));
    out.push({
      source: file,
      run: numberOrNull(key) ?? String(key),
      format: "prototype",
      streamId: null,
      size: sizeIndex !== null ? (SIZE_NAMES[sizeIndex] ?? null) : null,
      fps: numberOrNull(p.fps),
      cpu: numberOrNull(p.cpu),
      memoryMiB: memoryMiB(p.ram),
      videoType: String(p.video_type ?? "live").toLowerCase(),
      provider: "origin",
      startedAtMs: first * 1000,
      measuredMs: spanMs,
      framesNew: rows.length,
      dropped: droppedFinal ?? gaps,
      unreadable: null,
      stalls: null,
      stallMs: null,
      fpsAchieved: spanMs > 0 ? (rows.length - 1) / (spanMs / 1000) : null,
      latencies: Float64Array.from(timed.map((x) => (x.r - x.g) * 1000)),
      latencyOverTime: perMinuteMedian(timed, first),
      healthyMs: spanMs,
      failed: false,
      quality: null,
      stream: NO_FORMAT,
      delivery: null,
    });
  }
  return out;
}

function perMinuteMedian(rows: { g: number; r: number }[], first: number): { atS: number; p50Ms: number }[] {
  const buckets = new Map<number, number[]>();
  for (const x of rows) {
    const m = Math.floor((x.r - first) / 60);
    const b = buckets.get(m);
    const v = (x.r - x.g) * 1000;
    if (b) b.push(v);
    else buckets.set(m, [v]);
  }
  return [...buckets.entries()].sort((a, b) => a[0] - b[0]).map(([m, v]) => ({ atS: m * 60, p50Ms: percentile(v, 50)! }));
}
