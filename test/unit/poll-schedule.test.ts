import { expect, test } from "bun:test";
import { PollSchedule, type EarlySegment } from "../../src/client/poll-schedule.ts";

interface Made {
  sequence: number;
  /** When the origin lists it. */
  atMs: number;
  /** Its EXTINF. */
  durationS: number;
}

/** Segments of `durationS` listed from `firstAtMs` on, every `everyMs` (the media's real length, which EXTINF may misstate). */
function stream(count: number, opts: { firstAtMs?: number; everyMs?: number; durationS?: number } = {}): Made[] {
  const { firstAtMs = 330, everyMs = 1000, durationS = 1 } = opts;
  return Array.from({ length: count }, (_, i) => ({ sequence: i, atMs: firstAtMs + i * everyMs, durationS }));
}

/**
 * Polls a simulated origin by the schedule from t = 0 to untilMs (each answer instant, the last 6 segments listed):
 * when each segment was first seen, and how many polls were made. `fails` are poll start times answered with an error.
 * A segment is listed once it and every one before it are (a playlist held back holds what follows).
 */
function simulate(given: Made[], untilMs: number, opts: { pollMs?: number; fails?: (atMs: number) => boolean } = {}) {
  const pollMs = opts.pollMs ?? 50;
  let held = -Infinity;
  const made = given.map((m) => ({ ...m, atMs: (held = Math.max(held, m.atMs)) }));
  const schedule = new PollSchedule(pollMs);
  const seenAtMs = new Map<number, number>();
  const pollsAtMs: number[] = [];
  const early: (EarlySegment & { atMs: number })[] = [];
  for (let t = 0; t <= untilMs; ) {
    pollsAtMs.push(t);
    if (opts.fails?.(t)) {
      schedule.failed();
      t += pollMs;
      continue;
    }
    const listed = made.filter((m) => m.atMs <= t).slice(-6);
    for (const m of listed) if (!seenAtMs.has(m.sequence)) seenAtMs.set(m.sequence, t);
    const said = schedule.listed(t, listed);
    if (said) early.push({ ...said, atMs: t });
    const next = schedule.nextPollAtMs(t, t);
    expect(next).toBeGreaterThanOrEqual(t + pollMs);
    t = next;
  }
  /** How long after it was listed each segment was seen (those listed before untilMs - a poll). */
  const lateMs = made.filter((m) => m.atMs <= untilMs - pollMs).map((m) => seenAtMs.get(m.sequence)! - m.atMs);
  return { polls: pollsAtMs.length, pollsAtMs, lateMs, seenAtMs, early };
}

const max = (xs: number[]) => Math.max(...xs);

test("segments on time: each is seen within one poll of its listing, with under 40 % of the polls", () => {
  const made = stream(60);
  const paused = simulate(made, 60_000);
  // Joining at t = 0 the first listed segment was there before; from then on, within one poll.
  expect(max(paused.lateMs.slice(1))).toBeLessThanOrEqual(50);
  const always = 60_000 / 50 + 1;
  expect(paused.polls).toBeLessThan(always * 0.4);
  // Resumed a margin before each is due (250 ms at 1 s segments, counted from the poll before): six or seven polls.
  expect(paused.polls).toBeGreaterThan(60 * 6);
  expect(paused.early).toEqual([]);
});

test("a segment held back (a relay, a stalled packager) is polled for at the cadence until it comes, and what it held", () => {
  const made = stream(30).map((m) => (m.sequence === 12 ? { ...m, atMs: m.atMs + 700 } : m.sequence === 20 ? { ...m, atMs: m.atMs + 2600 } : m));
  const r = simulate(made, 30_000);
  expect(max(r.lateMs.slice(1))).toBeLessThanOrEqual(50);
  expect(r.early).toEqual([]);
});

test("every segment late by the same amount (a delaying relay) is seen as promptly", () => {
  const r = simulate(stream(30, { firstAtMs: 730 }), 30_000);
  expect(max(r.lateMs.slice(1))).toBeLessThanOrEqual(50);
});

