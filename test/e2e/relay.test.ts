import { afterAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Relay } from "../helpers/relay.ts";
import { client, ffprobeFrames, openDb, serve, tempDir } from "../helpers/vat.ts";

const tmp = tempDir();
afterAll(() => tmp.cleanup());

test(
  "segments removed from the playlist: the client reports exactly their frames as dropped",
  async () => {
    const server = serve(["--size", "480p", "--fps", "25"]);
    const HIDE = new Set([6, 9, 10]);
    const relay = new Relay({ origin: server.url, hide: (seq) => HIDE.has(seq) });
    try {
      await server.waitLive();
      const db = join(tmp.path, "drops.db");
      const run = await client(["--url", relay.url, "--duration", "16s", "--db", db, "--json"]);
      expect(run.exitCode).toBe(0);
      // The client started before the first hidden segment and ran past the last one.
      expect(relay.firstShown!).toBeLessThan(6);
      expect(relay.hidden.size).toBe(3);
      let truth = 0;
      for (const [seq, bytes] of relay.hidden) {
        const file = join(tmp.path, `hidden-${seq}.ts`);
        writeFileSync(file, bytes);
        truth += ffprobeFrames(file);
      }
      expect(truth).toBe(75);
      const s = run.json!.summary;
      expect(s.dropped).toBe(truth);
      expect(s.unreadable).toBe(0);
      const d = openDb(db);
      expect((d.query("SELECT sum(dropped) AS n FROM windows").get() as { n: number }).n).toBe(truth);
      expect((d.query("SELECT sum(gap_before) AS n FROM frames").get() as { n: number }).n).toBe(truth);
      // Two gaps (6, and 9-10: 25 and 50 frames, 1 s and 2 s). The first freezes the picture for 1 s less what the
      // player had buffered: the time the client joined into its first segment (0 to one segment) plus its 100 ms
      // start slack, so anything up to 1 s, or no stall at all. That stall uses the buffer up (play resumes as frames
      // arrive), so the second freezes for its whole 2 s. Segments arriving a little late on a busy machine may add
      // short stalls, never long ones.
      const gaps = d.query("SELECT frame_number AS n, gap_before AS gap FROM frames WHERE gap_before > 0 ORDER BY idx").all() as { n: number; gap: number }[];
      expect(gaps.map((g) => g.gap)).toEqual([25, 50]);
      const stalls = d.query("SELECT duration_ms AS ms, detail FROM events WHERE kind = 'stall' ORDER BY at_ms").all() as { ms: number; detail: string }[];
      const before = (n: number) => stalls.find((st) => st.detail.endsWith(`before frame ${n}`))?.ms ?? null;
      const short = before(gaps[0]!.n);
      const long = before(gaps[1]!.n);
      if (short !== null) expect(short).toBeLessThanOrEqual(1000 + 50);
      expect(long).not.toBeNull();
      expect(long!).toBeGreaterThanOrEqual(2000 - 150);
      expect(long!).toBeLessThanOrEqual(2000 + 50);
      for (const st of stalls) if (st.ms !== short && st.ms !== long) expect(st.ms).toBeLessThan(300);
      d.close();
    } finally {
      relay.stop();
      await server.stop();
    }
  },
  60_000,
);

