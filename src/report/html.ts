import { createHash } from "node:crypto";
import type { GroupFigures, Prices, RunFacts, SortKey } from "./aggregate.ts";
import type { ComparisonFigures } from "./comparison.ts";
import { deliveryRows } from "./delivery.ts";
import { cellText, cellValue, COMPARISON_COLUMNS, DELIVERY_COLUMNS, PAGE_TABLES, RUN_COLUMNS, usd, type Column } from "./tables.ts";

export interface RenderedChart {
  id: string;
  title: string;
  svg: string | null;
  empty?: string;
}

/** The one way text reaches the page: every table cell, heading, caption and note goes through it. */
function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/** Sorting by a column's header click: numbers by their raw value (data-v), text by its text. No network, no library. */
const SORT_SCRIPT = `
document.querySelectorAll("table.sortable th").forEach((th) => {
  const col = th.cellIndex;
  th.addEventListener("click", () => {
    const body = th.closest("table").tBodies[0];
    const dir = th.dataset.dir === "asc" ? -1 : 1;
    th.closest("tr").querySelectorAll("th").forEach((h) => delete h.dataset.dir);
    th.dataset.dir = dir === 1 ? "asc" : "desc";
    const key = (tr) => { const c = tr.cells[col]; return c.dataset.v === undefined ? c.textContent : c.dataset.v === "" ? null : Number(c.dataset.v); };
    [...body.rows].sort((a, b) => {
      const x = key(a), y = key(b);
      if (x === null || y === null) return x === null ? (y === null ? 0 : 1) : -1;
      return typeof x === "number" ? dir * (x - y) : dir * String(x).localeCompare(String(y));
    }).forEach((tr) => body.appendChild(tr));
  });
});`;

/**
 * Only vat's own script may run: the page's policy names its hash, so a script or handler that reached the page from
 * a database (were escaping ever to miss one) is refused by the browser.
 */
const SCRIPT_HASH = `sha256-${createHash("sha256").update(SORT_SCRIPT).digest("base64")}`;
export const CONTENT_SECURITY_POLICY =
  `default-src 'none'; style-src 'unsafe-inline'; script-src '${SCRIPT_HASH}'; img-src data:; base-uri 'none'; form-action 'none'`;

/**
 * A sortable table: numbers carry their raw value (data-v, empty when unknown) for the sorting script, and the best
 * value of each column that has one is marked (among the rows `ranked` says take part, e.g. not the control).
 */
function tableHtml<T>(id: string, columns: readonly Column<T>[], rows: readonly T[], ranked: (row: T) => boolean = () => true): string {
  const head = columns.map((c) => `<th title="click to sort" data-col="${esc(c.name)}">${esc(c.heading)}</th>`).join("");
  const best = columns.map((c) => {
    if (!c.best) return null;
    const values = rows.filter(ranked).map((r) => cellValue(c, r)).filter((v): v is number => typeof v === "number");
    const lo = Math.min(...values);
    const hi = Math.max(...values);
    // One row alone, or rows that all tie, have no best.
    if (values.length < 2 || lo === hi) return null;
    return c.best === "min" ? lo : hi;
  });
  const body = rows.map((row) => {
    const cells = columns.map((c, i) => {
      const v = cellValue(c, row);
      const data = typeof v === "number" || v === null ? ` data-v="${v ?? ""}"` : "";
      const mark = best[i] !== null && v === best[i] && ranked(row) ? ` class="best" title="best of the column"` : "";
      const kind = typeof v === "number" || v === null ? "" : ` class="text"`;
      return `<td${mark || kind}${data}>${esc(cellText(c, row))}</td>`;
    });
    return `<tr>${cells.join("")}</tr>`;
  });
  return `<div class="scroll"><table class="sortable" id="${esc(id)}"><thead><tr>${head}</tr></thead><tbody>\n${body.join("\n")}\n</tbody></table></div>`;
}

function figureHtml(c: RenderedChart): string {
  return `<figure id="${esc(c.id)}"><figcaption>${esc(c.title)}</figcaption>${c.svg ?? `<p class="empty">${esc(c.empty ?? "nothing to show")}</p>`}</figure>`;
}

/** One comparison: its streams' tables (the best provider of each column marked), why any failed, and its charts. */
function comparisonHtml(f: ComparisonFigures, index: number, charts: readonly RenderedChart[]): string {
  const id = `comparison-${index + 1}`;
  const providers = f.streams.filter((s) => !s.control);
  const failed = providers.filter((s) => s.status !== "measured" || s.reason);
  const origin = f.originCostPerHourUsd === null
    ? "the origin ran on this machine (no Fargate cost)"
    : `the origin's Fargate task costs ${usd(f.originCostPerHourUsd)} an hour`;
  return `<section class="comparison" id="${esc(id)}">
<h3>${esc(f.configuration)}: ${providers.length} provider playback${providers.length === 1 ? "" : "s"} against the origin, ${f.durationS.toFixed(0)} s</h3>
<p class="note">Comparison ${esc(f.comparisonId)} in ${esc(f.source)}. Cost per viewer-hour is the providers file's prices at the
measured bitrate; ${esc(origin)}. ★ marks the best provider of a column.</p>
${COMPARISON_COLUMNS.map((cols, i) => tableHtml(`${id}-${i === 0 ? "delivery" : "quality-cost"}`, cols, f.streams, (s) => !s.control)).join("\n")}
${failed.length ? `<ul class="reasons">${failed.map((s) => `<li><b>${esc(s.role)}</b>: ${esc(s.reason ?? s.status)}</li>`).join("")}</ul>` : ""}
<div class="charts">${charts.map(figureHtml).join("\n")}</div>
</section>`;
}

