import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { inChromium } from "../helpers/chromium.ts";
import { startNginxRtmp } from "../helpers/nginx-rtmp.ts";
import { startSrtProvider } from "../helpers/srt-provider.ts";
import { openDb, tempDir, vat } from "../helpers/vat.ts";

const tmp = tempDir("vat-report-compare-");
const ARTIFACTS = resolve(import.meta.dir, "../../test-artifacts");
afterAll(() => tmp.cleanup());

/** Nearest-rank percentile, written here again so the report is checked against the rows, not its own code. */
function rank(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

const db = join(tmp.path, "logs", "cmp", "stream_data.db");
const html = join(ARTIFACTS, "report-compare.html");
let json: any;

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const nginx = await startNginxRtmp({ streamKey: "rep", fragmentS: 1 });
  const srt = await startSrtProvider({ latencyMs: 400, fragmentS: 1 });
  const file = join(tmp.path, "providers.toml");
  writeFileSync(file, [
    `[[provider]]\nname = "nginx"\ningest = "${nginx.ingestUrl}"\nplayback = "${nginx.hlsUrl}"\nprice_per_minute_delivered = 0.001\nprice_per_gb = 0.05`,
    `[[provider]]\nname = "srt"\ningest = "${srt.ingestUrl}"\nplayback = "${srt.hlsUrl}"\nprice_per_minute_delivered = 0.002`,
  ].join("\n\n"));
  try {
    const r = await vat(["compare", file, "--local", "--size", "240p", "--fps", "25", "--id", "rep", "--cpu", "512", "--memory", "1GB", "--duration", "12s", "--quality", "--db", db, "--json"]);
    expect(r.exitCode).toBe(0);
  } finally {
    await Promise.all([nginx.stop(), srt.stop()]);
  }
  const r = await vat(["report", join(tmp.path, "logs"), "-o", html, "--json", "--region", "eu-west-1"]);
  expect(r.exitCode).toBe(0);
  json = JSON.parse(r.stdout);
}, 90_000);

test("the comparison's figures equal what the stored rows give, providers grouped by name within the configuration", () => {
  expect(json.comparisons).toHaveLength(1);
  const c = json.comparisons[0];
  expect(c.configuration).toBe("240p 25fps 512cpu/1GB");
  expect(c.streams.map((s: any) => s.role)).toEqual(["control", "nginx", "srt"]);
  // The origin's Fargate cost for an hour at 512 cpu units / 1 GB, eu-west-1 list prices.
  expect(c.originCostPerHourUsd).toBeCloseTo(0.5 * 0.04048 + 1 * 0.004445, 12);
  const d = openDb(db);
  const runs = d.query("SELECT id, role, declared_bandwidth_bps AS declared FROM runs ORDER BY id").all() as { id: number; role: string; declared: number | null }[];
  for (const s of c.streams) {
    const run = runs.find((r) => r.role === s.role)!;
    const lat = (d.query("SELECT latency_ms AS l FROM frames WHERE run_id = ? AND kind = 'new' AND latency_ms IS NOT NULL").all(run.id) as { l: number }[]).map((x) => x.l);
    expect(s.frames).toBe(lat.length);
    expect(s.latencyP50Ms).toBe(rank(lat, 50));
    expect(s.latencyP95Ms).toBe(rank(lat, 95));
    // Over the windows' time: each window's bitrate weighed by its length (the last is often short), one without
    // media as none.
    const windows = d.query("SELECT COALESCE(bitrate_kbps, 0) AS b, end_ms - start_ms AS len FROM windows WHERE run_id = ? AND end_ms > start_ms").all(run.id) as { b: number; len: number }[];
    expect(windows.some((w) => w.b > 0)).toBe(true);
    expect(s.measuredKbps).toBeCloseTo(windows.reduce((a, w) => a + w.b * w.len, 0) / windows.reduce((a, w) => a + w.len, 0), 9);
    expect(s.declaredKbps).toBe(run.declared === null ? null : run.declared / 1000);
    const stalls = (d.query("SELECT count(*) AS n FROM events WHERE run_id = ? AND kind = 'stall'").get(run.id) as { n: number }).n;
    expect(s.stalls).toBe(stalls);
    const q = d.query("SELECT sum(psnr_y_mean * frames_new) / sum(frames_new) AS p FROM windows WHERE run_id = ? AND psnr_y_mean IS NOT NULL").get(run.id) as { p: number };
    expect(s.psnrYMean).toBeCloseTo(q.p, 9);
    if (s.role === "control") continue;
    const row = d.query("SELECT cost_per_hour_usd AS cost, status FROM compare_providers WHERE role = ?").get(s.role) as { cost: number; status: string };
    const versus = d.query("SELECT relative_latency_p50_ms AS p50 FROM comparisons WHERE run_id = ?").get(run.id) as { p50: number };
    expect(s.costPerHourUsd).toBe(row.cost);
    expect(s.costWithOriginPerHourUsd).toBeCloseTo(row.cost + c.originCostPerHourUsd, 12);
    expect(s.status).toBe(row.status);
    expect(s.relativeP50Ms).toBe(versus.p50);
  }
  d.close();
  // SRT's receive latency puts it behind the control by at least that much.
  expect(c.streams[2].relativeP50Ms).toBeGreaterThanOrEqual(400 - 50);
  // The configurations: the control and each provider, by name (both are on 127.0.0.1: a host would merge them).
  expect(json.configurations.map((g: any) => g.provider)).toEqual(["origin", "nginx", "srt"]);
});