test(
  "segments whose pictures' data is scrambled on the way (every fourth): every frame read keeps its own segment's stamp, and the damage shows",
  async () => {
    const server = serve(["--size", "240p"]);
    const broken = new Set<number>();
    const relay = new Relay({
      origin: server.url,
      mangle: (path, body) => {
        const seq = Number(/seg_(\d+)\.ts$/.exec(path)?.[1] ?? Number.NaN);
        if (!(seq % 4 === 2)) return null;
        broken.add(seq);
        // Bit errors in the pictures' data: in the middle of the segment, the payload of each transport packet that
        // goes on with a PES (not one starting it, where the PES header and the frame's NAL unit headers are).
        const b = body.slice();
        for (let p = Math.floor(b.length * 0.3 / 188) * 188; p < b.length * 0.7; p += 188) {
          if (b[p] !== 0x47 || (b[p + 1]! & 0x40) !== 0) continue;
          const from = p + 4 + ((b[p + 3]! & 0x20) !== 0 ? 1 + b[p + 4]! : 0);
          for (let i = from; i < p + 188; i++) b[i] = (i * 31) & 0xff;
        }
        return b;
      },
    });
    try {
      await server.waitLive();
      const db = join(tmp.path, "broken.db");
      const run = await client(["--url", relay.url, "--duration", "20s", "--db", db, "--json"]);
      expect(run.exitCode).toBe(0);
      expect(broken.size).toBeGreaterThanOrEqual(3);
      const d = openDb(db);
      // vat serve's segments hold 30 frames each, frame n in the segment numbered (n - 1) / 30 plus a fixed offset (the
      // relay numbers its own): every frame read must carry its own segment's stamp.
      const lags = d.query("SELECT DISTINCT (frame_number - 1) / 30 - segment AS lag FROM frames WHERE kind = 'new'").all();
      expect(lags).toHaveLength(1);
      const latency = d.query("SELECT min(latency_ms) AS min, count(*) AS n FROM frames WHERE kind = 'new'").get() as { min: number; n: number };
      expect(latency.n).toBeGreaterThan(300);
      expect(latency.min).toBeGreaterThan(0);
      // ffmpeg conceals what it can (pictures whose code can no longer be read) and says what it cannot decode; the
      // frames it loses without a word are the ones whose headers broke (README), which this relay leaves alone.
      const s = run.json!.summary;
      expect(s.unreadable + s.dropped).toBeGreaterThan(0);
      const said = d.query("SELECT detail FROM events WHERE kind = 'segment-missing'").all() as { detail: string }[];
      for (const e of said) expect(e.detail).toMatch(/^the decoder (could not decode|gave) \d+ frames? /);
      d.close();
    } finally {
      relay.stop();
      await server.stop();
    }
  },
  60_000,
);

test(
  "a stream that stops delivering mid-run (its playlist no longer advances): the freeze to the end is a stall, and the run's fps counts it",
  async () => {
    const server = serve(["--size", "240p", "--fps", "25"]);
    let held: number | null = null;
    let stoppedAt: number | null = null;
    const relay = new Relay({
      origin: server.url,
      holdMs: (seq) => {
        if (held === null && relay.firstShown !== null && seq >= relay.firstShown + 4) {
          held = seq;
          stoppedAt = Date.now();
        }
        return held !== null && seq >= held ? 600_000 : 0; // for good, and every later one
      },
    });
    try {
      await server.waitLive();
      const db = join(tmp.path, "frozen.db");
      const run = await client(["--url", relay.url, "--duration", "12s", "--target-latency", "1500ms", "--db", db, "--json"]);
      const endedAt = Date.now();
      expect(run.exitCode).toBe(0);
      expect(held).not.toBeNull();
      const s = run.json!.summary;
      const d = openDb(db);
      const stalls = d.query("SELECT duration_ms AS ms, detail FROM events WHERE kind = 'stall' ORDER BY at_ms").all() as { ms: number; detail: string }[];
      const rebuffers = d.query("SELECT detail FROM events WHERE kind = 'rebuffer'").all() as { detail: string }[];
      d.close();
      const last = stalls.at(-1)!;
      expect(last.detail).toEndWith("to the end of the run");
      // Frozen from about when the held segment would have come (its predecessor's frames played out) to the end.
      const frozenFor = endedAt - stoppedAt!;
      expect(last.ms).toBeGreaterThan(frozenFor - 2500);
      expect(last.ms).toBeLessThan(frozenFor + 500);
      expect(s.stalls).toBe(stalls.length);
      // Four or so seconds of frames over a twelve-second run: far from 25 fps.
      expect(s.fpsAchieved).toBeLessThan(25 * 0.7);
      expect(rebuffers.at(-1)!.detail).toEndWith("to the end of the run");
    } finally {
      relay.stop();
      await server.stop();
    }
  },
  40_000,
);

