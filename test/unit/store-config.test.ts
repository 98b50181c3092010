import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RunStore, type RunInfo } from "../../src/client/store.ts";
import type { FrameRecord, WindowSummary } from "../../src/client/metrics.ts";
import { resolveClientConfig } from "../../src/commands/client.ts";
import { resolveServeConfig } from "../../src/commands/serve.ts";
import { readEnv } from "../../src/env.ts";
import { VatError } from "../../src/errors.ts";

const run: RunInfo = {
  startedAtMs: 1_000_000, url: "http://x:5000", playlistUrl: "http://x:5000/video/stream.m3u8", streamId: "t",
  imageSize: 2, sizeName: "720p", fps: 30, cpu: "512", memory: "1024", videoType: "LIVE", params: { FPS: 30 },
  clockOffsetMs: 250, clockUncertaintyMs: 1, clockSynced: true, windowMs: 10_000, vatVersion: "0", options: {}, protocol: "hls", container: "fmp4", codecs: "avc1.64001f", rendition: "1280x720", declaredBandwidthBps: 2_500_000, segmentDurationS: 1,
};

function frameRec(index: number, n: number): FrameRecord {
  return {
    index, kind: "new", frameNumber: n, generatedAtMs: 1_000_000 + n * 100, arrivedAtMs: 1_000_500 + n * 100,
    decodedAtMs: 1_000_520 + n * 100, playedAtMs: 1_000_600 + n * 100, latencyMs: 750, gapBefore: 0, segment: 0, atJoin: false, readMs: 1,
    psnrY: 40 + n, psnrAll: 41 + n, ssimY: 0.99, ssimAll: 0.995,
  };
}

function windowRec(index: number, framesNew: number, dropped: number, latencyMeanMs: number): WindowSummary {
  return {
    index, startMs: 1_000_000 + index * 30_000, endMs: 1_000_000 + (index + 1) * 30_000, framesDecoded: framesNew,
    framesNew, fpsAchieved: framesNew / 30, fpsStream: 10, dropped, duplicates: 0, outOfOrder: 0, unreadable: 0,
    stalls: 0, stallMs: 0, latencyMinMs: 1, latencyP50Ms: 2, latencyP95Ms: 3, latencyMaxMs: 4, latencyMeanMs, jitterMs: 0,
    psnrYMean: 42, psnrYMin: 40, psnrYP5: 40.5, ssimYMean: 0.99, ssimYMin: 0.98, ssimYP5: 0.985, psnrAllMean: 43, ssimAllMean: 0.995, bitrateKbps: 800,
  };
}

