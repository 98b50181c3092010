import { describe, expect, test } from "bun:test";
import { PLAYOUT_SLACK_MS, StreamMeter, type FrameInput, type WindowSummary } from "../../src/client/metrics.ts";

const T0 = 1_800_000_000_000;

/** Frame n of a fps-rate source generated at T0 + n/fps. */
function gen(n: number, fps: number): number {
  return T0 + (n * 1000) / fps;
}

function frame(n: number, fps: number, arrivedAtMs: number, extra: Partial<FrameInput> = {}): FrameInput {
  return {
    arrivedAtMs,
    decodedAtMs: arrivedAtMs + 20,
    payload: { frameNumber: n, generatedAtMs: gen(n, fps) },
    readMs: 0.5,
    segment: null,
    ...extra,
  };
}

/** An HLS-like delivery: segment k holds frames k*perSeg..; it arrives `delayMs` after its last frame was made. */
function segmented(fps: number, perSeg: number, segments: number, delayMs: number, skip = new Set<number>()): FrameInput[] {
  const out: FrameInput[] = [];
  for (let k = 0; k < segments; k++) {
    if (skip.has(k)) continue;
    const last = k * perSeg + perSeg - 1;
    const arrived = gen(last, fps) + delayMs;
    for (let n = k * perSeg; n <= last; n++) out.push(frame(n, fps, arrived, { segment: k }));
  }
  return out;
}

function run(meter: StreamMeter, frames: FrameInput[], endMs: number): WindowSummary[] {
  const windows: WindowSummary[] = [];
  for (const f of frames) {
    windows.push(...meter.closeWindowsUpTo(f.arrivedAtMs));
    meter.push(f);
  }
  windows.push(...meter.finish(endMs));
  return windows;
}

describe("a clean 30 fps stream in 1 s segments", () => {
  const fps = 30;
  const frames = segmented(fps, 30, 20, 100);
  const start = frames[0]!.arrivedAtMs - 1;
  const meter = new StreamMeter({ startMs: start, windowMs: 5000, clockOffsetMs: 0, nominalFps: fps });
  const windows = run(meter, frames, start + 20_000);
  const s = meter.summary();

  test("no drops, duplicates, stalls or unreadable frames", () => {
    expect(s).toMatchObject({ framesNew: 600, dropped: 0, duplicates: 0, outOfOrder: 0, unreadable: 0, stalls: 0 });
  });

  test("achieved fps is the frame rate, per run and per full window", () => {
    expect(s.fpsAchieved!).toBeCloseTo(30, 3);
    // Window 0 holds the player's start (its first frame plays PLAYOUT_SLACK_MS after arrival): check full windows.
    for (const w of windows.slice(1, 3)) expect(w.fpsAchieved).toBeCloseTo(30, 1);
    expect(windows[0]!.fpsAchieved).toBeCloseTo(30 * (1 - (PLAYOUT_SLACK_MS - 1) / 5000), 1);
    for (const w of windows) expect(w.fpsStream!).toBeCloseTo(30, 2);
  });

  test("latency: each frame waits for its segment's last frame plus the delivery delay", () => {
    // Within a segment latencies are 100 + (29 - i) * 33.3 ms: min 100, max 1066.7, p50 (rank 300 of 600) 566.7.
    expect(s.latencyMinMs!).toBeCloseTo(100, 3);
    expect(s.latencyMaxMs!).toBeCloseTo(100 + (29 * 1000) / 30, 3);
    expect(s.latencyP50Ms!).toBeCloseTo(100 + (14 * 1000) / 30, 3);
  });

  test("played frames are evenly spaced: no jitter", () => {
    for (const w of windows.filter((w) => w.framesNew > 0)) expect(w.jitterMs!).toBeCloseTo(0, 3);
  });

  test("windows are consecutive and cover the run", () => {
    expect(windows.map((w) => w.index)).toEqual([0, 1, 2, 3]);
    for (let i = 1; i < windows.length; i++) expect(windows[i]!.startMs).toBe(windows[i - 1]!.endMs);
    expect(windows.reduce((a, w) => a + w.framesNew, 0)).toBe(600);
  });
});

