import type { Argv } from "yargs";
import { readEnv } from "../env.ts";
import { badInput, failed } from "../errors.ts";
import { startFargateOrigin } from "../launch/fargate-origin.ts";
import { locateFfmpeg } from "../ffmpeg.ts";
import { startLocalOrigin, selfCommand } from "../launch/local.ts";
import { checkDatabasePath } from "../launch/database-path.ts";
import { parseLaunchId, parseOlderThanMs, parseStackName, planLaunch, serveEnvironment, type LaunchPlan } from "../launch/plan.ts";
import { isTerminal, logLine, Progress } from "../log.ts";
import type { Shutdown } from "../shutdown.ts";
import { SIZE_NAMES } from "../signal/profiles.ts";
import { parseDurationMs } from "../units.ts";
import type { TaskRow } from "../launch/fargate.ts";
import type { SessionResult } from "../client/session.ts";
import { exitCodeFor, measure, measureOptions, printResult, resolveClientConfig, type ClientArgs } from "./client.ts";

export interface LaunchCommandArgs extends ClientArgs {
  id?: string;
  fps?: number;
  imageSize?: string;
  cpu?: string;
  memory?: string;
  videoType?: string;
  local?: boolean;
  stack?: string;
  region?: string;
  startTimeout?: string;
  action?: string;
  olderThan?: string;
  dryRun?: boolean;
}

export function launchOptions<T>(y: Argv<T>) {
  return measureOptions(
    y
      .positional("action", {
        type: "string",
        choices: ["list", "stop", "cleanup"],
        describe: "list vat's tasks, stop those of --id, or clean up old ones (default: launch and measure)",
      })
      .option("older-than", { type: "string", default: "24h", describe: "cleanup: stop vat tasks older than this" })
      .option("dry-run", { type: "boolean", default: false, describe: "cleanup: only list what would be stopped" })
      .option("id", { type: "string", describe: "run id: names the task and is carried in every frame" })
      .option("local", { type: "boolean", default: false, describe: "run the server on this machine, no cloud" })
      .option("fps", { type: "number", describe: "frames per second, 1-60 [default 30]" })
      .option("image-size", { alias: "size", type: "string", describe: `${SIZE_NAMES.join(", ")} or 0-3 [default 720p]` })
      .option("cpu", { type: "string", describe: "Fargate CPU units (256 … 16384), with --memory" })
      .option("memory", { type: "string", describe: "task memory in MiB, or GB (2GB, or a bare number below 256)" })
      .option("video-type", { type: "string", describe: "live, or prerecorded (the server renders a test video and loops it) [default live]" })
      .option("stack", { type: "string", default: "streaming", describe: "CloudFormation stack of infra/fargate_cluster.yaml" })
      .option("region", { type: "string", describe: "AWS region [default: the SDK's chain, e.g. AWS_REGION]" })
      .option("start-timeout", { type: "string", default: "5m", describe: "how long the server may take to go live" }),
  )
    .example("vat launch --local --id demo --duration 20s", "serve and measure on this machine for 20 s")
    .example("vat launch --id test1 --size 480p --fps 25 --cpu 512 --memory 1GB --duration 10m", "on AWS Fargate")
    .example("vat launch cleanup --older-than 12h --dry-run", "which forgotten tasks would be stopped");
}

interface StartedOrigin {
  url: string;
  backend: "local" | "fargate";
  task?: string;
  stop(reason: string): Promise<void>;
}

/**
 * Starts a server, waits until its stream is live, measures it, and always stops it, with a reason: after success,
 * on any error, on Ctrl-C and on SIGTERM (Slurm's time limit). Everything is validated before anything starts.
 */
export async function runLaunch(args: LaunchCommandArgs, shutdown: Shutdown): Promise<number> {
  if (args.action) return runTaskAdmin(args.action, args);
  const plan = planLaunch(args);
  const stackName = parseStackName(args.stack ?? "streaming");
  const startTimeoutMs = parseDurationMs(args.startTimeout ?? "5m", "start timeout");
  const ffmpeg = locateFfmpeg(readEnv().ffmpeg);
  checkDatabasePath(resolveClientConfig({ ...args, url: "http://127.0.0.1" }, ffmpeg).db);
  const progress = new Progress({ terminal: isTerminal() && !args.json });
  const tty = progress.onTerminal;
  const onWaiting = (reason: string, elapsedMs: number) => {
    // Log lines only when the reason changes, not its counters.
    progress.update(`waiting for the stream (${(elapsedMs / 1000).toFixed(1)} s): ${reason}`, { key: reason.replace(/\d+(\.\d+)?/g, "#") });
  };
  const origin = args.local
    ? await startLocal(plan, startTimeoutMs, shutdown, tty, onWaiting)
    : await startFargate(plan, stackName, args.region, startTimeoutMs, shutdown, onWaiting);
  let reason = `vat launch ${plan.id}: failed`;
  try {
    progress.info(`vat launch: stream live at ${origin.url}, measuring`);
    const cfg = resolveClientConfig({ ...args, url: origin.url }, ffmpeg);
    const print = (result: SessionResult) =>
      printResult(result, args.json ?? false, `vat launch ${plan.id}`, {
        launch: { id: plan.id, backend: origin.backend, url: origin.url, ...(origin.task ? { task: origin.task } : {}) },
      });
    print(await measure(cfg, shutdown, args.json ?? false, print));
    reason = shutdown.signal ? `vat launch ${plan.id}: interrupted by ${shutdown.signal}` : `vat launch ${plan.id}: done`;
    return exitCodeFor(shutdown);
  } catch (err) {
    reason = `vat launch ${plan.id}: ${(err as Error).message}`;
    throw err;
  } finally {
    await origin.stop(reason);
  }
}

