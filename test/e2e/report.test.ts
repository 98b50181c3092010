import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { HOSTILE, makeHostileDatabases, MUST_NOT_APPEAR } from "../helpers/hostile-db.ts";
import { Relay } from "../helpers/relay.ts";
import { inChromium } from "../helpers/chromium.ts";
import { client, ffprobeFrames, openDb, serve, tempDir, vat } from "../helpers/vat.ts";

const tmp = tempDir("vat-report-");
const exp = join(tmp.path, "logs", "exp");
const oldDb = join(tmp.path, "old_study.db");
const ARTIFACTS = resolve(import.meta.dir, "../../test-artifacts");
afterAll(() => tmp.cleanup());

/** Nearest-rank percentile, written here again so the report is checked against the rows, not its own code. */
function rank(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

let hiddenFrames = 0;
/** The delaying relay's host and port: the name the report gives the stream a client compared through it. */
let cdnHost = "";
let report: { json: any; csv: string; html: string; stderr: string };

/** The prototype's three tables, filled with a run whose figures are known by construction. */
function makeOldDb(): void {
  const db = new Database(oldDb, { create: true });
  db.run("CREATE TABLE stream_params (cpu INTEGER, ram INTEGER, image_size INTEGER, fps INTEGER, video_type TEXT, analysis_number INTEGER)");
  db.run("CREATE TABLE stream_data (frame_number INTEGER, frame_number_received INTEGER, time_generated REAL, time_received REAL, analysis_number INTEGER)");
  db.run("CREATE TABLE stream_data_final (analysis_number INTEGER, minute_count INTEGER, frames_received INTEGER, frames_dropped INTEGER, avg_calculated_fps REAL, avg_calculated_latency REAL)");
  db.run("INSERT INTO stream_params VALUES (1024, 2, 2, 30, 'LIVE', 7)");
  const insert = db.prepare("INSERT INTO stream_data VALUES (?, ?, ?, ?, 7)");
  let received = 0;
  for (let n = 0; n < 66; n++) {
    if (n >= 30 && n < 35) continue; // 5 frames never arrived
    const generated = 1_700_000_000 + n / 30;
    insert.run(n, received++, generated, generated + (400 + (n % 10) * 10) / 1000);
  }
  db.run("INSERT INTO stream_data_final VALUES (7, 0, 61, 5, 29.5, 0.445)");
  db.close();
}

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  makeOldDb();
  // Three launches at once: two runs of one configuration, one of another (stored as the Slurm wrapper stores them).
  const launches = [
    ["r240a", "240p", "15", "512", "1GB", "0-15-512-1-r240a"],
    ["r240b", "240p", "15", "512", "1GB", "0-15-512-1-r240b"],
    ["r480", "480p", "25", "1024", "2GB", "1-25-1024-2-r480"],
  ].map(([id, size, fps, cpu, mem, dir]) =>
    vat([
      "launch", "--local", "--id", id!, "--size", size!, "--fps", fps!, "--cpu", cpu!, "--memory", mem!, "--duration", "6s",
      "--db", join(exp, dir!, "stream_data.db"), ...(id === "r480" ? ["--quality"] : []),
    ]),
  );
  // A fourth configuration measured through a relay that withholds two segments: known drops.
  const server = serve(["--size", "240p", "--fps", "25", "--id", "drops"]);
  const relay = new Relay({ origin: server.url, hide: (seq) => relay.firstShown !== null && seq >= relay.firstShown + 2 && seq < relay.firstShown + 4 });
  try {
    await server.waitLive();
    const run = await client(["--url", relay.url, "--duration", "8s", "--db", join(exp, "drops", "stream_data.db")]);
    expect(run.exitCode).toBe(0);
    for (const [seq, bytes] of relay.hidden) {
      const file = join(tmp.path, `hidden-${seq}.ts`);
      writeFileSync(file, bytes);
      hiddenFrames += ffprobeFrames(file);
    }
  } finally {
    relay.stop();
    await server.stop();
  }
  // A provider against its control: the same signal through a relay that delays it by a known 1 s.
  const origin = serve(["--size", "240p", "--fps", "15", "--id", "cmp"]);
  const cdn = new Relay({ origin: origin.url, delayMs: 1000 });
  cdnHost = new URL(cdn.url).host;
  try {
    await origin.waitLive();
    // Polled every 20 ms, as the side-by-side tests in relay.test.ts are: a segment is seen up to one poll after it
    // appears, at the same point of the cadence segment after segment, so each stream's median carries up to a poll
    // of its own (two 50 ms polls and the relay's own 10 ms could pass the 60 ms bound below).
    const cmp = await client(["--url", cdn.url, "--control", origin.url, "--poll", "20ms", "--duration", "8s", "--db", join(exp, "compare", "stream_data.db")]);
    expect(cmp.exitCode).toBe(0);
  } finally {
    cdn.stop();
    await origin.stop();
  }
  for (const r of await Promise.all(launches)) expect(r.exitCode).toBe(0);
  const html = join(ARTIFACTS, "report.html");
  const csv = join(tmp.path, "report.csv");
  const r = await vat(["report", join(tmp.path, "logs"), oldDb, "-o", html, "--csv", csv, "--json", "--region", "eu-west-1"]);
  expect(r.exitCode).toBe(0);
  report = { json: JSON.parse(r.stdout), csv: readFileSync(csv, "utf8"), html: readFileSync(html, "utf8"), stderr: r.stderr };
}, 90_000);