test("a clock offset shifts every latency by exactly that much", () => {
  const frames = segmented(25, 25, 6, 80);
  const a = new StreamMeter({ startMs: T0, windowMs: 10_000, clockOffsetMs: 0, nominalFps: 25 });
  const b = new StreamMeter({ startMs: T0, windowMs: 10_000, clockOffsetMs: -1234.5, nominalFps: 25 });
  run(a, frames, T0 + 10_000);
  run(b, frames, T0 + 10_000);
  expect(b.summary().latencyP50Ms! - a.summary().latencyP50Ms!).toBeCloseTo(-1234.5, 3);
});

test("removed segments are dropped frames, and the freeze they cause is one stall", () => {
  const fps = 30;
  const frames = segmented(fps, 30, 12, 100, new Set([4, 7]));
  const meter = new StreamMeter({ startMs: T0, windowMs: 5000, clockOffsetMs: 0, nominalFps: fps });
  const stalls: number[] = [];
  for (const f of frames) {
    const r = meter.push(f);
    if (r.stall) stalls.push(r.stall.durationMs);
    if (r.record.frameNumber === 150) expect(r.record.gapBefore).toBe(30);
  }
  expect(meter.summary().dropped).toBe(60);
  // Segment 5 arrives 2 s after segment 3: the picture freezes for the missing second, less the player's slack,
  // which that freeze uses up, so the second missing segment freezes it for the whole second.
  expect(stalls.length).toBe(2);
  expect(stalls[0]!).toBeCloseTo(1000 - PLAYOUT_SLACK_MS, 1);
  expect(stalls[1]!).toBeCloseTo(1000, 1);
});

test("duplicates, late frames and their effect on drops", () => {
  const meter = new StreamMeter({ startMs: T0, windowMs: 10_000, clockOffsetMs: 0, nominalFps: 30 });
  const order = [0, 1, 2, 3, 3, 5, 6, 4, 7, 7, 2, 8];
  const kinds = order.map((n, i) => meter.push(frame(n, 30, T0 + 100 + i * 33)).record.kind);
  expect(kinds).toEqual(["new", "new", "new", "new", "duplicate", "new", "new", "late", "new", "duplicate", "duplicate", "new"]);
  expect(meter.summary()).toMatchObject({ framesNew: 8, duplicates: 3, outOfOrder: 1, dropped: 0 });
});

test("a source that starts counting again is a restart, not drops or duplicates; the picture froze meanwhile", () => {
  const meter = new StreamMeter({ startMs: T0, windowMs: 10_000, clockOffsetMs: 0, nominalFps: 30 });
  for (let n = 0; n < 90; n++) meter.push(frame(n, 30, gen(n, 30) + 200));
  // The server comes back 5 s later and numbers from 0 again.
  const restarted: boolean[] = [];
  for (let n = 0; n < 30; n++) {
    const p = { version: 1 as const, streamId: "s", frameNumber: n, generatedAtMs: gen(90, 30) + 5000 + (n * 1000) / 30 };
    restarted.push(meter.push({ ...frame(n, 30, p.generatedAtMs + 200), payload: p }).restarted);
  }
  expect(restarted.filter(Boolean).length).toBe(1);
  expect(restarted[0]).toBe(true);
  expect(meter.summary()).toMatchObject({ framesNew: 120, dropped: 0, duplicates: 0, outOfOrder: 0, restarts: 1, stalls: 1 });
  // From one interval after frame 89 played to the first new frame: 5 s less what the player had in hand.
  expect(meter.summary().stallMs).toBeGreaterThan(4800);
  expect(meter.summary().stallMs).toBeLessThan(5000);
});

