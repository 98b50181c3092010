import { describe, expect, test } from "bun:test";
import { judgeHealth } from "../../src/serve/health.ts";
import { frameAt, frameDueMs, nextStep } from "../../src/serve/pacing.ts";

describe("pacing", () => {
  test("no drift: frame n is due exactly n/fps after the start, even after days", () => {
    expect(frameDueMs(1000, 30, 30 * 3600 * 72)).toBe(1000 + 72 * 3600 * 1000);
    expect(frameDueMs(0, 25, 25 * 86_400)).toBe(86_400_000);
    expect(frameAt(0, 30, 3600 * 1000)).toBe(108_000);
  });

  test("waits for the next slot, renders on time, skips only when far behind", () => {
    expect(nextStep(0, 30, 3, 90, 60)).toEqual({ kind: "wait", ms: 10 });
    expect(nextStep(0, 30, 3, 101, 60)).toEqual({ kind: "render", frame: 3, skipped: 0 });
    // 50 frames behind is within the 60-frame allowance: catch up without skipping.
    expect(nextStep(0, 30, 10, 2000, 60)).toEqual({ kind: "render", frame: 10, skipped: 0 });
    // 3 s behind at 30 fps: jump to the current slot.
    expect(nextStep(0, 30, 10, 3340, 60)).toEqual({ kind: "render", frame: 100, skipped: 90 });
  });
});

describe("health", () => {
  const start = 1_000_000;
  test("starting, live, stale", () => {
    expect(judgeHealth({ startedAtMs: start, lastNewSegmentAtMs: null, lastSequence: null }, 1, start + 500)).toMatchObject({
      healthy: false,
      reason: expect.stringContaining("no segment written yet"),
    });
    const live = { startedAtMs: start, lastNewSegmentAtMs: start + 2000, lastSequence: 1 };
    expect(judgeHealth(live, 1, start + 4900).healthy).toBe(true);
    expect(judgeHealth(live, 1, start + 5100)).toMatchObject({
      healthy: false,
      reason: expect.stringContaining("no new segment for 3.1 s"),
    });
    // Longer segments get a longer allowance (three segment durations).
    expect(judgeHealth(live, 4, start + 13_000).healthy).toBe(true);
    expect(judgeHealth(live, 4, start + 14_100).healthy).toBe(false);
  });
});
