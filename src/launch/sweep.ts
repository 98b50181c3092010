import { badInput } from "../errors.ts";
import { parseFps, parseSize, parseStreamId, SIZE_NAMES, type SizeName } from "../signal/profiles.ts";
import { checkFargateSize, parseMemoryMiB } from "./plan.ts";

/** One configuration of a parameter sweep: one Slurm array task. */
export interface SweepLine {
  size: SizeName;
  fps: number;
  cpu: number;
  memoryMiB: number;
  id: string;
  /** A providers file: the line is a `vat compare` of those providers rather than a `vat launch`. */
  providers?: string;
}

export interface SweepSpec {
  sizes: SizeName[];
  fps: number[];
  /** cpu units → memory values (MiB) to try with it. */
  cpuMemory: [number, number[]][];
  /** Providers files, each compared at every configuration; empty: every line is a plain launch. */
  providers: string[];
}

/** The prototype's sweep: 4 sizes × 3 frame rates × 5 task sizes = 60 configurations. */
export const DEFAULT_SWEEP = {
  sizes: "240p,480p,720p,1080p",
  fps: "15,25,30",
  cpuMemory: ["512:1GB,2GB", "1024:2GB,3GB", "2048:4GB"],
};

/**
 * A comma-separated list of a sweep option, each value read by parse. Empty (no value at all, or an empty one between
 * commas) and repeated values are refused: either would make a sweep other than the one asked for. Pure.
 */
function parseList<T>(option: string, text: string, parse: (v: string) => T, key: (v: T) => string | number = String): T[] {
  const items = text.split(",").map((x) => x.trim());
  if (items.every((x) => x === "")) throw badInput(`${option} '${text}' names no value: give a comma-separated list, e.g. ${EXAMPLES[option]}`);
  if (items.includes("")) throw badInput(`${option} '${text}' has an empty value: give a comma-separated list, e.g. ${EXAMPLES[option]}`);
  const values = items.map(parse);
  const seen = new Map<string | number, string>();
  values.forEach((v, i) => {
    const k = key(v);
    if (seen.has(k)) throw badInput(`${option} '${text}' names ${items[i]} twice (as ${seen.get(k)}): give each value once`);
    seen.set(k, items[i]!);
  });
  return values;
}

const EXAMPLES: Record<string, string> = {
  "--sizes": "240p,720p",
  "--fps": "15,25,30",
  "--cpu-memory": "512:1GB,2GB",
  "--providers": "cdns.toml,ingest-b.json",
};

/**
 * A providers file as a sweep line names it: one field of a whitespace-separated line, a .toml or .json file (what
 * `vat compare` reads). A relative path is the sweep file's folder's. Pure: whether it exists is the wrapper's check.
 */
