import { describe, expect, test } from "bun:test";
import { measuredFrames } from "../../src/report/collect-comparisons.ts";
import { comparisonFigures, latencyCdf, relativeOverTime, timelineSpans, type ComparedStreamFacts, type ComparisonFacts } from "../../src/report/comparison.ts";

const PRICES = { region: "eu-west-1", vcpuHour: 0.04048, gbHour: 0.004445 };
const T0 = 1_700_000_000_000;

function stream(role: string, over: Partial<ComparedStreamFacts> = {}): ComparedStreamFacts {
  return {
    role, provider: role, control: role === "control", status: "measured", reason: null, runId: 1, frames: [], windows: [], events: [],
    declaredKbps: null, costPerHourUsd: null, relativeP50Ms: null, relativeP95Ms: null, matchedShare: null, ...over,
  };
}

function comparison(streams: ComparedStreamFacts[], over: Partial<ComparisonFacts> = {}): ComparisonFacts {
  return { source: "a.db", comparisonId: "cmp-1", startedAtMs: T0, size: "240p", fps: 25, cpu: 512, memoryMiB: 1024, streams, ...over };
}

describe("a comparison's figures", () => {
  test("the CDF: the latency at each share, nearest rank, the same number of points however many frames", () => {
    expect(latencyCdf([40, 10, 30, 20], 4)).toEqual([
      { latencyMs: 10, share: 0 }, { latencyMs: 10, share: 0.25 }, { latencyMs: 20, share: 0.5 }, { latencyMs: 30, share: 0.75 }, { latencyMs: 40, share: 1 },
    ]);
    expect(latencyCdf([], 4)).toEqual([]);
    expect(latencyCdf(Array.from({ length: 1000 }, (_, i) => i))).toHaveLength(101);
  });

  test("behind the control over time: per frame number both received, how much later it arrived, the median of each second", () => {
    // The control's latencies carry its server's clock offset (1 s here, the stream's none): the arrivals do not.
    const control = [
      { n: 1, latencyMs: 1100, atMs: T0 - 100 },
      { n: 2, latencyMs: 1100, atMs: T0 + 280 },
      { n: 3, latencyMs: 1110, atMs: T0 + 660 },
      { n: 4, latencyMs: 1100, atMs: T0 + 700 },
    ];
    const s = [
      { n: 1, latencyMs: 300, atMs: T0 + 100 },
      { n: 2, latencyMs: 320, atMs: T0 + 500 },
      { n: 3, latencyMs: 350, atMs: T0 + 900 },
      { n: 4, latencyMs: 600, atMs: T0 + 1200 },
      { n: 9, latencyMs: 999, atMs: T0 + 1300 }, // the control never had it: not compared
    ];
    expect(relativeOverTime(control, s, T0)).toEqual([{ atS: 0, relativeMs: 220 }, { atS: 1, relativeMs: 500 }]);
    // Frames that came with either run's first frame (arrived at the join) are not compared: frames 1 and 2 on the
    // stream's side leave 3 alone in the first second; frame 3 on the control's, and the first second holds 1 and 2.
    const joinedStream = s.map((f) => ({ ...f, atJoin: f.n <= 2 }));
    const joinedControl = control.map((f) => ({ ...f, atJoin: f.n === 3 }));
    expect(relativeOverTime(control, joinedStream, T0)).toEqual([{ atS: 0, relativeMs: 240 }, { atS: 1, relativeMs: 500 }]);
    expect(relativeOverTime(joinedControl, s, T0)).toEqual([{ atS: 0, relativeMs: 200 }, { atS: 1, relativeMs: 500 }]);
    expect(relativeOverTime(joinedControl, joinedStream, T0)).toEqual([{ atS: 1, relativeMs: 500 }]);
  });

  test("a run's stored frames as the charts take them: new ones with a latency, its leading join frames marked", () => {
    const row = (kind: string, n: number | null, latencyMs: number | null, arrivedAtMs: number, segment: number | null) =>
      ({ kind, frameNumber: n, latencyMs, arrivedAtMs, segment });
    // An unreadable first frame still opens the join segment (7, at 500); frame 6 shares its stamp but comes after 5.
    const frames = measuredFrames([
      row("unreadable", null, null, 500, 7), row("new", 2, 400, 500, 7), row("duplicate", 2, 400, 500, 7), row("new", 3, null, 500, 7),
      row("new", 4, 380, 500, 7), row("new", 5, 300, 1500, 8), row("new", 6, 900, 500, 7),
    ]);
    expect(frames).toEqual([
      { n: 2, latencyMs: 400, atMs: 500, atJoin: true }, { n: 4, latencyMs: 380, atMs: 500, atJoin: true },
      { n: 5, latencyMs: 300, atMs: 1500, atJoin: false }, { n: 6, latencyMs: 900, atMs: 500, atJoin: false },
    ]);
    expect(measuredFrames([])).toEqual([]);
    // A frame its source marked as arriving at the join (an LL-HLS catch-up part) is marked wherever it stands.
    const marked = measuredFrames([row("new", 2, 400, 500, 7), { ...row("new", 3, 380, 520, 7), atJoin: true }, row("new", 4, 300, 560, 7)]);
    expect(marked.map((f) => f.atJoin)).toEqual([true, true, false]);
  });

  test("figures per stream, control first; stalls and outages from the events; the origin's Fargate hour", () => {
    const f = comparisonFigures(
      comparison([
        stream("srt", {
          frames: [{ n: 1, latencyMs: 500, atMs: T0 + 500 }, { n: 2, latencyMs: 700, atMs: T0 + 2000 }],
          windows: [
            { startMs: T0, endMs: T0 + 1000, bitrateKbps: 900, psnrYMean: 40, ssimYMean: 0.99, framesNew: 30 },
            { startMs: T0 + 1000, endMs: T0 + 1500, bitrateKbps: 1200, psnrYMean: 30, ssimYMean: 0.9, framesNew: 10 },
          ],
          events: [
            { kind: "stall", atMs: T0 + 800, durationMs: 400 },
            { kind: "rebuffer", atMs: T0 + 1500, durationMs: 100 },
            { kind: "outage", atMs: T0 + 1600, durationMs: null },
            { kind: "slow-segment", atMs: T0 + 1700, durationMs: null },
          ],
          declaredKbps: 1200,
          costPerHourUsd: 0.12,
          relativeP50Ms: 400,
        }),
        stream("control", { frames: [{ n: 1, latencyMs: 100, atMs: T0 + 100 }] }),
      ]),
      PRICES,
    );
    expect(f.configuration).toBe("240p 25fps 512cpu/1GB");
    expect(f.durationS).toBe(2);
    expect(f.originCostPerHourUsd).toBeCloseTo(0.5 * 0.04048 + 0.004445, 12);
    expect(f.streams.map((s) => s.role)).toEqual(["control", "srt"]);
    // Stalls are the playout's, as in the client's summary: the --target-latency player's rebuffer is not one more.
    expect(f.streams[1]).toMatchObject({
      frames: 2, latencyP50Ms: 500, latencyP95Ms: 700, stalls: 1, stallS: 0.4, outages: 1, declaredKbps: 1200,
      costPerHourUsd: 0.12, relativeP50Ms: 400,
    });
    // The bitrate over the windows' time: the last, half as long, weighs half (900 × 1 s + 1200 × 0.5 s) / 1.5 s.
    expect(f.streams[1]!.measuredKbps).toBeCloseTo(1000, 12);
    expect(f.streams[1]!.costWithOriginPerHourUsd).toBeCloseTo(0.12 + 0.5 * 0.04048 + 0.004445, 12);
    expect(f.streams[0]!.costWithOriginPerHourUsd).toBeNull();
    // Quality weighted by each window's frames: (40 × 30 + 30 × 10) / 40.
    expect(f.streams[1]!.psnrYMean).toBeCloseTo(37.5, 12);
    expect(f.streams[0]!.psnrYMean).toBeNull();
    expect(comparisonFigures(comparison([], { cpu: null, memoryMiB: null }), PRICES)).toMatchObject({ configuration: "240p 25fps local", originCostPerHourUsd: null });
  });

  test("the timeline: stalls and outages as spans from the start, at least 0.1 s wide", () => {
    const c = comparison([
      stream("nginx", {
        events: [
          { kind: "stall", atMs: T0 + 2000, durationMs: 1500 },
          { kind: "outage", atMs: T0 + 5000, durationMs: null },
          { kind: "reconnect", atMs: T0 + 6500, durationMs: 1500 },
          // Open when the run ended: closed by the end of the run's event, which carries its length.
          { kind: "outage", atMs: T0 + 9000, durationMs: null },
          { kind: "outage", atMs: T0 + 20_000, durationMs: 11_000 },
        ],
      }),
      // A database from before the end of the run closed an outage: its opening alone.
      stream("old", { events: [{ kind: "outage", atMs: T0 + 4000, durationMs: null }] }),
    ]);
    expect(timelineSpans(c)).toEqual([
      { role: "nginx", kind: "stall", fromS: 2, toS: 3.5 },
      { role: "nginx", kind: "outage", fromS: 5, toS: 6.5 },
      { role: "nginx", kind: "outage", fromS: 9, toS: 20 },
      { role: "old", kind: "outage", fromS: 4, toS: 4.1 },
    ]);
    const figures = comparisonFigures(c, PRICES);
    expect(figures.streams.map((s) => s.outages)).toEqual([2, 1]);
  });
});

