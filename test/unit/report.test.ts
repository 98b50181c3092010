import { describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { aggregate, FARGATE_PRICES, groupLabel, parsePricesFile, pricesFor, taskCost, type RunFacts } from "../../src/report/aggregate.ts";
import { reportCharts } from "../../src/report/charts.ts";
import { cellText, COLUMNS, DELIVERY_COLUMNS, groupsCsv, reportJson } from "../../src/report/tables.ts";
import { DELIVERY_READ, deliveryRows, FORMAT_FIELDS, NO_FORMAT, runFormat } from "../../src/report/delivery.ts";
import { reportHtml } from "../../src/report/html.ts";
import { DELIVERY_FIELDS, RUNS } from "../../src/client/columns.ts";
import { UNKNOWN_FACTS } from "../../src/client/source.ts";
import { RunStore } from "../../src/client/store.ts";
import { readRuns } from "../../src/report/collect.ts";
import { readComparisons } from "../../src/report/collect-comparisons.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

function run(over: Partial<RunFacts>): RunFacts {
  return {
    source: "a.db", run: 1, format: "vat", streamId: "s", size: "720p", fps: 30, cpu: 1024, memoryMiB: 2048, videoType: "live",
    provider: "origin", startedAtMs: 0, measuredMs: 3_600_000, framesNew: 108_000, dropped: 0, unreadable: 0, stalls: 0,
    stallMs: 0, fpsAchieved: 30, latencies: [500, 600, 700], latencyOverTime: [{ atS: 0, p50Ms: 600 }], healthyMs: 3_600_000,
    failed: false, quality: null, stream: NO_FORMAT, delivery: null, ...over,
  } as RunFacts;
}

const prices = pricesFor("us-east-1");

describe("report figures", () => {
  test("cost: vCPU-hours and GB-hours at list price; none for a task of unknown size", () => {
    expect(taskCost(1024, 2048, 3_600_000, prices)).toBeCloseTo(0.04048 + 2 * 0.004445, 12);
    expect(taskCost(256, 512, 1_800_000, prices)).toBeCloseTo(0.5 * (0.25 * 0.04048 + 0.5 * 0.004445), 12);
    expect(taskCost(null, null, 3_600_000, prices)).toBeNull();
    expect(pricesFor("eu-central-1", { vcpuHour: 0.1 })).toEqual({ region: "eu-central-1", vcpuHour: 0.1, gbHour: 0.00511 });
    expect(pricesFor("mars-1", { vcpuHour: 1, gbHour: 0.1 })).toEqual({ region: "mars-1", vcpuHour: 1, gbHour: 0.1 });
    expect(() => pricesFor("mars-1")).toThrow(/no Fargate prices for region 'mars-1'/);
    const file = parsePricesFile('{"mars-1": {"vcpuHour": 0.5, "gbHour": 0.05}}', "p.json");
    expect(pricesFor("mars-1", {}, { ...FARGATE_PRICES, ...file })).toEqual({ region: "mars-1", vcpuHour: 0.5, gbHour: 0.05 });
    expect(() => parsePricesFile("[1]", "p.json")).toThrow(/must be an object of regions/);
    expect(() => parsePricesFile('{"x": {"vcpuHour": 1}}', "p.json")).toThrow(/region 'x' needs "vcpuHour" and "gbHour"/);
    expect(() => pricesFor("us-east-1", { gbHour: -1 })).toThrow(/price '-1'/);
  });

  test("runs of one configuration pool their frames; drops per minute, time stalled and hours lasted over all of them", () => {
    const g = aggregate(
      [
        run({ run: 1, latencies: [100, 200, 300], dropped: 6, stalls: 2, stallMs: 36_000 }),
        run({ run: 2, latencies: [400, 500], dropped: 0, measuredMs: 1_800_000, healthyMs: 900_000, failed: true, fpsAchieved: 24 }),
      ],
      prices,
    );
    expect(g).toHaveLength(1);
    expect(g[0]).toMatchObject({
      label: "720p 30fps 1024cpu/2GB live", runs: 2, measuredS: 5400, latencyP50Ms: 300, latencyP95Ms: 500, dropped: 6,
      stalls: 2, failures: 1,
    });
    expect(g[0]!.droppedPerMin).toBeCloseTo(6 / 90, 12);
    expect(g[0]!.stalledShare).toBeCloseTo(36_000 / 5_400_000, 12);
    expect(g[0]!.fpsAchieved).toBeCloseTo((30 * 3600 + 24 * 1800) / 5400, 12);
    expect(g[0]!.hoursLasted).toBeCloseTo(0.625, 12); // (1 h + 0.25 h) / 2 runs
    const cost = 1.5 * (0.04048 + 2 * 0.004445);
    expect(g[0]!.costTotalUsd).toBeCloseTo(cost, 12);
    expect(g[0]!.costPerHealthyHourUsd).toBeCloseTo(cost / 1.25, 12);
    expect(g[0]!.latencyRuns).toBe(2);
    expect(cellText(COLUMNS.find((c) => c.name === "latency_p50_ms")!, g[0]!)).toBe("300 ms");
  });

  test("latency over the runs that stored their frames, and the cell says so when a run of the configuration did not", () => {
    const [g] = aggregate([run({ run: 1, latencies: [100, 200, 300] }), run({ run: 2, latencies: [] })], prices);
    expect(g).toMatchObject({ runs: 2, latencyRuns: 1, latencyP50Ms: 200, latencyP95Ms: 300 });
    expect(cellText(COLUMNS.find((c) => c.name === "latency_p50_ms")!, g!)).toBe("200 ms (1 of 2 runs)");
    expect(groupsCsv([g!])).toContain("latency_runs");
  });

  test("quality: PSNR and SSIM weighted by frames measured, VMAF over its samples, none where none was measured", () => {
    const [g] = aggregate(
      [
        run({ quality: { frames: 100, psnrYSum: 4000, ssimYSum: 98, vmafSamples: [90, 80] } }),
        run({ run: 2, quality: { frames: 300, psnrYSum: 9000, ssimYSum: 270, vmafSamples: [70] } }),
        run({ run: 3, quality: null }),
      ],
      prices,
    );
    expect(g!.psnrYMean).toBeCloseTo(13_000 / 400, 12);
    expect(g!.ssimYMean).toBeCloseTo(368 / 400, 12);
    expect(g!.vmafMean).toBeCloseTo(80, 12);
    expect(aggregate([run({})], prices)[0]).toMatchObject({ psnrYMean: null, ssimYMean: null, vmafMean: null });
  });

  test("figures a database does not record stay unknown, not zero", () => {
    const [g] = aggregate([run({ format: "prototype", unreadable: null, stalls: null, stallMs: null })], prices);
    expect(g).toMatchObject({ unreadable: null, unreadableShare: null, stalls: null, stalledShare: null });
    expect(groupsCsv([g!]).split("\n")[1]).toContain(",,"); // empty cells in the CSV
  });

  test("grouping by configuration and provider; ordered by configuration or by a chosen metric", () => {
    const runs = [
      run({ size: "1080p", latencies: [900] }),
      run({ size: "240p", fps: 15, latencies: [300] }),
      run({ size: "240p", fps: 15, provider: "cdn.example", latencies: [800] }),
      run({ size: "480p", cpu: null, memoryMiB: null, latencies: [100], fpsAchieved: null }),
    ];
    expect(aggregate(runs, prices).map((g) => g.label)).toEqual([
      "240p 15fps 1024cpu/2GB live", "240p 15fps 1024cpu/2GB live cdn.example", "480p 30fps local live", "1080p 30fps 1024cpu/2GB live",
    ]);
    expect(aggregate(runs, prices, "latency-p50").map((g) => g.latencyP50Ms)).toEqual([100, 300, 800, 900]);
    // fps: more is better, unknown last.
    expect(aggregate(runs, prices, "fps").at(-1)!.fpsAchieved).toBeNull();
    expect(groupLabel({ size: "720p", fps: 25, cpu: 512, memoryMiB: 1536, videoType: "prerecorded", provider: "origin" })).toBe(
      "720p 25fps 512cpu/1536MiB prerecorded",
    );
  });

  test("charts: one spec each, and the provider chart only when there is more than one source", () => {
    const one = reportCharts(aggregate([run({})], prices), [run({})]);
    expect(one.map((c) => c.id)).toEqual(["latency-by-task", "fps", "drops", "hours-lasted", "latency-over-time", "providers"]);
    expect(one.find((c) => c.id === "providers")!.spec).toBeNull();
    const two = [run({}), run({ provider: "cdn.example" })];
    expect(reportCharts(aggregate(two, prices), two).find((c) => c.id === "providers")!.spec).not.toBeNull();
  });
});

/** A run's row as the report's reader gives it: every format and delivery column, null where the file lacks it. */
function stored(over: Partial<Record<(typeof DELIVERY_READ)[number], string | number | null>>) {
  return Object.fromEntries(DELIVERY_READ.map((f) => [f, over[f] ?? null])) as Parameters<typeof runFormat>[0];
}

const LL_HLS = {
  protocol: "ll-hls", container: "fmp4", codecs: "avc1.42c01e", rendition: "426x240", declaredBandwidthBps: 400_000,
  segmentDurationS: 1, partDurationS: 0.2, advertisedLatencyMs: 600, reloads: 76, reloadP50Ms: 199, reloadP95Ms: 203,
  earlyReloads: 0, partLateP50Ms: -3, partLateP95Ms: 9, advertisedRebuffers: 1, advertisedRebufferMs: 120,
};

describe("low-latency delivery in the report", () => {
  test("a schema-5 row gives its delivery; a schema-4 row its format only; an older row neither (unknown, never 0)", () => {
    const v5 = runFormat(stored(LL_HLS));
    expect(v5.stream).toEqual({ protocol: "ll-hls", container: "fmp4", codecs: "avc1.42c01e", rendition: "426x240", declaredBandwidthBps: 400_000, segmentDurationS: 1 });
    expect(v5.delivery).toEqual({
      partDurationS: 0.2, advertisedLatencyMs: 600, reloads: 76, reloadP50Ms: 199, reloadP95Ms: 203, earlyReloads: 0,
      partLateP50Ms: -3, partLateP95Ms: 9, advertisedRebuffers: 1, advertisedRebufferMs: 120,
    });
    // Plain HLS at schema 5, or a schema-4 file: the delivery columns read as null.
    const v4 = runFormat(stored({ protocol: "hls", container: "mpegts", segmentDurationS: 1 }));
    expect(v4.delivery).toBeNull();
    expect(v4.stream).toMatchObject({ protocol: "hls", container: "mpegts", codecs: null, segmentDurationS: 1 });
    // A schema-3 file: nothing of either.
    const v3 = runFormat(stored({}));
    expect(v3).toEqual({ stream: NO_FORMAT, delivery: null });
    // LL-DASH stores no blocking reloads: null, not 0, while its other figures stand.
    const dash = runFormat(stored({ ...LL_HLS, protocol: "ll-dash", reloads: null, reloadP50Ms: null, reloadP95Ms: null, earlyReloads: null }));
    expect(dash.delivery).toMatchObject({ reloads: null, earlyReloads: null, partDurationS: 0.2 });
    expect([...FORMAT_FIELDS]).toEqual(Object.keys(UNKNOWN_FACTS) as (typeof FORMAT_FIELDS)[number][]);
  });

  test("the table: one row per low-latency run, named as the stored columns, in their units; JSON the same", () => {
    const ll = run({ run: 3, size: "240p", cpu: null, memoryMiB: null, ...runFormat(stored(LL_HLS)) });
    const plain = run({ run: 4 });
    const rows = deliveryRows([plain, ll]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ configuration: "240p 30fps local live", database: "a.db", run: 3, protocol: "ll-hls", container: "fmp4", reloads: 76 });
    const names = DELIVERY_COLUMNS.map((c) => c.name);
    expect(names.slice(0, 3)).toEqual(["configuration", "database", "run"]);
    // Every stored delivery figure, by its column's name in the database.
    expect(names.slice(3)).toEqual((["protocol", "container", ...DELIVERY_FIELDS] as const).map((f) => RUNS.columns[f].name));
    const text = Object.fromEntries(DELIVERY_COLUMNS.map((c) => [c.name, cellText(c, rows[0]!)]));
    expect(text).toMatchObject({
      part_duration_s: "200 ms", advertised_latency_ms: "600 ms", reloads: "76", reload_p50_ms: "199 ms", early_reloads: "0",
      part_late_p50_ms: "-3 ms", part_late_p95_ms: "9 ms", advertised_rebuffers: "1", advertised_rebuffer_ms: "120 ms",
    });
    const json = reportJson(aggregate([plain, ll], prices), [plain, ll], prices, ["a.db"]);
    expect(json.delivery).toEqual([Object.fromEntries(DELIVERY_COLUMNS.map((c) => [c.name, c.value(rows[0]!)]))]);
    expect(json.runs.map((r: Record<string, unknown>) => [r.protocol, r.segment_duration_s])).toEqual([[null, null], ["ll-hls", 1]]);
    // Unmeasured figures show as unknown.
    const partial = deliveryRows([run({ delivery: { ...runFormat(stored(LL_HLS)).delivery!, reloads: null } })])[0]!;
    expect(cellText(DELIVERY_COLUMNS.find((c) => c.name === "reloads")!, partial)).toBe("–");
  });

  test("the page has a delivery table only when some run measured one", () => {
    const page = (runs: RunFacts[]) =>
      reportHtml({ groups: aggregate(runs, prices), runs, charts: [], prices, sources: ["a.db"], sort: "config", createdAt: "now", version: "t" });
    const plain = page([run({})]);
    expect(plain).not.toContain("Low-latency delivery");
    expect(plain).not.toContain('id="delivery"');
    const ll = page([run({}), run({ run: 2, ...runFormat(stored(LL_HLS)) })]);
    const table = /<table class="sortable" id="delivery">([\s\S]*?)<\/table>/.exec(ll)![1]!;
    expect([...table.matchAll(/<tr><td/g)]).toHaveLength(1);
    expect(table).toContain(">ll-hls<");
    expect(table).toContain('data-v="0.2">200 ms<');
  });
});

