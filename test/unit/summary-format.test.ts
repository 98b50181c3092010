import { describe, expect, test } from "bun:test";
import type { WindowSummary } from "../../src/client/metrics.ts";
import { formatComparison, formatWindowLine } from "../../src/client/summary-format.ts";

describe("lines for people", () => {
  test("a window's line: each figure with its column's unit and decimals", () => {
    const w = {
      index: 3, framesNew: 297, fpsAchieved: 29.7, fpsStream: 30.02, latencyP50Ms: 812.5, latencyP95Ms: 1011.49, dropped: 1,
      unreadable: 2, stalls: 0, psnrYMean: 41.26, ssimYMean: 0.98765,
    } as WindowSummary;
    expect(formatWindowLine(w)).toBe(
      "window 3: 297 frames, 29.7 fps (stream 30.0), latency p50 813 ms p95 1011 ms, dropped 1, unreadable 2, stalls 0, " +
        "PSNR-Y 41.3 dB, SSIM-Y 0.9877",
    );
    expect(formatWindowLine({ ...w, fpsStream: null, latencyP95Ms: null, psnrYMean: null })).toBe(
      "window 3: 297 frames, 29.7 fps (stream -), latency p50 813 ms p95 -, dropped 1, unreadable 2, stalls 0",
    );
  });

  test("a comparison's line", () => {
    expect(
      formatComparison({
        framesControl: 200, framesMatched: 150, matchedShare: 0.75, relativeLatencyP50Ms: 1000.4, relativeLatencyP95Ms: 1100,
        relativeLatencyMinMs: -3.5, relativeLatencyMaxMs: null, relativeLatencyMeanMs: 1000,
      }),
    ).toBe("  vs control  relative latency p50 1000 ms · p95 1100 ms · min -3 ms · max -; frames matched 75.0 % (150 of 200)");
  });
});