export function parseProvidersPath(text: string): string {
  if (!/^[^\s#]+\.(toml|json)$/i.test(text)) {
    throw badInput(`providers file '${text}' is not valid in a sweep: name a .toml or .json file, with no spaces and no '#'`);
  }
  return text;
}

/** "512:1GB,2GB" → [512, [1024, 2048]]; every pair checked against the Fargate table. Pure. */
export function parseCpuMemory(spec: string): [number, number[]] {
  const m = /^(\d+):(.*)$/.exec(spec.trim());
  if (!m) throw badInput(`cpu-memory '${spec}' is not valid: use CPU:MEMORY[,MEMORY…], e.g. 512:1GB,2GB`);
  const cpu = Number(m[1]);
  const memory = parseList("--cpu-memory", m[2]!, (v) => parseMemoryMiB(v), (mib) => mib);
  for (const mib of memory) checkFargateSize(cpu, mib);
  return [cpu, memory];
}

export function parseSweepSpec(sizes: string, fps: string, cpuMemory: string[], providers?: string): SweepSpec {
  if (cpuMemory.length === 0) throw badInput(`--cpu-memory names no task size: give CPU:MEMORY groups, e.g. ${DEFAULT_SWEEP.cpuMemory.join(" ")}`);
  const groups = cpuMemory.map(parseCpuMemory);
  const pairs = groups.flatMap(([cpu, memories]) => memories.map((mib) => `${cpu}:${mib % 1024 === 0 ? `${mib / 1024}GB` : `${mib}MiB`}`));
  const twice = pairs.find((p, i) => pairs.indexOf(p) !== i);
  if (twice !== undefined) throw badInput(`--cpu-memory names ${twice} twice: give each task size once`);
  return {
    sizes: parseList("--sizes", sizes, (s) => parseSize(s).name),
    fps: parseList("--fps", fps, (f) => parseFps(f), (f) => f),
    cpuMemory: groups,
    providers: providers === undefined ? [] : parseList("--providers", providers, parseProvidersPath),
  };
}

/**
 * Every combination, in the prototype's order (size, fps, cpu, memory, then providers file), ids task_0, task_1, …
 * Pure.
 */
export function expandSweep(spec: SweepSpec, idPrefix = "task_"): SweepLine[] {
  const out: SweepLine[] = [];
  for (const size of spec.sizes) {
    for (const fps of spec.fps) {
      for (const [cpu, memories] of spec.cpuMemory) {
        for (const memoryMiB of memories) {
          if (spec.providers.length === 0) out.push({ size, fps, cpu, memoryMiB, id: `${idPrefix}${out.length}` });
          for (const providers of spec.providers) out.push({ size, fps, cpu, memoryMiB, id: `${idPrefix}${out.length}`, providers });
        }
      }
    }
  }
  return out;
}

export type SweepFormat = "old" | "vat";

/**
 * "old": the prototype's `2 30 512 1 task_7` (size index, memory in GB), which its wrapper and notebooks read.
 * "vat": `720p 30 512 1GB task_7`, and a sixth field when the line compares providers: `… task_7 cdns.toml`. Pure.
 */
export function formatSweepLine(l: SweepLine, format: SweepFormat): string {
  const gb = l.memoryMiB / 1024;
  if (format === "old") {
    if (l.providers !== undefined) throw badInput("the old sweep format has no providers field: use --format vat to name a providers file");
    if (!Number.isInteger(gb)) throw badInput(`memory ${l.memoryMiB} MiB is not a whole number of GB: the old format cannot hold it (use --format vat)`);
    return `${SIZE_NAMES.indexOf(l.size)} ${l.fps} ${l.cpu} ${gb} ${l.id}`;
  }
  const base = `${l.size} ${l.fps} ${l.cpu} ${Number.isInteger(gb) ? `${gb}GB` : `${l.memoryMiB}MiB`} ${l.id}`;
  return l.providers === undefined ? base : `${base} ${l.providers}`;
}

/** Reads a line in either format; blank lines and # comments are not configurations. Pure. */
export function parseSweepLine(text: string, lineNumber = 0): SweepLine | null {
  const t = text.trim();
  if (!t || t.startsWith("#")) return null;
  const parts = t.split(/\s+/);
  const where = lineNumber ? `line ${lineNumber}: ` : "";
  if (parts.length !== 5 && parts.length !== 6) {
    throw badInput(`${where}'${t}' is not a sweep line: use SIZE FPS CPU MEMORY ID [PROVIDERS_FILE], e.g. 2 30 512 1 task_0`);
  }
  const [size, fps, cpu, memory, id, providers] = parts as [string, string, string, string, string, string | undefined];
  const line: SweepLine = { size: parseSize(size).name, fps: parseFps(fps), cpu: Number(cpu), memoryMiB: parseMemoryMiB(memory), id: parseStreamId(id) };
  checkFargateSize(line.cpu, line.memoryMiB);
  if (providers === undefined) return line;
  try {
    return { ...line, providers: parseProvidersPath(providers) };
  } catch (err) {
    throw badInput(`${where}${(err as Error).message}`);
  }
}

export function parseSweepFile(text: string): SweepLine[] {
  return text.split("\n").flatMap((l, i) => parseSweepLine(l, i + 1) ?? []);
}