test("a segment shorter than the ones before comes during a pause: said, with how late it may be, and no pause after", () => {
  // Segment 10 is listed 600 ms after 9 instead of 1000 (cut short, as at a splice), so all after it 400 ms sooner.
  const made = stream(30).map((m) => (m.sequence >= 10 ? { ...m, atMs: m.atMs - 400 } : m));
  made[10]!.durationS = 0.6;
  const r = simulate(made, 30_000);
  const late = r.lateMs;
  // Seen at the end of the pause (resumed 250 ms before 1 s after 9), not within a poll, and said.
  expect(late[10]).toBeGreaterThan(50);
  expect(late[10]).toBeLessThanOrEqual(400);
  expect(r.early).toHaveLength(1);
  expect(r.early[0]!.sequence).toBe(10);
  expect(r.early[0]!.failedPollsToo).toBe(false);
  expect(r.early[0]!.lateByMs).toBeGreaterThanOrEqual(late[10]!);
  // From then on the cadence, throughout: none after it is late.
  expect(max(late.slice(11))).toBeLessThanOrEqual(50);
  expect(max(late.slice(1, 10))).toBeLessThanOrEqual(50);
  const after = r.pollsAtMs.filter((t) => t > r.early[0]!.atMs);
  expect(after.length).toBeGreaterThanOrEqual((30_000 - r.early[0]!.atMs) / 50 - 1);
});

test("media listed as longer than it plays (EXTINF rounded up): the clock follows the drift, nothing seen late", () => {
  // EXTINF says 1 s, each segment is listed 980 ms after the one before: 20 ms sooner each time than the sum says.
  // Each segment seen at the cadence gives a start earlier than the last, and the earliest is the clock.
  const r = simulate(stream(100, { everyMs: 980 }), 98_000);
  expect(max(r.lateMs.slice(1))).toBeLessThanOrEqual(50);
  expect(r.early).toEqual([]);
  expect(r.polls).toBeLessThan((98_000 / 50) * 0.45);
});

test("media listed as shorter than it plays: never late, the polls just resume earlier than needed", () => {
  const r = simulate(stream(60, { everyMs: 1020 }), 61_000);
  expect(max(r.lateMs.slice(1))).toBeLessThanOrEqual(50);
});

test("after a failed poll what came meanwhile is not trusted: polled at the cadence until a segment is seen at it", () => {
  // The polls from 9.2 s to 10.6 s fail: segments 9 and 10 (listed at 9.33 s and 10.33 s) are seen after them.
  const r = simulate(stream(30), 30_000, { fails: (t) => t >= 9200 && t < 10_600 });
  expect(r.lateMs[9]).toBeGreaterThan(1000);
  expect(r.lateMs[10]).toBeGreaterThan(200);
  // Not taken as the clock (they say nothing of when they came): 11 on is seen within a poll.
  expect(max(r.lateMs.filter((_, i) => i !== 0 && i !== 9 && i !== 10))).toBeLessThanOrEqual(50);
  // Nor do they pull the clock back by the outage (which would keep the polls at the cadence for the next 8): from
  // 12 s to 20 s the polls pause again, seven or so a segment.
  expect(r.pollsAtMs.filter((t) => t >= 12_000 && t < 20_000).length).toBeLessThan(8 * 8);
  expect(r.early).toEqual([]);
});

test("a gap in the numbering or a restart: the clock is learnt again at the cadence", () => {
  const gap = stream(30).filter((m) => m.sequence !== 15 && m.sequence !== 16);
  expect(max(simulate(gap, 30_000).lateMs.slice(1))).toBeLessThanOrEqual(50);
  // A restart: numbering starts over at 0 at 15.5 s with a new clock.
  const restarted = [...stream(15), ...stream(15, { firstAtMs: 15_500 })];
  const schedule = new PollSchedule(50);
  let t = 0;
  const seen: number[] = [];
  while (t < 30_000) {
    const listed = (t < 15_500 ? restarted.slice(0, 15) : restarted.slice(15)).filter((m) => m.atMs <= t).slice(-6);
    if (t >= 15_500 && listed.length > 0 && seen.length === 0) seen.push(t - listed.at(-1)!.atMs);
    schedule.listed(t, listed);
    t = schedule.nextPollAtMs(t);
  }
  expect(seen[0]).toBeLessThanOrEqual(50);
});

