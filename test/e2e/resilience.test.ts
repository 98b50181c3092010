import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { childPids, eventually, health, openDb, serve, spawnVat, tempDir, killStragglers } from "../helpers/vat.ts";

const tmp = tempDir();
afterAll(() => {
  killStragglers();
  tmp.cleanup();
});

function spawnClient(args: string[]) {
  return spawnVat(["client", ...args]);
}

test(
  "serve killed mid-run: the client records the outage, reconnects when it is back, and loses nothing stored",
  async () => {
    const first = serve(["--size", "480p", "--fps", "25", "--dir", join(tmp.path, "segs-a")]);
    await first.waitLive();
    const db = join(tmp.path, "outage.db");
    const c = spawnClient(["--url", first.url, "--duration", "24s", "--window", "4s", "--db", db, "--json"]);
    await Bun.sleep(7000);
    first.proc.kill("SIGKILL");
    await first.proc.exited;
    await Bun.sleep(4000);
    const second = serve(["--size", "480p", "--fps", "25", "--dir", join(tmp.path, "segs-b")], { port: first.port });
    try {
      const [out, code] = await Promise.all([new Response(c.stdout).text(), c.exited]);
      expect(code).toBe(0);
      const r = JSON.parse(out);
      expect(r.outages).toBe(1);
      expect(r.outageMs).toBeGreaterThan(3000);
      expect(r.outageMs).toBeLessThan(8000);
      expect(r.summary.restarts).toBe(1); // the new server counts frames from 0 again
      expect(r.summary.dropped).toBe(0); // frames never made are not drops
      expect(r.summary.duplicates).toBe(0);

      const d = openDb(db);
      const kinds = (d.query("SELECT kind FROM events ORDER BY at_ms").all() as { kind: string }[]).map((e) => e.kind);
      expect(kinds).toContain("outage");
      expect(kinds).toContain("reconnect");
      const reconnectAt = (d.query("SELECT at_ms FROM events WHERE kind = 'reconnect'").get() as { at_ms: number }).at_ms;
      const after = d.query("SELECT count(*) AS n FROM frames WHERE kind = 'new' AND arrived_at_ms > ?").get(reconnectAt) as { n: number };
      expect(after.n).toBeGreaterThan(25 * 5); // the run went on with the second server
      // Windows are consecutive, and the frames stored are exactly those the windows counted.
      const windows = d.query("SELECT idx, frames_decoded FROM windows ORDER BY idx").all() as { idx: number; frames_decoded: number }[];
      expect(windows.map((w) => w.idx)).toEqual(windows.map((_, i) => i));
      expect(windows.length).toBeGreaterThanOrEqual(6);
      const f = d.query("SELECT count(*) AS n, max(idx) AS last FROM frames").get() as { n: number; last: number };
      expect(f.n).toBe(windows.reduce((s, w) => s + w.frames_decoded!, 0));
      expect(f.last).toBe(f.n - 1);
      d.close();
    } finally {
      await second.stop();
    }
  },
  60_000,
);

