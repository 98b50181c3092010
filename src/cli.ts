#!/usr/bin/env bun
import yargs from "yargs";
import { restartForLongRuns } from "./allocator.ts";
import { hideBin } from "yargs/helpers";
import { badInput, EXIT, exitCodeFor, VatError } from "./errors.ts";
import { killAllFfmpeg } from "./ffmpeg.ts";
import { listenForShutdown } from "./shutdown.ts";
import { VERSION } from "./version.ts";

/** The single exit point: commands return an exit code or throw; only this function prints errors and exits. */
async function main(argv: string[]): Promise<number> {
  const shutdown = listenForShutdown();
  let code: number = EXIT.ok;
  try {
    await yargs(argv)
      .scriptName("vat")
      .usage("vat, the video analysis tool: how a live video stream really arrives\n\nUsage: vat <command> [options]")
      .version(VERSION)
      .strict()
      .demandCommand(1, "name a command: serve, client, launch, compare, generate or report (see vat --help)")
      .recommendCommands()
      .command(
        "serve",
        "serve the test signal (a QR code in every frame) as HLS: live, or a prerecorded video in a loop; --push to ingests",
        async (y) => (await import("./commands/serve.ts")).serveOptions(y),
        async (args) => {
          code = await (await import("./commands/serve.ts")).runServe(args, shutdown);
        },
      )
      .command(
        "client",
        "pull streams, read every frame's code: latency, fps, drops, stalls, quality, against a control; into SQLite",
        async (y) => (await import("./commands/client.ts")).clientOptions(y),
        async (args) => {
          code = await (await import("./commands/client.ts")).runClient(args, shutdown);
        },
      )
      .command(
        "launch [action]",
        "start a server on AWS Fargate (or --local), measure it, always stop it; list, stop or clean up tasks",
        async (y) => (await import("./commands/launch.ts")).launchOptions(y),
        async (args) => {
          code = await (await import("./commands/launch.ts")).runLaunch(args, shutdown);
        },
      )
      .command(
        "compare [providers-file]",
        "push the origin's one encode to every provider's ingest, measure each playback against the origin, rank them",
        async (y) => (await import("./commands/compare.ts")).compareOptions(y),
        async (args) => {
          code = await (await import("./commands/compare.ts")).runCompare(args, shutdown);
        },
      )
      .command(
        "health",
        "ask a vat server whether its stream is live (exit 0) or not (exit 1, with the reason)",
        async (y) => (await import("./commands/health.ts")).healthOptions(y),
        async (args) => {
          code = await (await import("./commands/health.ts")).runHealth(args);
        },
      )
      .command(
        "generate [what]",
        "make prerecorded test videos, or parameter sweeps for Slurm",
        async (y) => (await import("./commands/generate.ts")).generateOptions(y),
        async (args) => {
          code = await (await import("./commands/generate.ts")).runGenerate(args, shutdown);
        },
      )
      .command(
        "report [paths..]",
        "compare runs, sweeps and providers: one HTML report with charts and cost, and CSV/JSON",
        async (y) => (await import("./commands/report.ts")).reportOptions(y),
        async (args) => {
          code = await (await import("./commands/report.ts")).runReport(args);
        },
      )
      .fail((msg, err) => {
        if (err) throw err;
        throw badInput(`${msg.replace(/\n+/g, " ")} (see vat --help)`);
      })
      .wrap(Math.min(110, process.stdout.columns || 100))
      .parseAsync();
  } catch (err) {
    if (err instanceof VatError) {
      process.stderr.write(`vat: ${err.message}\n`);
      code = exitCodeFor(err);
    } else {
      process.stderr.write(`vat: unexpected error: ${(err as Error)?.stack ?? String(err)}\n`);
      code = EXIT.failure;
    }
  } finally {
    killAllFfmpeg();
    shutdown.dispose();
  }
  return code;
}

restartForLongRuns();
process.exitCode = await main(hideBin(process.argv));
process.exit(process.exitCode);
