import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { FAKE_TASK_PORT, fakeAwsPerTest, type FakeAws } from "../helpers/fake-aws.ts";
import { openDb, spawnVat, tempDir, killStragglers } from "../helpers/vat.ts";

const tmp = tempDir();
afterAll(() => {
  killStragglers();
  tmp.cleanup();
});
const fake = fakeAwsPerTest();

/** The exit code of a task's server once it has stopped, or "running" if it has not within ms. */
async function stoppedWithin(task: { serve?: { exited: Promise<number> } }, ms: number): Promise<number | "running"> {
  return await Promise.race([task.serve!.exited, Bun.sleep(ms).then(() => "running" as const)]);
}

function launch(f: FakeAws, args: string[]) {
  return spawnVat(["launch", ...args], { env: f.env });
}

async function finished(p: ReturnType<typeof launch>) {
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { stdout, stderr, code };
}

test(
  "the full flow: stack → RunTask with overrides → RUNNING → address → live → measured → StopTask with a reason",
  async () => {
    const f = fake({ phaseMs: 1500 }); // longer than the launcher's 1 s poll, as real Fargate phases are
    const db = join(tmp.path, "full.db");
    const r = await finished(
      launch(f, ["--id", "test1", "--size", "480p", "--fps", "25", "--cpu", "512", "--memory", "1", "--duration", "8s", "--db", db, "--json"]),
    );
    expect(r.code).toBe(0);
    expect(f.actions()[0]).toBe("DescribeStacks");
    const run = f.calls.find((c) => c.action === "RunTask")!.body;
    expect(run).toMatchObject({
      cluster: "vat-cluster",
      launchType: "FARGATE",
      startedBy: "vat/test1",
      tags: [{ key: "vat:id", value: "test1" }],
      networkConfiguration: {
        awsvpcConfiguration: { subnets: ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"], securityGroups: ["sg-0bbbbbbbbbbbbbbb1"], assignPublicIp: "ENABLED" },
      },
      overrides: { cpu: "512", memory: "1024" },
    });
    expect(run.overrides.containerOverrides).toEqual([
      {
        name: "vat",
        environment: [
          { name: "ID", value: "test1" }, { name: "FPS", value: "25" }, { name: "IMAGE_SIZE", value: "1" },
          { name: "VIDEO_TYPE", value: "LIVE" }, { name: "CPU", value: "512" }, { name: "MEMORY", value: "1024" },
        ],
      },
    ]);
    expect(f.actions()).toContain("DescribeNetworkInterfaces");
    const stopCall = f.calls.find((c) => c.action === "StopTask")!;
    expect(stopCall.body.reason).toBe("vat launch test1: done");
    const task = [...f.tasks.values()][0]!;
    expect(await stoppedWithin(task, 3000)).toBe(0); // StopTask really stopped the server, cleanly
    expect(r.stderr).toMatch(/task \w+: PROVISIONING[\s\S]*task \w+: PENDING[\s\S]*task \w+: RUNNING/);
    expect(r.stderr).not.toContain("fake-secret-not-printed");
    expect(r.stdout).not.toContain("fake-secret-not-printed");
    const out = JSON.parse(r.stdout);
    expect(out.launch).toMatchObject({ id: "test1", backend: "fargate", url: `http://${task.ip}:${FAKE_TASK_PORT}`, task: task.arn });
    expect(out.summary).toMatchObject({ dropped: 0, unreadable: 0 });
    expect(Math.abs(out.summary.fpsAchieved - 25) / 25).toBeLessThan(0.02);
    const d = openDb(db);
    expect(d.query("SELECT stream_id, size_name, fps, cpu, memory FROM runs").get()).toEqual({
      stream_id: "test1", size_name: "480p", fps: 25, cpu: "512", memory: "1024",
    });
    d.close();
  },
  60_000,
);

test("RunTask answering 200 with failures[]: the reason, no task left, exit 1", async () => {
  const f = fake({ runTaskFailure: "RESOURCE:MEMORY" });
  const r = await finished(launch(f, ["--id", "x", "--db", join(tmp.path, "f.db")]));
  expect(r.code).toBe(1);
  expect(r.stderr.trim().split("\n").at(-1)).toBe("vat: RunTask started no task: RESOURCE:MEMORY");
  expect(f.actions()).toEqual(["DescribeStacks", "RunTask"]);
});

test(
  "a task that stops while starting: stopCode, stoppedReason and the container's reason are shown",
  async () => {
    const f = fake({
      stopWhileStarting: {
        stopCode: "TaskFailedToStart",
        stoppedReason: "CannotPullContainerError: pull image manifest has been retried 5 time(s)",
        containerReason: "CannotPullContainerError: ref not found",
      },
    });
    const r = await finished(launch(f, ["--id", "x", "--db", join(tmp.path, "s.db")]));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /vat: the task stopped while starting: TaskFailedToStart; CannotPullContainerError: pull image manifest has been retried 5 time\(s\); container: CannotPullContainerError: ref not found/,
    );
  },
  30_000,
);

