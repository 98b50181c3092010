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

  describe("a 30 s video (900 frames) through a packager that restarts: a discontinuity is not a loop", () => {
    const M = 900;
    const long = (n: number) => decodePayload(encodeVideoPayload({ streamId: "sig", frameNumber: n, msFromStart: (n * 1000) / FPS, loopFrames: M }))!;
    const T0 = 1_795_000_000_000;
    /** Frame n of the video shown at wall time atMs (its segment's PROGRAM-DATE-TIME plus its offset, as one). */
    const at = (t: Timeline, n: number, atMs: number | null, ds: number) =>
      t.place(long(n), { programDateTimeMs: atMs, discontinuitySequence: ds, offsetMs: atMs === null ? null : 0 }).frameNumber;

    test("restarted 2 s further on in the video (frames 390-449 never sent): numbering goes on, 60 frames missing", () => {
      const t = new Timeline();
      const before = [300, 389].map((n) => at(t, n, T0 + (n * 1000) / FPS, 0));
      const after = [450, 451].map((n) => at(t, n, T0 + (390 * 1000) / FPS + 40, 1));
      expect([...before, ...after]).toEqual([300, 389, 450, 451]);
    });

    test("discontinuity numbers that fall back (no EXT-X-DISCONTINUITY-SEQUENCE, the tag scrolled out) change nothing", () => {
      const t = new Timeline();
      expect([[200, 3], [201, 0], [202, 1]].map(([n, ds]) => at(t, n!, T0 + (n! * 1000) / FPS, ds!))).toEqual([3 * M + 200, 3 * M + 201, 3 * M + 202]);
    });

    test("the video looped, once at its end and twice during an outage: counted by the times", () => {
      const t = new Timeline();
      const end = at(t, M - 1, T0 + ((M - 1) * 1000) / FPS, 0);
      const next = at(t, 0, T0 + (M * 1000) / FPS, 1);
      // Gone from frame 100 of loop 1 to frame 50 of loop 3 (two loops later, 59.7 s on).
      const before = at(t, 100, T0 + ((M + 100) * 1000) / FPS, 1);
      const back = at(t, 50, T0 + ((3 * M + 50) * 1000) / FPS, 1);
      expect([end, next, before, back]).toEqual([M - 1, M, M + 100, 3 * M + 50]);
    });

    test("the origin restarted 15 s after frame 600 of loop 2, the video from its start: no loop, the meter sees a restart", () => {
      const t = new Timeline();
      const meter = new StreamMeter({ startMs: 0, windowMs: 600_000, clockOffsetMs: 0, nominalFps: FPS });
      const loop2 = T0 + 2 * 30_000;
      const back = loop2 + 20_000 + 15_000;
      const shown = [
        ...Array.from({ length: 601 }, (_, n) => ({ n, atMs: loop2 + (n * 1000) / FPS, ds: 2 })),
        ...Array.from({ length: 300 }, (_, n) => ({ n, atMs: back + (n * 1000) / FPS, ds: 0 })),
      ];
      for (const f of shown) {
        const placed = t.place(long(f.n), { programDateTimeMs: f.atMs, discontinuitySequence: f.ds, offsetMs: 0 });
        meter.push({ arrivedAtMs: f.atMs - T0 + 1000, decodedAtMs: f.atMs - T0 + 1000, readMs: 0, segment: null, payload: placed });
      }
      expect(meter.summary()).toMatchObject({ dropped: 0, restarts: 1, framesNew: 901 });
    });

    test("without PROGRAM-DATE-TIME: a loop where the number falls back by more than half the video, not at a restart", () => {
      const t = new Timeline();
      expect([[380, 0], [450, 1], [899, 1], [0, 2], [10, 2]].map(([n, ds]) => at(t, n!, null, ds!))).toEqual([380, 450, 899, M, M + 10]);
    });
  });

  test("a video shorter than 100 frames: its frame length from the frames seen, so an outage over loops counts them", () => {
    // vat's origin: loop k starts at T0 + 3 s × k and is discontinuity k; a segment a second (30 frames).
    const T0 = 1_795_000_000_000;
    const place = (t: Timeline, loop: number, n: number) => {
      const first = Math.floor(n / 30) * 30;
      return t.place(video(n), { programDateTimeMs: T0 + loop * 3000 + (first * 1000) / FPS, discontinuitySequence: loop, offsetMs: ((n - first) * 1000) / FPS }).frameNumber;
    };
    let t = new Timeline();
    expect([place(t, 0, 79), place(t, 0, 80), place(t, 3, 10)]).toEqual([79, 80, 3 * N + 10]);
    // A bit over one loop, the number not falling back.
    t = new Timeline();
    expect([place(t, 0, 30), place(t, 1, 50)]).toEqual([30, N + 50]);
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
