import { describe, expect, test } from "bun:test";
import { costPerHourUsd, formatRanking, rankRows, type ProviderRow } from "../../src/compare/ranking.ts";

function row(role: string, o: Partial<ProviderRow> = {}): ProviderRow {
  return {
    role, provider: role.split("/")[0]!, playback: `http://cdn/${role}.m3u8`, status: "measured", reason: null, runId: 1,
    relativeLatencyP50Ms: 500, relativeLatencyP95Ms: 700, matchedShare: 1, framesNew: 750, dropped: 0, stalls: 0, stallMs: 0,
    psnrYMean: 40, ssimYMean: 0.98, bitrateKbps: 1000, costPerHourUsd: 0.1, ...o,
  };
}

const FAILED = row("down", { status: "failed", reason: "ingest: Connection refused", runId: null, relativeLatencyP50Ms: null,
  relativeLatencyP95Ms: null, dropped: null, stalls: null, psnrYMean: null, costPerHourUsd: null });

describe("rankRows", () => {
  const a = row("a", { relativeLatencyP50Ms: 900, stalls: 0, dropped: 4, psnrYMean: 42, costPerHourUsd: 0.3 });
  const b = row("b", { relativeLatencyP50Ms: 300, stalls: 2, stallMs: 900, dropped: 0, psnrYMean: 38, costPerHourUsd: 0.05 });
  const c = row("c", { relativeLatencyP50Ms: 600, stalls: 2, stallMs: 400, dropped: 1, psnrYMean: 45, costPerHourUsd: null });
  const cases: [Parameters<typeof rankRows>[1], string[]][] = [
    ["latency", ["b", "c", "a", "down"]],
    // Equal stall counts: less time stalled first.
    ["stalls", ["a", "c", "b", "down"]],
    ["drops", ["b", "c", "a", "down"]],
    // The best picture first.
    ["quality", ["c", "a", "b", "down"]],
    // An unknown cost after every known one, but before a failed provider.
    ["cost", ["b", "a", "c", "down"]],
  ];
  for (const [by, order] of cases) {
    test(`by ${by}`, () => {
      expect(rankRows([FAILED, a, b, c], by).map((r) => r.role)).toEqual(order);
    });
  }

  test("ties on the key fall to relative latency, then the role", () => {
    const x = row("x", { dropped: 0, relativeLatencyP50Ms: 800 });
    const y = row("y", { dropped: 0, relativeLatencyP50Ms: 200 });
    const z = row("z", { dropped: 0, relativeLatencyP50Ms: 200 });
    expect(rankRows([x, z, y], "drops").map((r) => r.role)).toEqual(["y", "z", "x"]);
  });

  test("does not reorder what it is given", () => {
    const given = [FAILED, row("a")];
    rankRows(given, "latency");
    expect(given.map((r) => r.role)).toEqual(["down", "a"]);
  });
});

describe("costPerHourUsd", () => {
  const none = { perMinuteDeliveredUsd: null, perMinuteIngestedUsd: null, perGbUsd: null };
  test("per-minute prices count 60 minutes, delivered and ingested", () => {
    expect(costPerHourUsd({ ...none, perMinuteDeliveredUsd: 0.002, perMinuteIngestedUsd: 0.01 }, null)).toBeCloseTo(0.72, 12);
  });
  test("a per-GB price at the measured bitrate: 2000 kbit/s for an hour is 0.9 GB", () => {
    expect(costPerHourUsd({ ...none, perGbUsd: 0.1 }, 2000)).toBeCloseTo(0.09, 12);
    expect(costPerHourUsd({ ...none, perMinuteDeliveredUsd: 0.001, perGbUsd: 0.1 }, 2000)).toBeCloseTo(0.15, 12);
  });
  test("unknown without prices, or with a per-GB price and no bitrate", () => {
    expect(costPerHourUsd(none, 2000)).toBeNull();
    expect(costPerHourUsd({ ...none, perMinuteDeliveredUsd: 0.001, perGbUsd: 0.1 }, null)).toBeNull();
  });
});

describe("formatRanking", () => {
  test("places, figures, the failed one unplaced with its reason", () => {
    const text = formatRanking(rankRows([FAILED, row("fast", { relativeLatencyP50Ms: 120.4, relativeLatencyP95Ms: 180, matchedShare: 0.995 }), row("slow")], "latency"), "latency");
    const lines = text.split("\n");
    expect(lines[0]).toBe("ranked by latency (latency relative to the origin's own stream)");
    expect(lines[1]).toMatch(/^#\s+provider\s+rel\. p50\s+rel\. p95\s+matched/);
    expect(lines[2]).toMatch(/^1\s+fast\s+120 ms\s+180 ms\s+99\.5 %\s+0\s+0 \(0 ms\)\s+40\.0\s+1000\s+0\.1000\s+http:\/\/cdn\/fast\.m3u8$/);
    expect(lines[3]).toMatch(/^2\s+slow\s+500 ms/);
    expect(lines[4]).toMatch(/^-\s+down\s+failed\s+http:\/\/cdn\/down\.m3u8$/);
    expect(lines[5]).toBe("down: failed: ingest: Connection refused");
    expect(lines).toHaveLength(6);
  });
});