test(
  "kill -9 of the client: the database opens and holds every finished window with its frames",
  async () => {
    const server = serve(["--size", "480p", "--fps", "25"]);
    try {
      await server.waitLive();
      const db = join(tmp.path, "killed.db");
      const c = spawnClient(["--url", server.url, "--duration", "60s", "--window", "2s", "--db", db]);
      const d0 = await eventually(
        async () => {
          const d = openDb(db);
          try {
            return (d.query("SELECT count(*) AS n FROM windows").get() as { n: number }).n;
          } finally {
            d.close();
          }
        },
        (n) => n >= 4,
        30_000,
        250,
      );
      expect(d0).toBeGreaterThanOrEqual(4);
      c.kill("SIGKILL");
      await c.exited;
      const d = openDb(db);
      expect(d.query("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
      const windows = d.query("SELECT idx, frames_decoded, frames_new FROM windows ORDER BY idx").all() as Record<string, number>[];
      expect(windows.length).toBeGreaterThanOrEqual(4);
      expect(windows.map((w) => w.idx)).toEqual(windows.map((_, i) => i));
      // Full windows after the first hold two seconds of frames.
      for (const w of windows.slice(1)) expect(w.frames_new).toBeGreaterThanOrEqual(25);
      const f = d.query("SELECT count(*) AS n FROM frames").get() as { n: number };
      expect(f.n).toBe(windows.reduce((s, w) => s + w.frames_decoded!, 0));
      const run = d.query("SELECT ended_at_ms FROM runs").get() as { ended_at_ms: number | null };
      expect(run.ended_at_ms).toBeNull(); // it never finished, and says so
      d.close();
    } finally {
      await server.stop();
    }
  },
  60_000,
);

test(
  "ffmpeg killed under serve: serve says why, restarts it, and keeps counting frames",
  async () => {
    const server = serve(["--size", "480p", "--fps", "25"]);
    try {
      await server.waitLive();
      const db = join(tmp.path, "encoder.db");
      const c = spawnClient(["--url", server.url, "--duration", "16s", "--db", db, "--json"]);
      await Bun.sleep(6000);
      const ff = childPids(server.proc.pid);
      expect(ff.length).toBe(1);
      process.kill(ff[0]!, "SIGKILL");
      await eventually(() => health(server.url), (h) => h.status === 200 && h.body.encoderRestarts === 1, 8000);
      const [out, code] = await Promise.all([new Response(c.stdout).text(), c.exited]);
      expect(code).toBe(0);
      expect(server.stderr()).toMatch(/encoder stopped \(killed by SIGKILL\).*restarting/);
      const r = JSON.parse(out);
      expect(r.summary.restarts).toBe(0); // numbering went on, no new stream
      expect(r.summary.dropped).toBeGreaterThan(0); // frames made while ffmpeg was down are lost, and counted
      expect(r.summary.dropped).toBeLessThan(25 * 3);
      const d = openDb(db);
      const n = d.query("SELECT min(frame_number) AS lo, max(frame_number) AS hi, count(*) AS c FROM frames WHERE kind = 'new'").get() as Record<string, number>;
      // Frame numbers run on across the restart: the span covers the run, less only the dropped ones.
      expect(n.hi! - n.lo! + 1).toBe(n.c! + r.summary.dropped);
      d.close();
    } finally {
      await server.stop();
    }
  },
  60_000,
);

test(
  "an encoder that stops producing turns /health 503 with the reason, and the watchdog brings it back",
  async () => {
    const server = serve(["--size", "240p", "--fps", "15"]);
    try {
      await server.waitLive();
      const [ff] = childPids(server.proc.pid);
      process.kill(ff!, "SIGSTOP");
      const sick = await eventually(() => health(server.url), (h) => h.status === 503, 8000);
      expect(sick.body.healthy).toBe(false);
      expect(sick.body.reason).toMatch(/no new segment for \d+\.\d s/);
      const ping = await fetch(`${server.url}/ping`);
      expect(ping.status).toBe(503);
      await eventually(() => health(server.url), (h) => h.status === 200, 20_000);
      expect(server.stderr()).toMatch(/encoder wrote no segment for .* killing it/);
    } finally {
      await server.stop();
    }
  },
  60_000,
);

test(
  "first playable segment within 3 s of start; SIGTERM and SIGINT stop serve cleanly in under 2 s",
  async () => {
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      const dir = join(tmp.path, `stop-${signal}`);
      const server = serve(["--size", "1080p", "--fps", "30", "--dir", dir]);
      const liveMs = await server.waitLive(5000);
      expect(liveMs).toBeLessThan(3000);
      const playlist = await (await fetch(`${server.url}/video/stream.m3u8`)).text();
      const seg = playlist.split("\n").find((l) => l.endsWith(".ts"))!;
      const r = await fetch(`${server.url}/video/${seg}`);
      expect(r.status).toBe(200);
      expect((await r.arrayBuffer()).byteLength).toBeGreaterThan(1000);
      const t0 = performance.now();
      server.proc.kill(signal);
      const code = await server.proc.exited;
      expect(performance.now() - t0).toBeLessThan(2000);
      expect(code).toBe(0);
      expect(server.stderr()).toContain("vat serve: stopped");
      expect(childPids(server.proc.pid)).toEqual([]);
    }
  },
  60_000,
);
