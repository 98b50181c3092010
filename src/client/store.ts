import { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { badInput } from "../errors.ts";
import type { StreamEvent } from "./events.ts";
import type { Comparison } from "./comparison.ts";
import type { FrameRecord, RunSummary, WindowSummary } from "./metrics.ts";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  started_at_ms INTEGER NOT NULL,
  ended_at_ms INTEGER,
  status TEXT NOT NULL DEFAULT 'running',
  url TEXT NOT NULL,
  playlist_url TEXT,
  stream_id TEXT,
  image_size INTEGER,
  size_name TEXT,
  fps REAL,
  cpu TEXT,
  memory TEXT,
  video_type TEXT,
  params_json TEXT,
  clock_offset_ms REAL NOT NULL DEFAULT 0,
  clock_uncertainty_ms REAL,
  clock_synced INTEGER NOT NULL DEFAULT 0,
  window_ms INTEGER NOT NULL,
  vat_version TEXT NOT NULL,
  options_json TEXT,
  summary_json TEXT,
  comparison_id TEXT,
  role TEXT
);
CREATE TABLE IF NOT EXISTS frames (
  run_id INTEGER NOT NULL REFERENCES runs(id),
  idx INTEGER NOT NULL,
  kind TEXT NOT NULL,
  frame_number INTEGER,
  generated_at_ms REAL,
  arrived_at_ms REAL NOT NULL,
  decoded_at_ms REAL NOT NULL,
  played_at_ms REAL,
  latency_ms REAL,
  gap_before INTEGER NOT NULL,
  segment INTEGER,
  read_ms REAL,
  psnr_y REAL,
  psnr_all REAL,
  ssim_y REAL,
  ssim_all REAL,
  PRIMARY KEY (run_id, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS windows (
  run_id INTEGER NOT NULL REFERENCES runs(id),
  idx INTEGER NOT NULL,
  start_ms REAL NOT NULL,
  end_ms REAL NOT NULL,
  frames_decoded INTEGER NOT NULL,
  frames_new INTEGER NOT NULL,
  fps_achieved REAL NOT NULL,
  fps_stream REAL,
  dropped INTEGER NOT NULL,
  duplicates INTEGER NOT NULL,
  out_of_order INTEGER NOT NULL,
  unreadable INTEGER NOT NULL,
  stalls INTEGER NOT NULL,
  stall_ms REAL NOT NULL,
  latency_min_ms REAL,
  latency_p50_ms REAL,
  latency_p95_ms REAL,
  latency_max_ms REAL,
  latency_mean_ms REAL,
  jitter_ms REAL,
  psnr_y_mean REAL,
  psnr_y_min REAL,
  psnr_y_p5 REAL,
  ssim_y_mean REAL,
  ssim_y_min REAL,
  ssim_y_p5 REAL,
  psnr_all_mean REAL,
  ssim_all_mean REAL,
  bitrate_kbps REAL,
  vmaf_mean REAL,
  PRIMARY KEY (run_id, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id INTEGER NOT NULL REFERENCES runs(id),
  at_ms REAL NOT NULL,
  kind TEXT NOT NULL,
  duration_ms REAL,
  detail TEXT
);
CREATE INDEX IF NOT EXISTS events_run ON events(run_id, at_ms);
CREATE TABLE IF NOT EXISTS vmaf_samples (
  run_id INTEGER NOT NULL REFERENCES runs(id),
  frame_index INTEGER NOT NULL,
  frame_number INTEGER NOT NULL,
  arrived_at_ms REAL NOT NULL,
  vmaf REAL NOT NULL,
  PRIMARY KEY (run_id, frame_index)
);
CREATE TABLE IF NOT EXISTS comparisons (
  comparison_id TEXT NOT NULL,
  run_id INTEGER NOT NULL REFERENCES runs(id),
  control_run_id INTEGER NOT NULL REFERENCES runs(id),
  frames_control INTEGER NOT NULL,
  frames_matched INTEGER NOT NULL,
  matched_share REAL,
  relative_latency_p50_ms REAL,
  relative_latency_p95_ms REAL,
  relative_latency_min_ms REAL,
  relative_latency_max_ms REAL,
  relative_latency_mean_ms REAL,
  PRIMARY KEY (comparison_id, run_id)
);

-- The Python prototype's tables, as views, so its notebooks keep working (times in seconds, server clock).
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

/** Columns added after the first version of the schema, by table, with their types. */
const ADDED_COLUMNS: Record<string, string[]> = {
  runs: ["comparison_id TEXT", "role TEXT"],
  frames: ["psnr_y", "psnr_all", "ssim_y", "ssim_all"].map((c) => `${c} REAL`),
  windows: [
    "psnr_y_mean", "psnr_y_min", "psnr_y_p5", "ssim_y_mean", "ssim_y_min", "ssim_y_p5", "psnr_all_mean", "ssim_all_mean",
    "bitrate_kbps", "vmaf_mean",
  ].map((c) => `${c} REAL`),
};

export interface RunInfo {
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
    this.insertFrame = this.db.prepare(
      `INSERT INTO frames (run_id, idx, kind, frame_number, generated_at_ms, arrived_at_ms, decoded_at_ms, played_at_ms,
        latency_ms, gap_before, segment, read_ms, psnr_y, psnr_all, ssim_y, ssim_all)
       VALUES ($run, $index, $kind, $frameNumber, $generatedAtMs, $arrivedAtMs, $decodedAtMs, $playedAtMs, $latencyMs,
        $gapBefore, $segment, $readMs, $psnrY, $psnrAll, $ssimY, $ssimAll)`,
    );
    this.insertWindow = this.db.prepare(
      `INSERT INTO windows (run_id, idx, start_ms, end_ms, frames_decoded, frames_new, fps_achieved, fps_stream, dropped,
        duplicates, out_of_order, unreadable, stalls, stall_ms, latency_min_ms, latency_p50_ms, latency_p95_ms,
        latency_max_ms, latency_mean_ms, jitter_ms, psnr_y_mean, psnr_y_min, psnr_y_p5, ssim_y_mean, ssim_y_min,
        ssim_y_p5, psnr_all_mean, ssim_all_mean, bitrate_kbps)
       VALUES ($run, $index, $startMs, $endMs, $framesDecoded, $framesNew, $fpsAchieved, $fpsStream, $dropped,
        $duplicates, $outOfOrder, $unreadable, $stalls, $stallMs, $latencyMinMs, $latencyP50Ms, $latencyP95Ms,
        $latencyMaxMs, $latencyMeanMs, $jitterMs, $psnrYMean, $psnrYMin, $psnrYP5, $ssimYMean, $ssimYMin, $ssimYP5,
        $psnrAllMean, $ssimAllMean, $bitrateKbps)`,
    );
    this.insertEvent = this.db.prepare(
      "INSERT INTO events (run_id, at_ms, kind, duration_ms, detail) VALUES ($run, $atMs, $kind, $durationMs, $detail)",
    );
  }

  /** A database written by an earlier vat gains the columns added since (they stay empty for its old runs). */
  private addMissingColumns(): void {
    for (const [table, columns] of Object.entries(ADDED_COLUMNS)) {
      const have = new Set((this.db.query(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name));
      for (const c of columns) if (!have.has(c.split(" ")[0]!)) this.db.exec(`ALTER TABLE ${table} ADD COLUMN ${c}`);
    }
  }

  createRun(r: RunInfo): number {
    const row = this.db
      .prepare(
        `INSERT INTO runs (started_at_ms, url, playlist_url, stream_id, image_size, size_name, fps, cpu, memory,
          video_type, params_json, clock_offset_ms, clock_uncertainty_ms, clock_synced, window_ms, vat_version,
          options_json)
         VALUES ($startedAtMs, $url, $playlistUrl, $streamId, $imageSize, $sizeName, $fps, $cpu, $memory, $videoType,
          $params, $clockOffsetMs, $clockUncertaintyMs, $clockSynced, $windowMs, $vatVersion, $options) RETURNING id`,
      )
      .get({
        ...r,
        params: r.params === null || r.params === undefined ? null : JSON.stringify(r.params),
        options: JSON.stringify(r.options),
        clockSynced: r.clockSynced ? 1 : 0,
      }) as { id: number };
    return row.id;
  }

  /** Writes a window and the frames it closed over in one transaction. */
  writeWindow(run: number, w: WindowSummary, frames: readonly FrameRecord[]): void {
    this.db.transaction(() => {
      for (const f of frames) this.insertFrame.run({ run, ...f });
      this.insertWindow.run({ run, ...w });
    })();
  }

  /** Marks a run as one stream of a comparison (control or provider). */
  setComparison(run: number, comparisonId: string, role: string): void {
    this.db.prepare("UPDATE runs SET comparison_id = $comparisonId, role = $role WHERE id = $run").run({ run, comparisonId, role });
  }

  /** The stream id its frames carry, for a run whose server did not say (no /params). */
  noteStreamId(run: number, streamId: string): void {
    this.db.prepare("UPDATE runs SET stream_id = $streamId WHERE id = $run AND stream_id IS NULL").run({ run, streamId });
  }

  /** A run's new frames: number and arrival. */
  arrivals(run: number): { n: number; arrivedAtMs: number }[] {
    return this.db
      .query("SELECT frame_number AS n, arrived_at_ms AS arrivedAtMs FROM frames WHERE run_id = $run AND kind = 'new' ORDER BY idx")
      .all({ run }) as { n: number; arrivedAtMs: number }[];
  }

  writeVmaf(run: number, s: { frameIndex: number; frameNumber: number; arrivedAtMs: number; vmaf: number }): void {
    this.db
      .prepare("INSERT OR REPLACE INTO vmaf_samples VALUES ($run, $frameIndex, $frameNumber, $arrivedAtMs, $vmaf)")
      .run({ run, ...s });
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
    this.db
      .prepare(
        `INSERT OR REPLACE INTO comparisons VALUES ($comparisonId, $run, $controlRun, $framesControl, $framesMatched,
          $matchedShare, $relativeLatencyP50Ms, $relativeLatencyP95Ms, $relativeLatencyMinMs, $relativeLatencyMaxMs,
          $relativeLatencyMeanMs)`,
      )
      .run({ comparisonId, run, controlRun, ...c });
  }

  writeEvent(run: number, e: StreamEvent): void {
    this.insertEvent.run({ run, atMs: e.atMs, kind: e.kind, durationMs: e.durationMs ?? null, detail: e.detail });
  }

  finishRun(run: number, endedAtMs: number, status: string, summary: RunSummary): void {
    this.db
      .prepare("UPDATE runs SET ended_at_ms = $endedAtMs, status = $status, summary_json = $summary WHERE id = $run")
      .run({ run, endedAtMs, status, summary: JSON.stringify(summary) });
  }

  /** Rows of a table or view for one run, for CSV export. */
  rows(table: "windows" | "frames" | "events", run: number): Record<string, unknown>[] {
    const order = table === "events" ? "at_ms" : "idx";
    return this.db.prepare(`SELECT * FROM ${table} WHERE run_id = $run ORDER BY ${order}`).all({ run }) as Record<
      string,
      unknown
    >[];
  }

  /** Removes a run that failed before it measured anything; true when the database holds no run any more. */
  discardRun(run: number): boolean {
    this.db.transaction(() => {
      for (const table of ["frames", "windows", "events"]) this.db.prepare(`DELETE FROM ${table} WHERE run_id = $run`).run({ run });
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
