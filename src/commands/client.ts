import type { Argv } from "yargs";
import { readEnv } from "../env.ts";
import { badInput, exitCodeForSignal, failed, VatError } from "../errors.ts";
import { checkWritable } from "../files.ts";
import { checkDatabasePath } from "../launch/database-path.ts";
import { existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { locateFfmpeg } from "../ffmpeg.ts";
import { isTerminal, logLine, Progress } from "../log.ts";
import type { Shutdown } from "../shutdown.ts";
import { parseSize } from "../signal/profiles.ts";
import { parseBytes, parseDurationMs } from "../units.ts";
import { runSession, UnmeasuredRun, type ClientConfig, type SessionObserver, type SessionResult } from "../client/session.ts";
import { compareStreamsLive, type ComparisonResult } from "../client/compare.ts";
import { describeRendition, parseVariantChoice, VARIANT_RULE, type VariantChoice } from "../client/variants.ts";
import { listRenditions } from "../client/source.ts";
import { detectVmaf } from "../client/vmaf.ts";
import { formatComparison, formatStatus, formatSummary, formatWindowLine, framesRead } from "../client/summary-format.ts";

export interface ClientArgs {
  url?: string | string[];
  control?: string;
  db?: string;
  window?: string;
  frameLimit?: number;
  duration?: string;
  frames?: boolean;
  csv?: string;
  clockSync?: boolean;
  connectTimeout?: string;
  maxOutage?: string;
  json?: boolean;
  quality?: boolean;
  referenceSize?: string;
  targetLatency?: string;
  poll?: string;
  vmaf?: boolean;
  vmafEvery?: number;
  vmafThreads?: number;
  vmafModel?: string;
  variant?: string;
  maxPlaylistSize?: string;
  maxSegmentSize?: string;
}

export function clientOptions<T>(y: Argv<T>) {
  return measureOptions(
    y
      .option("url", {
        type: "string",
        describe: "server root (http://host:5000), .m3u8 playlist, file or other ffmpeg-readable URL; repeat it to compare streams",
      })
      .option("control", {
        type: "string",
        describe: "compare every --url with this stream of the same signal (e.g. the vat origin): per-frame relative latency",
      }),
  )
    .example("vat client --url http://127.0.0.1:5000 --duration 30s", "measure a vat server for 30 s")
    .example("vat client --url http://host/live/index.m3u8 --frame-limit 3000 --json", "any HLS stream")
    .example("vat client --url https://cdn.example/live.m3u8 --control http://origin:5000 --duration 5m", "a provider against the origin");
}

/** Defaults of a measurement's options: yargs shows them, resolveClientConfig fills them for callers without yargs. */
export const MEASURE_DEFAULTS = {
  db: "stream_data.db",
  window: "10s",
  frames: true,
  clockSync: true,
  connectTimeout: "20s",
  maxOutage: "120s",
  json: false,
  poll: "50ms",
  quality: false,
  vmaf: false,
  vmafEvery: 30,
  vmafThreads: 2,
  variant: "highest",
  // Far above any real stream (a 10 s 4K segment at 25 Mbit/s is ~31 MB), far below a machine's memory.
  maxPlaylistSize: "16MiB",
  maxSegmentSize: "256MiB",
} as const;

/** The options of a measurement, shared by `vat client` and `vat launch`. */
export function measureOptions<T>(y: Argv<T>) {
  return y
    .option("db", { type: "string", default: MEASURE_DEFAULTS.db, describe: "SQLite database (created if missing)" })
    .option("window", { type: "string", default: MEASURE_DEFAULTS.window, describe: "summary window" })
    .option("frame-limit", { type: "number", describe: "stop after this many frames" })
    .option("duration", { type: "string", describe: "stop after this long (e.g. 30s, 5m, 2h)" })
    .option("frames", { type: "boolean", default: MEASURE_DEFAULTS.frames, describe: "store every frame (--no-frames: windows only)" })
    .option("csv", { type: "string", describe: "also export windows, frames and events as CSV into this folder" })
    .option("clock-sync", {
      type: "boolean",
      default: MEASURE_DEFAULTS.clockSync,
      describe: "estimate the clock offset from the server's /time (--no-clock-sync: trust both clocks)",
    })
    .option("connect-timeout", { type: "string", default: MEASURE_DEFAULTS.connectTimeout, describe: "how long to wait for the stream at first" })
    .option("max-outage", { type: "string", default: MEASURE_DEFAULTS.maxOutage, describe: "give up when the stream is gone this long" })
    .option("json", { type: "boolean", default: MEASURE_DEFAULTS.json, describe: "print the summary as JSON" })
    .option("poll", {
      type: "string",
      default: MEASURE_DEFAULTS.poll,
      describe: "HLS: how often the playlist is fetched; arrival times are as precise as this (be gentle with CDNs)",
    })
    .option("quality", {
      type: "boolean",
      default: MEASURE_DEFAULTS.quality,
      describe: "full-reference PSNR and SSIM of every frame against its re-rendered reference",
    })
    .option("target-latency", {
      type: "string",
      describe: "simulate a player holding this latency (e.g. 3s): its rebuffers, their time and ratio",
    })
    .option("vmaf", {
      type: "boolean",
      default: MEASURE_DEFAULTS.vmaf,
      describe: "VMAF of sampled frames (needs an ffmpeg with libvmaf: the one in use, or VAT_VMAF_FFMPEG)",
    })
    .option("vmaf-every", { type: "number", default: MEASURE_DEFAULTS.vmafEvery, describe: "VMAF: score every Nth frame, at least 3" })
    .option("vmaf-threads", { type: "number", default: MEASURE_DEFAULTS.vmafThreads, describe: "VMAF: libvmaf threads" })
    .option("vmaf-model", { type: "string", describe: "VMAF: vmaf_v0.6.1.pkl, for a libvmaf 1.x [env VAT_VMAF_MODEL]" })
    .option("variant", {
      type: "string",
      default: MEASURE_DEFAULTS.variant,
      describe: `which rendition of a ladder to measure: ${VARIANT_RULE}; all: every rendition, as streams of one comparison`,
    })
    .option("max-playlist-size", {
      type: "string",
      default: MEASURE_DEFAULTS.maxPlaylistSize,
      describe: "a playlist or MPD larger than this is a failed poll (a limit event)",
    })
    .option("max-segment-size", {
      type: "string",
      default: MEASURE_DEFAULTS.maxSegmentSize,
      describe: "a segment larger than this is skipped, its frames counted as dropped (a limit event)",
    })
    .option("reference-size", {
      type: "string",
      describe: "quality: the size the signal was made at, when the stream has none to tell (a provider rescaled it)",
    });
}

/** Validated settings; every bad value is refused here, before anything starts. Pure but for finding ffmpeg (and libvmaf). */
export function resolveClientConfig(given: ClientArgs, ffmpeg: string): ClientConfig {
  const args = withDefaults(given);
  if (Array.isArray(args.url)) throw badInput("give one --url here (several are compared by vat client)");
  const url = (args.url ?? "").trim();
  if (!url) throw badInput("give the stream with --url (a vat server root, a playlist, a file, or an rtmp:// URL)");
  if (/^https?:\/\//i.test(url)) {
    try {
      new URL(url);
    } catch {
      throw badInput(`'${url}' is not a valid URL: use e.g. http://127.0.0.1:5000`);
    }
  }
  const windowMs = parseDurationMs(args.window, "window");
  if (windowMs < 1000 || windowMs > 3_600_000) throw badInput(`window '${args.window}' is out of range: use 1s to 1h`);
  if (args.frameLimit !== undefined && (!Number.isInteger(args.frameLimit) || args.frameLimit < 1)) {
    throw badInput(`frame limit '${args.frameLimit}' is not valid: use a whole number of at least 1`);
  }
  return {
    url,
    db: resolveDb(args.db),
    windowMs,
    frameLimit: args.frameLimit ?? null,
    durationMs: args.duration !== undefined ? parseDurationMs(args.duration, "duration") : null,
    storeFrames: args.frames,
    csvDir: args.csv === undefined ? null : resolveCsvDir(args.csv),
    clockSync: args.clockSync,
    connectTimeoutMs: parseDurationMs(args.connectTimeout, "connect timeout"),
    maxOutageMs: parseDurationMs(args.maxOutage, "max outage"),
    pollMs: resolvePoll(args.poll),
    maxPlaylistBytes: parseBytes(args.maxPlaylistSize, "--max-playlist-size"),
    maxSegmentBytes: parseBytes(args.maxSegmentSize, "--max-segment-size"),
    ffmpeg,
    quality: args.quality,
    referenceSize: args.referenceSize !== undefined ? parseSize(args.referenceSize).name : null,
    targetLatencyMs: args.targetLatency !== undefined ? parseDurationMs(args.targetLatency, "target latency") : null,
    vmaf: args.vmaf ? resolveVmaf(args, ffmpeg) : null,
    variant: resolveVariant(args.variant),
    all: args.variant.trim().toLowerCase() === "all",
  };
}

type Measure = ClientArgs & { -readonly [K in keyof typeof MEASURE_DEFAULTS]: (typeof MEASURE_DEFAULTS)[K] extends boolean ? boolean : (typeof MEASURE_DEFAULTS)[K] extends number ? number : string };

/** The given options over the defaults (an option given as undefined keeps its default). */
function withDefaults(args: ClientArgs): Measure {
  const out: Record<string, unknown> = { ...MEASURE_DEFAULTS };
  for (const [k, v] of Object.entries(args)) if (v !== undefined) out[k] = v;
  return out as unknown as Measure;
}

/** The CSV folder, checked before the run: a run of hours must not fail at its last step. */
function resolveCsvDir(dir: string): string {
  if (dir.trim() === "") throw badInput("--csv is empty: name a folder for the CSV files");
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw badInput(`--csv '${dir}' is a file: name a folder for the CSV files`);
  // The folder may not exist yet: what is checked is the first part of the path that does.
  let probe = dir;
  while (!existsSync(probe) && dirname(probe) !== probe) probe = dirname(probe);
  checkWritable(join(probe, "probe.csv"), "--csv");
  return dir;
}

/** The database path: refused when empty or a folder (nothing would be stored where the user looks). */
function resolveDb(db: string): string {
  if (db.trim() === "") throw badInput("--db is empty: give a file path for the SQLite database (e.g. stream_data.db)");
  checkDatabasePath(db); // before the stream is contacted: a folder, a file that is not SQLite, a read-only place
  return db;
}

function resolveVariant(text: string): VariantChoice {
  const choice = text.trim().toLowerCase() === "all" ? { kind: "highest" as const } : parseVariantChoice(text);
  if (!choice) throw badInput(`--variant '${text}' is not valid: use ${VARIANT_RULE}, or all`);
  return choice;
}

function resolvePoll(poll: string): number {
  const ms = parseDurationMs(poll, "poll interval");
  if (ms < 10 || ms > 10_000) throw badInput(`poll interval '${poll}' is out of range: use 10ms to 10s`);
  return ms;
}

function resolveVmaf(args: Measure, ffmpeg: string) {
  const every = args.vmafEvery;
  if (!Number.isInteger(every) || every < 3) throw badInput(`--vmaf-every '${args.vmafEvery}' is not valid: use a whole number of 3 or more`);
  const threads = args.vmafThreads;
  if (!Number.isInteger(threads) || threads < 1 || threads > 64) {
    throw badInput(`--vmaf-threads '${args.vmafThreads}' is not valid: use a whole number from 1 to 64`);
  }
  const env = readEnv();
  const model = args.vmafModel ?? env.vmafModel;
  return {
    tool: detectVmaf(ffmpeg, { ...(env.vmafFfmpeg ? { vmafFfmpeg: env.vmafFfmpeg } : {}), ...(model ? { model } : {}), threads }),
    every,
  };
}

export async function runClient(args: ClientArgs, shutdown: Shutdown): Promise<number> {
  const ffmpeg = locateFfmpeg(readEnv().ffmpeg);
  const urls = args.url === undefined ? [] : Array.isArray(args.url) ? args.url : [args.url];
  const json = args.json ?? MEASURE_DEFAULTS.json;
  const all = (args.variant ?? "").trim().toLowerCase() === "all";
  if (urls.length <= 1 && args.control === undefined && !all) {
    const cfg = resolveClientConfig({ ...args, url: urls[0] }, ffmpeg);
    printResult(await measure(cfg, shutdown, json), json);
    return exitCodeFor(shutdown);
  }
  if (urls.length === 0) throw badInput("give the streams to compare with --url (and --control for the reference stream)");
  // The control (given, or else the first --url) and every other stream, each checked before anything starts.
  const roles = args.control !== undefined
    ? [{ url: args.control, role: "control" }, ...urls.map((u, i) => ({ url: u, role: `stream ${i + 1}` }))]
    : urls.map((u, i) => ({ url: u, role: i === 0 ? "control" : `stream ${i}` }));
  const streams = await expandLadders(roles.map((r) => ({ role: r.role, cfg: resolveClientConfig({ ...args, url: r.url }, ffmpeg) })));
  const c = await compareStreamsLive(streams, () => shutdown.signal, (role) => prefixedObserver(role, json), logLine);
  printComparison(c, json);
  const broken = c.streams.find((s) => s.error !== null);
  if (broken) {
    if (broken.cause instanceof VatError && broken.cause.kind === "interrupted") throw broken.cause;
    throw failed(`[${broken.role}] ${broken.error}`);
  }
  return exitCodeFor(shutdown);
}

/**
 * --variant all: every stream that is a ladder becomes one stream per rendition (lowest first), each measured as a
 * stream of the comparison; the first is the control unless --control named one.
 */
async function expandLadders(streams: { role: string; cfg: ClientConfig }[]): Promise<{ role: string; cfg: ClientConfig }[]> {
  const out: { role: string; cfg: ClientConfig }[] = [];
  for (const s of streams) {
    const renditions = s.cfg.all ? await listRenditions(s.cfg.url, (u, i) => fetch(u, i)) : null;
    if (!renditions) {
      out.push(s);
      continue;
    }
    renditions.forEach((r, index) => {
      const what = `rendition ${index} (${describeRendition(r)})`;
      const role = out.length === 0 ? "control" : s.role === "control" ? what : `${s.role}, ${what}`;
      out.push({ role, cfg: { ...s.cfg, variant: { kind: "index", index } } });
    });
  }
  return out;
}

function prefixedObserver(label: string, quiet: boolean): SessionObserver {
  return {
    info: (line) => logLine(`[${label}] ${line}`),
    window: (w) => {
      if (!quiet) logLine(`[${label}] ${formatWindowLine(w)}`);
    },
    event: (e) => logLine(`[${label}] ${e.kind}: ${e.detail}`),
    status: () => {},
  };
}

function printComparison(c: ComparisonResult, json: boolean): void {
  if (json) {
    const streams = c.streams.map(({ cause: _, ...s }) => s);
    process.stdout.write(`${JSON.stringify({ comparisonId: c.id, db: c.db, streams }, null, 2)}\n`);
    return;
  }
  const lines = [`vat client: comparison ${c.id} in ${c.db}`];
  for (const s of c.streams) {
    if (s.result) lines.push(`${s.role}: ${framesRead(s.result.summary)}`, formatSummary(s.result));
    if (s.error) lines.push(`${s.role}: not measured: ${s.error}`);
    if (s.versusControl) lines.push(formatComparison(s.versusControl));
  }
  process.stdout.write(`${lines.join("\n")}\n`);
}

export function printResult(result: SessionResult, json: boolean, heading = "vat client", extra: Record<string, unknown> = {}): void {
  if (json) process.stdout.write(`${JSON.stringify({ ...extra, ...result }, null, 2)}\n`);
  else process.stdout.write(`${heading}: ${framesRead(result.summary)}\n${formatSummary(result)}\n`);
}

/** 0, or 130/143 when a signal ended the run (its summary was still printed and stored). */
export function exitCodeFor(shutdown: Shutdown): number {
  return shutdown.signal ? exitCodeForSignal(shutdown.signal) : 0;
}

/**
 * Runs a session with progress on stderr: a live line on a terminal, one log line per window otherwise. A run that
 * measured nothing prints what it has, then fails.
 */
export async function measure(cfg: ClientConfig, shutdown: Shutdown, quiet: boolean, print?: (r: SessionResult) => void): Promise<SessionResult> {
  const progress = new Progress({ terminal: isTerminal() && !quiet });
  const observer: SessionObserver = {
    info: (line) => progress.info(line),
    window: (w) => {
      if (!progress.onTerminal) logLine(formatWindowLine(w));
    },
    event: (e) => progress.info(`${e.kind}: ${e.detail}`),
    status: (s) => {
      if (progress.onTerminal) progress.update(formatStatus(s));
    },
  };
  try {
    return await runSession(cfg, () => shutdown.signal, observer);
  } catch (err) {
    if (!(err instanceof UnmeasuredRun)) throw err;
    progress.clear();
    (print ?? ((r) => printResult(r, quiet)))(err.result);
    throw err.error;
  } finally {
    progress.clear();
  }
}
