import { badInput } from "../errors.ts";
import { parseFps, parseSize, parseStreamId, SIZE_NAMES, type SizeProfile } from "../signal/profiles.ts";
import { parseDurationMs } from "../units.ts";

/** Fargate task sizes: CPU units → the memory values (MiB) allowed with them. Pure data. */
const FARGATE: Record<number, { from: number; to: number; step: number } | number[]> = {
  256: [512, 1024, 2048],
  512: { from: 1024, to: 4096, step: 1024 },
  1024: { from: 2048, to: 8192, step: 1024 },
  2048: { from: 4096, to: 16384, step: 1024 },
  4096: { from: 8192, to: 30720, step: 1024 },
  8192: { from: 16384, to: 61440, step: 4096 },
  16384: { from: 32768, to: 122880, step: 8192 },
};

export const FARGATE_CPUS = Object.keys(FARGATE).map(Number);

export function fargateMemoryFor(cpu: number): number[] {
  const rule = FARGATE[cpu];
  if (!rule) return [];
  if (Array.isArray(rule)) return rule;
  const out: number[] = [];
  for (let m = rule.from; m <= rule.to; m += rule.step) out.push(m);
  return out;
}

/** "2GB", "2 GiB", "512MiB", "2048" (MiB) or a bare number below 256, which is GB as in the old sweep file. Pure. */
export function parseMemoryMiB(input: string | number): number {
  const text = String(input).trim();
  const m = /^(\d+(?:\.\d+)?)\s*(gb|gib|g|mb|mib|m)?$/i.exec(text);
  if (!m) throw badInput(`memory '${input}' is not valid: use MiB (2048), or GB (2GB, or a bare number below 256)`);
  const n = Number(m[1]);
  const unit = (m[2] ?? "").toLowerCase();
  const mib = unit.startsWith("g") || (unit === "" && n < 256) ? n * 1024 : n;
  if (!Number.isInteger(mib) || mib <= 0) throw badInput(`memory '${input}' is not a whole number of MiB`);
  return mib;
}

function describeMemory(values: number[]): string {
  const gb = values.map((v) => (v % 1024 === 0 ? `${v / 1024}GB` : `${v}MiB`));
  return gb.length > 8 ? `${gb[0]} to ${gb.at(-1)} in steps of ${(values[1]! - values[0]!) / 1024}GB` : gb.join(", ");
}

/** Checks a cpu/memory pair against the Fargate table; the error names the memory values valid for that cpu. */
export function checkFargateSize(cpu: number, memoryMiB: number): void {
  const allowed = fargateMemoryFor(cpu);
  if (allowed.length === 0) throw badInput(`cpu '${cpu}' is not a Fargate size: use one of ${FARGATE_CPUS.join(", ")}`);
  if (!allowed.includes(memoryMiB)) {
    throw badInput(`memory ${memoryMiB} MiB does not go with cpu ${cpu} on Fargate: use ${describeMemory(allowed)}`);
  }
}

export interface LaunchPlan {
  id: string;
  size: SizeProfile;
  fps: number;
  cpu: number | null;
  memoryMiB: number | null;
  videoType: "live" | "prerecorded";
}

export interface LaunchArgs {
  id?: string;
  fps?: number | string;
  imageSize?: string;
  cpu?: number | string;
  memory?: number | string;
  videoType?: string;
}

/** Everything checked before anything starts. Pure. */
export function planLaunch(a: LaunchArgs): LaunchPlan {
  if (a.id === undefined) throw badInput("give the run an id with --id (it names the task and is carried in every frame)");
  const id = parseLaunchId(a.id);
  const size = parseSize(a.imageSize ?? "720p");
  const fps = parseFps(a.fps ?? 30);
  const videoType = (a.videoType ?? "live").toLowerCase();
  if (videoType !== "live" && videoType !== "prerecorded") {
    throw badInput(`unknown video type '${a.videoType}': use live or prerecorded`);
  }
  let cpu: number | null = null;
  let memoryMiB: number | null = null;
  if (a.cpu !== undefined || a.memory !== undefined) {
    if (a.cpu === undefined || a.memory === undefined) throw badInput("give --cpu and --memory together (a Fargate task size)");
    cpu = Number(a.cpu);
    if (!Number.isInteger(cpu)) throw badInput(`cpu '${a.cpu}' is not a Fargate size: use one of ${FARGATE_CPUS.join(", ")}`);
    memoryMiB = parseMemoryMiB(a.memory);
    checkFargateSize(cpu, memoryMiB);
  }
  return { id, size, fps, cpu, memoryMiB, videoType };
}

/**
 * A launch id is a stream id that can also name an ECS task: it goes into RunTask's startedBy as "vat/<id>", and ECS
 * allows there only up to 36 letters, numbers, '-', '/' and '_' (no '.'). Pure.
 */
export function parseLaunchId(input: string): string {
  const id = parseStreamId(input);
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(id)) {
    throw badInput(`launch id '${input}' is not valid: use 1-32 letters, digits, '_' or '-' (it names the ECS task)`);
  }
  return id;
}

/**
 * A CloudFormation stack name (a letter, then letters, digits and '-', at most 128) or a stack id (its ARN). An
 * empty name must never reach DescribeStacks: without a name it describes every stack in the account. Pure.
 */
export function parseStackName(input: string): string {
  const name = /^[A-Za-z][A-Za-z0-9-]{0,127}$/;
  const arn = /^arn:aws[a-z-]*:cloudformation:[a-z0-9-]+:\d{12}:stack\/[A-Za-z][A-Za-z0-9-]{0,127}\/\S+$/;
  if (!name.test(input) && !arn.test(input)) {
    throw badInput(
      `stack name '${input}' is not valid: use the CloudFormation stack's name (a letter, then letters, digits or '-', at most 128) or its ARN`,
    );
  }
  return input;
}

/** `cleanup --older-than`: a duration, where 0 means every one of vat's tasks. Pure. */
export function parseOlderThanMs(input: string): number {
  if (/^\s*0+(\.0+)?\s*(ms|s|m|min|h)?\s*$/i.test(input)) return 0;
  return parseDurationMs(input, "older than");
}

/** The environment `vat serve` reads, as the Fargate launcher sets it on the container. */
export function serveEnvironment(p: LaunchPlan): Record<string, string> {
  return {
    ID: p.id,
    FPS: String(p.fps),
    IMAGE_SIZE: String(SIZE_NAMES.indexOf(p.size.name)),
    VIDEO_TYPE: p.videoType.toUpperCase(),
    ...(p.cpu !== null ? { CPU: String(p.cpu) } : {}),
    ...(p.memoryMiB !== null ? { MEMORY: String(p.memoryMiB) } : {}),
  };
}
