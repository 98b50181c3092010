import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DecodedFrame } from "../../src/client/decoder.ts";
import type { DecoderFactory } from "../../src/client/decoding.ts";
import { fakeDecoder } from "../helpers/fake-decoder.ts";
import type { StreamEvent } from "../../src/client/events.ts";
import { Feeder, FILLER_FRAMES } from "../../src/client/feeder.ts";
import { RunStore } from "../../src/client/store.ts";
import { defaultSessionDeps, runSession, UnmeasuredRun, type ClientConfig, type SessionDeps } from "../../src/client/session.ts";
import { UNKNOWN_FACTS, type MediaUnit, type Source, type SourceOutcome } from "../../src/client/source.ts";

const T0 = 1_800_000_000_000;
const FPS = 25;
const gen = (n: number) => T0 + (n * 1000) / FPS;
const enc = new TextEncoder();
const dec = new TextDecoder();

function unit(sequence: number, lines: string[], arrivedAtMs: number, extra: Partial<MediaUnit> = {}): MediaUnit {
  const bytes = enc.encode(lines.map((l) => `${l}\n`).join(""));
  return {
    sequence, arrivedAtMs, bytes, deliveredBytes: bytes.length, frames: lines.length, firstFrameEnd: lines[0]!.length + 1, discontinuity: false,
    discontinuitySequence: 0, programDateTimeMs: null, ptsOffsetsMs: [], durationS: lines.length / FPS, ...extra,
  };
}

const code = (n: number) => `vat1|test|${n}|${Math.round(gen(n))}`;
const frames = (from: number, to: number, unreadable: number[] = []) =>
  Array.from({ length: to - from + 1 }, (_, i) => (unreadable.includes(from + i) ? "x" : code(from + i)));

describe("feeder", () => {
  test("a unit's frames take its stamp in order; the filler copies of its first frame are dropped by count", () => {
    const f = new Feeder();
    const u = unit(7, ["a", "b", "c"], 500, { ptsOffsetsMs: [0, 33, 67], programDateTimeMs: 1000, discontinuitySequence: 2 });
    const writes = f.feed(u);
    expect(writes.length).toBe(1 + FILLER_FRAMES);
    expect(dec.decode(writes[0]!)).toBe("a\nb\nc\n");
    for (const w of writes.slice(1)) expect(dec.decode(w)).toBe("a\n");
    const out = Array.from({ length: 3 + FILLER_FRAMES + 1 }, () => f.next());
    expect(out.slice(0, 3)).toEqual([0, 33, 67].map((offsetMs) => ({
      arrivedAtMs: 500, segment: 7, atJoin: false, place: { programDateTimeMs: 1000, discontinuitySequence: 2, offsetMs },
    })));
    expect(out.slice(3, 3 + FILLER_FRAMES)).toEqual(Array(FILLER_FRAMES).fill("filler"));
    expect(out.at(-1)).toBe("unknown"); // beyond every frame it was given: not measured
  });

  test("per-frame arrivals (a body read as it streams in) stamp each frame with its own", () => {
    const f = new Feeder();
    f.feed(unit(1, ["a", "b"], 900, { frameArrivalsMs: [810, 850] }));
    expect([f.next(), f.next()].map((s) => (s as { arrivedAtMs: number }).arrivedAtMs)).toEqual([810, 850]);
  });

  test("an LL-HLS part (its group of pictures goes on in the next) gets no filler: its frames keep their stamps in order", () => {
    const f = new Feeder();
    const first = f.feed(unit(3, ["a", "b"], 400, { frameArrivalsMs: [340, 370], continuesGroup: true, atJoin: true }));
    const second = f.feed(unit(3, ["c", "d"], 600, { frameArrivalsMs: [540, 570], continuesGroup: true }));
    expect([...first, ...second].map((w) => dec.decode(w))).toEqual(["a\nb\n", "c\nd\n"]);
    const out = Array.from({ length: 5 }, () => f.next());
    expect(out.slice(0, 4).map((s) => (s as { arrivedAtMs: number }).arrivedAtMs)).toEqual([340, 370, 540, 570]);
    // A part already whole at the join marks its frames so.
    expect(out.slice(0, 4).map((s) => (s as { atJoin: boolean }).atJoin)).toEqual([true, true, false, false]);
    expect(out[4]).toBe("unknown");
  });

  test("a unit whose frames could not be counted is written as it is, with no stamps; a discontinuity asks for a new decoder", () => {
    const f = new Feeder();
    const u = { ...unit(1, ["a"], 10), frames: 0 };
    expect(f.feed(u)).toEqual([u.bytes]);
    expect(f.next()).toBeNull();
    expect(f.startsNewDecoder({ ...u, discontinuity: true })).toBe(true);
    f.feed(unit(2, ["b"], 20));
    f.clear();
    // Nothing expected, and no uncounted unit since the clear: a frame out now is none of the stream's (not measured).
    expect(f.next()).toBe("unknown");
    expect(f.unexpected).toBe(1);
  });
});

