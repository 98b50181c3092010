import { afterAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { DashRelay } from "../helpers/dash-relay.ts";
import { Relay } from "../helpers/relay.ts";
import { client, ffprobeFrames, openDb, serve, tempDir } from "../helpers/vat.ts";

// Withheld segments counted as exactly their frames dropped, for the fMP4 formats vat reads itself (MPEG-TS HLS is in
// relay.test.ts): ffprobe counts the frames of the segments the client never got, from their init + media bytes.
const tmp = tempDir("vat-relay-formats-");
afterAll(() => tmp.cleanup());

/** ffprobe's frame count over the withheld segments (each init + media bytes, written to a file of its own). */
function countFrames(name: string, segments: ReadonlyMap<number, Uint8Array>): number {
  let frames = 0;
  for (const [n, bytes] of segments) {
    const file = join(tmp.path, `${name}-${n}.mp4`);
    writeFileSync(file, bytes);
    frames += ffprobeFrames(file);
  }
  return frames;
}

/** The client's dropped frames, from its summary and from the SQLite windows and frames it stored. */
function droppedStored(db: string): { windows: number; gaps: number[] } {
  const d = openDb(db);
  try {
    const windows = (d.query("SELECT sum(dropped) AS n FROM windows").get() as { n: number }).n;
    const gaps = (d.query("SELECT gap_before AS gap FROM frames WHERE gap_before > 0 ORDER BY idx").all() as { gap: number }[]).map((g) => g.gap);
    return { windows, gaps };
  } finally {
    d.close();
  }
}

test(
  "HLS with fMP4 segments (--format cmaf): segments removed from the playlist count as exactly their frames dropped",
  async () => {
    const server = serve(["--format", "cmaf", "--size", "240p", "--fps", "25"]);
    const HIDE = new Set([6, 9, 10]);
    const relay = new Relay({ origin: server.url, hide: (seq) => HIDE.has(seq) });
    try {
      await server.waitLive();
      const db = join(tmp.path, "cmaf.db");
      const run = await client(["--url", relay.url, "--duration", "15s", "--db", db, "--json"]);
      expect(run.exitCode).toBe(0);
      // The client started before the first hidden segment and ran past the last one.
      expect(relay.firstShown!).toBeLessThan(6);
      expect(relay.hidden.size).toBe(3);
      const truth = countFrames("cmaf", relay.hidden);
      expect(truth).toBe(75);
      const s = run.json!.summary;
      expect(s.dropped).toBe(truth);
      expect(s.unreadable).toBe(0);
      // Two gaps: segment 6 (25 frames), segments 9 and 10 (50).
      expect(droppedStored(db)).toEqual({ windows: truth, gaps: [25, 50] });
    } finally {
      relay.stop();
      await server.stop();
    }
  },
  60_000,
);

test(
  "DASH (--format dash): segments a CDN answers 404 for, the MPD unchanged, count as exactly their frames dropped",
  async () => {
    const server = serve(["--format", "dash", "--size", "240p", "--fps", "25"]);
    const LOST = new Set([7, 10, 11]);
    const relay = new DashRelay({ origin: server.url, lost: LOST });
    try {
      await server.waitLive();
      const db = join(tmp.path, "dash.db");
      const run = await client(["--url", `${relay.url}/video/stream.mpd`, "--duration", "15s", "--db", db, "--json"]);
      expect(run.exitCode).toBe(0);
      // The client joined before the first lost segment, asked for each lost one, and ran past the last.
      expect(relay.firstAsked!).toBeLessThan(7);
      expect([...relay.refused].sort((a, b) => a - b)).toEqual([7, 10, 11]);
      expect([...relay.kept.keys()].sort((a, b) => a - b)).toEqual([7, 10, 11]);
      const truth = countFrames("dash", relay.kept);
      expect(truth).toBe(75);
      const s = run.json!.summary;
      expect(s.dropped).toBe(truth);
      expect(s.unreadable).toBe(0);
      expect(droppedStored(db)).toEqual({ windows: truth, gaps: [25, 50] });
      // Each lost segment is named by a segment-missing event, and nothing else is.
      const d = openDb(db);
      const missing = (d.query("SELECT detail FROM events WHERE kind = 'segment-missing' ORDER BY at_ms").all() as { detail: string }[]).map((e) => e.detail);
      d.close();
      expect(missing).toHaveLength(3);
      for (const [i, n] of [7, 10, 11].entries()) expect(missing[i]).toStartWith(`segment ${n} (${relay.url}/video/seg_0_${n}.m4s): `);
    } finally {
      relay.stop();
      await server.stop();
    }
  },
  60_000,
);