/** Latency in one client's database minus another's, frame by frame (frames matched by number), sorted. */
function frameShifts(db: string, other: string): number[] {
  const d = openDb(db);
  try {
    d.exec(`ATTACH DATABASE '${other}' AS other`);
    const rows = d
      .query(
        `SELECT b.latency_ms - a.latency_ms AS shift FROM frames b JOIN other.frames a
         ON a.frame_number = b.frame_number AND a.kind = 'new' AND b.kind = 'new'`,
      )
      .all() as { shift: number }[];
    return rows.map((r) => r.shift).sort((x, y) => x - y);
  } finally {
    d.close();
  }
}

test(
  "segments delayed by a known 1500 ms: measured latency shifts by that amount within 50 ms",
  async () => {
    const DELAY = 1500;
    const server = serve(["--size", "480p", "--fps", "25"]);
    const relay = new Relay({ origin: server.url, delayMs: DELAY });
    try {
      await server.waitLive();
      const direct = join(tmp.path, "direct.db");
      const delayed = join(tmp.path, "delayed.db");
      // Both clients watch the same frames at once; frames are matched by number. Each polls on its own schedule, so
      // a segment's arrival is known to within a poll: 20 ms here, well inside the 50 ms asked of the shift.
      const [a, b] = await Promise.all([
        client(["--url", server.url, "--duration", "15s", "--poll", "20ms", "--db", direct, "--json"]),
        client(["--url", relay.url, "--duration", "15s", "--poll", "20ms", "--db", delayed, "--json"]),
      ]);
      expect(a.exitCode).toBe(0);
      expect(b.exitCode).toBe(0);
      const shifts = frameShifts(delayed, direct);
      expect(shifts.length).toBeGreaterThan(200);
      const median = shifts[Math.floor(shifts.length / 2)]!;
      expect(Math.abs(median - DELAY)).toBeLessThan(50);
      // Most frames shift by the delay, not just the middle one. Each client polls every 20 ms, so a segment's shift
      // can be off by ±20 ms and more on a busy machine; the direct client's first segment was already old when it
      // joined (an outlier).
      const q = (p: number) => shifts[Math.floor(p * (shifts.length - 1))]!;
      expect(Math.abs(q(0.1) - DELAY)).toBeLessThan(75);
      expect(Math.abs(q(0.9) - DELAY)).toBeLessThan(75);
      expect(Math.abs(b.json!.summary.latencyP50Ms - a.json!.summary.latencyP50Ms - DELAY)).toBeLessThan(50);
    } finally {
      relay.stop();
      await server.stop();
    }
  },
  60_000,
);

