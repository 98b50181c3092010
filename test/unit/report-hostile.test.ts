import { afterAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { aggregate, pricesFor } from "../../src/report/aggregate.ts";
import { reportCharts } from "../../src/report/charts.ts";
import { readRuns } from "../../src/report/collect.ts";
import { reportHtml } from "../../src/report/html.ts";
import { renderSvg } from "../../src/report/svg.ts";
import { groupsCsv, reportJson } from "../../src/report/tables.ts";
import { HOSTILE, makeHostileDatabases, MUST_NOT_APPEAR } from "../helpers/hostile-db.ts";

const dir = mkdtempSync(join(tmpdir(), "vat-hostile-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const dbs = makeHostileDatabases(dir);

async function build() {
  const runs = [...readRuns(dbs.prototype), ...readRuns(dbs.vat)];
  const prices = pricesFor("us-east-1");
  const groups = aggregate(runs, prices);
  const charts = [];
  for (const c of reportCharts(groups, runs)) charts.push({ id: c.id, title: c.title, svg: c.spec ? await renderSvg(c.spec) : null });
  const html = reportHtml({ groups, runs, charts, prices, sources: [dbs.prototype, dbs.vat], sort: "config", createdAt: "now", version: "0" });
  return { runs, groups, html, json: JSON.stringify(reportJson(groups, runs, prices, [dbs.prototype, dbs.vat])), csv: groupsCsv(groups) };
}

describe("a report of databases written by other hands", () => {
  test("numbers that are none (text, NaN, infinity) are missing: the rest of each run still counts", async () => {
    const { runs } = await build();
    const proto = runs.filter((r) => r.format === "prototype");
    expect(proto.map((r) => r.run)).toEqual([8, HOSTILE.script]);
    for (const r of proto) {
      expect(r.framesNew).toBe(dbs.goodFrames.prototype);
      expect(r.dropped).toBe(3); // frames 40 to 42 never arrived in a usable row
      expect(r.latencies).toHaveLength(40);
      for (const l of Array.from(r.latencies)) expect(l).toBeCloseTo(400, 3);
      expect(r.measuredMs).toBeCloseTo(2100, 3); // first received at 0.4 s, last (frame 43) at 2.5 s
    }
    expect(proto[1]).toMatchObject({ fps: null, cpu: null, memoryMiB: null, size: null });
    const [v] = runs.filter((r) => r.format === "vat");
    expect(v).toMatchObject({ framesNew: dbs.goodFrames.vat, dropped: 0, stallMs: 0, fpsAchieved: 2, cpu: null, memoryMiB: null, provider: "-" });
    expect(v!.latencies).toHaveLength(18);
    expect(v!.quality?.frames).toBe(19);
    expect(v!.latencyOverTime).toEqual([{ atS: 0, p50Ms: 500 }]);
  });

  test("the page holds none of their markup unescaped, and no NaN", async () => {
    const { html, json, csv } = await build();
    for (const s of MUST_NOT_APPEAR) expect(html).not.toContain(s);
    expect(json).not.toContain("NaN");
    expect(csv).not.toContain("NaN");
    expect(html.match(/<script/g)).toHaveLength(1);
    expect(html.match(/<\/style>/g)).toHaveLength(1);
    // What they held is still there, as text.
    expect(html).toContain("&lt;script&gt;window.__pwned = &#39;script&#39;&lt;/script&gt;");
    expect(html).toContain("&quot;&gt;&lt;img src=&quot;data:,&quot; onerror=");
  });

  test("the page's policy lets only its own script run: the hash of that script, no inline scripts or handlers", async () => {
    const { html } = await build();
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)![1]!;
    const script = /<script>([\s\S]*?)<\/script>/.exec(html)![1]!;
    const scriptSrc = csp.split(";").map((d) => d.trim()).find((d) => d.startsWith("script-src"))!;
    expect(scriptSrc).toBe(`script-src 'sha256-${createHash("sha256").update(script).digest("base64")}'`);
    expect(csp).toContain("default-src 'none'");
  });
});