test("bytes count in the window they arrived in, even when it is not open yet; the run's bitrate over every window", () => {
  // 1 s windows. A segment arriving at 0.5 s is read at once; one arriving at 1.2 s is handed on while window 0 is
  // still open (its frames not read yet), one at 2.7 s too.
  const meter = new StreamMeter({ startMs: T0, windowMs: 1000, clockOffsetMs: 0, nominalFps: 30 });
  meter.addBytes(100_000, T0 + 500);
  meter.push(frame(0, 30, T0 + 500));
  meter.addBytes(150_000, T0 + 1200);
  meter.addBytes(50_000, T0 + 2700);
  const windows = [...meter.closeWindowsUpTo(T0 + 1200)];
  meter.push(frame(30, 30, T0 + 1200));
  windows.push(...meter.closeWindowsUpTo(T0 + 2700));
  meter.push(frame(60, 30, T0 + 2700));
  windows.push(...meter.finish(T0 + 3000));
  expect(windows.map((w) => w.bitrateKbps)).toEqual([800, 1200, 400]);
});

test("frames without a code are unreadable, and count nowhere else: not dropped (they came)", () => {
  const meter = new StreamMeter({ startMs: T0, windowMs: 10_000, clockOffsetMs: 0, nominalFps: 30 });
  for (let n = 0; n < 10; n++) meter.push(n % 3 === 0 ? { ...frame(n, 30, T0 + n * 33), payload: null } : frame(n, 30, T0 + n * 33));
  const s = meter.summary();
  expect(s.unreadable).toBe(4);
  expect(s.framesNew).toBe(6);
  expect(s.framesDecoded).toBe(10);
  expect(s.dropped).toBe(0);
});

describe("unreadable frames are shown: a segment whose last frames cannot be read", () => {
  // 1 s segments at 30 fps arriving 100 ms after their last frame; in every other segment the last 3 frames' codes
  // cannot be read (a rendition too small for them). A viewer saw every frame on time.
  const fps = 30;
  const frames = segmented(fps, 30, 12, 100).map((f) => {
    const n = f.payload!.frameNumber;
    return f.segment! % 2 === 1 && n % 30 >= 27 ? { ...f, payload: null } : f;
  });
  const start = frames[0]!.arrivedAtMs - 1;
  const meter = new StreamMeter({ startMs: start, windowMs: 4000, clockOffsetMs: 0, nominalFps: fps });
  const windows = run(meter, frames, frames.at(-1)!.arrivedAtMs + 1000);
  const s = meter.summary();

  test("no drop, no stall; the frames were seen at the stream's rate", () => {
    expect(s).toMatchObject({ framesDecoded: 360, unreadable: 18, dropped: 0, stalls: 0 });
    expect(s.framesNew).toBe(360 - 18);
    // Whole windows after the first (the playout starts PLAYOUT_SLACK_MS into it).
    expect(windows.length).toBeGreaterThan(2);
    for (const w of windows.slice(1, -1)) expect(w.fpsAchieved).toBeCloseTo(30, 0);
    expect(s.fpsAchieved!).toBeCloseTo(30, 1);
  });

  test("a segment really lost between unreadable frames counts only what did not come", () => {
    const m = new StreamMeter({ startMs: start, windowMs: 4000, clockOffsetMs: 0, nominalFps: fps });
    // Segments 0-1, then 3 (2 lost): the last 3 frames of segment 1 are unreadable; 30 frames never came.
    const fr = segmented(fps, 30, 4, 100, new Set([2])).map((f) => (f.segment === 1 && f.payload!.frameNumber >= 57 ? { ...f, payload: null } : f));
    run(m, fr, fr.at(-1)!.arrivedAtMs + 1000);
    expect(m.summary()).toMatchObject({ unreadable: 3, dropped: 30 });
  });

  test("late frames in a gap partly made of unreadable frames un-drop what was counted, and cannot take it below 0", () => {
    const m = new StreamMeter({ startMs: T0, windowMs: 10_000, clockOffsetMs: 0, nominalFps: 30 });
    m.push(frame(0, 30, T0));
    m.push({ ...frame(1, 30, T0 + 33), payload: null });
    m.push(frame(4, 30, T0 + 133)); // 1-3 skipped, one frame unreadable: 2 dropped
    expect(m.summary().dropped).toBe(2);
    // Every number came after all: the two that counted are un-dropped, and no more.
    m.push(frame(1, 30, T0 + 200));
    expect(m.summary().dropped).toBe(1);
    for (const n of [2, 3]) m.push(frame(n, 30, T0 + 200));
    expect(m.summary().dropped).toBe(0);
  });
});

