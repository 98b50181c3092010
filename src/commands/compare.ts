import type { Argv } from "yargs";
import { readFileSync } from "node:fs";
import { readEnv } from "../env.ts";
import { badInput } from "../errors.ts";
import { locateFfmpeg } from "../ffmpeg.ts";
import { checkDatabasePath } from "../launch/database-path.ts";
import { selfCommand } from "../launch/local.ts";
import { isTerminal, Progress } from "../log.ts";
import type { Shutdown } from "../shutdown.ts";
import { SIZE_NAMES } from "../signal/profiles.ts";
import { formatSummary } from "../client/summary-format.ts";
import { COMPARE_DEFAULTS, planComparison, type CompareArgs } from "../compare/plan.ts";
import { parseProvidersFile } from "../compare/providers.ts";
import { formatRanking, RANK_KEYS } from "../compare/ranking.ts";
import { runComparison, type CompareOutcome } from "../compare/run.ts";
import { exitCodeFor, measureOptions } from "./client.ts";

export function compareOptions<T>(y: Argv<T>) {
  return measureOptions(
    y
      .positional("providers-file", { type: "string", describe: "the providers: a .toml or .json file (see README)" })
      .option("local", { type: "boolean", default: false, describe: "run the origin on this machine (default: a Fargate task)" })
      .option("rank", { type: "string", default: COMPARE_DEFAULTS.rank, describe: `what the summary is ranked by: ${RANK_KEYS.join(", ")}` })
      .option("start-timeout", {
        type: "string",
        default: COMPARE_DEFAULTS.startTimeout,
        describe: "how long a provider's playback may take to carry the stream (its start_timeout wins)",
      })
      .option("fps", { type: "number", default: COMPARE_DEFAULTS.fps, describe: "frames per second of the origin, 1-60" })
      .option("image-size", { alias: "size", type: "string", default: COMPARE_DEFAULTS.imageSize, describe: SIZE_NAMES.join(", ") })
      .option("id", { type: "string", default: COMPARE_DEFAULTS.id, describe: "stream id carried in every frame" })
      .option("cpu", { type: "string", describe: "the origin's Fargate CPU units (256 … 16384), with --memory" })
      .option("memory", { type: "string", describe: "the origin's task memory in MiB, or GB (2GB)" })
      .option("stack", { type: "string", default: COMPARE_DEFAULTS.stack, describe: "CloudFormation stack of infra/fargate_cluster.yaml" })
      .option("region", { type: "string", describe: "AWS region [default: the SDK's chain, e.g. AWS_REGION]" }),
  )
    .example("vat compare providers.toml --local --duration 5m", "every provider against the origin for 5 minutes")
    .example("vat compare providers.toml --local --duration 2m --rank cost --json", "ranked by cost, as JSON")
    .example("vat compare providers.toml --cpu 1024 --memory 2GB --duration 10m", "the origin on AWS Fargate");
}

/**
 * `vat compare PROVIDERS_FILE`: everything is checked (the file, its environment variables, the options) before the
 * origin starts; then every provider is measured against the origin's own stream and the summary ranked.
 */
export async function runCompare(args: CompareArgs, shutdown: Shutdown): Promise<number> {
  const fileName = args.providersFile;
  if (!fileName) throw badInput("name the providers file: vat compare PROVIDERS_FILE [--local] (a .toml or .json file)");
  const file = parseProvidersFile(readProvidersText(fileName), fileName, process.env);
  const plan = planComparison(args, file, locateFfmpeg(readEnv().ffmpeg));
  checkDatabasePath(plan.measure.db);
  const json = args.json ?? false;
  const progress = new Progress({ terminal: isTerminal() && !json });
  const outcome = await runComparison(plan, { self: selfCommand(), cancelled: () => shutdown.signal, progress, verbose: !json });
  printOutcome(outcome, plan.rank, json);
  return exitCodeFor(shutdown);
}

function readProvidersText(fileName: string): string {
  try {
    return readFileSync(fileName, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a folder" : (err as Error).message;
    throw badInput(`cannot read the providers file '${fileName}': ${why}`);
  }
}

function printOutcome(o: CompareOutcome, rank: string, json: boolean): void {
  if (json) {
    const control = o.control && { result: o.control.result, error: o.control.error };
    process.stdout.write(`${JSON.stringify({ comparisonId: o.comparisonId, db: o.db, rank, origin: o.originUrl, control, providers: o.ranked }, null, 2)}\n`);
    return;
  }
  const lines = [`vat compare: comparison ${o.comparisonId} in ${o.db}`];
  if (o.control?.result) lines.push(`control (the origin's own stream): ${o.control.result.summary.framesDecoded} frames`, formatSummary(o.control.result));
  lines.push(formatRanking(o.ranked, rank as (typeof RANK_KEYS)[number]));
  process.stdout.write(`${lines.join("\n")}\n`);
}