/** Every new frame's latency, drops from gaps between frames, and the run spans, straight from the stored rows. */
function truthOf(dbFiles: string[]) {
  const latencies: number[] = [];
  let dropped = 0;
  let unreadable = 0;
  let measuredMs = 0;
  let framesNew = 0;
  const psnr: number[] = [];
  for (const f of dbFiles) {
    const d = openDb(f);
    psnr.push(...(d.query("SELECT psnr_y AS p FROM frames WHERE psnr_y IS NOT NULL").all() as { p: number }[]).map((x) => x.p));
    latencies.push(...(d.query("SELECT latency_ms AS l FROM frames WHERE kind = 'new'").all() as { l: number }[]).map((x) => x.l));
    framesNew += (d.query("SELECT count(*) AS n FROM frames WHERE kind = 'new'").get() as { n: number }).n;
    dropped += (d.query("SELECT coalesce(sum(gap_before), 0) AS n FROM frames").get() as { n: number }).n;
    unreadable += (d.query("SELECT count(*) AS n FROM frames WHERE kind = 'unreadable'").get() as { n: number }).n;
    measuredMs += (d.query("SELECT ended_at_ms - started_at_ms AS ms FROM runs").get() as { ms: number }).ms;
    d.close();
  }
  const psnrMean = psnr.length ? psnr.reduce((a, b) => a + b, 0) / psnr.length : null;
  return { p50: rank(latencies, 50), p95: rank(latencies, 95), dropped, unreadable, measuredMs, framesNew, psnrMean };
}

const byConfig = (name: string) => report.json.configurations.find((c: any) => c.configuration === name);