test("a source that makes only 20 of 30 frames a second achieves 20 fps", () => {
  // Every third frame number is missing at the source; frames arrive as they are made.
  const meter = new StreamMeter({ startMs: T0, windowMs: 3000, clockOffsetMs: 0, nominalFps: 30 });
  const frames: FrameInput[] = [];
  for (let n = 0; n < 300; n++) if (n % 3 !== 2) frames.push(frame(n, 30, gen(n, 30) + 50));
  const windows = run(meter, frames, T0 + 10_050);
  expect(meter.summary().fpsAchieved!).toBeCloseTo(20, 0);
  expect(windows[1]!.fpsAchieved).toBeCloseTo(20, 0);
  // The last missing frame (299) comes after the last frame seen: no gap shows it.
  expect(meter.summary().dropped).toBe(99);
});

test("without a configured rate the rate is learned from generation times", () => {
  const meter = new StreamMeter({ startMs: T0, windowMs: 10_000, clockOffsetMs: 0, nominalFps: null });
  for (const f of segmented(25, 25, 4, 60)) meter.push(f);
  expect(meter.fps!).toBeCloseTo(25, 3);
  expect(meter.summary().stalls).toBe(0);
});

test.each([30, 60, 29.97])("a learned rate of %s fps from whole-millisecond generation times (as payloads carry them) is the stream's, and so is the achieved fps", (fps) => {
  const meter = new StreamMeter({ startMs: T0, windowMs: 10_000, clockOffsetMs: 0, nominalFps: null });
  // One step that is not the stream's: the generation clock jumps 2 s between two frames in a row.
  const frames = segmented(fps, Math.round(fps), 20, 60).map((f): FrameInput => {
    const { frameNumber, generatedAtMs } = f.payload!;
    return { ...f, payload: { frameNumber, generatedAtMs: Math.round(generatedAtMs!) + (frameNumber >= 200 ? 2000 : 0) } };
  });
  for (const f of frames) meter.push(f);
  // Within 0.2 % (the median of single steps was 1-2 % off: 33 ms for 30 fps, 17 for 60).
  expect(Math.abs(meter.fps! / fps - 1)).toBeLessThan(0.002);
  expect(Math.abs(meter.summary().fpsAchieved! / fps - 1)).toBeLessThan(0.005);
});

test("late delivery beyond the playout slack is a stall of exactly the lateness", () => {
  const meter = new StreamMeter({ startMs: T0, windowMs: 10_000, clockOffsetMs: 0, nominalFps: 30 });
  const frames = segmented(30, 30, 6, 100);
  // Segment 3 arrives 400 ms later than the others would.
  const late = frames.map((f) => (f.segment === 3 ? { ...f, arrivedAtMs: f.arrivedAtMs + 400 } : f));
  const stalls = late.map((f) => meter.push(f).stall).filter((s) => s !== null);
  expect(stalls.length).toBe(1);
  expect(stalls[0]!.durationMs).toBeCloseTo(400 - PLAYOUT_SLACK_MS, 1);
});

test("a stream that stops delivering: the freeze from its last played frame to the end of the run is a stall, and the run's fps is over it", () => {
  const meter = new StreamMeter({ startMs: T0, windowMs: 5000, clockOffsetMs: 0, nominalFps: 30, targetLatencyMs: 1500 });
  // Five 1 s segments, then nothing for the rest of a 20 s run.
  const frames = segmented(30, 30, 5, 100);
  const endMs = T0 + 20_000;
  const windows = run(meter, frames, endMs);
  expect(frames).toHaveLength(150);
  const lastPlayed = frames.at(-1)!.arrivedAtMs + 1000 / 30; // the last segment plays out one interval after another
  const s = meter.summary();
  expect(s.stalls).toBe(1);
  expect(meter.endStall).not.toBeNull();
  expect(meter.endStall!.frameNumber).toBe(149);
  // From one interval after the last frame played to the end.
  expect(s.stallMs).toBeGreaterThan(endMs - lastPlayed - 1100);
  expect(s.stallMs).toBeLessThan(endMs - lastPlayed);
  expect(s.stallMs).toBeCloseTo(meter.endStall!.durationMs, 6);
  // 149 intervals over the time from the first frame played to the end, not to the last frame played (30 fps).
  const firstPlayed = frames[0]!.arrivedAtMs + PLAYOUT_SLACK_MS;
  expect(s.fpsAchieved!).toBeCloseTo(149 / ((endMs - firstPlayed) / 1000), 6);
  // The last window holds it; the windows before the freeze none.
  expect(windows.at(-1)!.stalls).toBe(1);
  expect(windows.slice(0, -1).every((w) => w.stalls === 0)).toBe(true);
  // A player at 1.5 s latency waits for frame 150 (due at its generation plus 1.5 s) until the end.
  expect(s.player.rebuffers).toBe(1);
  expect(s.player.rebufferMs!).toBeCloseTo(endMs - (gen(150, 30) + 1500), 6);
  expect(meter.endRebuffer!.durationMs).toBeCloseTo(s.player.rebufferMs!, 6);
});

