import { badInput } from "../errors.ts";
import type { ClientArgs } from "../commands/client.ts";
import { resolveClientConfig } from "../commands/client.ts";
import type { ClientConfig } from "../client/session.ts";
import { parseFps, parseSize, parseStreamId } from "../signal/profiles.ts";
import { parseDurationMs } from "../units.ts";
import { parseStackName, planLaunch, type LaunchPlan } from "../launch/plan.ts";
import type { Provider, ProvidersFile, ProviderUrl } from "./providers.ts";
import { DEFAULT_RANK, RANK_KEYS, type RankKey } from "./ranking.ts";

/** What `vat compare` is asked, beyond a measurement's own options. */
export interface CompareArgs extends ClientArgs {
  providersFile?: string;
  local?: boolean;
  rank?: string;
  fps?: number;
  imageSize?: string;
  id?: string;
  startTimeout?: string;
  cpu?: string;
  memory?: string;
  stack?: string;
  region?: string;
}

export const COMPARE_DEFAULTS = {
  rank: DEFAULT_RANK,
  fps: 30,
  imageSize: "720p",
  id: "compare",
  /** A provider's wait for its playback, unless its start_timeout says otherwise. */
  startTimeout: "60s",
  stack: "streaming",
} as const;

/** The origin on this machine answers within seconds or something is wrong with it. */
const LOCAL_ORIGIN_START_TIMEOUT_MS = 60_000;
/** A Fargate task is provisioned, pulls its image and goes live in a few minutes (as vat launch's --start-timeout). */
const FARGATE_ORIGIN_START_TIMEOUT_MS = 5 * 60_000;

/** Where the origin runs: this machine, or a Fargate task of the stack (its size and id as vat launch plans them). */
export type OriginPlan =
  | { backend: "local" }
  | { backend: "fargate"; launch: LaunchPlan; stack: string; region: string | undefined };

/** One playback of one provider: a stream of the comparison. */
export interface PlaybackStream {
  role: string;
  provider: Provider;
  playback: ProviderUrl;
  /** Index of the provider (its ingest is the push of the same index). */
  providerIndex: number;
  startTimeoutMs: number;
}

export interface ComparePlan {
  file: string;
  providers: Provider[];
  streams: PlaybackStream[];
  /** The measurement's settings; each stream's url is filled in when it starts. */
  measure: ClientConfig;
  serveArgs: string[];
  origin: OriginPlan;
  streamId: string;
  originStartTimeoutMs: number;
  rank: RankKey;
}

/** Every option checked against the parsed providers file before anything starts. Pure but for finding libvmaf. */
export function planComparison(args: CompareArgs, file: ProvidersFile, ffmpeg: string): ComparePlan {
  const rank = args.rank ?? COMPARE_DEFAULTS.rank;
  if (!(RANK_KEYS as readonly string[]).includes(rank)) throw badInput(`--rank '${rank}' is not valid: use ${RANK_KEYS.join(", ")}`);
  if (rank === "quality" && !args.quality && !args.vmaf) throw badInput("--rank quality needs --quality (PSNR and SSIM of every frame)");
  const ingests = file.providers.map((p) => p.ingest.reveal());
  const twice = file.providers.find((p, i) => ingests.indexOf(p.ingest.reveal()) !== i);
  if (twice) throw badInput(`${file.file}: provider '${twice.name}' has the ingest of another (${twice.ingest}): give each provider its own`);
  if (args.variant?.trim().toLowerCase() === "all") {
    throw badInput("--variant all is for vat client: vat compare measures one rendition per playback (a provider's variant, else --variant)");
  }
  const size = parseSize(args.imageSize ?? COMPARE_DEFAULTS.imageSize);
  const fps = parseFps(args.fps ?? COMPARE_DEFAULTS.fps);
  const streamId = parseStreamId(args.id ?? COMPARE_DEFAULTS.id);
  // Checked as vat launch checks them; on this machine a task size is only recorded (in /params, for a sweep's report).
  const launch = args.local
    ? planLaunch({ id: "local", cpu: args.cpu, memory: args.memory })
    : planLaunch({ id: streamId, fps, imageSize: size.name, cpu: args.cpu, memory: args.memory });
  const origin: OriginPlan = args.local
    ? { backend: "local" }
    : { backend: "fargate", launch, stack: parseStackName(args.stack ?? COMPARE_DEFAULTS.stack), region: args.region };
  const taskSize = launch.cpu === null ? [] : ["--cpu", String(launch.cpu), "--memory", String(launch.memoryMiB)];
  const defaultStartMs = parseDurationMs(args.startTimeout ?? COMPARE_DEFAULTS.startTimeout, "start timeout");
  // The real URL is only checked by the client's own rules here; which one each stream reads is set at its start.
  const measure = resolveClientConfig({ ...args, url: "http://127.0.0.1" }, ffmpeg);
  const streams = file.providers.flatMap((provider, providerIndex) =>
    provider.playback.map((playback, i) => ({
      role: provider.playback.length === 1 ? provider.name : `${provider.name}/${i + 1}`,
      provider,
      playback,
      providerIndex,
      startTimeoutMs: provider.startTimeoutMs ?? defaultStartMs,
    })),
  );
  return {
    file: file.file,
    providers: file.providers,
    streams,
    measure,
    serveArgs: ["--size", size.name, "--fps", String(fps), "--id", streamId, ...taskSize],
    streamId,
    origin,
    originStartTimeoutMs: args.local ? LOCAL_ORIGIN_START_TIMEOUT_MS : FARGATE_ORIGIN_START_TIMEOUT_MS,
    rank: rank as RankKey,
  };
}