describe("vat report over real runs and an old study", () => {
  test("six configurations, seven runs, from every database under the folder and the old file", () => {
    expect(report.json.configurations.map((c: any) => c.configuration)).toEqual([
      "240p 15fps local live",
      `240p 15fps local live ${cdnHost}`,
      "240p 15fps 512cpu/1GB live",
      "240p 25fps local live",
      "480p 25fps 1024cpu/2GB live",
      "720p 30fps 1024cpu/2GB live",
    ]);
    expect(report.json.databases).toHaveLength(6);
    expect(report.json.runs).toHaveLength(7);
    expect(report.stderr).toContain("7 runs in 6 configurations from 6 database(s)");
  });

  test("plain HLS runs: their format facts in --json, and no delivery table (a low-latency stream's only)", () => {
    const vatRuns = report.json.runs.filter((r: any) => r.format === "vat");
    expect(vatRuns).toHaveLength(6);
    for (const r of vatRuns) expect(r).toMatchObject({ protocol: "hls", container: "mpegts", segment_duration_s: 1 });
    expect(report.json.runs.find((r: any) => r.format === "prototype")).toMatchObject({ protocol: null, container: null, codecs: null });
    expect(report.json.delivery).toEqual([]);
    expect(report.html).not.toContain('id="delivery"');
  });

  test("a provider against its control: grouped by provider, its latency higher by the relay's 1 s", () => {
    const control = byConfig("240p 15fps local live");
    const provider = byConfig(`240p 15fps local live ${cdnHost}`);
    expect(control.provider).toBe("origin");
    expect(cdnHost).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(provider.provider).toBe(cdnHost);
    // Frame by frame, as the client compared them (the frames of each stream's join segment left out): 1 s behind.
    const d = openDb(join(exp, "compare", "stream_data.db"));
    const cmp = d.query("SELECT relative_latency_p50_ms AS p50, matched_share AS share FROM comparisons").get() as { p50: number; share: number };
    d.close();
    expect(Math.abs(cmp.p50 - 1000)).toBeLessThan(60);
    expect(cmp.share).toBeGreaterThanOrEqual(0.99);
    // The report's two medians are of different frames (the provider's run lags by the relay's second), each with its
    // join segment, whose frames arrived when the client joined, not when delivered: in runs of 8 s that segment moved
    // the difference of the medians by 60-70 ms either way (929-948 and 1061-1063 ms seen, the code before this bound
    // as well), so the groups are checked for the second, not to the frame's precision.
    expect(Math.abs(provider.latency_p50_ms - control.latency_p50_ms - 1000)).toBeLessThan(150);
    expect(report.html).toMatch(/<figure id="providers"><figcaption>[^<]*<\/figcaption><svg/);
    // The client's comparison has its section: the relay's stream named as in the configurations, 1 s behind.
    const [c, ...others] = report.json.comparisons;
    expect(others).toEqual([]);
    const behind = c.streams.find((s: any) => s.role !== "control");
    expect(behind.provider).toBe(cdnHost);
    expect(Math.abs(behind.relativeP50Ms - 1000)).toBeLessThan(60);
    expect(behind.matchedShare).toBeGreaterThanOrEqual(0.99);
  });

  test.each([
    ["240p 15fps 512cpu/1GB live", ["0-15-512-1-r240a", "0-15-512-1-r240b"], 512, 1024],
    ["480p 25fps 1024cpu/2GB live", ["1-25-1024-2-r480"], 1024, 2048],
    ["240p 25fps local live", ["drops"], null, null],
  ])("%s: figures equal what the stored rows give", (name, dirs, cpu, memMiB) => {
    const c = byConfig(name);
    const t = truthOf(dirs.map((d) => join(exp, d, "stream_data.db")));
    expect(c.runs).toBe(dirs.length);
    expect(c.latency_p50_ms).toBe(t.p50);
    expect(c.latency_p95_ms).toBe(t.p95);
    expect(c.dropped).toBe(t.dropped);
    expect(c.unreadable).toBe(t.unreadable);
    expect(c.measured_s).toBeCloseTo(t.measuredMs / 1000, 6);
    expect(c.dropped_per_min).toBeCloseTo(t.dropped / (t.measuredMs / 60_000), 9);
    expect(c.hours_lasted).toBeCloseTo(t.measuredMs / dirs.length / 3_600_000, 9);
    // Quality where it was measured (the 480p run, with --quality), none elsewhere.
    if (t.psnrMean === null) expect(c.psnr_y_mean_db).toBeNull();
    else expect(c.psnr_y_mean_db).toBeCloseTo(t.psnrMean, 9);
    expect(c.psnr_y_mean_db === null).toBe(name !== "480p 25fps 1024cpu/2GB live");
    if (cpu === null) {
      expect(c.cost_total_usd).toBeNull();
    } else {
      // eu-west-1 list prices: $0.04048 per vCPU-hour, $0.004445 per GB-hour.
      const usd = (t.measuredMs / 3_600_000) * ((cpu / 1024) * 0.04048 + (memMiB! / 1024) * 0.004445);
      expect(c.cost_total_usd).toBeCloseTo(usd, 12);
      expect(c.cost_per_run_usd).toBeCloseTo(usd / dirs.length, 12);
      expect(c.cost_per_healthy_hour_usd).toBeCloseTo((cpu / 1024) * 0.04048 + (memMiB! / 1024) * 0.004445, 9);
    }
  });

  test("the run behind the relay shows exactly the frames of the withheld segments as dropped", () => {
    expect(hiddenFrames).toBe(50); // two 1 s segments at 25 fps, as ffprobe counts them
    expect(byConfig("240p 25fps local live").dropped).toBe(hiddenFrames);
    expect(byConfig("240p 15fps 512cpu/1GB live").dropped).toBe(0);
  });

  test("the prototype's database: figures known by construction", () => {
    const c = byConfig("720p 30fps 1024cpu/2GB live");
    const lat = Array.from({ length: 66 }, (_, n) => n).filter((n) => n < 30 || n >= 35).map((n) => 400 + (n % 10) * 10);
    expect(c.runs).toBe(1);
    // Seconds since the epoch as doubles: their difference is exact to about 0.1 µs.
    expect(c.latency_p50_ms).toBeCloseTo(rank(lat, 50), 3);
    expect(c.latency_p95_ms).toBeCloseTo(rank(lat, 95), 3);
    expect(c.dropped).toBe(5);
    expect(c.unreadable).toBeNull();
    expect(c.stalls).toBeNull();
    const spanS = 65 / 30 + 0.05; // first received at 0.400 s (frame 0), last at 65/30 + 0.450 s (frame 65)
    expect(c.measured_s).toBeCloseTo(spanS, 6);
    expect(c.fps_achieved).toBeCloseTo(60 / spanS, 6);
  });

  test("--csv and --json carry the same figures as the HTML tables", () => {
    const [head, ...lines] = report.csv.trim().split("\n");
    const names = head!.split(",");
    // The page splits the configurations into two tables that fit a 1280-pixel window; each heading names its column.
    const page = new Map<string, unknown[]>();
    for (const id of ["configurations", "configurations-quality-cost"]) {
      const table = new RegExp(`<table class="sortable" id="${id}">([\\s\\S]*?)</table>`).exec(report.html)![1]!;
      const cols = [...table.matchAll(/<th [^>]*data-col="([^"]+)"/g)].map((m) => m[1]!);
      const rows = [...table.matchAll(/<tr>(<td[\s\S]*?)<\/tr>/g)].map((m) =>
        [...m[1]!.matchAll(/<td((?: class="[^"]*"| title="[^"]*")*)( data-v="([^"]*)")?>([^<]*)<\/td>/g)].map((c) =>
          c[2] ? (c[3] === "" ? null : Number(c[3])) : c[4]!.replace(/&amp;/g, "&"),
        ),
      );
      expect(rows).toHaveLength(6);
      cols.forEach((col, j) => page.set(col, rows.map((r) => r[j])));
    }
    expect(page.has("latency_p50_ms") && page.has("cost_total_usd")).toBe(true);
    expect(lines).toHaveLength(6);
    lines.forEach((line, i) => {
      const json = report.json.configurations[i];
      const cells = line.split(",");
      names.forEach((name, j) => {
        const v = json[name];
        if (v === null) expect(cells[j]).toBe("");
        else if (typeof v === "number") expect(Number(cells[j])).toBe(v);
        else expect(cells[j]).toBe(v);
        if (page.has(name)) expect(page.get(name)![i]).toEqual(v);
      });
    });
  });

  test("the best of each column is marked, and only where rows differ", () => {
    const table = /<table class="sortable" id="configurations">([\s\S]*?)<\/table>/.exec(report.html)![1]!;
    const cols = [...table.matchAll(/<th [^>]*data-col="([^"]+)"/g)].map((m) => m[1]!);
    const rows = [...table.matchAll(/<tr>(<td[\s\S]*?)<\/tr>/g)].map((m) => [...m[1]!.matchAll(/<td([^>]*)>/g)].map((c) => c[1]!));
    const j = cols.indexOf("latency_p50_ms");
    const values = report.json.configurations.map((c: any) => c.latency_p50_ms);
    const best = Math.min(...values);
    expect(rows.map((r) => r[j]!.includes('class="best"'))).toEqual(values.map((v: number) => v === best));
  });

  test("the HTML is one self-contained file: no reference to anything outside it", () => {
    expect(report.html).not.toMatch(/\s(src|href)\s*=/i);
    expect(report.html).not.toMatch(/url\(|@import|<link\b|<iframe\b/i);
    expect((report.html.match(/<svg\b/g) ?? []).length).toBeGreaterThanOrEqual(5);
    expect(report.html).toContain("Content-Security-Policy");
  });
});

describe("in headless Chromium (Debian's, driven by playwright-core)", () => {
  test("loads with no console errors and no requests, charts rendered, sorting works; screenshot kept", async () => {
    await inChromium(join(ARTIFACTS, "report.html"), async (page, { url, requests, problems }) => {
      expect(requests).toEqual([url]);
      expect(problems).toEqual([]);
      // Each chart has drawn marks: bars (paths), lines and points, axes with labels. The client's comparison (the
      // relay against its control) has its own four, first on the page.
      const ids = await page.$$eval("figure", (f) => f.map((x) => x.id));
      expect(ids).toEqual(["cmp1-cdf", "cmp1-relative", "cmp1-timeline", "cmp1-bitrate", "latency-by-task", "fps", "drops", "hours-lasted", "latency-over-time", "providers"]);
      const marks = await page.$$eval("figure svg", (svgs) => svgs.map((s) => s.querySelectorAll("path").length));
      expect(marks.length).toBe(10);
      for (const n of marks) expect(n).toBeGreaterThan(3);
      // The fps chart: a layer of bars, then one of ticks (the configured rate), one of each per configuration.
      const layers = await page.$$eval("#fps svg g.mark-rect", (g) => g.map((x) => x.querySelectorAll("path").length));
      expect(layers).toEqual([6, 6]);
      // The provider chart: a bar for the control and one for the provider.
      expect(await page.$$eval("#providers svg g.mark-rect path", (p) => p.length)).toBe(2);
      // A click on "latency p50" sorts the configurations by it (ascending, then descending).
      const column = await page.$$eval("#configurations th", (th) => th.findIndex((h) => h.textContent === "latency p50"));
      const values = () => page.$$eval(`#configurations tbody tr td:nth-child(${column + 1})`, (tds) => tds.map((td) => Number(td.getAttribute("data-v"))));
      await page.click("#configurations th:nth-child(" + (column + 1) + ")");
      const up = await values();
      expect(up).toEqual([...up].sort((a, b) => a - b));
      await page.click("#configurations th:nth-child(" + (column + 1) + ")");
      const down = await values();
      expect(down).toEqual([...up].reverse());
      const shot = join(ARTIFACTS, "report.png");
      await page.screenshot({ path: shot, fullPage: true });
      expect(statSync(shot).size).toBeGreaterThan(50_000);
    });
  }, 60_000);
});

describe("a report of hostile databases, in headless Chromium", () => {
  /** What ran, what was injected, and whether the page's own script still sorts the runs (by "new frames"). */
  const visit = (file: string) =>
    inChromium(file, async (page, seen) => {
      await page.waitForTimeout(200); // an image's error handler runs after load
      const pwned = await page.evaluate(() => (globalThis as unknown as { __pwned?: string }).__pwned ?? null);
      const injected = await page.$$eval("#runs script, #runs img, #configurations img, #pwned", (e) => e.length);
      const streams = await page.$$eval("#runs tbody tr td:nth-child(4)", (tds) => tds.map((td) => td.textContent));
      await page.click("#runs th:nth-child(6)");
      const frames = await page.$$eval("#runs tbody tr td:nth-child(6)", (tds) => tds.map((td) => Number(td.getAttribute("data-v"))));
      return { pwned, injected, streams, frames, requests: seen.requests, problems: seen.problems };
    });

  test("what the databases hold shows as text; none of it runs; the page's own script does", async () => {
    const dir = join(tmp.path, "hostile");
    makeHostileDatabases(dir);
    const file = join(ARTIFACTS, "report-hostile.html");
    const r = await vat(["report", dir, "-o", file]);
    expect(r.exitCode).toBe(0);
    const html = readFileSync(file, "utf8");
    for (const s of MUST_NOT_APPEAR) expect(html).not.toContain(s);
    const seen = await visit(file);
    expect(seen.pwned).toBeNull();
    expect(seen.injected).toBe(0);
    expect(seen.streams).toContain(HOSTILE.script); // the stream id, as the database holds it, shown as text
    expect(seen.requests).toEqual([`file://${file}`]);
    expect(seen.problems).toEqual([]); // nothing even tried to run (the policy would have said so)
    expect(seen.frames).toEqual([...seen.frames].sort((a, b) => a - b));
    expect(new Set(seen.frames).size).toBeGreaterThan(1);

    // Were escaping ever to miss, the page's policy refuses any script but its own: markup put into the page runs not.
    const tampered = join(tmp.path, "tampered.html");
    writeFileSync(tampered, html.replace("</body>", `${HOSTILE.script}${HOSTILE.attribute}</body>`));
    const t = await visit(tampered);
    expect(t.pwned).toBeNull();
    expect(t.problems.length).toBeGreaterThan(0); // the refusals
    for (const p of t.problems) expect(p).toMatch(/Content Security Policy/);
    expect(t.frames).toEqual([...t.frames].sort((a, b) => a - b));
  }, 60_000);
});

describe("bad input: one line, and nothing written", () => {
  const dir = tempDir("vat-report-bad-");
  afterAll(() => dir.cleanup());

  test.each([
    [[], /name the databases or folders to report on: vat report PATH\.\.\. -o report\.html/, 2],
    [["/nonexistent/x.db"], /'\/nonexistent\/x\.db' does not exist/, 2],
    [["EMPTY"], /no databases \(\*\.db, \*\.sqlite\) in/, 2],
    [["JUNK"], /cannot (open|read) '.*junk\.db'/, 2],
    [["FOREIGN"], /'.*foreign\.db' holds no vat runs and no prototype tables/, 2],
    [["OLD", "--sort", "speed"], /cannot sort by 'speed': use one of latency-p50/, 2],
    [["OLD", "--region", "mars-1"], /no Fargate prices for region 'mars-1': use one of us-east-1/, 2],
    [["OLD", "-o", "/nonexistent/dir/r.html"], /cannot write '\/nonexistent\/dir\/r\.html': folder '\/nonexistent\/dir' does not exist/, 2],
  ])("%p", async (args, message, code) => {
    mkdirSync(join(dir.path, "empty"), { recursive: true });
    writeFileSync(join(dir.path, "junk.db"), "this is not a database, it only has the name of one".repeat(20));
    const foreign = new Database(join(dir.path, "foreign.db"), { create: true });
    foreign.run("CREATE TABLE IF NOT EXISTS t (x)");
    foreign.close();
    const named: Record<string, string> = { EMPTY: join(dir.path, "empty"), JUNK: join(dir.path, "junk.db"), FOREIGN: join(dir.path, "foreign.db"), OLD: oldDb };
    const out = join(dir.path, "out.html");
    const argv = args.map((a) => named[a] ?? a);
    const r = await vat(["report", ...argv, ...(argv.includes("-o") ? [] : ["-o", out])]);
    expect(r.exitCode).toBe(code);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    expect(existsSync(out)).toBe(false);
  });
});
