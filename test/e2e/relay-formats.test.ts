import { afterAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { readBoxHeader } from "../../src/mp4/boxes.ts";
import { LossyRelay } from "../helpers/lossy-relay.ts";
import { Relay } from "../helpers/relay.ts";
import { client, ffprobeFrames, openDb, serve, skippedByOrigin, tempDir, type ClientRun, type Served } from "../helpers/vat.ts";

// Withheld segments counted as exactly their frames dropped, for the fMP4 formats vat reads itself (MPEG-TS HLS is in
// relay.test.ts): ffprobe counts the frames of the segments the client never got, from their init + media bytes.
const tmp = tempDir("vat-relay-formats-");
afterAll(() => tmp.cleanup());

/**
 * ffprobe's count over the withheld segments (each init + media bytes, written to a file of its own): frames decoded,
 * or, for parts that do not start on a keyframe (nothing to decode them from), video packets, one a frame.
 */
function countFrames(name: string, segments: ReadonlyMap<number | string, Uint8Array>, count = ffprobeFrames): number {
  let frames = 0;
  for (const [key, bytes] of segments) {
    const file = join(tmp.path, `${name}-${String(key).replace(/\W/g, "_")}.mp4`);
    writeFileSync(file, bytes);
    const n = count(file);
    if (n === 0) throw new Error(`ffprobe read no frames from ${file}: its top-level boxes are ${topLevelBoxes(bytes)}`);
    frames += n;
  }
  return frames;
}

/** "ftyp 28, moov 700, …": what a kept object is made of, for a count that came out empty (truncation shown as is). */
function topLevelBoxes(bytes: Uint8Array): string {
  const boxes: string[] = [];
  try {
    for (let h = readBoxHeader(bytes, 0); h; h = readBoxHeader(bytes, h.start + h.size)) boxes.push(`${h.type} ${h.size}`);
  } catch (err) {
    boxes.push(`then ${(err as Error).message}`);
  }
  return `${boxes.join(", ")} (${bytes.length} bytes)`;
}

function ffprobePackets(file: string): number {
  const r = Bun.spawnSync([
    "ffprobe", "-v", "error", "-count_packets", "-select_streams", "v:0", "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", file,
  ]);
  return Number(r.stdout.toString().trim());
}

/**
 * The client's dropped frames, in its summary and in the SQLite windows it stored, are the withheld ones plus any the
 * origin skipped (it may fall behind its clock on a loaded machine: its log says so); the frames it stored show a gap
 * of each withheld run's length.
 */
function expectDropped(run: ClientRun, db: string, server: Served, truth: number, gaps: number[]): void {
  const skipped = skippedByOrigin(server);
  const s = run.json!.summary;
  expect(s.dropped).toBe(truth + skipped);
  expect(s.unreadable).toBe(0);
  const d = openDb(db);
  try {
    expect((d.query("SELECT sum(dropped) AS n FROM windows").get() as { n: number }).n).toBe(truth + skipped);
    const stored = (d.query("SELECT gap_before AS gap FROM frames WHERE gap_before > 0 ORDER BY idx").all() as { gap: number }[]).map((g) => g.gap);
    if (skipped === 0) expect(stored).toEqual(gaps);
    else expect(stored).toEqual(expect.arrayContaining(gaps));
  } finally {
    d.close();
  }
}

/** An LL-HLS origin's init section, and the segments some 4 and 7 s ahead of its newest (the client joins before). */
async function segmentsAhead(server: Served): Promise<{ init: string; a: number; b: number }> {
  const text = await (await fetch(`${server.url}/video/stream.m3u8`)).text();
  const newest = Math.max(0, ...[...text.matchAll(/^seg_(\d+)\.m4s$/gm)].map((m) => Number(m[1])));
  return { init: /#EXT-X-MAP:URI="([^"]+)"/.exec(text)![1]!, a: newest + 4, b: newest + 7 };
}

/** The details of the segment-missing events stored, in order. */
function missingEvents(db: string): string[] {
  const d = openDb(db);
  try {
    return (d.query("SELECT detail FROM events WHERE kind = 'segment-missing' ORDER BY at_ms").all() as { detail: string }[]).map((e) => e.detail);
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
      // Two gaps: segment 6 (25 frames), segments 9 and 10 (50).
      expectDropped(run, db, server, truth, [25, 50]);
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
    const LOST = [7, 10, 11];
    const path = (n: number) => `/video/seg_0_${n}.m4s`;
    const relay = new LossyRelay({ origin: server.url, lost: new Set(LOST.map(path)), init: "/video/init_0.m4s" });
    try {
      await server.waitLive();
      const db = join(tmp.path, "dash.db");
      const run = await client(["--url", `${relay.url}/video/stream.mpd`, "--duration", "15s", "--db", db, "--json"]);
      expect(run.exitCode).toBe(0);
      // The client joined before the first lost segment, asked for each lost one, and ran past the last.
      const numbers = relay.asked.flatMap((p) => /^\/video\/seg_0_(\d+)\.m4s$/.exec(p)?.[1] ?? []).map(Number);
      expect(numbers[0]!).toBeLessThan(7);
      expect(numbers.at(-1)!).toBeGreaterThan(11);
      expect([...relay.refused]).toEqual(LOST.map(path));
      expect(relay.kept.size).toBe(3);
      const truth = countFrames("dash", relay.kept);
      expect(truth).toBe(75);
      expectDropped(run, db, server, truth, [25, 50]);
      // Each lost segment is named by a segment-missing event, and nothing else is.
      const missing = missingEvents(db);
      expect(missing).toHaveLength(3);
      for (const [i, n] of LOST.entries()) expect(missing[i]).toStartWith(`segment ${n} (${relay.url}${path(n)}): `);
      // The segment after a lost one is asked for when it is due, not after the client has given up on the lost one
      // (asked again for 1.5 s): its frames' latency is its neighbours'.
      const d = openDb(db);
      try {
        const bySegment = new Map(
          (d.query("SELECT segment AS s, avg(latency_ms) AS l FROM frames WHERE kind = 'new' GROUP BY segment").all() as { s: number; l: number }[]).map((r) => [r.s, r.l]),
        );
        const others = [...bySegment].filter(([s]) => s !== 8 && s !== 12).map(([, l]) => l).sort((x, y) => x - y);
        const median = others[Math.floor(others.length / 2)]!;
        for (const after of [8, 12]) expect(bySegment.get(after)! - median).toBeLessThan(250);
      } finally {
        d.close();
      }
    } finally {
      relay.stop();
      await server.stop();
    }
  },
  60_000,
);

test(
  "LL-HLS (--format ll-hls): parts a CDN answers 404 for count as exactly their frames dropped",
  async () => {
    const server = serve(["--format", "ll-hls", "--part", "200ms", "--size", "240p", "--fps", "25"]);
    try {
      await server.waitLive();
      // The last parts of two segments some 4 and 7 s ahead (the client will have joined well before them). Tail
      // parts: nothing after them refers to their frames (the next segment starts on a keyframe), so what is lost is
      // exactly their frames; a lost middle part would leave the rest of its segment undecodable as well.
      const { init, a, b } = await segmentsAhead(server);
      const LOST = [`/video/part_${a}_4.m4s`, `/video/part_${b}_3.m4s`, `/video/part_${b}_4.m4s`];
      const relay = new LossyRelay({ origin: server.url, lost: new Set(LOST), init: `/video/${init}` });
      try {
        const db = join(tmp.path, "ll-hls.db");
        const run = await client(["--url", `${relay.url}/video/stream.m3u8`, "--duration", "12s", "--db", db, "--json"]);
        expect(run.exitCode).toBe(0);
        expect(relay.refused).toEqual(new Set(LOST));
        expect(relay.asked).toContain(`/video/part_${b + 1}_0.m4s`);
        expect(relay.kept.size).toBe(3);
        const truth = countFrames("ll-hls", relay.kept, ffprobePackets);
        expect(truth).toBe(15);
        expectDropped(run, db, server, truth, [5, 10]);
        const missing = missingEvents(db);
        expect(missing.map((m) => /^part (\d+\.\d+) /.exec(m)?.[1])).toEqual([`${a}.4`, `${b}.3`, `${b}.4`]);
      } finally {
        relay.stop();
      }
    } finally {
      await server.stop();
    }
  },
  40_000,
);

test(
  "LL-HLS: a middle part a CDN answers 404 for: the rest of its segment (which refers to it) is not decoded, and every frame read keeps its own part's stamp",
  async () => {
    const server = serve(["--format", "ll-hls", "--part", "200ms", "--size", "240p", "--fps", "25"]);
    try {
      await server.waitLive();
      const { init, a, b } = await segmentsAhead(server);
      const LOST = [`/video/part_${a}_2.m4s`, `/video/part_${b}_2.m4s`];
      const relay = new LossyRelay({ origin: server.url, lost: new Set(LOST), init: `/video/${init}` });
      try {
        const db = join(tmp.path, "ll-hls-middle.db");
        const run = await client(["--url", `${relay.url}/video/stream.m3u8`, "--duration", "12s", "--db", db, "--json"]);
        expect(run.exitCode).toBe(0);
        expect(relay.refused).toEqual(new Set(LOST));
        // Each lost part (5 frames) and the two after it in its segment (10 frames that refer to it) are not shown.
        const s = run.json!.summary;
        expect(s.dropped).toBe(2 * 15 + skippedByOrigin(server));
        expect(s.unreadable).toBe(0);
        const d = openDb(db);
        try {
          // 25 frames a segment: frame n lies in the segment numbered (n - 1) / 25 plus a fixed offset.
          expect(d.query("SELECT DISTINCT (frame_number - 1) / 25 - segment AS lag FROM frames WHERE kind = 'new'").all()).toHaveLength(1);
          expect((d.query("SELECT min(latency_ms) AS m FROM frames WHERE kind = 'new'").get() as { m: number }).m).toBeGreaterThan(0);
        } finally {
          d.close();
        }
        const missing = missingEvents(db);
        expect(missing.filter((m) => m.startsWith("part "))).toHaveLength(2);
        expect(missing.filter((m) => /^10 frames of segment \d+ not decoded: they go on from media that was lost/.test(m))).toHaveLength(2);
      } finally {
        relay.stop();
      }
    } finally {
      await server.stop();
    }
  },
  40_000,
);