/** The low-latency runs' delivery, one row each; nothing when no run measured one (plain HLS reports look as before). */
function deliveryHtml(runs: readonly RunFacts[]): string {
  const rows = deliveryRows(runs);
  if (rows.length === 0) return "";
  return `<h2>Low-latency delivery</h2>
<p class="note">Each LL-HLS or LL-DASH run as the client stored it: the part (or chunk) duration, the latency the stream
advertises (PART-HOLD-BACK, or the DASH latency target), its blocking playlist reloads (round trip p50/p95, and how many
the server answered before the part asked for existed), how late each part's last byte came against its advertised
availability (server clock; negative = early), and a player held at the advertised target: its rebuffers and their
time. – is a figure the run did not measure.</p>
${tableHtml("delivery", DELIVERY_COLUMNS, rows)}`;
}

/** One self-contained page: figures, tables and charts inline; it makes no request of any kind. Pure. */
export function reportHtml(o: {
  groups: readonly GroupFigures[];
  /** Each `vat compare` run found, with its charts rendered: shown first. */
  comparisons?: readonly { figures: ComparisonFigures; charts: readonly RenderedChart[] }[];
  runs: readonly RunFacts[];
  charts: readonly RenderedChart[];
  prices: Prices;
  sources: readonly string[];
  sort: SortKey;
  createdAt: string;
  version: string;
}): string {
  const charts = o.charts.map(figureHtml).join("\n");
  const compared = o.comparisons ?? [];
  const comparisons = compared.length
    ? `<h2>Comparisons</h2>\n${compared.map((c, i) => comparisonHtml(c.figures, i, c.charts)).join("\n")}`
    : "";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CONTENT_SECURITY_POLICY}">
<title>vat report: ${compared.length ? `${compared.length} comparison${compared.length === 1 ? "" : "s"}, ` : ""}${o.groups.length} configurations, ${o.runs.length} runs</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 2rem; color: #222; }
  table { border-collapse: collapse; margin: 1rem 0; font-size: 13px; font-variant-numeric: tabular-nums; }
  th, td { border: 1px solid #ccc; padding: 0.2rem 0.35rem; text-align: right; }
  td { white-space: nowrap; }
  td.text { white-space: normal; overflow-wrap: anywhere; text-align: left; max-width: 16rem; }
  th { background: #f0f0f0; cursor: pointer; font-weight: 600; vertical-align: bottom; max-width: 5.5rem; }
  th[data-dir="asc"]::after { content: " ▲"; } th[data-dir="desc"]::after { content: " ▼"; }
  td:first-child, th:first-child { text-align: left; }
  td.best { background: #e3f1e5; font-weight: 700; }
  td.best::before { content: "★ "; color: #2e7d32; font-weight: 400; }
  .scroll { overflow-x: auto; max-width: 100%; }
  section.comparison { border-top: 2px solid #ddd; margin-top: 1.5rem; }
  .reasons { color: #8a1c1c; max-width: 70rem; }
  figure { display: inline-block; vertical-align: top; margin: 1rem 1.5rem 1rem 0; }
  figcaption { font-weight: 600; margin-bottom: 0.5rem; }
  .empty { color: #777; font-style: italic; }
  .note { color: #555; max-width: 60rem; }
</style>
</head>
<body>
<h1>vat report</h1>
<p class="note">${o.runs.length} runs in ${o.groups.length} configurations from ${o.sources.length} database${o.sources.length === 1 ? "" : "s"};
built ${esc(o.createdAt)} by vat ${esc(o.version)}. Ordered by ${esc(o.sort)}; click a heading to sort by it.
Cost: Fargate on demand in ${esc(o.prices.region)}, $${o.prices.vcpuHour} per vCPU-hour and $${o.prices.gbHour} per GB-hour, for the
time measured; runs without a task size (local) have none.</p>
${comparisons}
<h2>Configurations</h2>
${PAGE_TABLES.map((t) => `<h3>${esc(t.title)}</h3>\n${tableHtml(t.id, t.columns, o.groups)}`).join("\n")}
${deliveryHtml(o.runs)}
<h2>Charts</h2>
${charts}
<h2>Runs</h2>
${tableHtml("runs", RUN_COLUMNS, o.runs)}
<p class="note">Latency percentiles are over every new frame of a configuration's runs; achieved fps is the runs' own
figure weighted by time measured; drops per minute = dropped frames ÷ minutes measured; time stalled = frozen time
÷ time measured; hours lasted = the mean time a run's stream stayed healthy (to its first outage, or the whole run;
none for a run stored as failed that read no frame); runs failed = runs stored as failed or with an outage.
The prototype's databases record no unreadable frames or stalls (shown as –).</p>
<script>${SORT_SCRIPT}</script>
</body>
</html>
`;
}