test(
  "MISSING right after RunTask, then RUNNING: tolerated",
  async () => {
    const f = fake({ missing: 2 });
    const r = await finished(launch(f, ["--id", "m", "--duration", "3s", "--db", join(tmp.path, "m.db")]));
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("MISSING (not visible yet)");
    expect(f.actions().filter((a) => a === "StopTask")).toHaveLength(1);
  },
  30_000,
);

test("AccessDenied is said as such, at once, not as a timeout", async () => {
  for (const op of ["DescribeTasks", "RunTask", "DescribeStacks"]) {
    const f = fake({ accessDenied: [op] });
    const t0 = performance.now();
    const r = await finished(launch(f, ["--id", "a", "--db", join(tmp.path, "a.db")]));
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`vat: AWS refused ${op}.*: access denied`));
    // A task that was started is stopped even so.
    expect(f.actions().filter((a) => a === "StopTask")).toHaveLength(op === "DescribeTasks" ? 1 : 0);
  }
}, 40_000);

for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
  test(
    `${signal} while the task is starting: StopTask received, exit ${code}`,
    async () => {
      const f = fake({ phaseMs: 5000 });
      const p = launch(f, ["--id", "w", "--db", join(tmp.path, "w.db")]);
      while (!f.actions().includes("DescribeTasks")) await Bun.sleep(50);
      p.kill(signal);
      const r = await finished(p);
      expect(r.code).toBe(code);
      const stop = f.calls.find((c) => c.action === "StopTask");
      expect(stop?.body.reason).toBe(`vat launch w: interrupted by ${signal} while starting`);
    },
    30_000,
  );

  test(
    `${signal} while measuring: summary stored, StopTask received, exit ${code}`,
    async () => {
      const f = fake();
      const db = join(tmp.path, `sig-${signal}.db`);
      const p = launch(f, ["--id", "s", "--size", "240p", "--db", db, "--json"]);
      while (!(await Bun.file(db).exists())) await Bun.sleep(100);
      await Bun.sleep(3000);
      p.kill(signal);
      const r = await finished(p);
      expect(r.code).toBe(code);
      expect(JSON.parse(r.stdout).summary.framesNew).toBeGreaterThan(25);
      expect(f.calls.find((c) => c.action === "StopTask")?.body.reason).toBe(`vat launch s: interrupted by ${signal}`);
      expect(await stoppedWithin([...f.tasks.values()][0]!, 3000)).toBe(0);
    },
    30_000,
  );
}

test("an invalid cpu/memory pair: one line naming the valid values, and no AWS request at all", async () => {
  const f = fake();
  const r = await finished(launch(f, ["--id", "x", "--cpu", "1024", "--memory", "1GB"]));
  expect(r.code).toBe(2);
  expect(r.stderr.trim()).toBe("vat: memory 1024 MiB does not go with cpu 1024 on Fargate: use 2GB, 3GB, 4GB, 5GB, 6GB, 7GB, 8GB");
  expect(f.calls).toEqual([]);
});

