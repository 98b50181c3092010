import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { inChromium } from "../helpers/chromium.ts";
import { LlRelay } from "../helpers/ll-relay.ts";
import { client, openDb, serve, tempDir, vat } from "../helpers/vat.ts";

const tmp = tempDir("vat-report-ll-");
const dir = join(tmp.path, "runs");
const ARTIFACTS = resolve(import.meta.dir, "../../test-artifacts");
const html = join(ARTIFACTS, "report-delivery.html");
afterAll(() => tmp.cleanup());

/** The delivery columns as the client stores them (schema 5), named here again so the report is checked against the rows. */
const STORED = [
  "protocol", "container", "part_duration_s", "advertised_latency_ms", "reloads", "reload_p50_ms", "reload_p95_ms", "early_reloads",
  "part_late_p50_ms", "part_late_p95_ms", "advertised_rebuffers", "advertised_rebuffer_ms",
];

function storedRow(file: string): Record<string, unknown> {
  const d = openDb(file);
  const row = d.query(`SELECT ${STORED.join(", ")} FROM runs`).get() as Record<string, unknown>;
  d.close();
  return row;
}

let report: { json: any; html: string };

async function newestSegment(origin: string): Promise<number> {
  const text = await (await fetch(`${origin}/video/stream.m3u8`)).text();
  return Math.max(0, ...[...text.matchAll(/^seg_(\d+)\.m4s$/gm)].map((m) => Number(m[1])));
}

beforeAll(async () => {
  mkdirSync(dir, { recursive: true });
  mkdirSync(ARTIFACTS, { recursive: true });
  // One LL-HLS origin measured directly, and through a relay that answers blocking reloads at once (early answers)
  // and withholds a part of a segment some 3 s ahead for 1.5 s (a rebuffer of the player at the advertised 600 ms).
  const server = serve(["--size", "240p", "--format", "ll-hls", "--part", "200ms", "--id", "ll"]);
  let early: LlRelay | null = null;
  try {
    await server.waitLive();
    early = new LlRelay({ origin: server.url, earlyReloads: true, withhold: { msn: (await newestSegment(server.url)) + 3, part: 2, ms: 1500 } });
    const runs = await Promise.all(
      [[server.url, "direct"], [early.url, "early"]].map(([url, name]) => client(["--url", url!, "--duration", "6s", "--db", join(dir, `${name}.db`)])),
    );
    for (const r of runs) expect(r.exitCode).toBe(0);
  } finally {
    early?.stop();
    await server.stop();
  }
  // The direct run again as a file of schema 4 would hold it: its format facts, no delivery columns.
  const old = join(dir, "schema4.db");
  copyFileSync(join(dir, "direct.db"), old);
  const d = new Database(old);
  for (const c of STORED.slice(2)) d.run(`ALTER TABLE runs DROP COLUMN ${c}`);
  d.close();
  const r = await vat(["report", dir, "-o", html, "--json"]);
  expect(r.exitCode).toBe(0);
  report = { json: JSON.parse(r.stdout), html: readFileSync(html, "utf8") };
}, 40_000);

describe("vat report over real LL-HLS runs", () => {
  test("one delivery row per run that stored delivery, each cell what the database holds (a withheld part: a rebuffer at the target); none for the schema-4 file", () => {
    const rows = report.json.delivery;
    expect(rows.map((d: any) => d.database)).toEqual([join(dir, "direct.db"), join(dir, "early.db")]);
    for (const d of rows) {
      const truth = storedRow(d.database);
      for (const c of STORED) expect([c, d[c]]).toEqual([c, truth[c]]);
    }
    const [direct, early] = rows;
    expect(direct).toMatchObject({ protocol: "ll-hls", container: "fmp4", part_duration_s: 0.2, advertised_latency_ms: 600, early_reloads: 0 });
    // The relay passes the origin's /params through: both are the origin's configuration.
    expect([direct.configuration, early.configuration]).toEqual(["240p 30fps local live", "240p 30fps local live"]);
    expect(early.early_reloads).toBeGreaterThan(0);
    // The withheld part: the player at the advertised target rebuffered (the hold less the 600 ms it had in hand).
    expect(direct.advertised_rebuffers).toBe(0);
    expect(early.advertised_rebuffers).toBeGreaterThanOrEqual(1);
    expect(early.advertised_rebuffer_ms).toBeGreaterThan(500);
    // The old file's run is still a run (its format facts read), and has no delivery row: not measured, not zero.
    const old = report.json.runs.find((r: any) => r.database === join(dir, "schema4.db"));
    expect(old).toMatchObject({ protocol: "ll-hls", container: "fmp4" });
    expect(report.json.runs).toHaveLength(3);
  });

  test("the page's delivery table carries the JSON's figures, in the columns' units", () => {
    const table = /<table class="sortable" id="delivery">([\s\S]*?)<\/table>/.exec(report.html)![1]!;
    const cols = [...table.matchAll(/<th [^>]*data-col="([^"]+)"/g)].map((m) => m[1]!);
    const rows = [...table.matchAll(/<tr>(<td[\s\S]*?)<\/tr>/g)].map((m) =>
      [...m[1]!.matchAll(/<td((?: class="[^"]*"| title="[^"]*")*)( data-v="([^"]*)")?>([^<]*)<\/td>/g)].map((c) => ({
        v: c[2] ? (c[3] === "" ? null : Number(c[3])) : c[4]!,
        text: c[4]!,
      })),
    );
    expect(rows).toHaveLength(2);
    rows.forEach((cells, i) => cols.forEach((col, j) => expect([col, cells[j]!.v]).toEqual([col, report.json.delivery[i][col]])));
    const part = cols.indexOf("part_duration_s");
    expect(rows.map((r) => r[part]!.text)).toEqual(["200 ms", "200 ms"]);
    const target = cols.indexOf("advertised_latency_ms");
    expect(rows[0]![target]!.text).toBe("600 ms");
  });
});

describe("in headless Chromium", () => {
  test("at 1280 px: no errors or requests, the delivery table shown whole (no sideways scrolling) and sortable; screenshot kept", async () => {
    await inChromium(html, async (page, { url, requests, problems }) => {
      expect(requests).toEqual([url]);
      expect(problems).toEqual([]);
      expect(await page.isVisible("#delivery")).toBe(true);
      expect(await page.$eval("#delivery", (t) => (t.parentElement!.scrollWidth <= t.parentElement!.clientWidth))).toBe(true);
      expect(await page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth as number)).toBeLessThanOrEqual(1280);
      const column = await page.$$eval("#delivery th", (th) => th.findIndex((h) => h.textContent === "answered early"));
      await page.click(`#delivery th:nth-child(${column + 1})`);
      const values = await page.$$eval(`#delivery tbody tr td:nth-child(${column + 1})`, (tds) => tds.map((td) => Number(td.getAttribute("data-v"))));
      expect(values).toEqual([...values].sort((a, b) => a - b));
      expect(values[0]).toBe(0);
      const shot = join(ARTIFACTS, "report-delivery.png");
      await page.screenshot({ path: shot, fullPage: true });
      expect(statSync(shot).size).toBeGreaterThan(20_000);
    }, { width: 1280, height: 900 });
  }, 30_000);
});
