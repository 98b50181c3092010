import type { Argv } from "yargs";
import { readEnv } from "../env.ts";
import { badInput } from "../errors.ts";
import { locateFfmpeg } from "../ffmpeg.ts";
import { checkWritable, writeFileAtomic } from "../files.ts";
import { DEFAULT_SWEEP, expandSweep, formatSweepLine, parseSweepSpec, type SweepFormat } from "../launch/sweep.ts";
import { Progress } from "../log.ts";
import { sidecarPath } from "../prerecorded/sidecar.ts";
import { renderVideo, type RenderProgress } from "../prerecorded/video.ts";
import { checkX264 } from "../serve/x264.ts";
import { parseFps, parseSize, parseStreamId } from "../signal/profiles.ts";
import type { Shutdown } from "../shutdown.ts";
import { parseDurationMs } from "../units.ts";

export interface GenerateArgs {
  what?: string;
  sizes?: string;
  size?: string;
  fps?: string;
  cpuMemory?: string[];
  providers?: string;
  format?: string;
  output?: string;
  duration?: string;
  id?: string;
  preset?: string;
  crf?: number;
  keyframeInterval?: number;
}

export function generateOptions<T>(y: Argv<T>) {
  return y
    .positional("what", { type: "string", choices: ["sweep", "video"], describe: "what to generate" })
    .option("output", { alias: "o", type: "string", describe: "sweep: write here instead of standard output; video: the file (.mp4, .mkv, .mov, .ts)" })
    .option("fps", { type: "string", describe: `sweep: frame rates [default ${DEFAULT_SWEEP.fps}]; video: one rate, 1-60 [default 30]` })
    .option("sizes", { type: "string", describe: `sweep: image sizes [default ${DEFAULT_SWEEP.sizes}]` })
    .option("cpu-memory", {
      type: "string",
      array: true,
      describe: `sweep: CPU:MEMORY[,MEMORY…] groups, memory in MiB or GB [default ${DEFAULT_SWEEP.cpuMemory.join(" ")}]`,
    })
    .option("providers", { type: "string", describe: "sweep: providers files, comma-separated, each compared at every configuration (with --format vat)" })
    .option("format", { type: "string", choices: ["old", "vat"], default: "old", describe: "sweep: old = size index and memory in GB (slurm_wrapper.sh's); vat = 720p 30 512 1GB" })
    .option("size", { type: "string", describe: "video: 240p, 480p, 720p, 1080p or 0-3 [default 720p]" })
    .option("duration", { type: "string", describe: "video: length, e.g. 60s or 2m [default 60s]" })
    .option("id", { type: "string", describe: "video: signal id carried in every frame [default signal]" })
    .option("preset", { type: "string", describe: "video: x264 preset [default ultrafast, as vat serve]" })
    .option("crf", { type: "number", describe: "video: x264 constant rate factor, 0-51 [default 23]" })
    .option("keyframe-interval", { type: "number", describe: "video: seconds between keyframes = the HLS segment length it is served with [default 1]" })
    .example("vat generate sweep -o slurm_inputs.txt", "the default 60-line sweep")
    .example("vat generate sweep --sizes 720p,1080p --fps 30 --cpu-memory 1024:2GB,4GB 2048:4GB", "a smaller one")
    .example("vat generate video --size 720p --fps 30 --duration 60s -o signal.mp4", "a test video and signal.json");
}

export async function runGenerate(args: GenerateArgs, shutdown: Shutdown): Promise<number> {
  if (args.what === undefined) throw badInput("name what to generate: vat generate sweep or vat generate video (see vat generate --help)");
  return args.what === "video" ? generateVideo(args, shutdown) : generateSweep(args);
}

/** `vat generate sweep` writes one configuration a line (size, fps, cpu, memory, id), every pair checked first. */
function generateSweep(args: GenerateArgs): number {
  const videoOnly = (["size", "duration", "id", "preset", "crf", "keyframeInterval"] as const).filter((k) => args[k] !== undefined);
  if (videoOnly.length) {
    const flag = videoOnly[0]!.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    throw badInput(`--${flag} is for 'vat generate video'${flag === "size" ? ": use --sizes for a sweep" : ""}`);
  }
  if (args.output !== undefined) checkWritable(args.output, "the sweep's path (-o)");
  const spec = parseSweepSpec(args.sizes ?? DEFAULT_SWEEP.sizes, args.fps ?? DEFAULT_SWEEP.fps, args.cpuMemory ?? DEFAULT_SWEEP.cpuMemory, args.providers);
  const lines = expandSweep(spec);
  const text = `${lines.map((l) => formatSweepLine(l, (args.format ?? "old") as SweepFormat)).join("\n")}\n`;
  if (args.output === undefined) {
    process.stdout.write(text);
    return 0;
  }
  writeFileAtomic(args.output, text);
  process.stderr.write(`vat generate sweep: ${lines.length} configurations in ${args.output}\n`);
  return 0;
}

/** `vat generate video`: the test signal as a file plus its JSON description, with progress while it renders. */
async function generateVideo(args: GenerateArgs, shutdown: Shutdown): Promise<number> {
  if (!args.output) throw badInput("name the video to write: vat generate video -o signal.mp4");
  if (args.sizes !== undefined || args.cpuMemory !== undefined) throw badInput("--sizes and --cpu-memory are for 'vat generate sweep': use --size for a video");
  if (args.providers !== undefined) throw badInput("--providers is for 'vat generate sweep': a video compares no providers");
  checkWritable(args.output, "the video's path (-o)");
  const size = parseSize(args.size ?? "720p");
  const fps = parseFps(args.fps ?? 30);
  const durationS = parseDurationMs(args.duration ?? "60s", "duration") / 1000;
  const keyframeIntervalS = args.keyframeInterval ?? 1;
  if (!(keyframeIntervalS >= 0.5 && keyframeIntervalS <= 10)) {
    throw badInput(`keyframe interval '${keyframeIntervalS}' is out of range: use 0.5 to 10 seconds`);
  }
  const { preset, crf } = checkX264(args.preset ?? "ultrafast", args.crf ?? 23);
  const spec = {
    ffmpeg: locateFfmpeg(readEnv().ffmpeg),
    signalId: parseStreamId(args.id ?? "signal"),
    size,
    fps,
    durationS,
    keyframeIntervalS,
    preset,
    crf,
    output: args.output,
  };
  const progress = new Progress();
  const onProgress = (p: RenderProgress) => {
    const pct = ((100 * p.frames) / p.total).toFixed(0);
    const speed = p.elapsedMs > 0 ? ((p.frames / fps) / (p.elapsedMs / 1000)).toFixed(1) : "-";
    progress.update(`rendering ${args.output}: ${p.frames}/${p.total} frames (${pct}%), ${speed}x real time`, { final: p.frames === p.total });
  };
  let d;
  try {
    d = await renderVideo(spec, onProgress, () => shutdown.signal);
  } finally {
    progress.clear();
  }
  process.stderr.write(
    `vat generate video: ${args.output} (${d.size} ${d.fps} fps, ${d.frames} frames, ${d.durationS} s, ` +
      `${(d.bytes / 1e6).toFixed(1)} MB) and ${sidecarPath(args.output)}\n`,
  );
  return 0;
}