test(
  "three launches at once never mix up tasks, addresses or databases",
  async () => {
    const f = fake();
    const ids = ["alpha", "bravo", "charlie"];
    const results = await Promise.all(
      ids.map((id) => finished(launch(f, ["--id", id, "--size", "240p", "--fps", "15", "--duration", "5s", "--db", join(tmp.path, `${id}.db`), "--json"]))),
    );
    const ips = new Set<string>();
    for (const [i, r] of results.entries()) {
      expect(r.code).toBe(0);
      const out = JSON.parse(r.stdout);
      const task = f.tasks.get(out.launch.task)!;
      expect(task.env.ID).toBe(ids[i]!);
      expect(out.launch.url).toBe(`http://${task.ip}:${FAKE_TASK_PORT}`);
      expect(out.streamId).toBe(ids[i]!);
      ips.add(task.ip);
      const d = openDb(join(tmp.path, `${ids[i]}.db`));
      expect((d.query("SELECT stream_id FROM runs").all() as { stream_id: string }[]).map((x) => x.stream_id)).toEqual([ids[i]!]);
      d.close();
      const stop = f.calls.find((c) => c.action === "StopTask" && c.body.task === out.launch.task);
      expect(stop?.body.reason).toBe(`vat launch ${ids[i]}: done`);
    }
    expect(ips.size).toBe(3);
  },
  60_000,
);

test("list, stop --id and cleanup act only on vat's own tasks", async () => {
  const f = fake();
  const old = f.seedTask("vat:old", 30 * 3600_000); // as versions before the "vat/" prefix named them
  const fresh = f.seedTask("vat/fresh", 50 * 60_000);
  const foreign = f.seedTask("someone-else", 90 * 3600_000);
  const run = async (args: string[]) => finished(launch(f, args));

  const list = await run(["list"]);
  expect(list.code).toBe(0);
  expect(list.stdout).toMatch(/^id +task +status +age +cpu +memory$/m);
  expect(list.stdout).toMatch(new RegExp(`^old +${old.id} +RUNNING +30\\.0 h +512 +1024$`, "m"));
  expect(list.stdout).toMatch(new RegExp(`^fresh +${fresh.id} +RUNNING +50 min`, "m"));
  expect(list.stdout).not.toContain(foreign.id);

  const dry = await run(["cleanup", "--older-than", "24h", "--dry-run", "--json"]);
  expect(dry.code).toBe(0);
  expect(JSON.parse(dry.stdout).tasks.map((t: { id: string }) => t.id)).toEqual(["old"]);
  expect(f.actions()).not.toContain("StopTask");

  const clean = await run(["cleanup", "--older-than", "24h"]);
  expect(clean.code).toBe(0);
  expect(clean.stdout).toContain("1 task (stopped)");
  expect(f.calls.filter((c) => c.action === "StopTask").map((c) => [c.body.task, c.body.reason])).toEqual([
    [old.arn, "vat launch cleanup: older than 24h"],
  ]);

  const stop = await run(["stop", "--id", "fresh"]);
  expect(stop.code).toBe(0);
  expect(f.calls.filter((c) => c.action === "StopTask").at(-1)!.body).toMatchObject({ task: fresh.arn, reason: "vat launch stop" });
  expect(f.calls.find((c) => c.action === "ListTasks" && c.body.startedBy === "vat/fresh")).toBeDefined();

  const none = await run(["stop", "--id", "nope"]);
  expect(none.code).toBe(1);
  expect(none.stderr.trim()).toBe("vat: no running task has the id 'nope'");
  expect(f.calls.filter((c) => c.action === "StopTask").map((c) => c.body.task)).not.toContain(foreign.arn);
}, 30_000);