test(
  "a server clock 5 s ahead: the estimated offset is 5 s and latency follows the server's clock",
  async () => {
    const SHIFT = 5000;
    const server = serve(["--size", "240p", "--fps", "25"]);
    const relay = new Relay({ origin: server.url, timeShiftMs: SHIFT });
    try {
      await server.waitLive();
      // Three clients side by side, each polling on its own schedule: 20 ms polls put their arrivals within 20 ms of
      // each other's, well inside the 50 ms asked of their latencies.
      const poll = ["--poll", "20ms"];
      const [a, b, c] = await Promise.all([
        client(["--url", server.url, "--duration", "8s", ...poll, "--db", join(tmp.path, "clock-a.db"), "--json"]),
        client(["--url", relay.url, "--duration", "8s", ...poll, "--db", join(tmp.path, "clock-b.db"), "--json"]),
        client(["--url", relay.url, "--duration", "8s", ...poll, "--db", join(tmp.path, "clock-c.db"), "--json", "--no-clock-sync"]),
      ]);
      for (const r of [a, b, c]) expect(r.exitCode).toBe(0);
      expect(Math.abs(b.json!.clock.offsetMs - SHIFT)).toBeLessThan(5);
      expect(b.json!.clock.uncertaintyMs).toBeLessThan(5);
      // Frame by frame (the three runs' medians cover different frames: each joined and ended on its own schedule).
      const median = (xs: number[]) => xs[Math.floor(xs.length / 2)]!;
      const synced = frameShifts(join(tmp.path, "clock-b.db"), join(tmp.path, "clock-a.db"));
      expect(synced.length).toBeGreaterThan(100);
      expect(Math.abs(median(synced) - SHIFT)).toBeLessThan(50);
      // Trusting local clocks ignores /time altogether.
      expect(c.json!.clock).toBeNull();
      const local = frameShifts(join(tmp.path, "clock-c.db"), join(tmp.path, "clock-a.db"));
      expect(local.length).toBeGreaterThan(100);
      expect(Math.abs(median(local))).toBeLessThan(50);
      const d = openDb(join(tmp.path, "clock-b.db"));
      expect(d.query("SELECT clock_synced, round(clock_offset_ms / 100) AS o FROM runs").get()).toEqual({ clock_synced: 1, o: 50 });
      d.close();
    } finally {
      relay.stop();
      await server.stop();
    }
  },
  40_000,
);

test(
  "one segment withheld for a known 2000 ms: a stall of that length, and one rebuffer for a player at 1.5 s latency",
  async () => {
    const HOLD = 2000;
    const TARGET = 1500;
    const server = serve(["--size", "240p", "--fps", "25"]);
    let held: number | null = null;
    const relay = new Relay({
      origin: server.url,
      holdMs: (seq) => {
        if (held === null && relay.firstShown !== null && seq >= relay.firstShown + 3) held = seq;
        return seq === held ? HOLD : 0;
      },
    });
    try {
      await server.waitLive();
      const db = join(tmp.path, "hold.db");
      const run = await client(["--url", relay.url, "--duration", "9s", "--target-latency", `${TARGET}ms`, "--db", db, "--json"]);
      expect(run.exitCode).toBe(0);
      expect(held).not.toBeNull();
      // The relay's own record: how long the segment was really withheld beyond its normal appearance.
      const withheld = relay.released.get(held!)! - relay.seenAt.get(held!)!;
      expect(withheld).toBeGreaterThanOrEqual(HOLD);
      expect(withheld).toBeLessThan(HOLD + 60);
      const s = run.json!.summary;
      expect(s.dropped).toBe(0);
      const d = openDb(db);
      const stalls = (d.query("SELECT duration_ms AS ms FROM events WHERE kind = 'stall'").all() as { ms: number }[]).map((r) => r.ms);
      const rebuffers = d.query("SELECT duration_ms AS ms FROM events WHERE kind = 'rebuffer'").all() as { ms: number }[];
      // Latency of the first frame of the held segment and of the one before it (each segment's largest).
      const first = (seq: number) =>
        (d.query("SELECT latency_ms AS l FROM frames WHERE kind = 'new' AND segment = ? ORDER BY idx LIMIT 1").get(seq) as { l: number }).l;
      const heldSegment = d.query("SELECT segment FROM frames WHERE kind = 'new' GROUP BY segment ORDER BY max(latency_ms) DESC LIMIT 1").get() as { segment: number };
      const before = first(heldSegment.segment - 1);
      // The player started at the run's first frame: later than the target when the client joined late in a segment.
      const joinedLatency = (d.query("SELECT latency_ms AS l FROM frames WHERE kind = 'new' ORDER BY idx LIMIT 1").get() as { l: number }).l;
      const startShift = Math.max(0, joinedLatency - TARGET);
      d.close();
      // The picture froze for the time the segment was withheld, less what the player had buffered: the time the
      // client joined into its first segment (0 to one segment, 1 s), its 100 ms start slack, and what uneven arrivals
      // (polling every 50 ms) added; seen: 294 to 1,070 ms.
      const long = stalls.filter((ms) => ms > 500);
      expect(long).toHaveLength(1);
      expect(long[0]!).toBeGreaterThan(withheld - 1000 - 100 - 100);
      expect(long[0]!).toBeLessThan(withheld + 50);
      // A player holding 1.5 s (or what its first frame came later than that) waits once: for the held segment's first
      // frame, which came `withheld` later than usual.
      expect(s.player).toMatchObject({ targetLatencyMs: TARGET, rebuffers: 1 });
      expect(rebuffers).toHaveLength(1);
      expect(Math.abs(s.player.rebufferMs - (before + withheld - TARGET - startShift))).toBeLessThan(150);
      expect(s.player.rebufferRatio).toBeCloseTo(s.player.rebufferMs / (s.framesNew * 40 - 40 + s.player.rebufferMs), 2);
      expect(s.player.startupMs).toBeGreaterThan(0);
      expect(s.player.startupMs).toBeLessThan(3000);
      expect(s.player.stallFreeLatencyMs).toBe(s.latencyMaxMs);
    } finally {
      relay.stop();
      await server.stop();
    }
  },
  40_000,
);

