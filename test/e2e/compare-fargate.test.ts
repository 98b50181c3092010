import { afterAll, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fakeAwsPerTest, type FakeAws, type FakeTask } from "../helpers/fake-aws.ts";
import { startNginxRtmp } from "../helpers/nginx-rtmp.ts";
import { framesStored, spawnCompare } from "../helpers/compare-run.ts";
import { freePort, killStragglers, openDb, tempDir } from "../helpers/vat.ts";

const tmp = tempDir("vat-compare-fargate-");
afterAll(() => {
  killStragglers();
  tmp.cleanup();
});
const makeFake = fakeAwsPerTest();

/** Known only to the environment of vat compare: it must reach the task and nothing vat shows or stores. */
const STREAM_KEY = "fargate-k3y-from-env";

function fake(): FakeAws {
  return makeFake({ phaseMs: 300 });
}

function providersFile(name: string, entries: Record<string, string | number>[]): string {
  const file = join(tmp.path, name);
  writeFileSync(file, entries.map((e) => ["[[provider]]", ...Object.entries(e).map(([k, v]) => `${k} = ${JSON.stringify(v)}`)].join("\n")).join("\n\n"));
  return file;
}

function compare(f: FakeAws, args: string[]) {
  return spawnCompare(args, { ...f.env, STREAM_KEY });
}

function onlyTask(f: FakeAws): FakeTask {
  const tasks = [...f.tasks.values()];
  expect(tasks).toHaveLength(1);
  return tasks[0]!;
}

async function serverGone(t: FakeTask): Promise<number | "running"> {
  return await Promise.race([t.serve!.exited, Bun.sleep(5000).then(() => "running" as const)]);
}

test(
  "the origin as a Fargate task: its environment carries the ingest in VAT_PUSH; the provider measured; the key in no output, no database; StopTask when done",
  async () => {
    const f = fake();
    const nginx = await startNginxRtmp({ streamKey: STREAM_KEY, fragmentS: 1 });
    const file = providersFile("fargate.toml", [
      { name: "nginx", ingest: nginx.ingestUrl.replace(STREAM_KEY, "${STREAM_KEY}"), playback: nginx.hlsUrl.replace(STREAM_KEY, "${STREAM_KEY}") },
    ]);
    const db = join(tmp.path, "fargate.db");
    let out: Awaited<ReturnType<ReturnType<typeof compare>["done"]>>;
    try {
      out = await compare(f, [file, "--size", "240p", "--fps", "25", "--id", "cmpfg", "--cpu", "512", "--memory", "1GB", "--duration", "10s", "--db", db, "--json"]).done(60_000);
    } finally {
      await nginx.stop();
    }
    expect(out.exitCode).toBe(0);
    const run = f.calls.find((c) => c.action === "RunTask")!.body;
    expect(run).toMatchObject({ startedBy: "vat/cmpfg", overrides: { cpu: "512", memory: "1024" } });
    const env = Object.fromEntries(run.overrides.containerOverrides[0].environment.map((e: { name: string; value: string }) => [e.name, e.value]));
    expect(env).toMatchObject({ ID: "cmpfg", FPS: "25", IMAGE_SIZE: "0", VAT_PUSH: nginx.ingestUrl });
    const task = onlyTask(f);
    expect(task.stoppedReason).toContain("vat compare");
    expect(task.stoppedReason).toContain("done");
    expect(await serverGone(task)).not.toBe("running");
    const report = JSON.parse(out.stdout);
    expect(report.origin).toBe(`http://${task.ip}:5080`);
    expect(report.providers).toHaveLength(1);
    expect(report.providers[0]).toMatchObject({ role: "nginx", status: "measured", dropped: 0 });
    expect(report.providers[0].framesNew).toBeGreaterThan(100);
    expect(report.providers[0].matchedShare).toBeGreaterThanOrEqual(0.99);
    const d = openDb(db);
    const roles = d.query("SELECT role FROM runs ORDER BY id").all() as { role: string }[];
    d.close();
    expect(roles.map((r) => r.role)).toEqual(["control", "nginx"]);
    for (const file of [db, `${db}-wal`]) if (existsSync(file)) expect(readFileSync(file).includes(STREAM_KEY)).toBe(false);
    expect(out.stdout).not.toContain(STREAM_KEY);
    expect(out.stderr).not.toContain(STREAM_KEY);
    expect(out.stderr).toContain("stopped (vat compare");
  },
  90_000,
);

test(
  "SIGTERM mid-run: exit 143, StopTask with the signal as its reason, the task's server gone, what was measured stored",
  async () => {
    const f = fake();
    const nginx = await startNginxRtmp({ streamKey: STREAM_KEY, fragmentS: 1 });
    const file = providersFile("term.toml", [{ name: "nginx", ingest: nginx.ingestUrl, playback: nginx.hlsUrl }]);
    const db = join(tmp.path, "term.db");
    const c = compare(f, [file, "--size", "240p", "--fps", "25", "--id", "cmpterm", "--duration", "60s", "--db", db]);
    let out: Awaited<ReturnType<typeof c.done>>;
    try {
      await framesStored(db, "nginx", 25);
      c.proc.kill("SIGTERM");
      out = await c.done(20_000);
    } finally {
      await nginx.stop();
    }
    expect(out.exitCode).toBe(143);
    const task = onlyTask(f);
    expect(f.actions()).toContain("StopTask");
    expect(task.stoppedReason).toContain("interrupted by SIGTERM");
    expect(await serverGone(task)).not.toBe("running");
    const d = openDb(db);
    const row = d.query("SELECT status FROM compare_providers").get() as { status: string };
    d.close();
    expect(row.status).toBe("measured");
  },
  90_000,
);

test(
  "a provider that never comes up: exit 1 naming it, StopTask with that reason, the task's server gone",
  async () => {
    const f = fake();
    const closed = freePort();
    const file = providersFile("never.toml", [
      { name: "never", ingest: `rtmp://127.0.0.1:${closed}/live/x`, playback: `http://127.0.0.1:${closed}/x.m3u8`, start_timeout: "4s" },
    ]);
    const db = join(tmp.path, "never.db");
    const out = await compare(f, [file, "--size", "240p", "--fps", "25", "--id", "cmpnever", "--duration", "10s", "--db", db]).done(60_000);
    expect(out.exitCode).toBe(1);
    expect(out.stderr).toContain("no provider's playback carried the origin's stream");
    expect(out.stderr).toContain("never:");
    const task = onlyTask(f);
    expect(task.stoppedReason).toContain("no provider's playback");
    expect(await serverGone(task)).not.toBe("running");
  },
  60_000,
);