test("polls coarser than the margin, segments of unknown length, or one clock reading alone: the cadence", () => {
  // --poll 500ms at 1 s segments: the margin (two polls) covers the whole segment.
  const coarse = new PollSchedule(500);
  for (const [t, n] of [[0, 0], [500, 0], [1000, 1], [1500, 1], [2000, 2]] as const) {
    coarse.listed(t, Array.from({ length: n + 1 }, (_, i) => ({ sequence: i, durationS: 1 })));
  }
  expect(coarse.nextPollAtMs(2000)).toBe(2500);
  const zero = new PollSchedule(50);
  zero.listed(0, [{ sequence: 0, durationS: 1 }]);
  zero.listed(50, [{ sequence: 0, durationS: 1 }, { sequence: 1, durationS: 0 }]);
  zero.listed(100, [{ sequence: 0, durationS: 1 }, { sequence: 1, durationS: 0 }, { sequence: 2, durationS: 1 }]);
  expect(zero.nextPollAtMs(100)).toBe(150);
  // One segment seen at the cadence is not enough (it may have been late); two are.
  const s = learnt();
  expect(s.nextPollAtMs(1100)).toBeGreaterThan(1150);
  const one = new PollSchedule(50);
  one.listed(0, [{ sequence: 4, durationS: 1 }]);
  one.listed(50, [{ sequence: 4, durationS: 1 }]);
  one.listed(100, [{ sequence: 4, durationS: 1 }, { sequence: 5, durationS: 1 }]);
  expect(one.nextPollAtMs(100)).toBe(150);
  // An empty playlist forgets the clock.
  s.listed(1150, []);
  expect(s.nextPollAtMs(1150)).toBe(1200);
});

/** A schedule that has seen segments 5 and 6 (1 s each) appear between polls at the cadence: at 100 and 1100. */
function learnt(pollMs = 50): PollSchedule {
  const s = new PollSchedule(pollMs);
  const upTo = (n: number) => Array.from({ length: n - 3 }, (_, i) => ({ sequence: 4 + i, durationS: 1 }));
  s.listed(0, upTo(4));
  s.listed(50, upTo(4));
  s.listed(100, upTo(5));
  for (let t = 150; t < 1100; t += 50) s.listed(t, upTo(5));
  s.listed(1100, upTo(6));
  return s;
}

test("the pause ends a margin before the next segment is due, by the earliest start and the shortest segment", () => {
  const s = learnt();
  // 5 was not there at 50 (its 1 s ended at 50 at the earliest), 6 not at 1050: the clock says 7 is due at 2050.
  // Resumed at 2050 - max(200, 100, 250) = 1800.
  expect(s.nextPollAtMs(1100)).toBe(1800);
  expect(s.marginMs(2)).toBe(500);
  expect(s.marginMs(0.5)).toBe(200);
  // A shorter segment among the last 8 makes the next one due sooner (taken as short as the shortest). Segments of
  // 1, 0.5, 1 and 1 s listed at 1000, 1500, 2500 and 3500, polled every 50 ms.
  const short = new PollSchedule(50);
  const made = [{ at: 1000, d: 1 }, { at: 1500, d: 0.5 }, { at: 2500, d: 1 }, { at: 3500, d: 1 }];
  for (let t = 950; t <= 3500; t += 50) {
    short.listed(t, made.map((m, i) => ({ sequence: i, durationS: m.d, at: m.at })).filter((m) => m.at <= t));
  }
  // The clock: media after segment 0's end began at 950 at the earliest (each appeared just after a poll at x950).
  // Segment 4 is due at 950 + (0.5 + 1 + 1 + 0.5) * 1000 = 3950, resumed 200 ms before.
  expect(short.nextPollAtMs(3500)).toBe(3750);
});

