import { UNKNOWN_FACTS } from "../../src/client/source.ts";
import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RunStore, type RunInfo } from "../../src/client/store.ts";
import { ProviderUrl } from "../../src/compare/providers.ts";
import { SecretRedactor } from "../../src/compare/redaction.ts";
import { CompareStore } from "../../src/compare/store.ts";

const dir = mkdtempSync(join(tmpdir(), "vat-compare-store-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const KEY = "s3cret-stream-key";
const TOKEN = "s1gned-t0ken-value";
const PLAYBACK = new ProviderUrl(`https://cdn.example/live/${KEY}/index.m3u8?token=${TOKEN}`, "https://cdn.example/live/***/index.m3u8?token=***");

function info(url: string, playlistUrl: string | null): RunInfo {
  return {
    startedAtMs: 1, url, playlistUrl, streamId: "s", imageSize: 0, sizeName: "240p", fps: 25, cpu: null, memory: null,
    videoType: null, params: null, clockOffsetMs: 0, clockUncertaintyMs: null, clockSynced: false, windowMs: 10_000,
    vatVersion: "test", options: { url, note: `fetched ${url}` }, ...UNKNOWN_FACTS,
  };
}

test("the client's stored text of a comparison loses every secret, in the rows and in the file's free space", () => {
  const path = join(dir, "scrub.db");
  const runs = new RunStore(path);
  const control = runs.createRun(info("http://127.0.0.1:5000", "http://127.0.0.1:5000/video/stream.m3u8"));
  const provider = runs.createRun(info(PLAYBACK.reveal(), `https://cdn.example/live/${KEY}/720p.m3u8?token=${TOKEN}&x=1`));
  const other = runs.createRun(info(PLAYBACK.reveal(), null)); // another comparison's run: not this one's to change
  runs.setComparison(control, "cmp-1", "control");
  runs.setComparison(provider, "cmp-1", "cdn");
  runs.setComparison(other, "cmp-0", "cdn");
  runs.writeEvent(provider, { kind: "segment-missing", atMs: 5, detail: `https://cdn.example/live/${KEY}/seg-9.ts: HTTP 404` });
  runs.close();

  const store = new CompareStore(path);
  store.scrubRuns("cmp-1", [provider], new SecretRedactor([PLAYBACK]).replacements);
  store.close();

  const d = new Database(path, { readonly: true });
  const rows = d.query("SELECT id, url, playlist_url, options_json FROM runs ORDER BY id").all() as Record<string, string>[];
  const event = d.query("SELECT detail FROM events WHERE run_id = ?").get(provider) as { detail: string };
  d.close();
  expect(rows[0]).toMatchObject({ url: "http://127.0.0.1:5000", playlist_url: "http://127.0.0.1:5000/video/stream.m3u8" });
  expect(rows[1]).toMatchObject({ url: PLAYBACK.display, playlist_url: "https://cdn.example/live/***/720p.m3u8?token=***&x=***" });
  expect(JSON.parse(rows[1]!.options_json!)).toEqual({ url: PLAYBACK.display, note: `fetched ${PLAYBACK.display}` });
  expect(event.detail).toBe("https://cdn.example/live/***/seg-9.ts: HTTP 404");
  expect(rows[2]!.url).toBe(PLAYBACK.reveal());
  // Only the other comparison's run still holds them, as often as its own row does: none is left in a freed page.
  const count = (text: string) => text.split(TOKEN).length - 1;
  expect(count(readFileSync(path).toString("latin1"))).toBe(count(rows[2]!.url!) + count(rows[2]!.options_json!));
  expect(count(rows[2]!.options_json!)).toBe(2);
});

test("the providers' rows; no bitrate for a run without windows", () => {
  const path = join(dir, "providers.db");
  const store = new CompareStore(path);
  const row = {
    role: "cdn/2", provider: "cdn", playback: PLAYBACK.display, status: "failed" as const, reason: "ingest: Connection refused",
    runId: null, relativeLatencyP50Ms: null, relativeLatencyP95Ms: null, matchedShare: null, framesNew: null, dropped: null,
    stalls: null, stallMs: null, psnrYMean: null, ssimYMean: null, bitrateKbps: null, costPerHourUsd: null,
  };
  const price = { perMinuteDeliveredUsd: 0.001, perMinuteIngestedUsd: null, perGbUsd: null };
  store.writeProviders("cmp-2", [{ row, ingest: "rtmp://in.example/live/***", price }]);
  expect(store.meanBitrateKbps(1)).toBeNull();
  store.close();
  const d = new Database(path, { readonly: true });
  expect(d.query("SELECT * FROM compare_providers").all()).toEqual([{
    comparison_id: "cmp-2", role: "cdn/2", name: "cdn", playback_redacted: PLAYBACK.display, ingest_redacted: "rtmp://in.example/live/***",
    prices_json: JSON.stringify(price), status: "failed", reason: "ingest: Connection refused", run_id: null, bitrate_kbps: null,
    cost_per_hour_usd: null,
  }]);
  d.close();
});

test("a run's bitrate is over its windows' time: a short last window weighs as little as it lasted, one without media as none", () => {
  const path = join(dir, "bitrate.db");
  const raw = new Database(path, { create: true });
  raw.exec("CREATE TABLE windows (run_id INTEGER, idx INTEGER, start_ms REAL, end_ms REAL, bitrate_kbps REAL)");
  // Two whole 10 s windows, 2.5 s, and 2.5 s in which nothing came (no bitrate): 23 MB over 25 s.
  for (const [idx, start, end, kbps] of [[0, 0, 10_000, 1000], [1, 10_000, 20_000, 1200], [2, 20_000, 22_500, 400], [3, 22_500, 25_000, null]] as const) {
    raw.query("INSERT INTO windows VALUES (7, ?, ?, ?, ?)").run(idx, start, end, kbps);
  }
  raw.close();
  const store = new CompareStore(path);
  expect(store.meanBitrateKbps(7)).toBeCloseTo((1000 * 10 + 1200 * 10 + 400 * 2.5) / 25, 9);
  // A run none of whose windows had media has no bitrate.
  const none = new Database(path);
  none.query("INSERT INTO windows VALUES (8, 0, 0, 10000, NULL)").run();
  none.close();
  expect(store.meanBitrateKbps(8)).toBeNull();
  store.close();
});

test("a run's join frames: those its source marked, and its leading frames with the first one's segment and arrival", () => {
  const path = join(dir, "arrivals.db");
  const runs = new RunStore(path);
  const run = runs.createRun(info("http://127.0.0.1:5000", null));
  const ll = runs.createRun(info("http://127.0.0.1:5000", null));
  runs.close();
  // Segment 7 was there at the join (frames 1-3 at 500); 4 is unreadable; then segment 8 at 1500, and a part of
  // segment 7 whose stamp equals the join's (a fetch that ran alongside): not a join frame, being after others.
  const frames: [string, number | null, number, number][] = [
    ["new", 1, 500, 7], ["new", 2, 500, 7], ["new", 3, 500, 7], ["unreadable", null, 500, 7],
    ["new", 5, 1500, 8], ["new", 6, 500, 7], ["new", 7, 1500, 8],
  ];
  const d = new Database(path);
  frames.forEach(([kind, n, at, segment], idx) =>
    d.query("INSERT INTO frames (run_id, idx, kind, frame_number, arrived_at_ms, decoded_at_ms, gap_before, segment) VALUES (?, ?, ?, ?, ?, ?, 0, ?)")
      .run(run, idx, kind, n, at, at, segment));
  // An LL-HLS run whose source marked the parts it caught up on (whole at the join, each with its own stamp).
  [[1, 500, 1], [2, 503, 1], [3, 507, 1], [4, 540, 0], [5, 573, 0]].forEach(([n, at, marked], idx) =>
    d.query("INSERT INTO frames (run_id, idx, kind, frame_number, arrived_at_ms, decoded_at_ms, gap_before, segment, at_join) VALUES (?, ?, 'new', ?, ?, ?, 0, 3, ?)")
      .run(ll, idx, n!, at!, at!, marked!));
  d.close();
  const store = new RunStore(path);
  expect(store.arrivals(run)).toEqual([
    { n: 1, arrivedAtMs: 500, atJoin: true }, { n: 2, arrivedAtMs: 500, atJoin: true }, { n: 3, arrivedAtMs: 500, atJoin: true },
    { n: 5, arrivedAtMs: 1500, atJoin: false }, { n: 6, arrivedAtMs: 500, atJoin: false }, { n: 7, arrivedAtMs: 1500, atJoin: false },
  ]);
  expect(store.arrivals(ll).map((f) => [f.n, f.atJoin])).toEqual([[1, true], [2, true], [3, true], [4, false], [5, false]]);
  expect(store.arrivals(ll + 1)).toEqual([]);
  store.close();
});