test("a stream still delivering when the run ends has no stall at its end", () => {
  const meter = new StreamMeter({ startMs: T0, windowMs: 5000, clockOffsetMs: 0, nominalFps: 30, targetLatencyMs: 1500 });
  const frames = segmented(30, 30, 5, 100);
  run(meter, frames, frames.at(-1)!.arrivedAtMs + 500); // its last segment still playing out
  expect(meter.summary()).toMatchObject({ stalls: 0, stallMs: 0 });
  expect(meter.endStall).toBeNull();
  expect(meter.summary().player.rebuffers).toBe(0);
});

test("a run ending just after a window boundary adds no empty sliver window", () => {
  const meter = new StreamMeter({ startMs: T0, windowMs: 1000, clockOffsetMs: 0, nominalFps: 30 });
  const frames = segmented(30, 30, 2, 50);
  const windows = run(meter, frames, frames.at(-1)!.arrivedAtMs + 1);
  const last = Math.floor((frames.at(-1)!.arrivedAtMs - T0) / 1000);
  expect(windows.length).toBe(last + 1);
  expect(windows.every((w) => w.framesDecoded > 0 || w.index < last)).toBe(true);
  const sliver = new StreamMeter({ startMs: T0, windowMs: 1000, clockOffsetMs: 0, nominalFps: 30 });
  const w2 = run(sliver, frames, T0 + (last + 1) * 1000 + 40);
  expect(w2.length).toBe(last + 1); // [last+1 s, +40 ms) saw no arrival: not a window
});

test("live figures: run totals, and the median latency of the open window (or the last closed one)", () => {
  const meter = new StreamMeter({ startMs: T0, windowMs: 1000, clockOffsetMs: 0, nominalFps: 30 });
  expect(meter.live()).toEqual({ frames: 0, fps: null, latencyP50Ms: null, dropped: 0, unreadable: 0 });
  for (let n = 0; n < 10; n++) meter.push(frame(n, 30, T0 + 500 + n * 33.3)); // latency 500 ms each
  expect(meter.live().latencyP50Ms).toBeCloseTo(500, 0);
  expect(meter.live().frames).toBe(10);
  meter.closeWindowsUpTo(T0 + 5000);
  expect(meter.live().latencyP50Ms).toBeCloseTo(500, 0); // open window empty: the last closed one's
});

