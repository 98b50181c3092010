import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DecoderFactory } from "../../src/client/decoding.ts";
import { fakeDecoder } from "../helpers/fake-decoder.ts";
import type { StreamEvent } from "../../src/client/events.ts";
import { BEHIND_DELAY_MS, BEHIND_FOR_MS, PipelineLag } from "../../src/client/pipeline-lag.ts";
import { defaultSessionDeps, runSession, type ClientConfig } from "../../src/client/session.ts";
import { RunStore } from "../../src/client/store.ts";
import { UNKNOWN_FACTS, type MediaUnit, type Source } from "../../src/client/source.ts";

describe("pipeline lag", () => {
  test("reported once per episode, only after every frame stayed over the bound for a while", () => {
    const lag = new PipelineLag();
    // Keeping up: a segment's frames read within a few hundred ms of its arrival.
    for (let i = 0; i < 100; i++) expect(lag.push(1000 * i, 1000 * i + 300)).toBeNull();
    // A short burst over the bound (shorter than BEHIND_FOR_MS), then caught up: nothing.
    expect(lag.push(200_000, 200_000 + BEHIND_DELAY_MS + 1)).toBeNull();
    expect(lag.push(201_000, 200_000 + BEHIND_DELAY_MS + BEHIND_FOR_MS - 1)).toBeNull(); // over for 1 ms short of it
    expect(lag.push(210_000, 210_100)).toBeNull();
    // Over the bound from decoded time 300 s on, for BEHIND_FOR_MS: reported once, on the frame that makes it so.
    const start = 300_000;
    const events: (StreamEvent | null)[] = [];
    for (let t = 0; t <= BEHIND_FOR_MS + 2000; t += 500) events.push(lag.push(start + t - 3000 - t / 2, start + t));
    const reported = events.flatMap((e, i) => (e ? [{ e, i }] : []));
    expect(reported.length).toBe(1);
    expect(reported[0]!.i * 500).toBe(BEHIND_FOR_MS);
    expect(reported[0]!.e).toMatchObject({ kind: "behind", atMs: start + BEHIND_FOR_MS, durationMs: BEHIND_FOR_MS });
    expect(reported[0]!.e.detail).toContain(`frames wait ${3000 + BEHIND_FOR_MS / 2} ms`);
    // Caught up, then behind again: a second episode.
    expect(lag.push(400_000, 400_010)).toBeNull();
    expect(lag.push(500_000, 500_000 + 2 * BEHIND_DELAY_MS)).toBeNull();
    expect(lag.push(500_000, 500_000 + 2 * BEHIND_DELAY_MS + BEHIND_FOR_MS)?.kind).toBe("behind");
    expect(lag.episodes).toBe(2);
  });
});

const T0 = 1_800_000_000_000;
const FPS = 25;
const SEGMENT_FRAMES = 30; // 1.2 s a segment
const READ_MS = 60; // a starved reader: 1.5 frame intervals to read each frame
const enc = new TextEncoder();
const dec = new TextDecoder();
const gen = (n: number) => T0 + (n * 1000) / FPS;
/** Ground truth: segment k arrives 300 ms after its last frame was generated. */
const arrival = (k: number) => gen((k + 1) * SEGMENT_FRAMES - 1) + 300;