describe("runs read back from a vat database", () => {
  test("runs failed: a run stored as failed counts (and one that read no frame never was healthy), as does one whose stream went out; drops as the run counted them", () => {
    const dir = mkdtempSync(join(tmpdir(), "vat-report-failed-"));
    try {
      const file = join(dir, "runs.db");
      const store = new RunStore(file);
      const window = (index: number, startMs: number, framesNew: number) => ({
        index, startMs, endMs: startMs + 10_000, framesDecoded: framesNew, framesNew, fpsAchieved: framesNew / 10, fpsStream: 30,
        dropped: 0, duplicates: 0, outOfOrder: 0, unreadable: framesNew === 0 ? 300 : 0, stalls: 0, stallMs: 0,
        latencyMinMs: null, latencyP50Ms: null, latencyP95Ms: null, latencyMaxMs: null, latencyMeanMs: null, jitterMs: null,
        psnrYMean: null, psnrYMin: null, psnrYP5: null, ssimYMean: null, ssimYMin: null, ssimYP5: null, psnrAllMean: null,
        ssimAllMean: null, bitrateKbps: 100,
      });
      const start = (startedAtMs: number) => store.createRun({
        startedAtMs, url: "http://127.0.0.1:5000/", playlistUrl: null, streamId: "vat", imageSize: 1, sizeName: "240p", fps: 30,
        cpu: null, memory: null, videoType: "LIVE", params: null, clockOffsetMs: 0, clockUncertaintyMs: null, clockSynced: true,
        windowMs: 10_000, vatVersion: "test", options: {}, ...UNKNOWN_FACTS,
      });
      // 1: measured 20 s. 2: its stream went out 5 s in. 3: read none of its frames' codes, stored as failed.
      const ok = start(0);
      store.writeWindow(ok, window(0, 0, 300), []);
      // Its second window counted 2 frames dropped that came late in the third: the run's own count is 0.
      store.writeWindow(ok, { ...window(1, 10_000, 300), dropped: 2 }, []);
      store.finishRun(ok, 20_000, "duration", { dropped: 0 } as never);
      const out = start(100_000);
      store.writeWindow(out, window(0, 100_000, 300), []);
      store.writeWindow(out, window(1, 110_000, 150), []);
      store.writeEvent(out, { kind: "outage", atMs: 105_000, durationMs: 3000, detail: "no answer" });
      store.finishRun(out, 120_000, "duration", {} as never);
      const none = start(200_000);
      store.writeWindow(none, window(0, 200_000, 0), []);
      store.finishRun(none, 210_000, "failed: none of the 300 frames carried a readable vat code", {} as never);
      store.close();
      const runs = readRuns(file);
      expect(runs.map((r) => [r.run, r.failed, r.healthyMs])).toEqual([[ok, false, 20_000], [out, true, 5_000], [none, true, 0]]);
      expect(runs[0]!.dropped).toBe(0);
      const [g] = aggregate(runs, pricesFor("us-east-1"));
      expect(g!.failures).toBe(2);
      expect(g!.hoursLasted).toBeCloseTo(25_000 / 3 / 3_600_000, 12);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a database from before comparisons (schema 1, no comparison_id): its runs read, no comparison, no error", () => {
    const dir = mkdtempSync(join(tmpdir(), "vat-report-v1-"));
    try {
      const file = join(dir, "old.db");
      const db = new Database(file);
      db.run("CREATE TABLE runs (id INTEGER PRIMARY KEY, started_at_ms INTEGER, ended_at_ms INTEGER, url TEXT, status TEXT)");
      db.run("CREATE TABLE windows (run_id INTEGER, idx INTEGER, start_ms INTEGER, end_ms INTEGER, frames_new INTEGER)");
      db.run("CREATE TABLE frames (run_id INTEGER, idx INTEGER, kind TEXT, frame_number INTEGER, latency_ms REAL, arrived_at_ms REAL, segment INTEGER)");
      db.run("CREATE TABLE events (run_id INTEGER, kind TEXT, at_ms REAL, duration_ms REAL, detail TEXT)");
      db.run("INSERT INTO runs VALUES (1, 1000, 11000, 'http://h/stream.m3u8', 'stopped')");
      db.run("INSERT INTO windows VALUES (1, 0, 1000, 11000, 300)");
      db.close();
      expect(readRuns(file)).toHaveLength(1);
      expect(readComparisons(file)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a comparison vat client made (--control, several --url, --variant all): in the report, each stream named by host and port (and rendition)", () => {
    const dir = mkdtempSync(join(tmpdir(), "vat-report-client-compare-"));
    try {
      const file = join(dir, "compare.db");
      const store = new RunStore(file);
      const start = (url: string, params: Record<string, unknown> | null, rendition: string | null) => store.createRun({
        startedAtMs: 1000, url, playlistUrl: null, streamId: "vat", imageSize: 0, sizeName: "240p", fps: 30,
        cpu: null, memory: null, videoType: "LIVE", params, clockOffsetMs: 0, clockUncertaintyMs: null, clockSynced: true,
        windowMs: 10_000, vatVersion: "test", options: {}, ...UNKNOWN_FACTS, rendition,
      });
      const id = "cmp-client";
      const control = start("http://127.0.0.1:5800", { vat: { streamId: "vat" } }, null);
      const relayA = start("http://127.0.0.1:5810", null, null);
      const relayB = start("http://127.0.0.1:5811", null, null);
      const ladder = start("http://127.0.0.1:5813", null, "320x180");
      store.setComparison(control, id, "control");
      for (const [run, role] of [[relayA, "stream 1"], [relayB, "stream 2"], [ladder, "rendition 1 (320x180 at 286 kbit/s)"]] as const) {
        store.setComparison(run, id, role);
        store.writeComparison(id, run, control, {
          framesControl: 600, framesMatched: 510, matchedShare: 0.85, relativeLatencyP50Ms: 300 * run, relativeLatencyP95Ms: 320 * run,
          relativeLatencyMinMs: 0, relativeLatencyMaxMs: 0, relativeLatencyMeanMs: 0,
        });
      }
      const window = {
        index: 0, startMs: 1000, endMs: 11_000, framesDecoded: 300, framesNew: 300, fpsAchieved: 30, fpsStream: 30,
        dropped: 0, duplicates: 0, outOfOrder: 0, unreadable: 0, stalls: 0, stallMs: 0,
        latencyMinMs: null, latencyP50Ms: null, latencyP95Ms: null, latencyMaxMs: null, latencyMeanMs: null, jitterMs: null,
        psnrYMean: null, psnrYMin: null, psnrYP5: null, ssimYMean: null, ssimYMin: null, ssimYP5: null, psnrAllMean: null,
        ssimAllMean: null, bitrateKbps: 100,
      };
      for (const run of [control, relayA, relayB, ladder]) store.writeWindow(run, window, []);
      for (const run of [control, relayA, relayB, ladder]) store.finishRun(run, 21_000, "duration", {} as never);
      store.finishRun(relayB, 21_000, "failed: no stream", {} as never);
      store.close();

      expect(readRuns(file).map((r) => r.provider)).toEqual(["origin", "127.0.0.1:5810", "127.0.0.1:5811", "127.0.0.1:5813 320x180"]);
      const [c, ...more] = readComparisons(file);
      expect(more).toEqual([]);
      expect(c!.comparisonId).toBe(id);
      expect(c!.streams.map((s) => [s.role, s.provider, s.control, s.status, s.relativeP50Ms, s.matchedShare])).toEqual([
        ["control", "origin", true, "failed", null, null], // no frame stored in this test
        ["stream 1", "127.0.0.1:5810", false, "measured", 300 * relayA, 0.85],
        ["stream 2", "127.0.0.1:5811", false, "failed", 300 * relayB, 0.85],
        ["rendition 1 (320x180 at 286 kbit/s)", "127.0.0.1:5813 320x180", false, "measured", 300 * ladder, 0.85],
      ]);
      expect(c!.streams[2]!.reason).toBe("no stream");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
