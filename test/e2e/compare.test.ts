import { afterAll, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Relay } from "../helpers/relay.ts";
import { childPids, client, eventually, freePort, openDb, runStory, serve, tempDir } from "../helpers/vat.ts";

const tmp = tempDir("vat-compare-");
afterAll(() => tmp.cleanup());

test(
  "a stream delayed by a known 2.0 s against its control: relative latency 2.0 s ± 0.05 s, every frame matched",
  async () => {
    const DELAY = 2000;
    const server = serve(["--size", "480p", "--fps", "25", "--id", "cmp"]);
    const relay = new Relay({ origin: server.url, delayMs: DELAY });
    try {
      await server.waitLive();
      const db = join(tmp.path, "relay.db");
      const run = await client(["--url", relay.url, "--control", server.url, "--duration", "14s", "--db", db, "--json"]);
      expect(run.exitCode).toBe(0);
      const out = run.json!;
      expect(out.streams.map((s: any) => s.role)).toEqual(["control", "stream 1"]);
      const [control, delayed] = out.streams;
      expect(control.versusControl).toBeNull();
      for (const s of out.streams) expect(s.result.summary).toMatchObject({ dropped: 0, unreadable: 0 });
      const c = delayed.versusControl;
      expect(Math.abs(c.relativeLatencyP50Ms - DELAY)).toBeLessThan(50);
      expect(c.matchedShare).toBeGreaterThanOrEqual(0.99);
      expect(c.framesMatched).toBeGreaterThan(200);
      // Stored: both runs marked as one comparison, and the figures in its table equal what the frames give.
      const d = openDb(db);
      expect(d.query("SELECT role, comparison_id = ? AS same, stream_id FROM runs ORDER BY id").all(out.comparisonId)).toEqual([
        { role: "control", same: 1, stream_id: "cmp" },
        { role: "stream 1", same: 1, stream_id: "cmp" },
      ]);
      const row = d.query("SELECT * FROM comparisons").get() as Record<string, number>;
      // Every frame matched by number but those that arrived at the moment of joining: marked so by the source, or
      // leading the run with the first frame's segment and arrival (its join segment).
      const first = (a: string, col: string) => `(SELECT ${col} FROM frames WHERE run_id = ${a}.run_id ORDER BY idx LIMIT 1)`;
      const atJoin = (a: string) =>
        `(${a}.at_join = 1 OR ${a}.idx < COALESCE((SELECT MIN(x.idx) FROM frames x WHERE x.run_id = ${a}.run_id
           AND NOT (x.segment IS ${first(a, "segment")} AND x.arrived_at_ms = ${first(a, "arrived_at_ms")})), ${a}.idx + 1))`;
      const rel = (d.query(
        `SELECT s.arrived_at_ms - c.arrived_at_ms AS r FROM frames s JOIN frames c ON c.frame_number = s.frame_number
         WHERE s.run_id = ? AND c.run_id = ? AND s.kind = 'new' AND c.kind = 'new'
           AND NOT ${atJoin("s")} AND NOT ${atJoin("c")} ORDER BY r`,
      ).all(delayed.result.runId, control.result.runId) as { r: number }[]).map((x) => x.r);
      d.close();
      expect(row.frames_matched).toBe(rel.length);
      expect(row.relative_latency_p50_ms).toBe(rel[Math.ceil(rel.length / 2) - 1]!);
    } finally {
      relay.stop();
      await server.stop();
    }
  },
  60_000,
);