const tmp = mkdtempSync(join(tmpdir(), "vat-behind-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

test("a client too slow to read every frame in time says it fell behind, and its latency figures stay right", async () => {
  const clock = { t: T0 };
  const segments = 20;
  // The source stamps each segment when it arrives (on time: fetching never waits on decoding); a decoder hands each
  // frame out as its bytes come; reading a code takes READ_MS of the client's clock, so frames queue ever longer.
  const source = (): Source => ({
    url: "http://origin/video/stream.m3u8", root: null, input: { kind: "pipe", format: "mpegts" },
    facts: { ...UNKNOWN_FACTS, protocol: "hls", container: "mpegts", segmentDurationS: 1.2 },
    async connect() {},
    async run(onMedia) {
      for (let k = 0; k < segments; k++) {
        const lines = Array.from({ length: SEGMENT_FRAMES }, (_, i) => `vat1|test|${k * SEGMENT_FRAMES + i}|${Math.round(gen(k * SEGMENT_FRAMES + i))}\n`);
        const bytes = enc.encode(lines.join(""));
        const unit: MediaUnit = {
          sequence: k, arrivedAtMs: arrival(k), bytes, deliveredBytes: bytes.length, frames: SEGMENT_FRAMES, firstFrameEnd: lines[0]!.length, discontinuity: false,
          discontinuitySequence: 0, programDateTimeMs: null, ptsOffsetsMs: [], durationS: SEGMENT_FRAMES / FPS,
        };
        clock.t = Math.max(clock.t, unit.arrivedAtMs);
        await onMedia(unit);
      }
      return "ended";
    },
  });
  const decoders: DecoderFactory = (_input, _output, onFrame) =>
    fakeDecoder({
      write(bytes) {
        // Filler copies (a unit's first frame again) come out too, as ffmpeg's would.
        for (const line of dec.decode(bytes).split("\n").filter(Boolean)) {
          onFrame({ gray: enc.encode(line), width: line.length, height: 1, decodedAtMs: clock.t, number: null });
        }
      },
    });
  const slowReader = {
    read(gray: Uint8Array) {
      clock.t += READ_MS;
      return { text: dec.decode(gray) };
    },
  };
  const db = join(tmp, "behind.db");
  const cfg: ClientConfig = {
    url: "http://origin/video/stream.m3u8", db, windowMs: 10_000, frameLimit: null, durationMs: null, storeFrames: true,
    csvDir: null, clockSync: false, connectTimeoutMs: 1000, maxOutageMs: 60_000, pollMs: 50, ffmpeg: "ffmpeg",
    maxPlaylistBytes: 16 * 1024 * 1024, maxSegmentBytes: 256 * 1024 * 1024,
    quality: false, referenceSize: null, targetLatencyMs: null, variant: { kind: "highest" },
  };
  const printed: StreamEvent[] = [];
  const observer = { info() {}, window() {}, event: (e: StreamEvent) => printed.push(e), status() {} };
  const r = await runSession(cfg, () => null, observer, {
    ...defaultSessionDeps, now: () => clock.t, sleep: async (ms) => void (clock.t += ms), openSource: source,
    decoders: () => decoders, codeReader: async () => slowReader, openStore: (path) => new RunStore(path),
  });

  expect(r.summary).toMatchObject({ framesNew: segments * SEGMENT_FRAMES, dropped: 0 });
  // Said live (the observer prints events as warning lines) and stored.
  const behind = printed.filter((e) => e.kind === "behind");
  expect(behind.length).toBe(1);
  expect(behind[0]!.detail).toContain("cannot keep up");
  const store = new Database(db, { readonly: true });
  expect(store.query("SELECT count(*) AS n FROM events WHERE kind = 'behind'").get()).toEqual({ n: 1 });
  const rows = store.query("SELECT frame_number AS n, latency_ms AS latency, arrived_at_ms AS arrived, decoded_at_ms AS decoded FROM frames WHERE kind = 'new'").all() as {
    n: number; latency: number; arrived: number; decoded: number;
  }[];
  store.close();
  // Latency against ground truth (arrival − generation) for every frame, however long it waited to be read...
  expect(rows.length).toBe(segments * SEGMENT_FRAMES);
  for (const row of rows) expect(row.latency).toBeCloseTo(arrival(Math.floor(row.n / SEGMENT_FRAMES)) - gen(row.n), 6);
  // ...while the wait really grew without bound: far past the bound by the last frame.
  const last = rows.reduce((a, b) => (b.n > a.n ? b : a));
  expect(last.decoded - last.arrived).toBeGreaterThan(3 * BEHIND_DELAY_MS);
  // The event came when the wait had been over the bound for BEHIND_FOR_MS, not at the first slow frame.
  const firstOver = rows.filter((x) => x.decoded - x.arrived > BEHIND_DELAY_MS).reduce((a, b) => (b.n < a.n ? b : a));
  expect(behind[0]!.atMs - firstOver.decoded).toBeGreaterThanOrEqual(BEHIND_FOR_MS);
});

test("a client that keeps up reports nothing", () => {
  // The measured 1080p pipeline (docs/performance.md): a segment's 30 frames read within ~150 ms of its arrival.
  const lag = new PipelineLag();
  for (let k = 0; k < 600; k++) for (let i = 0; i < 30; i++) expect(lag.push(k * 1000, k * 1000 + 5 * i)).toBeNull();
  expect(lag.maxDelayMs).toBe(145);
});