/**
 * A decoder that behaves as ffmpeg does on a pipe: a frame per line, the last three held back until more input comes
 * (or the input ends). Frames carry their line as "pixels".
 */
const killed: number[] = [];

function fakeDecoders(started: string[][], clock: { t: number }): DecoderFactory {
  return (_input, _output, onFrame) => {
    const out: string[] = [];
    started.push(out);
    const held: string[] = [];
    let partial = "";
    const emit = (line: string) => {
      out.push(line);
      const gray = enc.encode(line);
      const f: DecodedFrame = { gray, width: gray.length, height: 1, decodedAtMs: clock.t, number: null };
      onFrame(f);
    };
    return fakeDecoder({
      write(bytes) {
        const parts = (partial + dec.decode(bytes)).split("\n");
        partial = parts.pop()!;
        held.push(...parts);
        while (held.length > 3) emit(held.shift()!);
      },
      finish() {
        while (held.length) emit(held.shift()!);
      },
      onKill: () => killed.push(started.length),
    });
  };
}

type Step = { media: MediaUnit } | { event: StreamEvent } | { at: number } | { fail: string };

/** A source that plays a script: media and events at set times on a virtual clock. */
function scriptedSource(steps: Step[], clock: { t: number }, outcome: SourceOutcome = "ended") {
  return (_url: string, _s: unknown, deps: { onEvent: (e: StreamEvent) => void }): Source => ({
    url: "http://origin/video/stream.m3u8",
    root: null,
    input: { kind: "pipe", format: "mpegts" },
    facts: { ...UNKNOWN_FACTS, protocol: "hls", container: "mpegts", segmentDurationS: 1.2 },
    async connect() {},
    async run(onMedia, shouldStop) {
      for (const s of steps) {
        if (shouldStop()) return "stopped";
        if ("fail" in s) throw new Error(s.fail);
        if ("at" in s) clock.t = s.at;
        else if ("event" in s) deps.onEvent(s.event);
        else {
          clock.t = s.media.arrivedAtMs;
          await onMedia(s.media);
        }
      }
      return outcome;
    },
  });
}

