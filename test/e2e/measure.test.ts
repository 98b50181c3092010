import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { client, openDb, serve, tempDir } from "../helpers/vat.ts";

const tmp = tempDir();
afterAll(() => tmp.cleanup());

/** serve + client from the compiled binary; checks both the printed JSON and the stored rows. */
async function measure(size: string, fps: number, seconds: number) {
  const server = serve(["--size", size, "--fps", String(fps), "--id", `m${size}`]);
  try {
    await server.waitLive();
    const db = join(tmp.path, `${size}-${fps}.db`);
    const run = await client(["--url", server.url, "--duration", `${seconds}s`, "--db", db, "--json"]);
    expect(run.exitCode).toBe(0);
    expect(run.json).not.toBeNull();
    if (run.json!.summary.dropped !== 0 || run.json!.summary.unreadable !== 0) {
      // Say what the client saw, so that a failure below explains itself.
      console.error(`client log:\n${run.stderr}\nserver log:\n${server.stderr()}`);
    }
    return { json: run.json!, db, stderr: run.stderr };
  } finally {
    await server.stop();
  }
}

describe.each([
  ["480p", 25],
  ["1080p", 30],
])("vat serve → vat client at %s%d for 22 s", (size, fps) => {
  let r: Awaited<ReturnType<typeof measure>>;
  test(
    "runs",
    async () => {
      r = await measure(size as string, fps as number, 22);
    },
    60_000,
  );

  test("achieved fps within 2 % of configured; no drops, duplicates or unreadable frames", () => {
    const s = r.json.summary;
    expect(Math.abs(s.fpsAchieved - fps) / fps).toBeLessThan(0.02);
    expect(s.fpsNominal).toBe(fps);
    expect(s.dropped).toBe(0);
    expect(s.duplicates).toBe(0);
    expect(s.unreadable).toBe(0);
    expect(s.framesNew).toBeGreaterThan(fps * 20);
  });

  test("latency p50 between 0 and 3 segment durations (1 s segments)", () => {
    const s = r.json.summary;
    expect(s.latencyP50Ms).toBeGreaterThan(0);
    expect(s.latencyP50Ms).toBeLessThan(3000);
    expect(s.latencyMinMs).toBeGreaterThan(0);
  });

  test("the database holds the run: parameters from /params, every frame, windows that add up", () => {
    const db = openDb(r.db);
    const run = db.query("SELECT * FROM runs").get() as Record<string, any>;
    expect(run.size_name).toBe(size as string);
    expect(run.fps).toBe(fps as number);
    expect(run.stream_id).toBe(`m${size}`);
    expect(run.clock_synced).toBe(1);
    expect(Math.abs(run.clock_offset_ms)).toBeLessThan(50); // same machine
    expect(run.ended_at_ms).toBeGreaterThan(run.started_at_ms);
    const frames = db.query("SELECT count(*) AS n, count(DISTINCT frame_number) AS u, max(frame_number) - min(frame_number) + 1 AS span FROM frames WHERE kind = 'new'").get() as Record<string, number>;
    expect(frames.n).toBe(r.json.summary.framesNew);
    // Consecutive frame numbers with no hole: the ground truth for "0 drops".
    expect(frames.u).toBe(frames.n);
    expect(frames.span).toBe(frames.n);
    const w = db.query("SELECT count(*) AS n, sum(frames_new) AS f, sum(dropped) AS d FROM windows").get() as Record<string, number>;
    expect(w.f).toBe(frames.n);
    expect(w.d).toBe(0);
    expect(w.n).toBe(3); // 22 s in 10 s windows
    // Stream facts: what the decoder saw, once, and a bitrate for every full window.
    const dims = size === "480p" ? "854x480" : "1920x1080";
    expect(db.query("SELECT detail FROM events WHERE kind = 'stream-info'").all()).toEqual([{ detail: `h264 ${dims}` }]);
    const rates = (db.query("SELECT bitrate_kbps AS k FROM windows ORDER BY idx LIMIT 2").all() as { k: number }[]).map((r) => r.k);
    for (const k of rates) expect(k).toBeGreaterThan(100);
    db.close();
  });
});

test.each(["240p", "480p", "720p", "1080p"])(
  "%s: at least 99 percent of frames are read",
  async (size) => {
    const server = serve(["--size", size, "--fps", "30"]);
    try {
      await server.waitLive();
      const db = join(tmp.path, `read-${size}.db`);
      const run = await client(["--url", server.url, "--frame-limit", "150", "--db", db, "--json"]);
      expect(run.exitCode).toBe(0);
      const s = run.json!.summary;
      expect(s.framesDecoded).toBe(150);
      expect((s.framesDecoded - s.unreadable) / s.framesDecoded).toBeGreaterThanOrEqual(0.99);
    } finally {
      await server.stop();
    }
  },
  40_000,
);