test("in Chromium at 1280 px: every chart drawn, nothing requested, no sideways scrolling, best marked; screenshot kept", async () => {
  await inChromium(html, async (page, { url, requests, problems }) => {
    expect(requests).toEqual([url]);
    expect(problems).toEqual([]);
    const ids = await page.$$eval("section.comparison figure", (f) => f.map((x) => x.id));
    expect(ids).toEqual(["cmp1-cdf", "cmp1-relative", "cmp1-timeline", "cmp1-bitrate", "cmp1-quality"]);
    for (const id of ids) expect(await page.$$eval(`#${id} svg path`, (p) => p.length)).toBeGreaterThan(3);
    // The CDF and the relative latency: one line per stream (three; two providers), in their own mark groups.
    expect(await page.$$eval("#cmp1-cdf svg g.mark-line path", (p) => p.length)).toBe(3);
    expect(await page.$$eval("#cmp1-relative svg g.mark-line path", (p) => p.length)).toBe(2);
    // The timeline: at least each stream's span of delivered frames.
    expect(await page.$$eval("#cmp1-timeline svg g.mark-rect path", (p) => p.length)).toBeGreaterThanOrEqual(3);
    expect(await page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth as number)).toBeLessThanOrEqual(1280);
    // No table scrolls inside its box either.
    const wide = await page.$$eval(".scroll", (d) => d.filter((x) => x.scrollWidth > x.clientWidth).length);
    expect(wide).toBe(0);
    // The best provider of "behind control p50" is the one with the least, and only providers are ranked.
    const cells = await page.$$eval("#comparison-1-delivery tbody tr", (rows) =>
      rows.map((r) => {
        const th = [...r.closest("table")!.querySelectorAll("th")].findIndex((h) => h.getAttribute("data-col") === "relative_p50_ms");
        const td = r.cells[th]!;
        return { best: td.classList.contains("best"), v: td.getAttribute("data-v") };
      }),
    );
    const values = cells.slice(1).map((c) => Number(c.v));
    expect(cells[0]!.best).toBe(false);
    const tie = values.every((v) => v === values[0]); // rows that all tie have no best
    expect(cells.slice(1).map((c) => c.best)).toEqual(values.map((v) => !tie && v === Math.min(...values)));
    // Right-aligned numbers in tabular figures.
    const style = await page.$eval("#comparison-1-delivery tbody td[data-v]", (td) => {
      const s = (globalThis as any).getComputedStyle(td);
      return { align: s.textAlign, numeric: s.fontVariantNumeric };
    });
    expect(style).toEqual({ align: "right", numeric: "tabular-nums" });
    const shot = join(ARTIFACTS, "report-compare.png");
    await page.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(50_000);
  }, { width: 1280, height: 900 });
  expect(readFileSync(html, "utf8")).toContain("Content-Security-Policy");
}, 60_000);