describe("the SQLite store", () => {
  test("runs, windows, frames, events and the prototype's views", () => {
    const dir = mkdtempSync(join(tmpdir(), "vat-store-"));
    try {
      const path = join(dir, "sub", "s.db");
      const store = new RunStore(path);
      const id = store.createRun(run);
      store.writeWindow(id, windowRec(0, 2, 1, 500), [frameRec(0, 10), frameRec(1, 12)]);
      store.writeWindow(id, windowRec(1, 4, 0, 800), []);
      store.writeWindow(id, windowRec(2, 6, 3, 1000), []);
      store.writeEvent(id, { kind: "outage", atMs: 5, detail: "gone" });
      const id2 = store.createRun({ ...run, startedAtMs: 2_000_000 });
      expect(id2).toBe(id + 1);
      store.close();

      const db = new Database(path, { readonly: true });
      expect(db.query("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" });
      expect(db.query("SELECT count(*) AS n FROM frames").get()).toEqual({ n: 2 });
      expect(db.query("SELECT * FROM stream_data ORDER BY frame_number_received").all()).toEqual([
        { frame_number: 10, frame_number_received: 0, time_generated: 1001, time_received: 1001.75, analysis_number: id },
        { frame_number: 12, frame_number_received: 1, time_generated: 1001.2, time_received: 1001.95, analysis_number: id },
      ]);
      expect(db.query("SELECT * FROM stream_params WHERE analysis_number = ?").get(id)).toEqual({
        cpu: "512", ram: "1024", image_size: 2, fps: 30, video_type: "LIVE", analysis_number: id,
      });
      // Windows 0 and 1 start in minute 0, window 2 at 60 s: minute 1.
      expect(db.query("SELECT * FROM stream_data_final ORDER BY minute_count").all()).toEqual([
        {
          analysis_number: id, minute_count: 0, frames_received: 6, frames_dropped: 1,
          avg_calculated_fps: (2 / 30 + 4 / 30) / 2, avg_calculated_latency: (2 * 500 + 4 * 800) / 6 / 1000,
        },
        { analysis_number: id, minute_count: 1, frames_received: 6, frames_dropped: 3, avg_calculated_fps: 6 / 30, avg_calculated_latency: 1 },
      ]);
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a database from before the quality columns gains them, and keeps its rows", () => {
    const dir = mkdtempSync(join(tmpdir(), "vat-old-schema-"));
    try {
      const file = join(dir, "old.db");
      const old = new Database(file, { create: true });
      old.exec(`CREATE TABLE frames (run_id INTEGER NOT NULL, idx INTEGER NOT NULL, kind TEXT NOT NULL, frame_number INTEGER,
        generated_at_ms REAL, arrived_at_ms REAL NOT NULL, decoded_at_ms REAL NOT NULL, played_at_ms REAL, latency_ms REAL,
        gap_before INTEGER NOT NULL, segment INTEGER, read_ms REAL, PRIMARY KEY (run_id, idx)) WITHOUT ROWID;
        INSERT INTO frames VALUES (99, 0, 'new', 5, 1, 2, 3, 4, 1, 0, 0, 0.5);`);
      old.close();
      const store = new RunStore(file);
      const id = store.createRun(run);
      store.writeWindow(id, windowRec(0, 1, 0, 750), [frameRec(0, 7)]);
      store.close();
      const db = new Database(file, { readonly: true });
      expect(db.query("SELECT frame_number AS n, psnr_y AS p FROM frames ORDER BY run_id").all()).toEqual([{ n: 7, p: 47 }, { n: 5, p: null }]);
      expect(db.query("SELECT psnr_y_p5 AS p FROM windows").get()).toEqual({ p: 40.5 });
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("an unusable path is a one-line error", () => {
    expect(() => new RunStore("/proc/no/such/dir/x.db")).toThrow(VatError);
  });
});

describe("serve settings", () => {
  test("defaults", () => {
    expect(resolveServeConfig({}, readEnv({}))).toMatchObject({
      streamId: "vat", fps: 30, port: 5000, host: "0.0.0.0", segmentS: 1, listSize: 6, preset: "ultrafast", crf: 23,
      videoType: "live", size: { name: "720p" }, sizeIndex: 2,
    });
  });
  test("the launcher's environment variables, and flags winning over them", () => {
    const env = readEnv({ FPS: "15", IMAGE_SIZE: "0", CPU: "512", MEMORY: "2048", VIDEO_TYPE: "LIVE", ID: "task7" });
    expect(resolveServeConfig({}, env)).toMatchObject({
      fps: 15, size: { name: "240p" }, cpu: "512", memory: "2048", streamId: "task7", videoType: "live",
    });
    expect(resolveServeConfig({ fps: 25, imageSize: "1080p", id: "flag" }, env)).toMatchObject({
      fps: 25, size: { name: "1080p" }, streamId: "flag", cpu: "512",
    });
  });
  test.each([
    [{ fps: 0 }, /fps '0' is out of range: use a whole number from 1 to 60/],
    [{ imageSize: "4k" }, /unknown image size '4k'/],
    [{ port: 70000 }, /port '70000'/],
    [{ preset: "turbo" }, /unknown x264 preset 'turbo': use one of ultrafast/],
    [{ crf: 60 }, /crf '60' is out of range/],
    [{ segment: 0.1 }, /segment duration/],
    [{ videoType: "vod" }, /unknown video type 'vod': use live or prerecorded/],
    [{ source: "a.mp4" }, /--source is for prerecorded streams: add --video-type prerecorded/],
    [{ videoType: "prerecorded", sourceDuration: "1s" }, /source duration '1s' is out of range: use 2 s \(two segments\) to 1 h/],
  ])("%o is refused", (args, message) => {
    expect(() => resolveServeConfig(args, readEnv({}))).toThrow(message);
  });
  test("prerecorded from the container's VIDEO_TYPE; what was set explicitly is remembered for checking a source", () => {
    const env = readEnv({ VIDEO_TYPE: "PRERECORDED", FPS: "25", IMAGE_SIZE: "1" });
    expect(resolveServeConfig({}, env)).toMatchObject({
      videoType: "prerecorded", fps: 25, size: { name: "480p" }, sourceDurationS: 60, asked: { fps: 25, size: "480p" },
    });
    expect(resolveServeConfig({ videoType: "prerecorded", source: "s.mp4" }, readEnv({})).asked).toEqual({});
  });
  test("a bad environment value is named", () => {
    expect(() => resolveServeConfig({}, readEnv({ FPS: "120" }))).toThrow(/fps '120'/);
  });
});

describe("client settings", () => {
  test("defaults", () => {
    expect(resolveClientConfig({ url: "http://127.0.0.1:5000" }, "ffmpeg")).toMatchObject({
      db: "stream_data.db", windowMs: 10_000, frameLimit: null, durationMs: null, storeFrames: true, clockSync: true,
      connectTimeoutMs: 20_000, maxOutageMs: 120_000, pollMs: 50,
    });
  });
  test.each([
    [{}, /give the stream with --url/],
    [{ url: "http://" }, /not a valid URL/],
    [{ url: "http://x", window: "0.5s" }, /window '0.5s' is out of range/],
    [{ url: "http://x", frameLimit: 0 }, /frame limit '0'/],
    [{ url: "http://x", duration: "soon" }, /duration 'soon' is not a duration/],
    [{ url: "http://x", poll: "1ms" }, /poll interval '1ms' is out of range: use 10ms to 10s/],
    [{ url: "http://x", vmafEvery: 2, vmaf: true }, /--vmaf-every '2' is not valid: use a whole number of 3 or more/],
  ])("%o is refused", (args, message) => {
    expect(() => resolveClientConfig(args, "ffmpeg")).toThrow(message);
  });
});