const tmp = mkdtempSync(join(tmpdir(), "vat-session-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function config(db: string, extra: Partial<ClientConfig> = {}): ClientConfig {
  return {
    url: "http://origin/video/stream.m3u8", db, windowMs: 10_000, frameLimit: null, durationMs: null, storeFrames: true,
    csvDir: null, clockSync: false, connectTimeoutMs: 1000, maxOutageMs: 60_000, pollMs: 50, ffmpeg: "ffmpeg",
    maxPlaylistBytes: 16 * 1024 * 1024, maxSegmentBytes: 256 * 1024 * 1024,
    quality: false, referenceSize: null, targetLatencyMs: null, variant: { kind: "highest" }, ...extra,
  };
}

function deps(steps: Step[], started: string[][], outcome?: SourceOutcome): SessionDeps {
  const clock = { t: T0 };
  return {
    ...defaultSessionDeps,
    now: () => clock.t,
    sleep: async (ms) => {
      clock.t += ms;
    },
    openSource: scriptedSource(steps, clock, outcome),
    decoders: () => fakeDecoders(started, clock),
    codeReader: async () => ({ read: (gray: Uint8Array) => (dec.decode(gray) === "x" ? null : { text: dec.decode(gray) }) }),
    openStore: (path) => new RunStore(path),
  };
}

const silent = { info() {}, window() {}, event() {}, status() {} };

describe("a whole session against a scripted source and a fake decoder", () => {
  test("stamps, an outage, a discontinuity (a new decoder), a stall and unreadable frames, all stored", async () => {
    const db = join(tmp, "whole.db");
    const started: string[][] = [];
    const steps: Step[] = [
      { media: unit(0, frames(0, 29), T0 + 1300, { atJoin: true }) },
      { media: unit(1, frames(30, 59), T0 + 2500) },
      { event: { kind: "outage", atMs: T0 + 2700, detail: "stream unreachable: connection refused" } },
      { at: T0 + 7200 },
      { event: { kind: "reconnect", atMs: T0 + 7200, durationMs: 4500, detail: "stream back after 4.5 s" } },
      { media: unit(5, frames(150, 179), T0 + 7300, { discontinuity: true }) },
      { media: unit(6, frames(180, 209, [190, 191]), T0 + 8500) },
    ];
    const r = await runSession(config(db), () => null, silent, deps(steps, started));

    expect(r.stopReason).toBe("end of stream");
    expect(started.length).toBe(2); // one decoder per stream instance
    // Dropped: 60-149 lost in the outage. 190-191 came and were decoded, their codes unreadable: shown, not lost.
    expect(r.summary).toMatchObject({ framesDecoded: 120, framesNew: 118, unreadable: 2, dropped: 90, duplicates: 0, stalls: 1 });
    expect(r.summary.fpsNominal).toBe(FPS); // learned from the generation times
    // Frame 0 played 100 ms after it arrived, frame 59 59 intervals later; frame 150 arrived at 7300 and played at once.
    expect(r.summary.stallMs).toBeCloseTo(7300 - (1400 + 59 * 40) - 40, 6);
    expect(r.summary.player.startupMs).toBe(1300);
    expect(r.outages).toBe(1);
    expect(r.outageMs).toBe(4500);

    const store = new Database(db, { readonly: true });
    const rows = store.query("SELECT frame_number AS n, latency_ms AS latency, segment, at_join AS atJoin FROM frames WHERE kind = 'new' ORDER BY idx").all() as {
      n: number;
      latency: number;
      segment: number;
      atJoin: number;
    }[];
    // Every frame took its own unit's arrival stamp, fillers never counted: latency = arrival − generation.
    const arrival = (n: number) => (n < 30 ? T0 + 1300 : n < 60 ? T0 + 2500 : n < 180 ? T0 + 7300 : T0 + 8500);
    expect(rows.length).toBe(118);
    for (const row of rows) expect(row.latency).toBeCloseTo(arrival(row.n) - gen(row.n), 6);
    expect(rows.map((x) => x.segment)).toEqual([
      ...Array(30).fill(0), ...Array(30).fill(1), ...Array(30).fill(5), ...Array(28).fill(6),
    ]);
    // The source's join mark (the first unit was whole at the join) is stored with each of its frames, and only those.
    expect(rows.map((x) => x.atJoin)).toEqual([...Array(30).fill(1), ...Array(88).fill(0)]);
    const events = store.query("SELECT kind FROM events ORDER BY id").all().map((e) => (e as { kind: string }).kind);
    expect(events).toEqual(["stream-info", "outage", "reconnect", "stall"]); // stream-info once: both decoders saw the same
    const run = store.query("SELECT status, summary_json, protocol, container, segment_duration_s FROM runs").get() as {
      status: string;
      summary_json: string;
    };
    expect(run).toMatchObject({ status: "end of stream", protocol: "hls", container: "mpegts", segment_duration_s: 1.2 });
    expect(JSON.parse(run.summary_json).dropped).toBe(90);
    const w = store.query("SELECT count(*) AS n, sum(frames_decoded) AS decoded, sum(dropped) AS dropped FROM windows").get();
    expect(w).toEqual({ n: 1, decoded: 120, dropped: 90 });
    store.close();
  });

  test("a fatal event ends the run: what was measured is kept, the run is stored as failed and is no success", async () => {
    const db = join(tmp, "fatal.db");
    const steps: Step[] = [
      { media: unit(0, frames(0, 29), T0 + 1100) },
      { event: { kind: "outage", atMs: T0 + 2000, detail: "gone for 120 s: giving up", fatal: true } },
      { media: unit(1, frames(30, 59), T0 + 2100) },
    ];
    const err = await runSession(config(db), () => null, silent, deps(steps, [], "failed")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnmeasuredRun);
    const u = err as UnmeasuredRun;
    expect(u.error.kind).toBe("failed");
    expect(u.message).toBe("gone for 120 s: giving up");
    expect(u.result.summary.framesNew).toBe(30); // the second unit was never taken
    const store = new Database(db, { readonly: true });
    expect(store.query("SELECT status FROM runs").get()).toEqual({ status: "failed: gone for 120 s: giving up" });
    expect(store.query("SELECT count(*) AS n FROM frames").get()).toEqual({ n: 30 });
    store.close();
  });

  test("a stream that ends with no frame decoded is no success; a stop by signal with none is the user's choice", async () => {
    const empty = await runSession(config(join(tmp, "none.db")), () => null, silent, deps([], [])).catch((e: unknown) => e);
    expect((empty as UnmeasuredRun).message).toBe("no video frame was decoded");
    const stopped = await runSession(config(join(tmp, "sig.db")), () => "SIGINT", silent, deps([], []));
    expect(stopped.stopReason).toBe("SIGINT");
  });

  test("the frame limit stops the run after exactly that many frames", async () => {
    const steps: Step[] = [0, 1, 2].map((k) => ({ media: unit(k, frames(k * 30, k * 30 + 29), T0 + 1100 + k * 1000) }));
    const r = await runSession(config(join(tmp, "limit.db"), { frameLimit: 45 }), () => null, silent, deps(steps, []));
    expect(r.stopReason).toBe("frame limit");
    expect(r.summary.framesDecoded).toBe(45);
  });

  test("a source that throws mid-run: its decoder is stopped, what it measured is stored as failed with why", async () => {
    const db = join(tmp, "thrown.db");
    killed.length = 0;
    const steps: Step[] = [{ media: unit(0, frames(0, 29), T0 + 1300) }, { at: T0 + 2000 }, { fail: "the source broke" }];
    const err = await runSession(config(db), () => null, silent, deps(steps, [])).catch((e: unknown) => e);
    expect((err as Error).message).toBe("the source broke");
    expect(killed).toEqual([1]);
    const store = new Database(db, { readonly: true });
    expect(store.query("SELECT status FROM runs").get()).toEqual({ status: "failed: the source broke" });
    expect((store.query("SELECT count(*) AS n FROM frames").get() as { n: number }).n).toBeGreaterThan(0);
    store.close();
  });

  test("an outage given up on counts once, with its length", async () => {
    const steps: Step[] = [
      { media: unit(0, frames(0, 29), T0 + 1300) },
      { event: { kind: "outage", atMs: T0 + 2000, detail: "stream unreachable: refused" } },
      { event: { kind: "outage", atMs: T0 + 9000, durationMs: 7000, detail: "gone for 7 s: giving up", fatal: true } },
    ];
    const err = (await runSession(config(join(tmp, "gone.db")), () => null, silent, deps(steps, [], "failed")).catch((e: unknown) => e)) as UnmeasuredRun;
    expect(err.result).toMatchObject({ outages: 1, outageMs: 7000 });
  });

  test("an outage still open when the run ends counts with its length to the end, as an event that closes it", async () => {
    const db = join(tmp, "open-outage.db");
    const steps: Step[] = [
      { media: unit(0, frames(0, 29), T0 + 1300) },
      { media: unit(1, frames(30, 59), T0 + 2300) },
      { event: { kind: "outage", atMs: T0 + 3000, detail: "stream unreachable: HTTP 503" } },
      { at: T0 + 18_000 },
    ];
    const r = await runSession(config(db), () => null, silent, deps(steps, []));
    expect(r.outages).toBe(1);
    expect(r.outageMs).toBe(r.endedAtMs - (T0 + 3000));
    expect(r.outageMs).toBeGreaterThanOrEqual(15_000);
    const store = new Database(db, { readonly: true });
    const rows = store.query("SELECT kind, duration_ms AS d, detail FROM events WHERE kind = 'outage' ORDER BY at_ms").all() as { kind: string; d: number | null; detail: string }[];
    store.close();
    expect(rows).toHaveLength(2);
    expect(rows[0]!.d).toBeNull();
    expect(rows[1]!.d).toBe(r.outageMs);
    expect(rows[1]!.detail).toBe(`stream unreachable for ${(r.outageMs / 1000).toFixed(1)} s, to the end of the run (HTTP 503)`);
  });
});
