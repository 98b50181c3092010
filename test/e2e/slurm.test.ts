import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { FakeAws } from "../helpers/fake-aws.ts";
import { startSlurm, type Slurm } from "../helpers/slurm.ts";
import { eventually, killStragglers, openDb, tempDir, vat, VAT } from "../helpers/vat.ts";

const ROOT = resolve(import.meta.dir, "../..");
const tmp = tempDir("vat-slurm-");
let slurm: Slurm;
let aws: FakeAws;

beforeAll(async () => {
  slurm = await startSlurm(join(tmp.path, "slurm"));
  aws = new FakeAws({ phaseMs: 300 });
}, 40_000);

afterAll(async () => {
  await aws?.stop();
  slurm?.stop();
  killStragglers();
  tmp.cleanup();
});

/** Submits run_sweep.sbatch as a user would (./run_sweep.sbatch EXPERIMENT ...), from a folder of its own. */
function submit(sweepFile: string, experiment: string, launchArgs: string[]): string {
  const r = slurm.run([join(ROOT, "run_sweep.sbatch"), experiment, ...launchArgs], {
    ...aws.env,
    SWEEP_FILE: sweepFile,
    LOG_DIR: join(tmp.path, "logs"),
    VAT_BIN: VAT,
    VAT_STAGGER_S: "1",
    SBATCH_ARGS: `--output=${join(tmp.path, "slurm-%A_%a.out")}`,
  });
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  const m = /Submitted batch job (\d+)/.exec(r.stdout);
  expect(m).not.toBeNull();
  return m![1]!;
}

describe("a sweep of three configurations as a Slurm array", () => {
  let job: string;
  const folders = ["0-15-512-1-task_0", "0-25-512-1-task_1", "0-30-512-1-task_2"];

  test("vat generate sweep → ./run_sweep.sbatch → three array tasks, one vat launch each, all done", async () => {
    const sweep = join(tmp.path, "three.txt");
    const g = await vat(["generate", "sweep", "--sizes", "240p", "--fps", "15,25,30", "--cpu-memory", "512:1GB", "-o", sweep]);
    expect(g.exitCode).toBe(0);
    expect(readFileSync(sweep, "utf8")).toBe("0 15 512 1 task_0\n0 25 512 1 task_1\n0 30 512 1 task_2\n");
    job = submit(sweep, "exp3", ["--duration", "4s"]);
    // The array's size follows the file: three tasks.
    const queued = slurm.run(["squeue", "-h", "-r", "-j", job, "-o", "%i"]).stdout.trim().split("\n").filter(Boolean);
    expect(queued.sort()).toEqual([`${job}_1`, `${job}_2`, `${job}_3`]);
    await slurm.waitGone(job, 90_000);
  }, 120_000);

  test("each task's database, log and summary land in LOG_DIR/EXPERIMENT/<size>-<fps>-<cpu>-<memory>-<id>/", () => {
    expect(readdirSync(join(tmp.path, "logs", "exp3")).sort()).toEqual(folders);
    folders.forEach((folder, i) => {
      const dir = join(tmp.path, "logs", "exp3", folder);
      const fps = [15, 25, 30][i]!;
      const db = openDb(join(dir, "stream_data.db"));
      const run = db.query("SELECT stream_id, size_name, fps, cpu, memory, video_type, status AS stop_reason FROM runs").get();
      const frames = (db.query("SELECT count(*) AS n FROM frames WHERE kind = 'new'").get() as { n: number }).n;
      db.close();
      expect(run).toEqual({ stream_id: `task_${i}`, size_name: "240p", fps, cpu: "512", memory: "1024", video_type: "LIVE", stop_reason: "duration" });
      expect(frames).toBeGreaterThan(fps * 2);
      const summary = JSON.parse(readFileSync(join(dir, "summary.json"), "utf8"));
      expect(summary.launch).toMatchObject({ id: `task_${i}`, backend: "fargate" });
      expect(summary.summary).toMatchObject({ dropped: 0, unreadable: 0 });
      expect(readFileSync(join(dir, "vat.log"), "utf8")).toMatch(/vat launch: stream live at http:\/\/127\.0\.0\.\d+:5080, measuring/);
      const out = readFileSync(join(tmp.path, `slurm-${job}_${i + 1}.out`), "utf8");
      expect(out).toContain(`line ${i + 1} of `);
      expect(out).toContain(`waiting ${i + 1} s before launching (staggered starts)`);
      expect(out).toContain("vat launch exited with 0");
    });
  });

  test("the fake AWS saw each configuration's RunTask and StopTask, and every task's server has stopped", async () => {
    const runs = aws.calls.filter((c) => c.action === "RunTask").map((c) => c.body);
    expect(runs.map((b) => b.startedBy).sort()).toEqual(["vat/task_0", "vat/task_1", "vat/task_2"]);
    for (const b of runs) {
      const env = Object.fromEntries(b.overrides.containerOverrides[0].environment.map((e: any) => [e.name, e.value]));
      expect(env).toMatchObject({ IMAGE_SIZE: "0", CPU: "512", MEMORY: "1024", ID: b.startedBy.slice(4) });
      expect(b.overrides).toMatchObject({ cpu: "512", memory: "1024" });
    }
    const stops = aws.calls.filter((c) => c.action === "StopTask").map((c) => c.body.reason).sort();
    expect(stops).toEqual(["vat launch task_0: done", "vat launch task_1: done", "vat launch task_2: done"]);
    for (const t of aws.tasks.values()) expect(await t.serve!.exited).toBe(0);
  });
});

