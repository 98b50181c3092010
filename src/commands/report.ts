import { existsSync, readFileSync, statSync } from "node:fs";
import { resolve } from "node:path";
import type { Argv } from "yargs";
import { badInput, failed } from "../errors.ts";
import { checkWritable, writeFilesAtomic } from "../files.ts";
import { Progress } from "../log.ts";
import { aggregate, FARGATE_PRICES, parsePricesFile, pricesFor, SORTABLE, type RunFacts, type SortKey } from "../report/aggregate.ts";
import { comparisonCharts, reportCharts, type Chart } from "../report/charts.ts";
import { findDatabases, readRuns } from "../report/collect.ts";
import { readComparisons } from "../report/collect-comparisons.ts";
import { comparisonFigures, type ComparisonFacts } from "../report/comparison.ts";
import { reportHtml, type RenderedChart } from "../report/html.ts";
import { renderSvg } from "../report/svg.ts";
import { groupsCsv, reportJson } from "../report/tables.ts";
import { VERSION } from "../version.ts";

export interface ReportArgs {
  paths?: string[];
  output?: string;
  csv?: string;
  json?: boolean;
  region?: string;
  vcpuHourUsd?: number;
  gbHourUsd?: number;
  prices?: string;
  sort?: string;
}

export function reportOptions<T>(y: Argv<T>) {
  return y
    .positional("paths", { type: "string", array: true, describe: "database files and folders (searched recursively)" })
    .option("output", { alias: "o", type: "string", describe: "the HTML report [default report.html]" })
    .option("csv", { type: "string", describe: "also write the figures as CSV, one row per configuration" })
    .option("json", { type: "boolean", default: false, describe: "print the figures as JSON on stdout" })
    .option("region", { type: "string", default: "us-east-1", describe: "AWS region whose Fargate prices cost is computed with" })
    .option("vcpu-hour-usd", { type: "number", describe: "Fargate price per vCPU-hour, instead of the built-in table's" })
    .option("gb-hour-usd", { type: "number", describe: "Fargate price per GB-hour, instead of the built-in table's" })
    .option("prices", { type: "string", describe: 'a JSON file of prices by region: { "eu-west-1": { "vcpuHour": 0.04048, "gbHour": 0.004445 } }' })
    .option("sort", { type: "string", default: "config", describe: `order of the configurations: ${SORTABLE.join(", ")}` })
    .example("vat report logs/2026-11-25-full -o sweep.html --csv sweep.csv", "a Slurm experiment's folders")
    .example("vat report old_study.db new.db --sort latency-p50 --json", "old and new studies, by median latency");
}

export async function runReport(args: ReportArgs): Promise<number> {
  const paths = args.paths ?? [];
  if (paths.length === 0) throw badInput("name the databases or folders to report on: vat report PATH... -o report.html");
  const sort = (args.sort ?? "config") as SortKey;
  if (!SORTABLE.includes(sort)) throw badInput(`cannot sort by '${args.sort}': use one of ${SORTABLE.join(", ")}`);
  let table = FARGATE_PRICES;
  if (args.prices) {
    if (!existsSync(args.prices)) throw badInput(`prices file '${args.prices}' does not exist`);
    if (statSync(args.prices).isDirectory()) throw badInput(`prices file '${args.prices}' is a folder: name the JSON file`);
    table = { ...FARGATE_PRICES, ...parsePricesFile(readFileSync(args.prices, "utf8"), args.prices) };
  }
  const prices = pricesFor(args.region ?? "us-east-1", { vcpuHour: args.vcpuHourUsd, gbHour: args.gbHourUsd }, table);
  const output = args.output ?? "report.html";
  // Where the results go is checked before the work: a long report must not fail at its last step.
  checkWritable(output, "the report's path (-o)");
  if (args.csv !== undefined) {
    checkWritable(args.csv, "the CSV's path (--csv)");
    if (resolve(args.csv) === resolve(output)) throw badInput(`-o and --csv both name '${output}': give each its own file`);
  }
  const sources = findDatabases(paths);
  const progress = new Progress();
  const runs: RunFacts[] = [];
  const compared: ComparisonFacts[] = [];
  sources.forEach((file, i) => {
    progress.update(`reading ${i + 1}/${sources.length}: ${file}`);
    runs.push(...readRuns(file));
    compared.push(...readComparisons(file));
  });
  progress.clear();
  if (runs.length === 0) throw failed(`${sources.length} database(s) found, but none holds a run with measurements`);
  const groups = aggregate(runs, prices, sort);
  const charts = await renderCharts(reportCharts(groups, runs));
  // Each comparison in the order it ran, its providers grouped under it (and so under its configuration).
  compared.sort((a, b) => a.startedAtMs - b.startedAtMs);
  const comparisons = [];
  for (const [i, c] of compared.entries()) {
    const figures = comparisonFigures(c, prices);
    comparisons.push({ figures, charts: await renderCharts(comparisonCharts(`cmp${i + 1}`, c, figures)) });
  }
  const html = reportHtml({ groups, comparisons, runs, charts, prices, sources, sort, createdAt: new Date().toISOString(), version: VERSION });
  writeFilesAtomic([{ path: output, data: html }, ...(args.csv !== undefined ? [{ path: args.csv, data: groupsCsv(groups) }] : [])]);
  if (args.json) {
    const json = { ...reportJson(groups, runs, prices, sources), comparisons: comparisons.map((c) => c.figures) };
    process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
  }
  process.stderr.write(
    `vat report: ${compared.length ? `${compared.length} comparison(s), ` : ""}${runs.length} runs in ${groups.length} configurations from ${sources.length} database(s) → ${output}` +
      `${args.csv !== undefined ? ` and ${args.csv}` : ""}\n`,
  );
  return 0;
}

async function renderCharts(charts: readonly Chart[]): Promise<RenderedChart[]> {
  const out: RenderedChart[] = [];
  for (const c of charts) out.push({ id: c.id, title: c.title, svg: c.spec ? await renderSvg(c.spec) : null, ...(c.empty ? { empty: c.empty } : {}) });
  return out;
}
