import { renameSync, writeFileSync } from "node:fs";
import type { Argv } from "yargs";
import { CliError } from "../errors.ts";
import { DEFAULT_SWEEP, expandSweep, formatSweepLine, parseSweepSpec, type SweepFormat } from "../launch/sweep.ts";
import { VERSION } from "../version.ts";

export interface GenerateArgs {
  what?: string;
  sizes?: string;
  fps?: string;
  cpuMemory?: string[];
  format?: string;
  output?: string;
}

export function generateOptions<T>(y: Argv<T>) {
  return y
    .positional("what", { type: "string", choices: ["sweep", "video"], describe: "what to generate" })
    .option("sizes", { type: "string", default: DEFAULT_SWEEP.sizes, describe: "sweep: image sizes" })
    .option("fps", { type: "string", default: DEFAULT_SWEEP.fps, describe: "sweep: frame rates" })
    .option("cpu-memory", {
      type: "string",
      array: true,
      default: DEFAULT_SWEEP.cpuMemory,
      describe: "sweep: CPU:MEMORY[,MEMORY…] groups (memory in MiB or GB)",
    })
    .option("format", { type: "string", choices: ["old", "vat"], default: "old", describe: "sweep: old = size index and memory in GB (slurm_wrapper.sh's); vat = 720p 30 512 1GB" })
    .option("output", { alias: "o", type: "string", describe: "write here instead of standard output" })
    .example("vat generate sweep -o slurm_inputs.txt", "the default 60-line sweep")
    .example("vat generate sweep --sizes 720p,1080p --fps 30 --cpu-memory 1024:2GB,4GB 2048:4GB", "a smaller one");
}

/** `vat generate sweep` writes one configuration a line (size, fps, cpu, memory, id), every pair checked first. */
export async function runGenerate(args: GenerateArgs): Promise<number> {
  if (args.what === undefined) throw new CliError("name what to generate: vat generate sweep (see vat generate --help)");
  if (args.what !== "sweep") {
    throw new CliError(`'vat generate ${args.what}' is not available in this version of vat (${VERSION}): use 'vat generate sweep'`, 1);
  }
  const spec = parseSweepSpec(args.sizes ?? DEFAULT_SWEEP.sizes, args.fps ?? DEFAULT_SWEEP.fps, args.cpuMemory ?? DEFAULT_SWEEP.cpuMemory);
  const lines = expandSweep(spec);
  const text = `${lines.map((l) => formatSweepLine(l, (args.format ?? "old") as SweepFormat)).join("\n")}\n`;
  if (!args.output) {
    process.stdout.write(text);
    return 0;
  }
  // Written whole or not at all.
  const tmp = `${args.output}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, args.output);
  } catch (err) {
    throw new CliError(`cannot write '${args.output}': ${(err as Error).message}`, 1);
  }
  process.stderr.write(`vat generate sweep: ${lines.length} configurations in ${args.output}\n`);
  return 0;
}
