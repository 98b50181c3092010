import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { freePort, eventually } from "./vat.ts";

/**
 * A real single-node Slurm cluster on loopback, from Debian's slurm-wlm and munge: its own munge key and socket, its
 * own ports, state and logs in one folder, so it neither needs nor disturbs a system Slurm. Needs root (slurmd runs
 * jobs as their user), as the machines vat's tests run on give.
 */
export interface Slurm {
  /** Environment for sbatch/squeue/scancel (SLURM_CONF). */
  env: Record<string, string>;
  run(cmd: string[], extraEnv?: Record<string, string>): { code: number; stdout: string; stderr: string };
  /** Resolves when the job (all of an array's tasks) has left the queue. */
  waitGone(jobId: string, timeoutMs: number): Promise<void>;
  stop(): void;
}

function need(cmd: string): string {
  const r = spawnSync("sh", ["-c", `command -v ${cmd}`]);
  const path = r.stdout.toString().trim();
  if (!path) throw new Error(`${cmd} is missing: install Debian's slurm-wlm and munge (install.sh does)`);
  return path;
}

function pidFrom(file: string): number | null {
  try {
    return Number(readFileSync(file, "utf8").trim()) || null;
  } catch {
    return null;
  }
}

export async function startSlurm(dir: string): Promise<Slurm> {
  for (const c of ["munged", "mungekey", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "runuser"]) need(c);
  if (process.getuid?.() !== 0) throw new Error("the Slurm test runs slurmd, which needs root");
  const host = spawnSync("hostname", ["-s"]).stdout.toString().trim();
  const munge = join(dir, "munge");
  for (const d of ["state", "spool", "log", "munge"]) mkdirSync(join(dir, d), { recursive: true });
  const mungeUid = Number(spawnSync("id", ["-u", "munge"]).stdout.toString().trim());
  const mungeGid = Number(spawnSync("id", ["-g", "munge"]).stdout.toString().trim());
  chownSync(munge, mungeUid, mungeGid);
  // munged runs as its own user: it must be able to pass through the (private) temporary folders to its own.
  for (const d of [dirname(dir), dir]) chmodSync(d, 0o711);
  const socket = join(munge, "munge.socket");
  const asMunge = (args: string[]) => spawnSync("runuser", ["-u", "munge", "--", ...args]);
  const key = asMunge(["mungekey", "--create", "--keyfile", join(munge, "munge.key")]);
  if (key.status !== 0) throw new Error(`mungekey failed: ${key.stderr}`);
  const m = asMunge([
    "munged", `--socket=${socket}`, `--key-file=${join(munge, "munge.key")}`, `--pid-file=${join(munge, "munged.pid")}`,
    `--log-file=${join(munge, "munged.log")}`, `--seed-file=${join(munge, "seed")}`, "--num-threads=10",
  ]);
  if (m.status !== 0) throw new Error(`munged failed: ${m.stderr}`);
  const conf = join(dir, "slurm.conf");
  writeFileSync(
    conf,
    [
      "ClusterName=vattest",
      `SlurmctldHost=${host}(127.0.0.1)`,
      `SlurmctldPort=${freePort()}`,
      `SlurmdPort=${freePort()}`,
      "SlurmUser=root",
      "SlurmdUser=root",
      "AuthType=auth/munge",
      "CredType=cred/munge",
      `AuthInfo=socket=${socket}`,
      "ProctrackType=proctrack/linuxproc",
      "TaskPlugin=task/none",
      "JobAcctGatherType=jobacct_gather/none",
      "AccountingStorageType=accounting_storage/none",
      "SchedulerType=sched/builtin",
      "SelectType=select/cons_tres",
      "SelectTypeParameters=CR_Core",
      "MpiDefault=none",
      "ReturnToService=2",
      // The time Slurm gives a job between SIGTERM and SIGKILL (scancel, time limit); its default is 30 s.
      "KillWait=20",
      `StateSaveLocation=${join(dir, "state")}`,
      `SlurmdSpoolDir=${join(dir, "spool")}`,
      `SlurmctldPidFile=${join(dir, "slurmctld.pid")}`,
      `SlurmdPidFile=${join(dir, "slurmd.pid")}`,
      `SlurmctldLogFile=${join(dir, "log", "slurmctld.log")}`,
      `SlurmdLogFile=${join(dir, "log", "slurmd.log")}`,
      `NodeName=${host} NodeAddr=127.0.0.1 CPUs=${navigator.hardwareConcurrency} State=UNKNOWN`,
      // Every test job is light (vat launch waits on the network): let them share the node's cores.
      "PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:20",
      "",
    ].join("\n"),
  );
  const env = { SLURM_CONF: conf };
  const run = (cmd: string[], extraEnv: Record<string, string> = {}) => {
    const r = spawnSync(cmd[0]!, cmd.slice(1), { env: { ...process.env, ...env, ...extraEnv } });
    return { code: r.status ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
  };
  const stop = () => {
    for (const f of [join(dir, "slurmd.pid"), join(dir, "slurmctld.pid"), join(munge, "munged.pid")]) {
      const pid = pidFrom(f);
      if (pid) {
        try {
          process.kill(pid, "SIGTERM");
        } catch {
          // already gone
        }
      }
    }
  };
  try {
    for (const daemon of ["slurmctld", "slurmd"]) {
      const r = run([daemon, "-f", conf]);
      if (r.code !== 0) throw new Error(`${daemon} did not start: ${r.stderr}`);
    }
    await eventually(
      async () => run(["sinfo", "-h", "-o", "%T"]).stdout.trim(),
      (state) => state === "idle",
      20_000,
      250,
    ).catch(() => {
      const logs = ["slurmctld.log", "slurmd.log"].map((f) => (existsSync(join(dir, "log", f)) ? readFileSync(join(dir, "log", f), "utf8").slice(-2000) : ""));
      throw new Error(`the Slurm node did not become idle:\n${logs.join("\n")}`);
    });
  } catch (err) {
    stop();
    throw err;
  }
  return {
    env,
    run,
    stop,
    async waitGone(jobId, timeoutMs) {
      await eventually(async () => run(["squeue", "-h", "-j", jobId]).stdout.trim(), (out) => out === "", timeoutMs, 250);
    },
  };
}