test("a fetch that ran past the pause's end: no pause, so nothing that came meanwhile is said", () => {
  const s = learnt();
  // The poll at 1100 brought 6; its fetch ended at 1900, past the resume time (1800): the next poll is at once.
  expect(s.nextPollAtMs(1100, 1900)).toBe(1150);
  const upTo7 = Array.from({ length: 4 }, (_, i) => ({ sequence: 4 + i, durationS: 1 }));
  expect(s.listed(1900, upTo7)).toBeNull();
});

test("a restart or a gap during a pause is said like a segment, and ends the pauses", () => {
  const restart = learnt();
  expect(restart.nextPollAtMs(1100)).toBe(1800);
  expect(restart.listed(1800, [{ sequence: 0, durationS: 1 }])).toEqual({ sequence: 0, lateByMs: 700, failedPollsToo: false });
  const gap = learnt();
  gap.nextPollAtMs(1100);
  const jumped = [{ sequence: 9, durationS: 1 }, { sequence: 10, durationS: 1 }];
  expect(gap.listed(1800, jumped)).toEqual({ sequence: 9, lateByMs: 700, failedPollsToo: false });
  // Ended for good: not even after the clock could be learnt again.
  let t = 1850;
  for (let n = 11; n < 20; n++, t += 1000) {
    gap.listed(t, [...jumped, { sequence: n, durationS: 1 }]);
    expect(gap.nextPollAtMs(t)).toBe(t + 50);
  }
});

test("failed polls after a pause: what came is said as maybe theirs, and the pauses go on once the clock is learnt again", () => {
  const s = learnt();
  s.nextPollAtMs(1100);
  s.failed(); // the poll at 1800
  s.failed(); // and at 1850
  const upTo7 = Array.from({ length: 4 }, (_, i) => ({ sequence: 4 + i, durationS: 1 }));
  expect(s.listed(1900, upTo7)).toEqual({ sequence: 7, lateByMs: 800, failedPollsToo: true });
  expect(s.nextPollAtMs(1900)).toBe(1950);
  // 8 and 9, listed at 2100 and 3100, are seen at the cadence: the clock is known again, and the polls pause.
  const upTo = (n: number) => Array.from({ length: n - 3 }, (_, i) => ({ sequence: 4 + i, durationS: 1 }));
  for (let t = 1950; t <= 3100; t += 50) {
    s.listed(t, upTo(t >= 3100 ? 9 : t >= 2100 ? 8 : 7));
    if (t < 3100) expect(s.nextPollAtMs(t)).toBe(t + 50);
  }
  expect(s.nextPollAtMs(3100)).toBe(2050 + 2000 - 250);
  // An answer set aside (an older copy) is a failed poll too: it keeps the pause's mark.
  const copy = learnt();
  copy.nextPollAtMs(1100);
  copy.failed();
  expect(copy.listed(1850, upTo7)).toEqual({ sequence: 7, lateByMs: 750, failedPollsToo: true });
});

test("answers that may come from a cache keep the cadence for good", () => {
  const s = learnt();
  s.keepCadence();
  expect(s.nextPollAtMs(1100)).toBe(1150);
  const r = simulate(stream(20), 20_000);
  expect(r.polls).toBeLessThan(20_000 / 50 / 2);
});

test("a stream catching up after its start (each segment less late than the one before): no pause until the clock settles, nothing seen late", () => {
  // A provider's transcoder starts behind and catches up: segments 0-4 listed 2000, 1500, 1000, 500 and 200 ms after
  // their place on the stream's clock, then on time. Each segment seen gives an earlier start: a clock taken from the
  // first two would be late by a second, and a pause on it would miss the next segment's listing.
  const lateBy = [2000, 1500, 1000, 500, 200];
  const made = stream(30).map((m) => ({ ...m, atMs: m.atMs + (lateBy[m.sequence] ?? 0) }));
  const r = simulate(made, 30_000);
  expect(max(r.lateMs.slice(1))).toBeLessThanOrEqual(50);
  expect(r.early).toEqual([]);
  // And once settled the polls pause again: under half the polls of the cadence.
  expect(r.polls).toBeLessThan((30_000 / 50) * 0.5);
});
