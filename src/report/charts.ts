import { basename } from "node:path";
import type { GroupFigures, RunFacts } from "./aggregate.ts";
import { latencyCdf, relativeOverTime, timelineSpans, type ComparisonFacts, type ComparisonFigures } from "./comparison.ts";

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
/** Charts wider than this would make the page scroll sideways in a 1280-pixel window. */
const MAX_WIDTH = 1000;

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
        width: Math.min(MAX_WIDTH, Math.max(WIDTH, rows.length * 30)),
        height: HEIGHT,
      },
    },
    {
      id: "fps",
      title: "Achieved fps per configuration (tick: configured)",
      spec: {
        ...base,
        data: { values: rows },
        width: Math.min(MAX_WIDTH, Math.max(WIDTH, rows.length * 28)),
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
        width: Math.min(MAX_WIDTH, Math.max(WIDTH, rows.length * 28)),
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
            width: Math.min(MAX_WIDTH, Math.max(WIDTH, compared.length * 40)),
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

/**
 * The charts of one `vat compare` run: each stream's latency distribution (CDF), each provider's latency relative to
 * the control over time, stalls and outages on a timeline, declared against measured bitrate, and quality where it was
 * measured. Ids start with `prefix` (one comparison's charts apart from another's). Pure.
 */
export function comparisonCharts(prefix: string, c: ComparisonFacts, f: ComparisonFigures): Chart[] {
  const base = { $schema: "https://vega.github.io/schema/vega-lite/v6.json", background: "white" };
  const order = f.streams.map((s) => s.role);
  const color = { field: "stream", type: "nominal", title: "stream", sort: order };
  const measured = c.streams.filter((s) => s.frames.length > 0);
  const control = c.streams.find((s) => s.control);
  const charts: Chart[] = [];
  const cdf = measured.flatMap((s) => latencyCdf(s.frames.map((x) => x.latencyMs)).map((p) => ({ stream: s.role, ...p })));
  charts.push(
    cdf.length
      ? {
          id: `${prefix}-cdf`,
          title: "Latency distribution: the share of frames at or below each latency",
          spec: {
            ...base,
            data: { values: cdf },
            mark: { type: "line", interpolate: "step-after", tooltip: true },
            encoding: {
              x: { field: "latencyMs", type: "quantitative", title: "latency (ms)", scale: { zero: false } },
              y: { field: "share", type: "quantitative", title: "share of frames", axis: { format: "%" } },
              color,
            },
            width: WIDTH * 1.5,
            height: HEIGHT,
          },
        }
      : { id: `${prefix}-cdf`, title: "Latency distribution", spec: null, empty: "no stream of this comparison has frames with a latency" },
  );
  const relative = control
    ? measured.filter((s) => !s.control).flatMap((s) => relativeOverTime(control.frames, s.frames, c.startedAtMs).map((p) => ({ stream: s.role, ...p })))
    : [];
  charts.push(
    relative.length
      ? {
          id: `${prefix}-relative`,
          title: "Latency relative to the control over time (median of each second; 0 = the origin's own stream)",
          spec: {
            ...base,
            width: WIDTH * 1.5,
            height: HEIGHT,
            layer: [
              {
                data: { values: relative },
                mark: { type: "line", tooltip: true },
                encoding: {
                  x: { field: "atS", type: "quantitative", title: "seconds into the comparison" },
                  y: { field: "relativeMs", type: "quantitative", title: "behind the control (ms)" },
                  color,
                },
              },
              { data: { values: [{ y: 0 }] }, mark: { type: "rule", color: "#888", strokeDash: [4, 3] }, encoding: { y: { field: "y", type: "quantitative" } } },
            ],
          },
        }
      : { id: `${prefix}-relative`, title: "Latency relative to the control", spec: null, empty: "no provider's frames matched the control's" },
  );
  const spans = [
    ...measured.map((s) => ({
      stream: s.role,
      kind: "measuring",
      fromS: (Math.min(...s.frames.map((x) => x.atMs)) - c.startedAtMs) / 1000,
      toS: (Math.max(...s.frames.map((x) => x.atMs)) - c.startedAtMs) / 1000,
    })),
    ...timelineSpans(c).map((s) => ({ stream: s.role, kind: s.kind, fromS: s.fromS, toS: s.toS })),
  ];
  charts.push(
    spans.length
      ? {
          id: `${prefix}-timeline`,
          title: "Timeline: when each stream delivered frames, its stalls and its outages",
          spec: {
            ...base,
            data: { values: spans },
            mark: { type: "bar", tooltip: true, height: 12 },
            encoding: {
              y: { field: "stream", type: "nominal", title: null, sort: order },
              x: { field: "fromS", type: "quantitative", title: "seconds into the comparison" },
              x2: { field: "toS" },
              color: {
                field: "kind",
                type: "nominal",
                title: null,
                scale: { domain: ["measuring", "stall", "outage"], range: ["#c9d6e3", "#f28e2b", "#d62728"] },
              },
            },
            width: WIDTH * 1.5,
            height: { step: 22 },
          },
        }
      : { id: `${prefix}-timeline`, title: "Timeline", spec: null, empty: "no stream delivered a frame" },
  );
  const bitrates = f.streams.flatMap((s) => [
    ...(s.declaredKbps !== null ? [{ stream: s.role, what: "declared", kbps: s.declaredKbps }] : []),
    ...(s.measuredKbps !== null ? [{ stream: s.role, what: "measured", kbps: s.measuredKbps }] : []),
  ]);
  charts.push(
    bitrates.length
      ? {
          id: `${prefix}-bitrate`,
          title: "Bitrate: declared by the playlist against measured from the segments",
          spec: {
            ...base,
            data: { values: bitrates },
            mark: { type: "bar", tooltip: true },
            encoding: {
              x: { field: "stream", type: "nominal", title: null, sort: order, axis: { labelAngle: 0 } },
              xOffset: { field: "what", type: "nominal", sort: ["declared", "measured"] },
              y: { field: "kbps", type: "quantitative", title: "kbit/s" },
              color: { field: "what", type: "nominal", title: null, sort: ["declared", "measured"] },
            },
            width: Math.min(MAX_WIDTH, Math.max(WIDTH, f.streams.length * 70)),
            height: HEIGHT,
          },
        }
      : { id: `${prefix}-bitrate`, title: "Bitrate", spec: null, empty: "no stream's bitrate was declared or measured" },
  );
  const quality = f.streams.flatMap((s) => (s.psnrYMean === null ? [] : [{ stream: s.role, psnr: s.psnrYMean, ssim: s.ssimYMean }]));
  if (quality.length) {
    charts.push({
      id: `${prefix}-quality`,
      title: "Quality: mean PSNR-Y against the reference frame",
      spec: {
        ...base,
        data: { values: quality },
        mark: { type: "bar", tooltip: true },
        encoding: {
          x: { field: "stream", type: "nominal", title: null, sort: order, axis: { labelAngle: 0 } },
          y: { field: "psnr", type: "quantitative", title: "PSNR-Y (dB)", scale: { zero: false } },
          color,
        },
        width: Math.min(MAX_WIDTH, Math.max(WIDTH, f.streams.length * 60)),
        height: HEIGHT,
      },
    });
  }
  return charts;
}
