import { afterAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BEHIND_DELAY_MS } from "../../src/client/pipeline-lag.ts";
import { childPids, eventually, openDb, serve, spawnVat, tempDir } from "../helpers/vat.ts";

// A client starved of CPU: its decoder (the ffmpeg child that turns segments into frames) runs 10 ms in every
// second, far less than 480p30 takes to decode, while the client itself keeps fetching and stamping segments as
// they arrive. Frames queue for seconds between arriving and being read; the client must say it fell behind and
// must not let that queueing into the latency it reports (frames carry their segment's arrival time).
const tmp = tempDir();
afterAll(() => tmp.cleanup());

const SEGMENT_MS = 1000;
/** Latency of a live vat server on loopback, read by a client keeping up: within a segment and its publishing. */
const LOOPBACK_LATENCY_BOUND_MS = SEGMENT_MS + 1500;
const STARVED_MS = 13_000;
const SLICE_MS = 1000;

function decoderOf(clientPid: number): number | undefined {
  return childPids(clientPid).find((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("rawvideo");
    } catch {
      return false;
    }
  });
}

test("a client whose decoder is starved of CPU reports that it fell behind, and its latencies stay arrival-based", async () => {
  const server = serve(["--size", "480p", "--fps", "30", "--segment", String(SEGMENT_MS / 1000)]);
  const db = join(tmp.path, "starved.db");
  let decoder: number | undefined;
  try {
    await server.waitLive(30_000);
    const c = spawnVat(["client", "--url", server.url, "--db", db, "--duration", "30s", "--json"]);
    const out = new Response(c.stdout).text();
    const err = new Response(c.stderr).text();
    decoder = await eventually(async () => decoderOf(c.pid), (pid) => pid !== undefined, 15_000);
    await Bun.sleep(3000); // reading normally first
    const until = performance.now() + STARVED_MS;
    while (performance.now() < until) {
      process.kill(decoder!, "SIGSTOP");
      await Bun.sleep(SLICE_MS - 10);
      process.kill(decoder!, "SIGCONT");
      await Bun.sleep(10);
    }
    const code = await c.exited;
    expect({ code, err: code === 0 ? "" : (await err).slice(-500) }).toEqual({ code: 0, err: "" });
    const summary = JSON.parse(await out).summary as { dropped: number };
    expect(summary.dropped).toBe(0);

    const d = openDb(db);
    try {
      const behind = d.query("SELECT at_ms, detail FROM events WHERE kind = 'behind'").all() as { at_ms: number; detail: string }[];
      expect(behind.length).toBeGreaterThanOrEqual(1);
      expect(behind[0]!.detail).toContain("cannot keep up");
      const frames = d
        .query("SELECT generated_at_ms, arrived_at_ms, decoded_at_ms, latency_ms FROM frames WHERE kind = 'new'")
        .all() as { generated_at_ms: number; arrived_at_ms: number; decoded_at_ms: number; latency_ms: number }[];
      const starved = frames.filter((f) => f.decoded_at_ms - f.arrived_at_ms > BEHIND_DELAY_MS);
      // The starvation was real: seconds' worth of frames waited over the bound, some of them long after it.
      expect(starved.length).toBeGreaterThan(5 * 30);
      expect(Math.max(...starved.map((f) => f.decoded_at_ms - f.arrived_at_ms))).toBeGreaterThan(2 * BEHIND_DELAY_MS);
      // Every frame's latency is what its arrival says, as if the client had kept up; a decode-time stamp would put
      // the starved ones seconds over the bound.
      const over = frames.filter((f) => f.latency_ms > LOOPBACK_LATENCY_BOUND_MS || f.latency_ms < 0);
      expect({ frames: frames.length, over: over.length }).toEqual({ frames: frames.length, over: 0 });
      // Stamped when decoded instead, seconds' worth of frames would have been over it.
      const overIfDecodeStamped = frames.filter((f) => f.decoded_at_ms - f.generated_at_ms > LOOPBACK_LATENCY_BOUND_MS);
      expect(overIfDecodeStamped.length).toBeGreaterThan(3 * 30);
    } finally {
      d.close();
    }
  } finally {
    if (decoder) {
      try {
        process.kill(decoder, "SIGCONT");
      } catch {
        // already gone
      }
    }
    await server.stop();
  }
}, 90_000);
