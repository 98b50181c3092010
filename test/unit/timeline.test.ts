import { describe, expect, test } from "bun:test";
import { Timeline } from "../../src/client/timeline.ts";
import { StreamMeter } from "../../src/client/metrics.ts";
import { decodePayload, encodeVideoPayload } from "../../src/signal/payload.ts";

const FPS = 30;
const N = 90; // a 3 s video
const video = (n: number) => decodePayload(encodeVideoPayload({ streamId: "sig", frameNumber: n, msFromStart: (n * 1000) / FPS, loopFrames: N }))!;

describe("prerecorded frames on the stream's timeline", () => {
  test("live payloads pass through unchanged", () => {
    const t = new Timeline();
    const live = decodePayload("vat1|s|42|1795000000000")!;
    expect(t.place(live, { programDateTimeMs: 5, discontinuitySequence: 3, offsetMs: 7 })).toEqual({
      streamId: "s", frameNumber: 42, generatedAtMs: 1_795_000_000_000, loop: 0,
    });
  });

  test("HLS: generation time from the segment's PROGRAM-DATE-TIME and the frame's offset; loop from its discontinuity number", () => {
    const t = new Timeline();
    const loopStart = 1_795_000_000_000;
    // Loop 4, second segment (frames 30..59), frame 33 is the 4th in it.
    const placed = t.place(video(33), { programDateTimeMs: loopStart + 1000, discontinuitySequence: 4, offsetMs: 100 });
    expect(placed).toEqual({ streamId: "sig", frameNumber: 4 * N + 33, generatedAtMs: loopStart + 1100, loop: 4 });
    // The first frame of the next loop follows the last of this one.
    const last = t.place(video(N - 1), { programDateTimeMs: loopStart + 2000, discontinuitySequence: 4, offsetMs: (29 * 1000) / FPS });
    const first = t.place(video(0), { programDateTimeMs: loopStart + 3000, discontinuitySequence: 5, offsetMs: 0 });
    expect(first.frameNumber - last.frameNumber).toBe(1);
    expect(first.generatedAtMs! - last.generatedAtMs!).toBeCloseTo(1000 / FPS, 3);
  });

  test("HLS without PROGRAM-DATE-TIME: numbered, but no generation time", () => {
    const placed = new Timeline().place(video(10), { programDateTimeMs: null, discontinuitySequence: 0, offsetMs: 20 });
    expect(placed.generatedAtMs).toBeNull();
    expect(placed.frameNumber).toBe(10);
  });

  test("without a playlist, a fall of more than half the video starts a new loop, even across lost frames", () => {
    const t = new Timeline();
    const numbers = [85, 86, 88, 2, 3, 40, 80, 5].map((n) => t.place(video(n), null).frameNumber);
    expect(numbers).toEqual([85, 86, 88, N + 2, N + 3, N + 40, N + 80, 2 * N + 5]);
  });
});

test("the meter counts drops across a loop boundary and leaves latency empty where no time is known", () => {
  const meter = new StreamMeter({ startMs: 0, windowMs: 10_000, clockOffsetMs: 0, nominalFps: FPS });
  const t = new Timeline();
  // Frames 87..89 of loop 0, then 1..3 of loop 1: frames 0 of loop 1 and nothing else lost.
  const seq = [87, 88, 89, 1, 2, 3];
  seq.forEach((n, i) => {
    const placed = t.place(video(n), null);
    meter.push({ arrivedAtMs: 1000 + i * 33, decodedAtMs: 1000 + i * 33, payload: placed, readMs: 1, segment: null });
  });
  const s = meter.summary();
  expect(s.framesNew).toBe(6);
  expect(s.dropped).toBe(1);
  expect(s.latencyP50Ms).toBeNull();
  expect(s.restarts).toBe(0);
});

test("the prerecorded origin's schedule: segment g's loop, part and times, a discontinuity at each loop's first", async () => {
  const { loopPosition } = await import("../../src/serve/prerecorded.ts");
  const parts = [{ startS: 0, durationS: 1 }, { startS: 1, durationS: 1 }, { startS: 2, durationS: 0.5 }];
  expect([0, 2, 3, 5, 6].map((g) => loopPosition(g, parts, 2.5))).toEqual([
    { loop: 0, part: 0, startS: 0, endS: 1, discontinuity: false },
    { loop: 0, part: 2, startS: 2, endS: 2.5, discontinuity: false },
    { loop: 1, part: 0, startS: 2.5, endS: 3.5, discontinuity: true },
    { loop: 1, part: 2, startS: 4.5, endS: 5, discontinuity: false },
    { loop: 2, part: 0, startS: 5, endS: 6, discontinuity: true },
  ]);
});
