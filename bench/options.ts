import { parseArgs } from "node:util";
import { badInput } from "../src/errors.ts";
import { parseFps, parseSize, type SizeName } from "../src/signal/profiles.ts";

export const SECTIONS = ["client", "serve", "many", "formats"] as const;
export type Section = (typeof SECTIONS)[number];

export interface BenchOptions {
  /** Steady-state span measured for each figure. */
  seconds: number;
  /** Time given to each plain ffmpeg before its span starts (probing, the first segments, the decoder's start). */
  warmupS: number;
  /**
   * The same for each vat process. Its JavaScript is compiled to faster tiers as it runs: code that runs once a segment
   * or part (fetching, parsing, feeding the decoder) runs often enough for that only after tens of seconds: a 240p
   * client cost 0.027 CPU-s/s in its first 15 s and 0.018-0.020 from its second minute on (from /proc in 15 s
   * windows). The default measures a long run's cost; --vat-warmup 5 measures the first seconds.
   */
  vatWarmupS: number;
  sizes: SizeName[];
  fps: number;
  /** Stream counts tried by the many-streams section, fewest first. */
  streams: number[];
  only: Section[];
  json: boolean;
  /** The many-streams section measures every count, past the first that falls behind (how cost and memory scale). */
  keepGoing: boolean;
}

export const USAGE =
  "bun bench/serve-client.ts [--seconds 30] [--warmup 5] [--vat-warmup 60] [--sizes 1080p,720p,480p,240p] [--fps 30] " +
  "[--streams 1,2,4,8,12] [--keep-going] [--only client,serve,many,formats] [--json]";

function list(text: string): string[] {
  return text.split(",").map((s) => s.trim()).filter(Boolean);
}

function seconds(text: string, what: string, min: number): number {
  const v = Number(text);
  if (!Number.isFinite(v) || v < min || v > 3600) throw badInput(`${what} '${text}' is out of range: use ${min} to 3600 seconds`);
  return v;
}

/** The benchmark's options, every value checked before anything starts. Pure. */
export function parseBenchOptions(argv: string[]): BenchOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        seconds: { type: "string", default: "30" },
        warmup: { type: "string", default: "5" },
        "vat-warmup": { type: "string", default: "60" },
        sizes: { type: "string", default: "1080p,720p,480p,240p" },
        fps: { type: "string", default: "30" },
        streams: { type: "string", default: "1,2,4,8,12" },
        only: { type: "string", default: SECTIONS.join(",") },
        json: { type: "boolean", default: false },
        "keep-going": { type: "boolean", default: false },
      },
    }));
  } catch (err) {
    // node:util's messages run over several lines; the first says what is wrong.
    throw badInput(`${(err as Error).message.split(/\n|\. /)[0]}; usage: ${USAGE}`);
  }
  const sizes = list(values.sizes).map((s) => parseSize(s).name);
  if (sizes.length === 0) throw badInput("--sizes is empty: give e.g. 1080p,480p");
  const streams = list(values.streams).map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 1 || n > 64) throw badInput(`stream count '${s}' is not valid: use whole numbers from 1 to 64`);
    return n;
  });
  if (streams.length === 0) throw badInput("--streams is empty: give e.g. 1,2,4");
  if (streams.some((n, i) => i > 0 && n <= streams[i - 1]!)) throw badInput(`--streams '${values.streams}' must rise: e.g. 1,2,4,8,12`);
  const only = list(values.only).map((s) => {
    if (!(SECTIONS as readonly string[]).includes(s)) throw badInput(`unknown section '${s}': use ${SECTIONS.join(", ")}`);
    return s as Section;
  });
  if (only.length === 0) throw badInput(`--only is empty: use ${SECTIONS.join(", ")}`);
  return {
    seconds: seconds(values.seconds, "--seconds", 2),
    warmupS: seconds(values.warmup, "--warmup", 0),
    vatWarmupS: seconds(values["vat-warmup"], "--vat-warmup", 0),
    sizes,
    fps: parseFps(values.fps),
    streams,
    only,
    json: values.json,
    keepGoing: values["keep-going"],
  };
}