test(
  "vat serve --push to an RTMP and an SRT ingest (ffmpeg listening, writing HLS): one encode, each provider against the control",
  async () => {
    const rtmpPort = freePort();
    const srtPort = freePort();
    const ingestDir = join(tmp.path, "ingest");
    const srtDir = join(tmp.path, "srt");
    mkdirSync(ingestDir, { recursive: true });
    mkdirSync(srtDir, { recursive: true });
    // A second provider, over SRT, repackaging without transcoding (SRT's receive latency, 120 ms by default, delays it).
    const srtIngest = spawn("ffmpeg", [
      "-v", "error", "-i", `srt://127.0.0.1:${srtPort}?mode=listener`, "-c", "copy",
      "-f", "hls", "-hls_time", "1", "-hls_list_size", "6", "-hls_flags", "delete_segments+temp_file+independent_segments",
      join(srtDir, "stream.m3u8"),
    ], { stdio: ["ignore", "ignore", "ignore"] });
    // The "provider": an RTMP server that transcodes what it receives (x264 veryfast, whose lookahead and B-frames
    // hold frames back, as a provider's transcoder does) with keyframes where the origin has them, to HLS over HTTP.
    const ingest = spawn("ffmpeg", [
      "-v", "error", "-listen", "1", "-i", `rtmp://127.0.0.1:${rtmpPort}/live/secret-key`,
      "-c:v", "libx264", "-preset", "veryfast", "-force_key_frames", "expr:gte(t,n_forced*1)", "-sc_threshold", "0",
      "-f", "hls", "-hls_time", "1", "-hls_list_size", "6", "-hls_flags", "delete_segments+temp_file+independent_segments",
      join(ingestDir, "stream.m3u8"),
    ], { stdio: ["ignore", "ignore", "pipe"] });
    let ingestErr = "";
    ingest.stderr!.on("data", (b: Buffer) => (ingestErr += b.toString()));
    const cdn = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: async (req) => {
        const path = new URL(req.url).pathname;
        const f = Bun.file(path.startsWith("/srt/") ? join(srtDir, path.slice(5)) : join(ingestDir, path.slice(1)));
        return (await f.exists()) ? new Response(await f.arrayBuffer()) : new Response("not found", { status: 404 });
      },
    });
    await Bun.sleep(500); // the ingest listens
    const server = serve([
      "--size", "480p", "--fps", "25", "--id", "push",
      "--push", `rtmp://127.0.0.1:${rtmpPort}/live/secret-key`, "--push", `srt://127.0.0.1:${srtPort}`,
    ]);
    try {
      await server.waitLive();
      const params = (await (await fetch(`${server.url}/params`)).json()) as Record<string, any>;
      expect(params.vat.push).toEqual([`rtmp://127.0.0.1:${rtmpPort}`, `srt://127.0.0.1:${srtPort}`]); // no stream key
      // One encode for both outputs: a single ffmpeg under serve.
      const ffmpegs = childPids(server.proc.pid).filter((p) => readFileSync(`/proc/${p}/comm`, "utf8").trim() === "ffmpeg");
      expect(ffmpegs).toHaveLength(1);
      const provider = `http://127.0.0.1:${cdn.port}/stream.m3u8`;
      const srtProvider = `http://127.0.0.1:${cdn.port}/srt/stream.m3u8`;
      for (const u of [provider, srtProvider]) await eventually(async () => (await fetch(u)).status, (s) => s === 200, 10_000);
      const db = join(tmp.path, "push.db");
      const run = await client([
        "--url", provider, "--url", srtProvider, "--control", server.url, "--duration", "14s", "--db", db, "--json",
      ]);
      expect(run.exitCode).toBe(0);
      const [control, pushed, overSrt] = run.json!.streams;
      console.error(runStory(db)); // what each stream went through, for a failure below
      expect(run.json!.streams.map((s: any) => s.role)).toEqual(["control", "stream 1", "stream 2"]);
      for (const s of [control, pushed, overSrt]) expect(s.result.summary).toMatchObject({ dropped: 0, unreadable: 0 });
      const viaSrt = overSrt.versusControl;
      expect(viaSrt.matchedShare).toBeGreaterThanOrEqual(0.99);
      expect(viaSrt.relativeLatencyP50Ms).toBeGreaterThan(0);
      // Steady: the spread within a third of a segment (each repackager closes a segment when the next keyframe
      // reaches it, a little later or earlier from segment to segment while the suite loads the machine).
      expect(viaSrt.relativeLatencyP95Ms - viaSrt.relativeLatencyP50Ms).toBeLessThan(330);
      const c = pushed.versusControl;
      expect(c.matchedShare).toBeGreaterThanOrEqual(0.99);
      expect(c.framesMatched).toBeGreaterThan(250);
      // The provider transcodes after the origin: it is behind, by a steady amount.
      expect(c.relativeLatencyMinMs).toBeGreaterThan(0);
      expect(c.relativeLatencyP50Ms).toBeGreaterThan(100);
      expect(c.relativeLatencyP95Ms - c.relativeLatencyP50Ms).toBeLessThan(330);
      expect(pushed.result.streamId).toBe("push"); // read from the frames: the provider has no /params
      expect(server.stderr()).not.toMatch(/encoder stopped/);
    } finally {
      await server.stop();
      ingest.kill("SIGKILL");
      srtIngest.kill("SIGKILL");
      cdn.stop(true);
    }
    // The ingest only complains when the publisher goes away at the end (an I/O error on its input, which ffmpeg's
    // log may follow with "Last message repeated N times" when it comes more than once).
    let lastWasIoError = false;
    const complaints = ingestErr.trim().split("\n").filter((l) => {
      if (/^\s*Last message repeated \d+ times?\s*$/.test(l)) return !lastWasIoError;
      lastWasIoError = /Input\/output error/.test(l);
      return l !== "" && !lastWasIoError;
    });
    expect(complaints).toEqual([]);
  },
  60_000,
);