async function startLocal(
  plan: LaunchPlan,
  startTimeoutMs: number,
  shutdown: Shutdown,
  tty: boolean,
  onWaiting: (reason: string, elapsedMs: number) => void,
): Promise<StartedOrigin> {
  logLine(`vat launch: starting vat serve locally (${plan.size.name} ${plan.fps} fps, id ${plan.id})`);
  const local = await startLocalOrigin({
    self: selfCommand(),
    env: serveEnvironment(plan),
    startTimeoutMs,
    cancelled: () => shutdown.signal,
    onServerLine: (line) => {
      if (!tty) process.stderr.write(`serve | ${line}\n`);
    },
    onWaiting,
  });
  return {
    url: local.url,
    backend: "local",
    async stop() {
      await local.stop();
      logLine("vat launch: server stopped");
    },
  };
}

async function startFargate(
  plan: LaunchPlan,
  stackName: string,
  region: string | undefined,
  startTimeoutMs: number,
  shutdown: Shutdown,
  onWaiting: (reason: string, elapsedMs: number) => void,
): Promise<StartedOrigin> {
  const origin = await startFargateOrigin(plan, {
    region,
    stack: stackName,
    startTimeoutMs,
    cancelled: () => shutdown.signal,
    onWaiting,
    label: "vat launch",
  });
  return { ...origin, backend: "fargate" };
}

/** `vat launch list | stop --id X | cleanup --older-than D [--dry-run]`: the tasks vat started in the stack's cluster. */
async function runTaskAdmin(action: string, args: LaunchCommandArgs): Promise<number> {
  if (args.local) throw badInput(`'vat launch ${action}' is for Fargate tasks; a --local server stops with its launch`);
  if (action === "stop" && args.id === undefined) throw badInput("name the run to stop with --id");
  if (action === "stop") parseLaunchId(args.id!);
  const olderThanMs = parseOlderThanMs(args.olderThan ?? "24h");
  const stackName = parseStackName(args.stack ?? "streaming");
  const aws = await import("../launch/fargate.ts");
  const clients = aws.awsClients(args.region);
  const stack = await aws.describeStack(clients, stackName);
  const now = Date.now();
  const rows = (await aws.listVatTasks(clients, stack, action === "stop" ? args.id : undefined)).map((t) => aws.taskRow(t, now));
  const chosen = action === "list" ? rows : action === "stop" ? rows.filter((r) => r.id === args.id) : aws.selectForCleanup(rows, olderThanMs, now);
  if (action === "stop" && chosen.length === 0) throw failed(`no running task has the id '${args.id}'`);
  const stopping = action !== "list" && !args.dryRun;
  // One task that cannot be stopped must not leave the others running: try each, then say which failed.
  const notStopped: { task: string; error: string }[] = [];
  if (stopping) {
    const reason = action === "stop" ? "vat launch stop" : `vat launch cleanup: older than ${args.olderThan ?? "24h"}`;
    for (const r of chosen) {
      try {
        await aws.stopTask(clients, stack, r.arn, reason);
      } catch (err) {
        notStopped.push({ task: r.task, error: (err as Error).message });
      }
    }
  }
  const done = chosen.filter((r) => !notStopped.some((n) => n.task === r.task));
  if (args.json) {
    process.stdout.write(
      `${JSON.stringify({ action, dryRun: args.dryRun ?? false, tasks: done, ...(notStopped.length ? { notStopped } : {}) }, null, 2)}\n`,
    );
  } else {
    const verb = action === "list" ? "" : stopping ? " (stopped)" : " (would stop)";
    process.stdout.write(formatTasks(done, verb));
  }
  if (notStopped.length) {
    const which = notStopped.map((n) => `${n.task}: ${n.error}`).join("; ");
    throw failed(`could not stop ${notStopped.length} of ${chosen.length} tasks (${which}); run the same command again`);
  }
  return 0;
}

function formatTasks(rows: TaskRow[], verb: string): string {
  if (rows.length === 0) return "no vat tasks\n";
  const age = (s: number | null) => (s === null ? "-" : s < 3600 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`);
  const table = [
    ["id", "task", "status", "age", "cpu", "memory"],
    ...rows.map((r) => [r.id, r.task, r.status, age(r.ageS), r.cpu ?? "-", r.memory ?? "-"]),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  const lines = table.map((row) => row.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd());
  return `${lines.join("\n")}\n${verb ? `${rows.length} task${rows.length === 1 ? "" : "s"}${verb}\n` : ""}`;
}
