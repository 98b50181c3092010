import { Database } from "bun:sqlite";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { percentile } from "../client/stats.ts";
import { VatError, badInput } from "../errors.ts";
import { SIZE_NAMES } from "../signal/profiles.ts";
import type { RunFacts } from "./aggregate.ts";

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
  let db: Database;
  try {
    db = new Database(file, { readonly: true });
  } catch (err) {
    throw badInput(`cannot open '${file}': ${(err as Error).message}`);
  }
  try {
    const names = tables(db);
    if (names.has("runs") && names.has("windows")) return readVat(db, file);
    if (names.has("stream_params") && names.has("stream_data")) return readPrototype(db, file, names.has("stream_data_final"));
    throw badInput(`'${file}' holds no vat runs and no prototype tables (stream_params, stream_data)`);
  } catch (err) {
    if (err instanceof VatError) throw err;
    throw badInput(`cannot read '${file}': ${(err as Error).message}`);
  } finally {
    db.close();
  }
}

function tables(db: Database): Set<string> {
  return new Set((db.query("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')").all() as { name: string }[]).map((t) => t.name));
}

function columns(db: Database, table: string): Set<string> {
  return new Set((db.query(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name));
}

function qualityOf(q: { n: number; p: number; s: number } | undefined, vmaf: { vmaf: number }[]): RunFacts["quality"] {
  if ((!q || q.n === 0) && vmaf.length === 0) return null;
  return { frames: q?.n ?? 0, psnrYSum: q?.p ?? 0, ssimYSum: q?.s ?? 0, vmafSamples: vmaf.map((v) => v.vmaf) };
}

function memoryMiB(v: unknown): number | null {
  const n = Number(v);
  if (v === null || v === undefined || v === "" || !Number.isFinite(n) || n <= 0) return null;
  return n < 256 ? n * 1024 : n; // the old sweep's memory is in GB
}

function numberOrNull(v: unknown): number | null {
  const n = Number(v);
  return v === null || v === undefined || v === "" || !Number.isFinite(n) ? null : n;
}

/**
 * A vat origin measured directly is "origin"; anything else is named by its URL's host (a provider, a CDN), and so is
 * every stream of a comparison but its control (whatever it passes through from the origin).
 */
export function providerOf(url: string, params: Record<string, unknown> | null, role: string | null = null): string {
  if (role !== null && role !== "control") return hostOf(url);
  if (params && typeof params.vat === "object") return "origin";
  return hostOf(url);
}

function hostOf(url: string): string {
  try {
    return new URL(url).hostname || "-";
  } catch {
    return "-";
  }
}

function readVat(db: Database, file: string): RunFacts[] {
  const runs = db.query("SELECT * FROM runs ORDER BY id").all() as Record<string, any>[];
  const windows = db.query(
    `SELECT count(*) AS n, max(end_ms) AS end_ms, sum(frames_new) AS frames_new, sum(dropped) AS dropped,
            sum(unreadable) AS unreadable, sum(stalls) AS stalls, sum(stall_ms) AS stall_ms,
            sum(fps_achieved * frames_new) / nullif(sum(frames_new), 0) AS fps
     FROM windows WHERE run_id = ?`,
  );
  const series = db.query("SELECT start_ms, latency_p50_ms FROM windows WHERE run_id = ? AND latency_p50_ms IS NOT NULL ORDER BY idx");
  const lat = db.query("SELECT latency_ms FROM frames WHERE run_id = ? AND kind = 'new' AND latency_ms IS NOT NULL");
  const outage = db.query("SELECT min(at_ms) AS at FROM events WHERE run_id = ? AND kind = 'outage'");
  const hasQuality = columns(db, "frames").has("psnr_y");
  const quality = hasQuality
    ? db.query("SELECT count(psnr_y) AS n, sum(psnr_y) AS p, sum(ssim_y) AS s FROM frames WHERE run_id = ? AND psnr_y IS NOT NULL")
    : null;
  const vmaf = tables(db).has("vmaf_samples") ? db.query("SELECT vmaf FROM vmaf_samples WHERE run_id = ?") : null;
  const out: RunFacts[] = [];
  for (const r of runs) {
    const w = windows.get(r.id) as Record<string, number | null>;
    if (!w.n) continue; // a run that measured nothing
    const started = r.started_at_ms as number;
    const ended = (r.ended_at_ms as number | null) ?? (w.end_ms as number);
    const measuredMs = Math.max(0, ended - started);
    let params: Record<string, unknown> | null = null;
    try {
      params = r.params_json ? JSON.parse(r.params_json) : null;
    } catch {
      params = null;
    }
    let summary: Record<string, unknown> | null = null;
    try {
      summary = r.summary_json ? JSON.parse(r.summary_json) : null;
    } catch {
      summary = null;
    }
    const firstOutage = (outage.get(r.id) as { at: number | null }).at;
    out.push({
      source: file,
      run: r.id,
      format: "vat",
      streamId: r.stream_id ?? null,
      size: r.size_name ?? (r.image_size !== null ? (SIZE_NAMES[r.image_size] ?? null) : null),
      fps: numberOrNull(r.fps),
      cpu: numberOrNull(r.cpu),
      memoryMiB: memoryMiB(r.memory),
      videoType: String(r.video_type ?? "live").toLowerCase(),
      provider: providerOf(r.url, params, (r.role as string | null | undefined) ?? null),
      startedAtMs: started,
      measuredMs,
      framesNew: w.frames_new ?? 0,
      dropped: w.dropped ?? 0,
      unreadable: w.unreadable ?? 0,
      stalls: w.stalls ?? 0,
      stallMs: w.stall_ms ?? 0,
      fpsAchieved: numberOrNull(summary?.fpsAchieved) ?? numberOrNull(w.fps),
      latencies: Float64Array.from((lat.all(r.id) as { latency_ms: number }[]).map((x) => x.latency_ms)),
      latencyOverTime: (series.all(r.id) as { start_ms: number; latency_p50_ms: number }[]).map((x) => ({
        atS: (x.start_ms - started) / 1000,
        p50Ms: x.latency_p50_ms,
      })),
      healthyMs: firstOutage !== null ? Math.max(0, firstOutage - started) : measuredMs,
      failed: firstOutage !== null,
      quality: qualityOf(quality?.get(r.id) as { n: number; p: number; s: number } | undefined, (vmaf?.all(r.id) ?? []) as { vmaf: number }[]),
    });
  }
  return out;
}

/**
 * The prototype's databases: stream_params(cpu, ram, image_size, fps, video_type, analysis_number) and
 * stream_data(frame_number, frame_number_received, time_generated, time_received, analysis_number), times in seconds.
 * They record no unreadable frames or stalls (shown as unknown); hours lasted is the span of received frames.
 */
function readPrototype(db: Database, file: string, hasFinal: boolean): RunFacts[] {
  const params = db.query("SELECT * FROM stream_params ORDER BY analysis_number").all() as Record<string, any>[];
  const frames = db.query(
    "SELECT frame_number AS n, time_generated AS g, time_received AS r FROM stream_data WHERE analysis_number = ? ORDER BY frame_number_received",
  );
  const final = hasFinal ? db.query("SELECT sum(frames_dropped) AS d FROM stream_data_final WHERE analysis_number = ?") : null;
  const out: RunFacts[] = [];
  for (const p of params) {
    const rows = frames.all(p.analysis_number) as { n: number; g: number; r: number }[];
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
    const droppedFinal = final ? (final.get(p.analysis_number) as { d: number | null }).d : null;
    const sizeIndex = numberOrNull(p.image_size);
    out.push({
      source: file,
      run: p.analysis_number,
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
      latencies: Float64Array.from(rows.map((x) => (x.r - x.g) * 1000)),
      latencyOverTime: perMinuteMedian(rows, first),
      healthyMs: spanMs,
      failed: false,
      quality: null,
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