test("when even StopTask is refused: the original cause is reported, and how to stop the task later", async () => {
  const f = fake({ accessDenied: ["DescribeTasks", "StopTask"] });
  const r = await finished(launch(f, ["--id", "a", "--db", join(tmp.path, "a2.db")]));
  expect(r.code).toBe(1);
  expect(r.stderr.trim().split("\n").at(-1)).toMatch(/^vat: AWS refused DescribeTasks: access denied/);
  expect(r.stderr).toMatch(/COULD NOT STOP task arn:aws:ecs:\S+: AWS refused StopTask: access denied.*; stop it with: vat launch stop --id a/);
});

test("every request vat sends passes the documented AWS rules, with the longest id allowed", async () => {
  const f = fake();
  const id = "a".repeat(16) + "_B-" + "9".repeat(13); // 32 characters, the most a launch id may have
  const r = await finished(launch(f, ["--id", id, "--size", "240p", "--duration", "2s", "--db", join(tmp.path, "long.db")]));
  expect(r.code).toBe(0);
  const run = f.calls.find((c) => c.action === "RunTask")!.body;
  expect(run.startedBy).toBe(`vat/${id}`);
  expect(run.tags).toEqual([{ key: "vat:id", value: id }]);
  expect(run.clientToken).toMatch(/^.{1,64}$/);
  expect(f.calls.filter((c) => c.action === "StopTask")).toHaveLength(1);
}, 30_000);