test("scancel of a running job: vat stops its task and keeps what it measured", async () => {
  const sweep = join(tmp.path, "one.txt");
  writeFileSync(sweep, "1 25 1024 2 task_long\n");
  const before = aws.tasks.size;
  const job = submit(sweep, "cancel", ["--duration", "10m"]);
  const dir = join(tmp.path, "logs", "cancel", "1-25-1024-2-task_long");
  // Measuring: the task runs and the client has started writing.
  await eventually(
    async () => (existsSync(join(dir, "vat.log")) ? readFileSync(join(dir, "vat.log"), "utf8") : ""),
    (log) => /window 0: /.test(log) || /vat client: run 1/.test(log),
    60_000,
    250,
  );
  await Bun.sleep(2500);
  expect(aws.tasks.size).toBe(before + 1);
  const task = [...aws.tasks.values()].at(-1)!;
  const cancelled = slurm.run(["scancel", job]);
  expect(cancelled.code).toBe(0);
  await slurm.waitGone(job, 30_000);
  const stop = aws.calls.find((c) => c.action === "StopTask" && c.body.task === task.arn);
  expect(stop?.body.reason).toBe("vat launch task_long: interrupted by SIGTERM");
  expect(await Promise.race([task.serve!.exited, Bun.sleep(5000).then(() => "still running")])).toBe(0);
  const db = openDb(join(dir, "stream_data.db"));
  const run = db.query("SELECT status AS stop_reason, ended_at_ms IS NOT NULL AS ended FROM runs").get();
  const frames = (db.query("SELECT count(*) AS n FROM frames WHERE kind = 'new'").get() as { n: number }).n;
  db.close();
  expect(run).toEqual({ stop_reason: "SIGTERM", ended: 1 });
  expect(frames).toBeGreaterThan(25);
  expect(JSON.parse(readFileSync(join(dir, "summary.json"), "utf8")).stopReason).toBe("SIGTERM");
  expect(readFileSync(join(tmp.path, `slurm-${job}_1.out`), "utf8")).toContain("vat launch exited with 143");
}, 120_000);

describe("slurm_wrapper.sh refuses bad input in one line, exit 2", () => {
  const wrapper = join(ROOT, "slurm_wrapper.sh");
  const sweep = join(tmp.path, "bad.txt");
  beforeAll(() => writeFileSync(sweep, "0 15 512 1 task_1\n0 15 512\n240p 15 512 1GB task_3 missing.toml\n"));

  test.each([
    [[], {}, /usage: slurm_wrapper\.sh IDX EXPERIMENT/],
    [["0", "e"], {}, /IDX '0' is not a line number: use 1, 2, 3/],
    [["1", "a/b"], {}, /experiment name 'a\/b' is not valid/],
    [["4", "e"], {}, /line 4 of '.*bad\.txt' is empty or missing: it has 3 configurations \(1-3\)/],
    [["2", "e"], {}, /line 2 of '.*bad\.txt' is '0 15 512': expected five or six fields, size fps cpu memory id \[providers-file\]/],
    [["3", "e"], {}, /line 3 of '.*bad\.txt' names the providers file '.*\/missing\.toml', which cannot be read/],
    [["1", "e"], { VAT_BIN: "/nonexistent/vat" }, /vat not found: put it on PATH or set VAT_BIN/],
    [["1", "e"], { SWEEP_FILE: "/nonexistent.txt" }, /sweep file '\/nonexistent\.txt' cannot be read/],
  ])("%p %p", (args, env, message) => {
    const r = Bun.spawnSync([wrapper, ...args], {
      env: { ...process.env, SWEEP_FILE: sweep, VAT_BIN: VAT, LOG_DIR: join(tmp.path, "bad-logs"), ...env },
    });
    const err = r.stderr.toString();
    expect(r.exitCode).toBe(2);
    expect(err.trim().split("\n")).toHaveLength(1);
    expect(err).toMatch(message);
    expect(existsSync(join(tmp.path, "bad-logs"))).toBe(false);
  });
});
