import { afterAll, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { client, ffprobeFrames, freePort, openDb, serve, spawnVat, tempDir, VAT, killStragglers } from "../helpers/vat.ts";

const tmp = tempDir();
afterAll(() => {
  killStragglers();
  tmp.cleanup();
});

test(
  "SIGTERM ends a run: summary printed and stored, exit 143",
  async () => {
    const server = serve(["--size", "240p", "--fps", "25"]);
    try {
      await server.waitLive();
      const db = join(tmp.path, "term.db");
      const c = spawnVat(["client", "--url", server.url, "--db", db]);
      await Bun.sleep(5000);
      c.kill("SIGTERM");
      const [out, code] = await Promise.all([new Response(c.stdout).text(), c.exited]);
      expect(code).toBe(143);
      expect(out).toContain("stopped by SIGTERM");
      expect(out).toMatch(/frames +\d+ new · 0 dropped/);
      const d = openDb(db);
      const run = d.query("SELECT status, ended_at_ms, summary_json FROM runs").get() as Record<string, any>;
      expect(run.status).toBe("SIGTERM");
      expect(run.ended_at_ms).not.toBeNull();
      expect(JSON.parse(run.summary_json).framesNew).toBeGreaterThan(50);
      d.close();
    } finally {
      await server.stop();
    }
  },
  30_000,
);

test("Ctrl-C while still connecting stops at once with exit 130", async () => {
  const db = join(tmp.path, "int.db");
  const c = spawnVat(["client", "--url", `http://127.0.0.1:${freePort()}`, "--db", db]);
  await Bun.sleep(1000);
  const t0 = performance.now();
  c.kill("SIGINT");
  const [err, code] = await Promise.all([new Response(c.stderr).text(), c.exited]);
  expect(performance.now() - t0).toBeLessThan(2000);
  expect(code).toBe(130);
  expect(err.trim()).toMatch(/^vat: stopped by SIGINT before http:\/\/127\.0\.0\.1:\d+\/video\/stream\.m3u8 answered$/);
  expect(existsSync(db)).toBe(false);
});

test(
  "on a terminal the client shows a live status line",
  async () => {
    const server = serve(["--size", "240p", "--fps", "25"]);
    try {
      await server.waitLive();
      const log = join(tmp.path, "tty.log");
      // script(1) gives the client a real pseudo-terminal.
      const cmd = `${VAT} client --url ${server.url} --duration 4s --db ${join(tmp.path, "tty.db")}`;
      const s = Bun.spawn(["script", "-qefc", cmd, log], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
      expect(await s.exited).toBe(0);
      const screen = readFileSync(log, "utf8");
      expect(screen).toMatch(/\r\x1b\[2K +\d+ s · +\d+ frames · [\d.]+ fps · latency p50 \d+ ms · dropped 0 · unreadable 0/);
      expect(screen).toContain("frames read");
      expect(screen).not.toMatch(/window \d+: /); // per-window log lines are for logs, not terminals
    } finally {
      await server.stop();
    }
  },
  30_000,
);

test("--dir keeps files the encoder did not write", async () => {
  const dir = join(tmp.path, "shared-dir");
  const server = serve(["--size", "240p", "--fps", "10", "--dir", dir]);
  try {
    await server.waitLive();
  } finally {
    await server.stop();
  }
  writeFileSync(join(dir, "notes.ts"), "export const x = 1;\n");
  writeFileSync(join(dir, "other.m3u8"), "#EXTM3U\n");
  const again = serve(["--size", "240p", "--fps", "10", "--dir", dir]);
  try {
    await again.waitLive();
    expect(readFileSync(join(dir, "notes.ts"), "utf8")).toBe("export const x = 1;\n");
    expect(existsSync(join(dir, "other.m3u8"))).toBe(true);
  } finally {
    await again.stop();
  }
});

test(
  "files and http media go through ffmpeg: every frame of three captured segments is read, none dropped",
  async () => {
    const server = serve(["--size", "480p", "--fps", "25"]);
    const file = join(tmp.path, "capture.ts");
    try {
      await server.waitLive();
      await Bun.sleep(3000);
      const playlist = await (await fetch(`${server.url}/video/stream.m3u8`)).text();
      const segs = playlist.split("\n").filter((l) => l.endsWith(".ts")).slice(-3);
      const parts = await Promise.all(segs.map(async (s) => new Uint8Array(await (await fetch(`${server.url}/video/${s}`)).arrayBuffer())));
      writeFileSync(file, Buffer.concat(parts));
    } finally {
      await server.stop();
    }
    const truth = ffprobeFrames(file);
    expect(truth).toBe(75);
    const csv = join(tmp.path, "csv");
    const fromFile = await client(["--url", file, "--db", join(tmp.path, "file.db"), "--json", "--csv", csv]);
    expect(fromFile.exitCode).toBe(0);
    expect(fromFile.json!.summary).toMatchObject({ framesDecoded: truth, framesNew: truth, unreadable: 0, dropped: 0, duplicates: 0 });
    // --csv writes the run's windows and frames: a header and one line per stored row.
    const id = fromFile.json!.runId;
    const d = openDb(join(tmp.path, "file.db"));
    for (const table of ["windows", "frames"]) {
      const lines = readFileSync(join(csv, `run-${id}-${table}.csv`), "utf8").trimEnd().split("\n");
      const rows = (d.query(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
      expect(lines.length).toBe(rows + 1);
      expect(lines[0]!.startsWith("run_id,idx,")).toBe(true);
    }
    const frameLines = readFileSync(join(csv, `run-${id}-frames.csv`), "utf8").trimEnd().split("\n");
    expect(frameLines.length).toBe(truth + 1);
    d.close();
    const http = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response(Bun.file(file)) });
    try {
      const fromHttp = await client(["--url", `http://127.0.0.1:${http.port}/clip.ts`, "--db", join(tmp.path, "http.db"), "--json"]);
      expect(fromHttp.exitCode).toBe(0);
      expect(fromHttp.json!.playlistUrl).toBeNull();
      expect(fromHttp.json!.summary).toMatchObject({ framesNew: truth, unreadable: 0, dropped: 0 });
    } finally {
      http.stop(true);
    }
  },
  40_000,
);
