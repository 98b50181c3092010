import type { Argv } from "yargs";
import { readEnv } from "../env.ts";
import { CliError } from "../errors.ts";
import { locateFfmpeg } from "../ffmpeg.ts";
import { startLocalOrigin, selfCommand } from "../launch/local.ts";
import { planLaunch, serveEnvironment } from "../launch/plan.ts";
import { isTerminal, logLine } from "../log.ts";
import type { Shutdown } from "../shutdown.ts";
import { SIZE_NAMES } from "../signal/profiles.ts";
import { parseDurationMs } from "../units.ts";
import { exitCodeFor, measure, measureOptions, printResult, resolveClientConfig, type ClientArgs } from "./client.ts";

export interface LaunchCommandArgs extends ClientArgs {
  id?: string;
  fps?: number;
  imageSize?: string;
  cpu?: string;
  memory?: string;
  videoType?: string;
  local?: boolean;
  startTimeout?: string;
}

export function launchOptions<T>(y: Argv<T>) {
  return measureOptions(
    y
      .option("id", { type: "string", describe: "run id: names the server and is carried in every frame" })
      .option("local", { type: "boolean", default: false, describe: "run the server on this machine, no cloud" })
      .option("fps", { type: "number", describe: "frames per second, 1-60 [default 30]" })
      .option("image-size", { alias: "size", type: "string", describe: `${SIZE_NAMES.join(", ")} or 0-3 [default 720p]` })
      .option("cpu", { type: "string", describe: "Fargate CPU units (256 … 16384), with --memory" })
      .option("memory", { type: "string", describe: "task memory in MiB, or GB (2GB, or a bare number below 256)" })
      .option("video-type", { type: "string", describe: "live [default live]" })
      .option("start-timeout", { type: "string", default: "60s", describe: "how long the server may take to go live" }),
  ).example("vat launch --local --id demo --duration 20s", "serve and measure on this machine for 20 s");
}

/**
 * Starts a server, waits until its stream is live, measures it, and always stops it. `--local` runs `vat serve` as a
 * child process on loopback; the Fargate backend is not in this version.
 */
export async function runLaunch(args: LaunchCommandArgs, shutdown: Shutdown): Promise<number> {
  const plan = planLaunch(args);
  const startTimeoutMs = parseDurationMs(args.startTimeout ?? "60s", "start timeout");
  const ffmpeg = locateFfmpeg(readEnv().ffmpeg);
  // Every setting is checked before anything starts.
  resolveClientConfig({ ...args, url: "http://127.0.0.1" }, ffmpeg);
  if (!args.local) {
    throw new CliError("the Fargate backend of vat launch is not available in this version: use --local", 1);
  }
  const tty = isTerminal() && !args.json;
  logLine(`vat launch: starting vat serve locally (${plan.size.name} ${plan.fps} fps, id ${plan.id})`);
  let lastWait = "";
  const origin = await startLocalOrigin({
    self: selfCommand(),
    env: serveEnvironment(plan),
    startTimeoutMs,
    cancelled: () => shutdown.signal,
    onServerLine: (line) => {
      if (!tty) process.stderr.write(`serve | ${line}\n`);
    },
    onWaiting: (reason, elapsedMs) => {
      const line = `waiting for the stream (${(elapsedMs / 1000).toFixed(1)} s): ${reason}`;
      // Log lines only when the reason changes, not its counters.
      const kind = reason.replace(/\d+(\.\d+)?/g, "#");
      if (tty) process.stderr.write(`\r\x1b[2K${line}`);
      else if (kind !== lastWait) logLine(line);
      lastWait = kind;
    },
  });
  try {
    if (tty) process.stderr.write("\r\x1b[2K");
    logLine(`vat launch: stream live at ${origin.url}, measuring`);
    const cfg = resolveClientConfig({ ...args, url: origin.url }, ffmpeg);
    const result = await measure(cfg, shutdown, args.json ?? false);
    printResult(result, args.json ?? false, `vat launch ${plan.id}`, { launch: { id: plan.id, backend: "local", url: origin.url } });
    return exitCodeFor(shutdown);
  } finally {
    await origin.stop();
    logLine("vat launch: server stopped");
  }
}