describe("the target-latency player", () => {
  test("a segment held back: one rebuffer for the first late frame's wait, the rest plays on at the new latency", async () => {
    const { PlayerModel } = await import("../../src/client/player.ts");
    const p = new PlayerModel(1500);
    const waits: number[] = [];
    // 25 fps, segments of 25 frames arriving together 1000 ms after their first frame; segment 2 arrives 2000 ms late.
    for (let n = 0; n < 100; n++) {
      const seg = Math.floor(n / 25);
      const arrival = seg * 1000 + 1000 + 40 + (seg === 2 ? 2000 : seg > 2 ? 1000 : 0); // segment 3 comes 1 s after 2
      const r = p.push(n * 40, arrival);
      if (r) waits.push(r.durationMs);
    }
    // Frame 50 is due at 2000 + 1500 = 3500 and arrives at 5040: 1540 ms late. After that every frame is in time.
    expect(waits).toEqual([1540]);
    expect(p.rebuffers).toBe(1);
    expect(p.latencyNowMs).toBe(3040);
    expect(p.ratio).toBeCloseTo(1540 / (99 * 40 + 1540), 12);
  });

  test("a player starts when its late first frame is there: startup, not a rebuffer", async () => {
    const { PlayerModel } = await import("../../src/client/player.ts");
    // 30 fps at a 600 ms target; the join fetches frames 0-17 at once at 726 ms (they waited on the server), then every
    // frame comes 40 ms after it was made; frame 60 comes 500 ms late.
    const arrival = (n: number) => (n < 18 ? 726 : n * 33 + 40 + (n === 60 ? 500 : 0));
    const joining = new PlayerModel(600);
    const waits: number[] = [];
    for (let n = 0; n < 90; n++) {
      const r = joining.push(n * 33, arrival(n));
      if (r) waits.push(r.durationMs);
    }
    // Frame 60 is due at 1980 + 600 + 126 (the start shift) = 2706 and comes at 2520: in time, no rebuffer at all.
    expect(waits).toEqual([]);
    expect(joining.rebuffers).toBe(0);
    expect(joining.latencyNowMs).toBe(726);
    // A later late frame is one rebuffer, counted from the latency the player started at.
    const late = new PlayerModel(600);
    for (let n = 0; n < 90; n++) late.push(n * 33, n < 18 ? 726 : n * 33 + 40 + (n === 60 ? 900 : 0));
    expect(late.rebuffers).toBe(1);
    expect(late.rebufferMs).toBe(60 * 33 + 940 - (60 * 33 + 726));
  });

  test("frames in time never rebuffer; the ratio is then 0", async () => {
    const { PlayerModel } = await import("../../src/client/player.ts");
    const p = new PlayerModel(3000);
    for (let n = 0; n < 50; n++) expect(p.push(n * 40, n * 40 + 1200)).toBeNull();
    expect(p.ratio).toBe(0);
  });
});

