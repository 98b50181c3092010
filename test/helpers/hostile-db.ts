import { UNKNOWN_FACTS } from "../../src/client/source.ts";
import { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { RunStore } from "../../src/client/store.ts";

/**
 * Markup a database written by other hands may hold in any text. Each would do something if it reached the page
 * unescaped: run a script, load an image whose error handler runs one, or end the page's style and add an element.
 */
export const HOSTILE = {
  script: "<script>window.__pwned = 'script'</script>",
  attribute: `"><img src="data:," onerror="window.__pwned = 'attribute'">`,
  style: "</style><b id=pwned>styled</b>",
} as const;
const ALL = Object.values(HOSTILE).join(" ");

/** Strings that must never appear in a report built from the hostile databases. */
export const MUST_NOT_APPEAR = ["<script>window", "<img", "onerror=\"window", "<b id=pwned", "NaN", "Infinity"];

/**
 * Two databases in dir, every text column holding markup and numbers that are none (text, NaN, infinity):
 * one of the prototype's tables, one of vat's own. Each still holds one run with real measurements.
 * Returns the files and the frames each run's good rows make.
 */
export function makeHostileDatabases(dir: string): { prototype: string; vat: string; goodFrames: { prototype: number; vat: number } } {
  mkdirSync(dir, { recursive: true });
  const prototype = join(dir, `${HOSTILE.attribute.replace(/\//g, "")}.db`);
  const db = new Database(prototype, { create: true });
  db.run("CREATE TABLE stream_params (cpu INTEGER, ram INTEGER, image_size INTEGER, fps INTEGER, video_type TEXT, analysis_number INTEGER)");
  db.run("CREATE TABLE stream_data (frame_number INTEGER, frame_number_received INTEGER, time_generated REAL, time_received REAL, analysis_number INTEGER)");
  db.run("CREATE TABLE stream_data_final (analysis_number INTEGER, minute_count INTEGER, frames_received INTEGER, frames_dropped INTEGER, avg_calculated_fps REAL, avg_calculated_latency REAL)");
  db.prepare("INSERT INTO stream_params VALUES (?, ?, ?, ?, ?, ?)").run("NaN", HOSTILE.style, "1e999", "Infinity", HOSTILE.attribute, HOSTILE.script);
  db.prepare("INSERT INTO stream_params VALUES (?, ?, ?, ?, ?, ?)").run(1024, 2, 2, 30, ALL, 8);
  const insert = db.prepare("INSERT INTO stream_data VALUES (?, ?, ?, ?, ?)");
  let goodPrototype = 0;
  for (const run of [HOSTILE.script, 8]) {
    for (let n = 0; n < 40; n++) {
      const g = 1_700_000_000 + n / 30;
      insert.run(n, n, g, g + 0.4, run);
      if (run === 8) goodPrototype++;
    }
    // Rows whose figures are none: text, an overflow to infinity, text where a time belongs.
    insert.run("many", 40, 1_700_000_002, 1_700_000_002.4, run);
    insert.run(41, 41, "NaN", 9e999, run);
    insert.run(42, 42, HOSTILE.script, "soon", run);
    insert.run(43, 43, -9e999, 1_700_000_002.5, run); // a frame that arrived, with no usable generation time
    if (run === 8) goodPrototype++;
  }
  db.prepare("INSERT INTO stream_data_final VALUES (?, 0, 40, ?, 'NaN', 'NaN')").run(8, "lots");
  db.close();

  const vat = join(dir, "vat.db");
  const store = new RunStore(vat);
  const id = store.createRun({
    startedAtMs: 1_000_000, url: `http://${HOSTILE.attribute}/`, playlistUrl: HOSTILE.script, streamId: HOSTILE.script, imageSize: 0,
    sizeName: HOSTILE.style, fps: 15, cpu: HOSTILE.script, memory: HOSTILE.attribute, videoType: ALL, params: { vat: HOSTILE.script },
    clockOffsetMs: 0, clockUncertaintyMs: null, clockSynced: false, windowMs: 10_000, vatVersion: HOSTILE.script, options: {}, ...UNKNOWN_FACTS, codecs: HOSTILE.script,
  });
  const frames = Array.from({ length: 20 }, (_, i) => ({
    index: i, kind: "new" as const, frameNumber: i, generatedAtMs: 1_000_000 + i * 66, arrivedAtMs: 1_000_500 + i * 66,
    decodedAtMs: 1_000_510 + i * 66, playedAtMs: 1_000_600 + i * 66, latencyMs: 500, gapBefore: 0, segment: 0, atJoin: false, readMs: 1,
    psnrY: 40, psnrAll: 41, ssimY: 0.99, ssimAll: 0.99,
  }));
  const window = {
    index: 0, startMs: 1_000_000, endMs: 1_010_000, framesDecoded: 20, framesNew: 20, fpsAchieved: 2, fpsStream: 15, dropped: 0,
    duplicates: 0, outOfOrder: 0, unreadable: 0, stalls: 0, stallMs: 0, latencyMinMs: 500, latencyP50Ms: 500, latencyP95Ms: 500,
    latencyMaxMs: 500, latencyMeanMs: 500, jitterMs: 0, psnrYMean: 40, psnrYMin: 40, psnrYP5: 40, ssimYMean: 0.99, ssimYMin: 0.99,
    ssimYP5: 0.99, psnrAllMean: 41, ssimAllMean: 0.99, bitrateKbps: 100,
  };
  store.writeWindow(id, window, frames);
  store.writeWindow(id, { ...window, index: 1, startMs: 1_010_000, endMs: 1_020_000 }, []);
  store.writeEvent(id, { kind: "stall", atMs: 1_000_700, durationMs: 5, detail: ALL });
  store.setComparison(id, HOSTILE.script, HOSTILE.style);
  store.finishRun(id, 1_020_000, HOSTILE.script, { fpsAchieved: HOSTILE.script } as never);
  store.close();
  // Then the hands that are not vat's: text and overflows where numbers belong.
  const raw = new Database(vat);
  raw.run("UPDATE windows SET frames_new = ?, dropped = 9e999, stall_ms = ?, fps_achieved = ?, latency_p50_ms = ? WHERE idx = 1", [
    HOSTILE.script, "NaN", HOSTILE.style, "Infinity",
  ]);
  raw.run("UPDATE frames SET latency_ms = ?, psnr_y = ? WHERE idx = 3", [HOSTILE.script, "NaN"]);
  raw.run("UPDATE frames SET latency_ms = -9e999 WHERE idx = 4");
  raw.run("UPDATE runs SET params_json = ?", [`{"vat": ${JSON.stringify(HOSTILE.script)}`]);
  raw.close();
  return { prototype, vat, goodFrames: { prototype: goodPrototype, vat: 20 } };
}
