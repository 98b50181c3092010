import { basename } from "node:path";
import type { GroupFigures, RunFacts } from "./aggregate.ts";

/** A chart for the report: its title, and a Vega-Lite specification (rendered to SVG when the report is built). */
export interface Chart {
  id: string;
  title: string;
  spec: Record<string, unknown> | null;
  /** Why a chart has nothing to show (no spec then). */
  empty?: string;
}

const WIDTH = 260;
const HEIGHT = 180;

function taskLabel(g: GroupFigures): string {
  if (g.cpu === null || g.memoryMiB === null) return "local";
  return `${g.cpu}/${g.memoryMiB % 1024 === 0 ? `${g.memoryMiB / 1024}GB` : `${g.memoryMiB}MiB`}`;
}

/** The report's charts, as Vega-Lite specifications of the figures. Pure. */
export function reportCharts(groups: readonly GroupFigures[], runs: readonly RunFacts[]): Chart[] {
  const rows = groups.map((g) => ({
    group: g.label,
    size: g.size ?? "?",
    sizeFps: `${g.size ?? "?"} ${g.fps ?? "?"}fps`,
    fps: g.fps === null ? "?" : String(g.fps),
    task: taskLabel(g),
    /** The task size, and the provider when it is not the origin: one bar each. */
    taskVia: g.provider === "origin" || g.provider === "-" ? taskLabel(g) : `${taskLabel(g)} via ${g.provider}`,
    cpu: g.cpu,
    provider: g.provider,
    videoType: g.videoType,
    latencyP50: g.latencyP50Ms,
    latencyP95: g.latencyP95Ms,
    fpsAchieved: g.fpsAchieved,
    fpsConfigured: g.fps,
    droppedPerMin: g.droppedPerMin,
    hoursLasted: g.hoursLasted,
    failures: g.failures,
    outcome: g.failures === 0 ? "no run failed" : `${g.failures} of ${g.runs} runs failed`,
    runs: g.runs,
  }));
  const base = { $schema: "https://vega.github.io/schema/vega-lite/v6.json", background: "white" };
  const groupOrder = rows.map((r) => r.group);
  const sizeFpsOrder = [...new Set(rows.map((r) => r.sizeFps))];
  const charts: Chart[] = [
    {
      id: "latency-by-task",
      title: "Median latency by task size (cpu units / memory), for each image size and fps",
      spec: {
        ...base,
        data: { values: rows.filter((r) => r.latencyP50 !== null) },
        mark: { type: "bar", tooltip: true },
        encoding: {
          x: { field: "sizeFps", type: "nominal", title: "image size, fps", sort: sizeFpsOrder, axis: { labelAngle: 0 } },
          xOffset: { field: "taskVia", type: "nominal", sort: { field: "cpu" } },
          y: { field: "latencyP50", type: "quantitative", title: "latency p50 (ms)", stack: null },
          color: { field: "taskVia", type: "nominal", title: "cpu / memory", sort: { field: "cpu" } },
        },
        width: Math.max(WIDTH, rows.length * 30),
        height: HEIGHT,
      },
    },
    {
      id: "fps",
      title: "Achieved fps per configuration (tick: configured)",
      spec: {
        ...base,
        data: { values: rows },
        width: Math.max(WIDTH, rows.length * 28),
        height: HEIGHT,
        encoding: { x: { field: "group", type: "nominal", sort: groupOrder, title: null, axis: { labelAngle: -40 } } },
        layer: [
          { mark: { type: "bar", tooltip: true }, encoding: { y: { field: "fpsAchieved", type: "quantitative", title: "fps" } } },
          { mark: { type: "tick", color: "black", thickness: 2 }, encoding: { y: { field: "fpsConfigured", type: "quantitative" } } },
        ],
      },
    },
    {
      id: "drops",
      title: "Dropped frames per minute, by fps",
      spec: {
        ...base,
        data: { values: rows.filter((r) => r.droppedPerMin !== null) },
        mark: { type: "bar", tooltip: true },
        encoding: {
          x: { field: "fps", type: "ordinal", title: "fps" },
          xOffset: { field: "group", type: "nominal" },
          y: { field: "droppedPerMin", type: "quantitative", title: "dropped per minute" },
          color: { field: "size", type: "nominal", title: "size", sort: ["240p", "480p", "720p", "1080p"] },
        },
        width: WIDTH,
        height: HEIGHT,
      },
    },
    {
      id: "hours-lasted",
      title: "Hours each configuration's stream stayed healthy (mean per run)",
      spec: {
        ...base,
        data: { values: rows.filter((r) => r.hoursLasted !== null) },
        mark: { type: "bar", tooltip: true },
        encoding: {
          x: { field: "group", type: "nominal", sort: groupOrder, title: null, axis: { labelAngle: -40 } },
          y: { field: "hoursLasted", type: "quantitative", title: "hours healthy" },
          color: { field: "outcome", type: "nominal", title: null },
        },
        width: Math.max(WIDTH, rows.length * 28),
        height: HEIGHT,
      },
    },
  ];
  const series = runs.slice(0, 40).flatMap((r) =>
    r.latencyOverTime.map((p) => ({ run: `${r.streamId ?? "run"} #${r.run} (${basename(r.source)})`, minutes: p.atS / 60, p50: p.p50Ms })),
  );
  charts.push(
    series.length
      ? {
          id: "latency-over-time",
          title: `Median latency over time, per run${runs.length > 40 ? " (the first 40 runs)" : ""}`,
          spec: {
            ...base,
            data: { values: series },
            mark: { type: "line", point: true, tooltip: true },
            encoding: {
              x: { field: "minutes", type: "quantitative", title: "minutes into the run" },
              y: { field: "p50", type: "quantitative", title: "latency p50 (ms)" },
              color: { field: "run", type: "nominal", title: "run" },
            },
            width: WIDTH * 2,
            height: HEIGHT,
          },
        }
      : { id: "latency-over-time", title: "Median latency over time, per run", spec: null, empty: "no run has windows with latency" },
  );
  // Provider against control: only configurations measured through more than one source.
  const config = (r: (typeof rows)[0]) => `${r.sizeFps} ${r.task} ${r.videoType}`;
  const sources = new Map<string, Set<string>>();
  for (const r of rows) sources.set(config(r), (sources.get(config(r)) ?? new Set()).add(r.provider));
  const compared = rows.filter((r) => r.latencyP50 !== null && sources.get(config(r))!.size > 1);
  charts.push(
    compared.length
      ? {
          id: "providers",
          title: "Latency by provider, for configurations measured through several (origin = the vat server itself, the control)",
          spec: {
            ...base,
            data: { values: compared.map((r) => ({ ...r, configuration: config(r) })) },
            mark: { type: "bar", tooltip: true },
            encoding: {
              x: { field: "configuration", type: "nominal", title: null, axis: { labelAngle: 0 } },
              xOffset: { field: "provider", type: "nominal" },
              y: { field: "latencyP50", type: "quantitative", title: "latency p50 (ms)" },
              color: { field: "provider", type: "nominal", title: "provider" },
            },
            width: Math.max(WIDTH, compared.length * 40),
            height: HEIGHT,
          },
        }
      : {
          id: "providers",
          title: "Provider against control",
          spec: null,
          empty: "no configuration was measured through more than one source: measure a provider's URL with --control to compare",
        },
  );
  return charts;
}