describe("comparing a stream with a control, frame by frame", () => {
  test("relative latency per matched frame; only the span both cover counts; lost frames lower the matched share", async () => {
    const { compareStreams } = await import("../../src/client/comparison.ts");
    // Control: frames 0..99 arriving at 1000 + 40n. Stream: joins at 10, stops at 119, 2 s behind, loses 50..54.
    const control = Array.from({ length: 100 }, (_, n) => ({ n, arrivedAtMs: 1000 + 40 * n }));
    const stream = Array.from({ length: 110 }, (_, i) => i + 10)
      .filter((n) => n < 50 || n > 54)
      .map((n) => ({ n, arrivedAtMs: 3000 + 40 * n + (n % 2) * 10 }));
    const c = compareStreams(stream, control);
    expect(c.framesControl).toBe(90); // 10..99
    expect(c.framesMatched).toBe(85);
    expect(c.matchedShare).toBeCloseTo(85 / 90, 12);
    expect(c.relativeLatencyMinMs).toBe(2000);
    expect(c.relativeLatencyMaxMs).toBe(2010);
    expect(c.relativeLatencyP50Ms).toBe(2010); // 42 even frames (2000) and 43 odd ones (2010): the 43rd of 85 is odd
    expect(compareStreams([], control).matchedShare).toBeNull();
    expect(compareStreams([{ n: 500, arrivedAtMs: 0 }], control).framesControl).toBe(0);
  });

  test("frames that came in a stream's join segment are left out, on either side: their arrival is the join", async () => {
    const { compareStreams } = await import("../../src/client/comparison.ts");
    // 25 fps, 1 s segments. The control was joined on frames 100..124, the stream (700 ms behind) on 100..124 as well,
    // a moment later: those two arrivals are the two joins, 30 ms apart.
    const control = Array.from({ length: 100 }, (_, i) => i + 100).map((n) => ({ n, arrivedAtMs: n < 125 ? 5000 : 5000 + 1000 * Math.floor((n - 100) / 25), atJoin: n < 125 }));
    const stream = control.map((f) => ({ n: f.n, arrivedAtMs: f.atJoin ? 5030 : f.arrivedAtMs + 700, atJoin: f.atJoin }));
    const c = compareStreams(stream, control);
    expect(c.relativeLatencyMinMs).toBe(700);
    expect(c.relativeLatencyMaxMs).toBe(700);
    expect(c.framesControl).toBe(75);
    expect(c.matchedShare).toBe(1);
    // Taken as deliveries, they would have said 30 ms.
    const asDelivered = compareStreams(stream.map(({ n, arrivedAtMs }) => ({ n, arrivedAtMs })), control.map(({ n, arrivedAtMs }) => ({ n, arrivedAtMs })));
    expect(asDelivered.relativeLatencyMinMs).toBe(30);
    // A stream joined later, on frames the control delivered: the span starts after its join segment.
    const late = stream.map((f) => ({ ...f, atJoin: f.n < 150 }));
    const l = compareStreams(late, control);
    expect(l.framesControl).toBe(50);
    expect(l.framesMatched).toBe(50);
  });

  test("frames lost just after a stream's join count as lost: its span starts at the frames it joined on", async () => {
    const { compareStreams } = await import("../../src/client/comparison.ts");
    // 30 fps, 1 s segments; the control from frame 0 (joined on 0..29). The stream joined on 300..329 (its join
    // segment), then lost the next three segments (330..419), then had every frame to 899.
    const control = Array.from({ length: 900 }, (_, n) => ({ n, arrivedAtMs: 1000 * Math.floor(n / 30) + 1000, atJoin: n < 30 }));
    const stream = control
      .filter((f) => f.n >= 300 && (f.n < 330 || f.n >= 420))
      .map((f) => ({ n: f.n, arrivedAtMs: f.n < 330 ? 10_500 : f.arrivedAtMs + 300, atJoin: f.n < 330 }));
    const c = compareStreams(stream, control);
    expect(c.framesControl).toBe(900 - 330); // 330..899: the join's own frames were delivered
    expect(c.framesMatched).toBe(900 - 420);
    expect(c.matchedShare).toBeCloseTo(480 / 570, 12);
    expect(c.relativeLatencyMinMs).toBe(300);
    expect(c.relativeLatencyMaxMs).toBe(300);
  });
});

test("comparing streams of a ten-hour run (over a million frames each)", async () => {
  const { compareStreams } = await import("../../src/client/comparison.ts");
  const n = 30 * 3600 * 10;
  const control = Array.from({ length: n }, (_, i) => ({ n: i, arrivedAtMs: i * 33 }));
  const stream = Array.from({ length: n }, (_, i) => ({ n: i, arrivedAtMs: i * 33 + 500 }));
  const c = compareStreams(stream, control);
  expect(c.framesMatched).toBe(n);
  expect(c.relativeLatencyP50Ms).toBe(500);
}, 30_000);

test("segments replayed out of order never make drops negative: only counted gaps are un-dropped", () => {
  const meter = new StreamMeter({ startMs: T0, windowMs: 10_000, clockOffsetMs: 0, nominalFps: 25 });
  // Joined at frame 150, then the server replays older segments (0-149) and later ones again.
  const order = [...Array.from({ length: 25 }, (_, i) => 150 + i), ...Array.from({ length: 150 }, (_, i) => i)];
  order.forEach((n, i) => meter.push(frame(n, 25, gen(150, 25) + 200 + i)));
  const s = meter.summary();
  expect(s.framesNew).toBe(25);
  expect(s.dropped).toBe(0);
  expect(s.outOfOrder).toBe(150);
  const windows = meter.finish(T0 + 20_000);
  expect(windows.every((w) => w.dropped >= 0)).toBe(true);
});

test("a late frame fills its gap once; a repeat of it is a duplicate", () => {
  const meter = new StreamMeter({ startMs: T0, windowMs: 10_000, clockOffsetMs: 0, nominalFps: 30 });
  [0, 1, 5, 3, 3, 6].forEach((n, i) => meter.push(frame(n, 30, T0 + 300 + i * 33)));
  expect(meter.summary()).toMatchObject({ framesNew: 4, dropped: 2, outOfOrder: 1, duplicates: 1 });
});
