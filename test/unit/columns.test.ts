import { NO_DELIVERY } from "../../src/client/delivery.ts";
import { UNKNOWN_FACTS } from "../../src/client/source.ts";
import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  bindValues, columnNames, createTableSql, decodeRow, EVENTS, formatFigure, FRAMES, migrationSql, RUNS, selectSql, TABLES,
  WINDOWS, type AnyTable, type Column, type RunInfo, type Table,
} from "../../src/client/columns.ts";
import type { FrameRecord, WindowSummary } from "../../src/client/metrics.ts";
import { RunStore, toCsv } from "../../src/client/store.ts";

/** The schema as vat wrote it before its columns were declared once, copied here as it was. */
/**
 * The schema of version 3, as vat wrote it then; version 4 added the stream's format facts to runs (at its end), 5 a
 * low-latency stream's delivery figures, 6 a frame's join mark.
 */
const VERSION_3 = `
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
const TODAY = `${VERSION_3}
ALTER TABLE runs ADD COLUMN protocol TEXT;
ALTER TABLE runs ADD COLUMN container TEXT;
ALTER TABLE runs ADD COLUMN codecs TEXT;
ALTER TABLE runs ADD COLUMN rendition TEXT;
ALTER TABLE runs ADD COLUMN declared_bandwidth_bps INTEGER;
ALTER TABLE runs ADD COLUMN segment_duration_s REAL;
ALTER TABLE runs ADD COLUMN part_duration_s REAL;
ALTER TABLE runs ADD COLUMN advertised_latency_ms REAL;
ALTER TABLE runs ADD COLUMN reloads INTEGER;
ALTER TABLE runs ADD COLUMN reload_p50_ms REAL;
ALTER TABLE runs ADD COLUMN reload_p95_ms REAL;
ALTER TABLE runs ADD COLUMN early_reloads INTEGER;
ALTER TABLE runs ADD COLUMN part_late_p50_ms REAL;
ALTER TABLE runs ADD COLUMN part_late_p95_ms REAL;
ALTER TABLE runs ADD COLUMN advertised_rebuffers INTEGER;
ALTER TABLE runs ADD COLUMN advertised_rebuffer_ms REAL;
ALTER TABLE frames ADD COLUMN at_join INTEGER;
`;

/** What the first schema lacked: the columns and tables added with quality, comparisons and VMAF. */
const ADDED = [
  "comparison_id TEXT", "role TEXT", "psnr_y REAL", "psnr_all REAL", "ssim_y REAL", "ssim_all REAL", "psnr_y_mean REAL",
  "psnr_y_min REAL", "psnr_y_p5 REAL", "ssim_y_mean REAL", "ssim_y_min REAL", "ssim_y_p5 REAL", "psnr_all_mean REAL",
  "ssim_all_mean REAL", "bitrate_kbps REAL", "vmaf_mean REAL",
];
const LATER_TABLES = ["vmaf_samples", "comparisons"];

/** Version 3 less what was added since the first version: an older vat's database. */
function firstSchema(): string {
  let s = VERSION_3;
  for (const t of LATER_TABLES) s = s.replace(new RegExp(`CREATE TABLE IF NOT EXISTS ${t} \\([\\s\\S]*?\\n\\);\\n`), "");
  for (const c of ADDED) s = s.replace(new RegExp(`\\n  ${c},?(?=\\n)`), "");
  return s.replace(/,\n\)/g, "\n)");
}

const run: RunInfo = {
  startedAtMs: 1_000_000, url: "http://x:5000", playlistUrl: null, streamId: "t", imageSize: 0, sizeName: "240p", fps: 15,
  cpu: null, memory: null, videoType: "live", params: { vat: { fps: 15 } }, clockOffsetMs: 5, clockUncertaintyMs: null,
  clockSynced: false, windowMs: 10_000, vatVersion: "0", options: { a: 1 }, ...UNKNOWN_FACTS,
};

const frame: FrameRecord = {
  index: 0, kind: "new", frameNumber: 3, generatedAtMs: 1_000_100, arrivedAtMs: 1_000_400, decodedAtMs: 1_000_410,
  playedAtMs: 1_000_500, latencyMs: 305, gapBefore: 0, segment: 1, atJoin: true, readMs: 2, psnrY: 44, psnrAll: 45, ssimY: 0.98, ssimAll: 0.99,
};

const window: WindowSummary = {
  index: 0, startMs: 1_000_000, endMs: 1_010_000, framesDecoded: 1, framesNew: 1, fpsAchieved: 0.1, fpsStream: null,
  dropped: 0, duplicates: 0, outOfOrder: 0, unreadable: 0, stalls: 0, stallMs: 0, latencyMinMs: 305, latencyP50Ms: 305,
  latencyP95Ms: 305, latencyMaxMs: 305, latencyMeanMs: 305, jitterMs: null, psnrYMean: 44, psnrYMin: 44, psnrYP5: 44,
  ssimYMean: 0.98, ssimYMin: 0.98, ssimYP5: 0.98, psnrAllMean: 45, ssimAllMean: 0.99, bitrateKbps: 321,
};

function shape(db: Database) {
  const tables = (db.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[]).map((t) => t.name);
  return {
    tables: Object.fromEntries(tables.map((t) => [t, db.query(`PRAGMA table_info(${t})`).all()])),
    other: db.query("SELECT type, name, sql FROM sqlite_master WHERE type IN ('view', 'index') AND sql IS NOT NULL ORDER BY name").all(),
  };
}

function withDir(f: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), "vat-columns-"));
  try {
    f(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("one declaration per stored figure", () => {
  test("the tables created from the declarations are the schema vat wrote before, column for column", () => {
    withDir((dir) => {
      const before = new Database(join(dir, "before.db"), { create: true });
      before.exec(TODAY);
      new RunStore(join(dir, "now.db")).close();
      const now = new Database(join(dir, "now.db"), { readonly: true });
      expect(shape(now)).toEqual(shape(before));
      expect(Object.keys(shape(now).tables).sort()).toEqual(TABLES.map((t) => t.name).sort());
      now.close();
      before.close();
    });
  });

  test("a database of the first schema is migrated, then written to; its old rows keep their values", () => {
    withDir((dir) => {
      const file = join(dir, "old.db");
      const old = new Database(file, { create: true });
      old.exec(firstSchema());
      expect((old.query("PRAGMA table_info(windows)").all() as unknown[]).length).toBe(20);
      old.exec(`INSERT INTO runs (id, started_at_ms, url, window_ms, vat_version) VALUES (1, 5, 'http://old', 10000, '0.1');
        INSERT INTO frames VALUES (1, 0, 'new', 9, 1, 2, 3, 4, 1, 0, 0, 0.5);
        INSERT INTO windows VALUES (1, 0, 0, 10, 1, 1, 0.1, NULL, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, NULL);
        INSERT INTO events (run_id, at_ms, kind, duration_ms, detail) VALUES (1, 7, 'outage', NULL, 'gone');`);
      old.close();

      const store = new RunStore(file);
      const id = store.createRun(run);
      store.writeWindow(id, window, [frame]);
      store.writeEvent(id, { kind: "stall", atMs: 1_000_200, durationMs: 80, detail: "frozen" });
      store.writeEvent(id, { kind: "outage", atMs: 1_000_300, detail: "no duration" });
      store.writeVmaf(id, { frameIndex: 0, frameNumber: 3, arrivedAtMs: 1_000_400, vmaf: 91.5 });
      store.fillWindowVmaf(id);
      store.setComparison(id, "c1", "control");
      store.writeComparison("c1", id, id, {
        framesControl: 1, framesMatched: 1, matchedShare: 1, relativeLatencyP50Ms: 0, relativeLatencyP95Ms: 0,
        relativeLatencyMinMs: 0, relativeLatencyMaxMs: 0, relativeLatencyMeanMs: 0,
      });
      store.finishRun(id, 1_010_000, "done", { framesNew: 1 } as never, {
        ...NO_DELIVERY, partDurationS: 0.2, advertisedLatencyMs: 600, reloads: 90, reloadP95Ms: 210, earlyReloads: 0,
      });
      const csv = toCsv(store.rows("windows", id));
      store.close();

      const db = new Database(file, { readonly: true });
      const fresh = new Database(join(dir, "fresh.db"), { create: true });
      fresh.exec(TODAY);
      expect(shape(db).tables).toEqual(shape(fresh).tables);
      fresh.close();
      expect(db.query("SELECT run_id, frame_number, psnr_y, ssim_all FROM frames ORDER BY run_id").all()).toEqual([
        { run_id: 1, frame_number: 9, psnr_y: null, ssim_all: null },
        { run_id: id, frame_number: 3, psnr_y: 44, ssim_all: 0.99 },
      ]);
      expect(db.query("SELECT run_id, at_join FROM frames ORDER BY run_id").all()).toEqual([{ run_id: 1, at_join: null }, { run_id: id, at_join: 1 }]);
      expect(db.query("SELECT run_id, bitrate_kbps, vmaf_mean FROM windows ORDER BY run_id").all()).toEqual([
        { run_id: 1, bitrate_kbps: null, vmaf_mean: null },
        { run_id: id, bitrate_kbps: 321, vmaf_mean: 91.5 },
      ]);
      expect(db.query("SELECT run_id, kind, duration_ms, detail FROM events ORDER BY id").all()).toEqual([
        { run_id: 1, kind: "outage", duration_ms: null, detail: "gone" },
        { run_id: id, kind: "stall", duration_ms: 80, detail: "frozen" },
        { run_id: id, kind: "outage", duration_ms: null, detail: "no duration" },
      ]);
      expect(db.query("SELECT id, status, role, comparison_id, clock_synced, params_json, options_json, summary_json FROM runs ORDER BY id").all()).toEqual([
        { id: 1, status: "running", role: null, comparison_id: null, clock_synced: 0, params_json: null, options_json: null, summary_json: null },
        {
          id, status: "done", role: "control", comparison_id: "c1", clock_synced: 0, params_json: '{"vat":{"fps":15}}',
          options_json: '{"a":1}', summary_json: '{"framesNew":1}',
        },
      ]);
      expect(db.query("SELECT id, part_duration_s, advertised_latency_ms, reloads, reload_p95_ms, early_reloads, part_late_p50_ms FROM runs ORDER BY id").all()).toEqual([
        { id: 1, part_duration_s: null, advertised_latency_ms: null, reloads: null, reload_p95_ms: null, early_reloads: null, part_late_p50_ms: null },
        { id, part_duration_s: 0.2, advertised_latency_ms: 600, reloads: 90, reload_p95_ms: 210, early_reloads: 0, part_late_p50_ms: null },
      ]);
      expect(db.query("SELECT run_id, control_run_id, frames_matched FROM comparisons").all()).toEqual([{ run_id: id, control_run_id: id, frames_matched: 1 }]);
      expect(db.query("SELECT * FROM vmaf_samples").all()).toEqual([{ run_id: id, frame_index: 0, frame_number: 3, arrived_at_ms: 1_000_400, vmaf: 91.5 }]);
      db.close();
      expect(csv.split("\n")[0]).toBe(columnNames(WINDOWS).join(","));
    });
  });

  test("the CSV export's headers are each table's columns, in order, as the schema had them", () => {
    withDir((dir) => {
      const store = new RunStore(join(dir, "s.db"));
      const id = store.createRun(run);
      store.writeWindow(id, window, [frame]);
      store.writeEvent(id, { kind: "stall", atMs: 1, durationMs: 2, detail: "x" });
      const before = new Database(":memory:");
      before.exec(TODAY);
      for (const [table, t] of [["windows", WINDOWS], ["frames", FRAMES], ["events", EVENTS]] as [ "windows" | "frames" | "events", AnyTable][]) {
        const header = toCsv(store.rows(table, id)).split("\n")[0];
        expect(header).toBe(columnNames(t).join(","));
        expect(header).toBe((before.query(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name).join(","));
      }
      expect(toCsv(store.rows("frames", id)).split("\n")[1]).toBe(`${id},0,new,3,1000100,1000400,1000410,1000500,305,0,1,2,44,45,0.98,0.99,1`);
      before.close();
      store.close();
    });
  });

  test("an up-to-date table needs no migration; one lacking added columns gains exactly those", () => {
    expect(migrationSql(WINDOWS, new Set(columnNames(WINDOWS)))).toEqual([]);
    const first = new Set(columnNames(FRAMES).filter((c) => !["psnr_y", "ssim_all"].includes(c)));
    expect(migrationSql(FRAMES, first)).toEqual(["ALTER TABLE frames ADD COLUMN psnr_y REAL", "ALTER TABLE frames ADD COLUMN ssim_all REAL"]);
    expect(createTableSql(EVENTS)).toContain("id INTEGER PRIMARY KEY AUTOINCREMENT,\n  run_id INTEGER NOT NULL REFERENCES runs(id),");
  });

  test("a record is bound as stored; a stored row is read back trusting nothing", () => {
    expect(bindValues(RUNS, run, ["params", "clockSynced", "options", "playlistUrl"])).toEqual({
      params: '{"vat":{"fps":15}}', clockSynced: 0, options: '{"a":1}', playlistUrl: null,
    });
    expect(bindValues(EVENTS, { kind: "outage", atMs: 1, detail: "d" }, ["durationMs"])).toEqual({ durationMs: null });
    const fields = ["framesNew", "latencyP50Ms", "stallMs", "fpsStream", "endMs"] as const;
    expect(decodeRow(WINDOWS, { framesNew: "<b>7</b>", latencyP50Ms: Infinity, stallMs: NaN, fpsStream: 25n, endMs: 12.5 }, fields)).toEqual({
      framesNew: null, latencyP50Ms: null, stallMs: null, fpsStream: 25, endMs: 12.5,
    });
    expect(decodeRow(RUNS, { params: "{not json", url: 5, summary: '{"fpsAchieved":3}' }, ["params", "url", "summary"])).toEqual({
      params: null, url: "5", summary: { fpsAchieved: 3 } as never,
    });
    expect(selectSql(FRAMES, ["latencyMs", "psnrY"], new Set(["latency_ms"]), "run_id = ?")).toBe(
      'SELECT latency_ms AS "latencyMs", NULL AS "psnrY" FROM frames WHERE run_id = ?',
    );
  });

  test("figures for people take their column's unit and decimals", () => {
    expect(formatFigure(WINDOWS.columns.latencyP50Ms, 812.6)).toBe("813 ms");
    expect(formatFigure(WINDOWS.columns.psnrYMean, 41.26)).toBe("41.3 dB");
    expect(formatFigure(WINDOWS.columns.ssimYMean, 0.98765)).toBe("0.9877");
    expect(formatFigure(WINDOWS.columns.fpsAchieved, 29.97, false)).toBe("30.0");
    expect(formatFigure(WINDOWS.columns.latencyP50Ms, null)).toBe("-");
  });
});

describe("the compiler holds declarations and records together (checked by tsc)", () => {
  test("a field without a column, or a column without a field, does not compile", () => {
    // @ts-expect-error: b has no column
    const missing: Table<{ a: number; b: number }> = { name: "t", columns: { a: { name: "a", type: "REAL" } } };
    const extra: Table<{ a: number }> = {
      name: "t",
      // @ts-expect-error: c is no field of the record
      columns: { a: { name: "a", type: "REAL" }, c: { name: "c", type: "REAL" } },
    };
    // @ts-expect-error: a column added to older files cannot be NOT NULL (ALTER TABLE could not add it)
    const notNull: Column = { name: "a", type: "REAL", added: 2, constraint: "NOT NULL" };
    expect([missing, extra, notNull].map((t) => t.name)).toEqual(["t", "t", "a"]);
  });
});
