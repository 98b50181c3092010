import { afterAll, expect, test } from "bun:test";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { childPids, openDb, spawnVat, tempDir, vat, killStragglers } from "../helpers/vat.ts";

const tmp = tempDir();
afterAll(() => {
  killStragglers();
  tmp.cleanup();
});

/** A stand-in for ffmpeg: waits, or fails, before (or instead of) running the real one. */
function fakeFfmpeg(name: string, body: string): string {
  const path = join(tmp.path, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

function isServe(pid: number): boolean {
  return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").includes("serve");
}

async function answers(url: string): Promise<boolean> {
  try {
    await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
    return true;
  } catch {
    return false;
  }
}

test(
  "vat launch --local --id demo --duration 20s: serves, measures, prints a sensible summary, stops the server",
  async () => {
    const db = join(tmp.path, "demo.db");
    const p = spawnVat(["launch", "--local", "--id", "demo", "--duration", "20s", "--db", db, "--json"]);
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    expect(code).toBe(0);
    const r = JSON.parse(out);
    expect(r.launch).toMatchObject({ id: "demo", backend: "local" });
    expect(r.streamId).toBe("demo");
    expect(Math.abs(r.summary.fpsAchieved - 30) / 30).toBeLessThan(0.02);
    expect(r.summary).toMatchObject({ dropped: 0, unreadable: 0 });
    expect(r.summary.latencyP50Ms).toBeGreaterThan(0);
    expect(r.summary.latencyP50Ms).toBeLessThan(3000);
    expect(err).toContain("vat launch: server stopped");
    expect(await answers(r.launch.url)).toBe(false);
    const d = openDb(db);
    expect(d.query("SELECT stream_id, size_name, fps, video_type FROM runs").get()).toEqual({
      stream_id: "demo", size_name: "720p", fps: 30, video_type: "LIVE",
    });
    d.close();
  },
  60_000,
);

test.each([
  ["once", 1],
  ["twice at once, as Slurm's scancel plus a forwarding wrapper deliver it", 2],
])(
  "SIGTERM %s while measuring: summary stored, server stopped, exit 143",
  async (_how, times) => {
    const db = join(tmp.path, `term-${times}.db`);
    const p = spawnVat(["launch", "--local", "--id", "t", "--size", "240p", "--db", db, "--json"]);
    await Bun.sleep(6000);
    const servers = childPids(p.pid).filter(isServe);
    expect(servers.length).toBe(1);
    for (let i = 0; i < times; i++) {
      p.kill("SIGTERM");
      await Bun.sleep(20);
    }
    const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
    expect(code).toBe(143);
    const r = JSON.parse(out);
    expect(r.stopReason).toBe("SIGTERM");
    expect(r.summary.framesNew).toBeGreaterThan(60);
    expect(await answers(r.launch.url)).toBe(false);
    for (const pid of servers) expect(() => process.kill(pid, 0)).toThrow();
  },
  30_000,
);

test(
  "Ctrl-C while waiting for the stream: the server is stopped, exit 130",
  async () => {
    const slow = fakeFfmpeg("slow-ffmpeg", 'sleep 30; exec ffmpeg "$@"');
    const p = spawnVat(["launch", "--local", "--id", "w", "--db", join(tmp.path, "w.db")], { env: { VAT_FFMPEG: slow } });
    await Bun.sleep(2500);
    const servers = childPids(p.pid).filter(isServe);
    expect(servers.length).toBe(1);
    p.kill("SIGINT");
    const [err, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
    expect(code).toBe(130);
    expect(err).toMatch(/waiting for the stream \(\d+\.\d s\): starting: no segment written yet/);
    expect(err).toMatch(/vat: stopped by SIGINT while waiting for the server/);
    await Bun.sleep(200);
    for (const pid of servers) expect(() => process.kill(pid, 0)).toThrow();
  },
  30_000,
);

test(
  "a server that never goes live: bounded wait, the reason, the server stopped, exit 1",
  async () => {
    const broken = fakeFfmpeg("broken-ffmpeg", 'echo "no encoder here" >&2; exit 1');
    const r = await vat(["launch", "--local", "--id", "b", "--start-timeout", "4s", "--db", join(tmp.path, "b.db")], { VAT_FFMPEG: broken });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/serve \| .*encoder stopped \(exit code 1\): no encoder here; restarting/);
    expect(r.stderr).toMatch(/vat: the server was not live after 4 s \(starting: no segment written yet/);
  },
  30_000,
);

test("bad input is refused before any server starts", async () => {
  const notDb = join(tmp.path, "notes.txt");
  writeFileSync(notDb, "not a database\n");
  for (const [args, message] of [
    [["launch", "--local", "--id", "x", "--cpu", "512", "--memory", "8GB"], /memory 8192 MiB does not go with cpu 512 on Fargate: use 1GB, 2GB, 3GB, 4GB/],
    [["launch", "--local"], /give the run an id with --id/],
    [["launch", "--local", "--id", "x", "--fps", "0"], /fps '0' is out of range/],
    [["launch", "--local", "--id", "x", "--window", "0.1s"], /window '0.1s' is out of range/],
    [["launch", "--local", "--id", "x", "--url", "http://a"], /Unknown argument: url/],
    // The database is checked before the server starts (it would log, and take seconds, before refusing it).
    [["launch", "--local", "--id", "x", "--db", tmp.path], /cannot use database '.*': it is a folder/],
    [["launch", "--local", "--id", "x", "--db", join(import.meta.path, "runs.db")], /cannot use database '.*': '.*' is not a folder/],
    [["launch", "--local", "--id", "x", "--db", notDb], /cannot use database '.*notes.txt': it is not an SQLite database/],
    [["launch", "--local", "--id", "x", "--stack", ""], /stack name '' is not valid/],
  ] as const) {
    const r = await vat([...args]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  }
  expect(readFileSync(notDb, "utf8")).toBe("not a database\n"); // refused, not overwritten
  // Without --local it is the Fargate backend: with no AWS configuration at all, one line says what to set.
  const noAws = { AWS_REGION: "", AWS_DEFAULT_REGION: "", AWS_PROFILE: "", AWS_CONFIG_FILE: "/nonexistent", AWS_SHARED_CREDENTIALS_FILE: "/nonexistent" };
  const cloud = await vat(["launch", "--id", "x"], noAws);
  expect(cloud.exitCode).toBe(2);
  expect(cloud.stderr.trim()).toBe("vat: no AWS region for DescribeStacks streaming: give --region, or set AWS_REGION (or a profile's region)");
}, 30_000);
