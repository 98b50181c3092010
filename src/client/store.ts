import { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { badInput } from "../errors.ts";
import {
  bindValues, columnNames, COMPARISONS, createTableSql, DELIVERY_FIELDS, EVENTS, FRAMES, insertFields, insertSql, migrationSql, RUNS, TABLES,
  updateSql, VMAF_SAMPLES, WINDOWS, type RunInfo, type Table, type VmafSample,
} from "./columns.ts";
import { joinMarks, type Comparison } from "./comparison.ts";
import { NO_DELIVERY, type DeliveryFigures } from "./delivery.ts";
import type { StreamEvent } from "./events.ts";
import type { FrameRecord, RunSummary, WindowSummary } from "./metrics.ts";

/** The Python prototype's tables, as views, so its notebooks keep working (times in seconds, server clock). */
const PROTOTYPE_VIEWS = `
CREATE VIEW IF NOT EXISTS stream_data AS
  SELECT f.frame_number AS frame_number, f.idx AS frame_number_received,
         f.generated_at_ms / 1000.0 AS time_generated,
         (f.arrived_at_ms + r.clock_offset_ms) / 1000.0 AS time_received,
         f.run_id AS analysis_number
  FROM frames f JOIN runs r ON r.id = f.run_id
  WHERE f.kind <> 'unreadable';
CREATE VIEW IF NOT EXISTS stream_params AS
  SELECT cpu, memory AS ram, image_size, fps, video_type, id AS analysis_number FROM runs;
CREATE VIEW IF NOT EXISTS stream_data_final AS
  SELECT w.run_id AS analysis_number,
         CAST((w.start_ms - r.started_at_ms) / 60000 AS INTEGER) AS minute_count,
         SUM(w.frames_new) AS frames_received,
         SUM(w.dropped) AS frames_dropped,
         AVG(w.fps_achieved) AS avg_calculated_fps,
         SUM(w.latency_mean_ms * w.frames_new) / NULLIF(SUM(w.frames_new), 0) / 1000.0 AS avg_calculated_latency
  FROM windows w JOIN runs r ON r.id = w.run_id
  GROUP BY w.run_id, minute_count;
`;

const SCHEMA = [...TABLES.flatMap((t) => [createTableSql(t), ...(t.indexes ?? []).map((i) => `${i};`)]), PROTOTYPE_VIEWS].join("\n");

export type { RunInfo } from "./columns.ts";

/** One SQLite file holding many runs. Every window is one transaction: a kill -9 loses at most the open window. */
export class RunStore {
  private readonly db: Database;
  private insertFrame;
  private insertWindow;
  private insertEvent;

  constructor(path: string) {
    try {
      if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
      this.db = new Database(path, { create: true, strict: true });
      this.db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;");
      this.db.exec(SCHEMA);
      this.addMissingColumns();
    } catch (err) {
      throw badInput(`cannot use database '${path}': ${(err as Error).message}`);
    }
    this.insertFrame = this.db.prepare(insertSql(FRAMES));
    this.insertWindow = this.db.prepare(insertSql(WINDOWS));
    this.insertEvent = this.db.prepare(insertSql(EVENTS));
  }

  /** A database written by an earlier vat gains the columns added since (they stay empty for its old runs). */
  private addMissingColumns(): void {
    for (const t of TABLES) {
      const have = new Set((this.db.query(`PRAGMA table_info(${t.name})`).all() as { name: string }[]).map((c) => c.name));
      for (const sql of migrationSql(t, have)) this.db.exec(sql);
    }
  }

  createRun(r: RunInfo): number {
    const row = this.db.prepare(`${insertSql(RUNS)} RETURNING id`).get(bindValues(RUNS, r, insertFields(RUNS))) as { id: number };
    return row.id;
  }

  /** Writes a window and the frames it closed over in one transaction. */
  writeWindow(run: number, w: WindowSummary, frames: readonly FrameRecord[]): void {
    const frameFields = insertFields(FRAMES);
    const windowFields = insertFields(WINDOWS);
    this.db.transaction(() => {
      for (const f of frames) this.insertFrame.run(bindValues(FRAMES, { run, ...f }, frameFields));
      this.insertWindow.run(bindValues(WINDOWS, { run, ...w }, windowFields));
    })();
  }

  /** Marks a run as one stream of a comparison (control or provider). */
  setComparison(run: number, comparisonId: string, role: string): void {
    this.db.prepare(updateSql(RUNS, ["comparisonId", "role"], ["id"])).run({ id: run, comparisonId, role });
  }

  /** The stream id its frames carry, for a run whose server did not say (no /params). */
  noteStreamId(run: number, streamId: string): void {
    this.db.prepare("UPDATE runs SET stream_id = $streamId WHERE id = $run AND stream_id IS NULL").run({ run, streamId });
  }

  /** A run's new frames with their arrival, those that arrived at its join marked (comparison.ts joinMarks). */
  arrivals(run: number): { n: number; arrivedAtMs: number; atJoin: boolean }[] {
    const rows = this.db
      .query(
        `SELECT kind = 'new' AS fresh, frame_number AS n, arrived_at_ms AS arrivedAtMs, segment, at_join AS marked
         FROM frames WHERE run_id = $run ORDER BY idx`,
      )
      .all({ run }) as { fresh: number; n: number; arrivedAtMs: number; segment: number | null; marked: number | null }[];
    const atJoin = joinMarks(rows.map((r) => ({ segment: r.segment, arrivedAtMs: r.arrivedAtMs, atJoin: r.marked === 1 })));
    return rows.flatMap((r, i) => (r.fresh === 1 ? [{ n: r.n, arrivedAtMs: r.arrivedAtMs, atJoin: atJoin[i]! }] : []));
  }

  writeVmaf(run: number, s: VmafSample): void {
    this.db.prepare(insertSql(VMAF_SAMPLES, "INSERT OR REPLACE")).run(bindValues(VMAF_SAMPLES, { run, ...s }, insertFields(VMAF_SAMPLES)));
  }

  /** Each window's mean VMAF, from the samples of frames that arrived in it (scores come in after windows close). */
  fillWindowVmaf(run: number): void {
    this.db
      .prepare(
        `UPDATE windows SET vmaf_mean = (SELECT avg(v.vmaf) FROM vmaf_samples v WHERE v.run_id = windows.run_id
           AND v.arrived_at_ms >= windows.start_ms AND v.arrived_at_ms < windows.end_ms)
         WHERE run_id = $run`,
      )
      .run({ run });
  }

  writeComparison(comparisonId: string, run: number, controlRun: number, c: Comparison): void {
    const row = { comparisonId, run, controlRun, ...c };
    this.db.prepare(insertSql(COMPARISONS, "INSERT OR REPLACE")).run(bindValues(COMPARISONS, row, insertFields(COMPARISONS)));
  }

  writeEvent(run: number, e: StreamEvent): void {
    this.insertEvent.run(bindValues(EVENTS, { run, ...e }, insertFields(EVENTS)));
  }

  finishRun(run: number, endedAtMs: number, status: string, summary: RunSummary, delivery: DeliveryFigures = NO_DELIVERY): void {
    const row = { id: run, endedAtMs, status, summary, ...delivery };
    const set = ["endedAtMs", "status", "summary", ...DELIVERY_FIELDS] as const;
    this.db.prepare(updateSql(RUNS, set, ["id"])).run(bindValues(RUNS, row, ["id", ...set]));
  }

  /** A run's rows of a table, for CSV export: the table's columns, in its order. */
  rows(table: "windows" | "frames" | "events", run: number): Record<string, unknown>[] {
    const t = { windows: WINDOWS, frames: FRAMES, events: EVENTS }[table] as Table<{ run: number }>;
    const cols = columnNames(t).join(", ");
    return this.db.prepare(`SELECT ${cols} FROM ${t.name} WHERE run_id = $run ORDER BY ${t.orderBy}`).all({ run }) as Record<
      string,
      unknown
    >[];
  }

  /** Removes a run that failed before it measured anything; true when the database holds no run any more. */
  discardRun(run: number): boolean {
    this.db.transaction(() => {
      for (const t of [FRAMES, WINDOWS, EVENTS]) this.db.prepare(`DELETE FROM ${t.name} WHERE run_id = $run`).run({ run });
      this.db.prepare("DELETE FROM runs WHERE id = $run").run({ run });
    })();
    return (this.db.query("SELECT count(*) AS n FROM runs").get() as { n: number }).n === 0;
  }

  close(): void {
    this.db.close();
  }
}

/** RFC 4180 CSV. Pure. */
export function toCsv(rows: readonly Record<string, unknown>[]): string {
  if (rows.length === 0) return "";
  const cols = Object.keys(rows[0]!);
  const cell = (v: unknown) => {
    if (v === null || v === undefined) return "";
    const s = String(v);
    return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  return [cols.join(","), ...rows.map((r) => cols.map((c) => cell(r[c])).join(","))].join("\n") + "\n";
}