test(
  "--poll sets the cadence of the playlist's polls, which pause between segments: 50 ms in bursts before each 1 s segment, 500 ms throughout",
  async () => {
    const server = serve(["--size", "240p", "--fps", "15"]);
    const fast = new Relay({ origin: server.url });
    const slow = new Relay({ origin: server.url });
    try {
      await server.waitLive();
      const [a, b] = await Promise.all([
        client(["--url", fast.url, "--duration", "5s", "--db", join(tmp.path, "poll-a.db"), "--json"]),
        client(["--url", slow.url, "--duration", "5s", "--poll", "500ms", "--db", join(tmp.path, "poll-b.db"), "--json"]),
      ]);
      expect(a.exitCode).toBe(0);
      expect(b.exitCode).toBe(0);
      // Between polls of the run (the first request is the connect's, the run's own follows at once).
      const gaps = (times: number[]) => times.slice(2).map((t, i) => t - times[i + 1]!);
      // 50 ms: at the cadence until two segments have shown the clock (up to 2 s after joining), then bursts from a
      // margin before each segment is due (~7 a segment) and pauses between; polls that never paused: ~100 in 5 s.
      // (None of vat's segments came sooner than the clock said, which would keep the cadence from then on.)
      const d = openDb(join(tmp.path, "poll-a.db"));
      expect(d.query("SELECT count(*) AS n FROM events WHERE kind = 'early-segment'").get()).toEqual({ n: 0 });
      d.close();
      const fastGaps = gaps(fast.playlistRequestTimes);
      expect(fast.playlistRequests).toBeGreaterThan(20);
      expect(fast.playlistRequests).toBeLessThan(80);
      const bursts = fastGaps.filter((g) => g < 150).sort((x, y) => x - y);
      expect(bursts.length).toBeGreaterThan(fastGaps.length / 2);
      // At the cadence: requests 50 ms apart at the median (each wait is counted from the last request's start).
      const median = bursts[Math.floor(bursts.length / 2)]!;
      expect(median).toBeGreaterThan(40);
      expect(median).toBeLessThan(70);
      expect(fastGaps.filter((g) => g > 400).length).toBeGreaterThanOrEqual(2);
      // 500 ms: the margin (two polls) spans the whole segment, so the cadence is kept throughout (~10 in 5 s).
      expect(slow.playlistRequests).toBeGreaterThan(6);
      expect(slow.playlistRequests).toBeLessThan(15);
      const slowGaps = gaps(slow.playlistRequestTimes).sort((x, y) => x - y);
      expect(slowGaps[Math.floor(slowGaps.length / 2)]!).toBeGreaterThan(450);
      expect(a.json!.summary.dropped).toBe(0);
      expect(b.json!.summary.dropped).toBe(0);
    } finally {
      fast.stop();
      slow.stop();
      await server.stop();
    }
  },
  30_000,
);