describe("a comparison's page", () => {
  test("what a database holds (a provider's name, its reason) shows as text; the best provider of a column is marked", async () => {
    const { reportHtml } = await import("../../src/report/html.ts");
    const evil = `<img src=x onerror="globalThis.__pwned=1">`;
    const figures = comparisonFigures(
      comparison([
        stream("control", { frames: [{ n: 1, latencyMs: 100, atMs: T0 + 100 }] }),
        stream(evil, { status: "failed", reason: `<script>alert(1)</script>`, relativeP50Ms: 900 }),
        stream("b", { relativeP50Ms: 300 }),
      ], { source: `<b>db</b>` }),
      PRICES,
    );
    const html = reportHtml({
      groups: [], runs: [], charts: [], comparisons: [{ figures, charts: [] }], prices: PRICES, sources: [], sort: "config", createdAt: "now", version: "0",
    });
    expect(html).not.toContain(evil);
    expect(html).not.toContain("<script>alert");
    expect(html).not.toContain("<b>db</b>");
    expect(html).toContain("&lt;img src=x onerror=&quot;globalThis.__pwned=1&quot;&gt;");
    // Only b (the least behind) is marked in its column: not the control, not the other provider.
    expect(html.match(/<td class="best" title="best of the column" data-v="300">/g)).toHaveLength(1);
    expect(html).not.toMatch(/class="best"[^>]*data-v="900"/);
  });
});