test("ids that cannot name a task, a bad --stack and a database that cannot be written: exit 2, no AWS request", async () => {
  const f = fake();
  for (const [args, message] of [
    [["--id", "v1.2"], /launch id 'v1.2' is not valid: use 1-32 letters, digits, '_' or '-'/],
    [["--id", "x", "--stack", ""], /stack name '' is not valid: use the CloudFormation stack's name/],
    [["--id", "x", "--stack", "1st stack"], /stack name '1st stack' is not valid/],
    [["--id", "x", "--db", tmp.path], /cannot use database '.*': it is a folder/],
    [["list", "--stack", ""], /stack name '' is not valid/],
    [["stop", "--id", "a.b"], /launch id 'a.b' is not valid/],
  ] as const) {
    const r = await finished(launch(f, [...args]));
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  }
  expect(f.calls).toEqual([]);
});

test(
  "a RUNNING task whose ENI is unknown at first, then has no public IP yet: asked again until it has one",
  async () => {
    const f = fake({ eniUnknownCalls: 2, publicIpFromCall: 3 });
    const r = await finished(launch(f, ["--id", "eni", "--size", "240p", "--duration", "2s", "--db", join(tmp.path, "eni.db"), "--json"]));
    expect(r.code).toBe(0);
    const task = [...f.tasks.values()][0]!;
    expect(JSON.parse(r.stdout).launch.url).toBe(`http://${task.ip}:${FAKE_TASK_PORT}`);
    expect(f.actions().filter((a) => a === "DescribeNetworkInterfaces")).toHaveLength(5); // 2 unknown, 2 without IP, 1 with
    expect(f.calls.find((c) => c.action === "StopTask")?.body.reason).toBe("vat launch eni: done");
  },
  60_000,
);

test(
  "an ENI that never gets a public IP: a bounded wait, the reason, the task stopped, exit 1",
  async () => {
    const f = fake({ noPublicIp: true });
    const t0 = performance.now();
    const r = await finished(launch(f, ["--id", "nip", "--start-timeout", "6s", "--db", join(tmp.path, "nip.db")]));
    expect(r.code).toBe(1);
    expect(performance.now() - t0).toBeLessThan(20_000);
    expect(r.stderr.trim().split("\n").at(-1)).toMatch(/^vat: task \S+ has no public IP after \d+ s: its subnets must have an internet gateway/);
    expect(f.actions().filter((a) => a === "DescribeNetworkInterfaces").length).toBeGreaterThan(2);
    expect(f.calls.filter((c) => c.action === "StopTask")).toHaveLength(1);
  },
  30_000,
);

test(
  "throttling: every 2nd call, and a burst of DescribeTasks beyond the SDK's own retries, do not end the launch",
  async () => {
    const f = fake({
      throttle: { actions: ["RunTask", "DescribeTasks", "DescribeNetworkInterfaces", "StopTask"], every: 2 },
      throttleBurst: { action: "DescribeTasks", count: 5 },
    });
    const r = await finished(launch(f, ["--id", "thr", "--size", "240p", "--duration", "2s", "--db", join(tmp.path, "thr.db"), "--json"]));
    expect(r.code).toBe(0);
    expect(f.tasks.size).toBe(1); // a retried RunTask started no second task
    const stops = f.calls.filter((c) => c.action === "StopTask");
    expect(stops.at(-1)!.body.reason).toBe("vat launch thr: done");
    expect(await stoppedWithin([...f.tasks.values()][0]!, 3000)).toBe(0);
  },
  60_000,
);

test("cleanup --older-than 0s stops all of vat's tasks, and only vat's", async () => {
  const f = fake();
  const a = f.seedTask("vat/a", 0);
  const b = f.seedTask("vat:b", 5 * 60_000);
  const foreign = f.seedTask("someone-else", 0);
  const r = await finished(launch(f, ["cleanup", "--older-than", "0s", "--json"]));
  expect(r.code).toBe(0);
  expect(JSON.parse(r.stdout).tasks.map((t: { id: string }) => t.id).sort()).toEqual(["a", "b"]);
  expect(f.calls.filter((c) => c.action === "StopTask").map((c) => c.body.task).sort()).toEqual([a.arn, b.arn].sort());
  expect(f.calls.filter((c) => c.action === "StopTask").map((c) => c.body.task)).not.toContain(foreign.arn);
  const negative = await finished(launch(f, ["cleanup", "--older-than", "-1s"]));
  expect(negative.code).toBe(2);
});

test(
  "a DescribeTasks that never answers is given up on and asked again, not waited for forever",
  async () => {
    const f = fake({ hangOnce: ["DescribeTasks"] });
    const r = await finished(launch(f, ["--id", "hang", "--size", "240p", "--duration", "2s", "--db", join(tmp.path, "hang.db")]));
    expect(r.code).toBe(0);
    expect(f.actions()[2]).toBe("DescribeTasks (hung)");
    expect(f.calls.find((c) => c.action === "StopTask")?.body.reason).toBe("vat launch hang: done");
  },
  40_000,
);

test("cleanup goes on past a task it cannot stop, then says which one, exit 1", async () => {
  const f = fake();
  const [a, b, c] = ["vat/a", "vat/b", "vat/c"].map((s) => f.seedTask(s, 48 * 3600_000));
  f.scenario.vanished = [b!.id];
  const r = await finished(launch(f, ["cleanup", "--json"]));
  expect(r.code).toBe(1);
  expect(f.calls.filter((x) => x.action === "StopTask").map((x) => x.body.task)).toEqual([a!.arn, b!.arn, c!.arn]);
  const out = JSON.parse(r.stdout);
  expect(out.tasks.map((t: { id: string }) => t.id)).toEqual(["a", "c"]);
  expect(out.notStopped).toEqual([{ task: b!.id, error: expect.stringContaining("The referenced task was not found") }]);
  expect(r.stderr.trim().split("\n").at(-1)).toMatch(new RegExp(`^vat: could not stop 1 of 3 tasks \\(${b!.id}: StopTask failed: InvalidParameterException`));
});

test("a stack whose ContainerPort is not a port: said so, before any task is started", async () => {
  const f = fake({ stackOutputs: { ContainerPort: "http" } });
  const r = await finished(launch(f, ["--id", "p", "--db", join(tmp.path, "p.db")]));
  expect(r.code).toBe(1);
  expect(r.stderr.trim()).toBe("vat: stack 'streaming' has ContainerPort 'http', which is not a port (1-65535): is it infra/fargate_cluster.yaml?");
  expect(f.actions()).toEqual(["DescribeStacks"]);
});
