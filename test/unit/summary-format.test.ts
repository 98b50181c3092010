import { describe, expect, test } from "bun:test";
import type { WindowSummary } from "../../src/client/metrics.ts";
import { DeliveryLog } from "../../src/client/delivery.ts";
import { formatComparison, formatDelivery, formatWindowLine, framesRead } from "../../src/client/summary-format.ts";

describe("lines for people", () => {
  test("the first line: frames read, and of how many decoded when some had no readable code", () => {
    expect(framesRead({ framesDecoded: 330, unreadable: 0 })).toBe("330 frames read");
    expect(framesRead({ framesDecoded: 240, unreadable: 240 })).toBe("0 frames read of 240 decoded");
    expect(framesRead({ framesDecoded: 840, unreadable: 25 })).toBe("815 frames read of 840 decoded");
  });

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

  test("a low-latency stream's delivery: figures from what its source noted, lateness on the server's clock", () => {
    const log = new DeliveryLog();
    log.partDurationS = 0.2;
    log.advertisedLatencyMs = 600;
    for (const [ms, early] of [[180, false], [200, false], [20, true], [210, false]] as const) log.reload(ms, early);
    // Parts asked for 100 ms before their availability arrived 50, 70 and 90 ms after it by the client's clock; the
    // server's is 30 ms ahead.
    for (const late of [50, 70, 90]) log.part(9_870, 10_000 + late, 10_000);
    log.part(11_900, 12_000, null); // undated: no lateness
    log.part(13_000, 13_010, 12_500); // asked for when it was long there (a join): says nothing of the server
    const d = log.figures(30, { rebuffers: 2, rebufferMs: 140 });
    expect(d).toEqual({
      partDurationS: 0.2, advertisedLatencyMs: 600, reloads: 4, reloadP50Ms: 180, reloadP95Ms: 210, earlyReloads: 1,
      partLateP50Ms: 100, partLateP95Ms: 120, advertisedRebuffers: 2, advertisedRebufferMs: 140,
    });
    expect(formatDelivery("ll-hls", d)).toBe(
      "ll-hls · parts of 200 ms · at its advertised 600 ms: 2 rebuffers, 140 ms · blocking reloads 4 (p50 180 ms, p95 210 ms, " +
        "1 answered early) · parts late p50 100 ms, p95 120 ms",
    );
    // No blocking reloads (LL-DASH): none reported, not zero.
    expect(new DeliveryLog().figures(0, null)).toMatchObject({ reloads: null, earlyReloads: null, advertisedRebuffers: null });
  });
});
