import type { Argv } from "yargs";
import { readEnv } from "../env.ts";
import { badInput, exitCodeForSignal } from "../errors.ts";
import { locateFfmpeg } from "../ffmpeg.ts";
import { isTerminal, logLine } from "../log.ts";
import type { Shutdown } from "../shutdown.ts";
import { parseSize } from "../signal/profiles.ts";
import { parseDurationMs } from "../units.ts";
import { runSession, type ClientConfig, type SessionObserver, type SessionResult } from "../client/session.ts";
import { compareStreams, type Comparison } from "../client/comparison.ts";
import { detectVmaf } from "../client/vmaf.ts";
import { RunStore } from "../client/store.ts";
import { formatComparison, formatStatus, formatSummary, formatWindowLine } from "../client/summary-format.ts";

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

/** The options of a measurement, shared by `vat client` and `vat launch`. */
export function measureOptions<T>(y: Argv<T>) {
  return y
    .option("db", { type: "string", default: "stream_data.db", describe: "SQLite database (created if missing)" })
    .option("window", { type: "string", default: "10s", describe: "summary window" })
    .option("frame-limit", { type: "number", describe: "stop after this many frames" })
    .option("duration", { type: "string", describe: "stop after this long (e.g. 30s, 5m, 2h)" })
    .option("frames", { type: "boolean", default: true, describe: "store every frame (--no-frames: windows only)" })
    .option("csv", { type: "string", describe: "also export windows, frames and events as CSV into this folder" })
    .option("clock-sync", {
      type: "boolean",
      default: true,
      describe: "estimate the clock offset from the server's /time (--no-clock-sync: trust both clocks)",
    })
    .option("connect-timeout", { type: "string", default: "20s", describe: "how long to wait for the stream at first" })
    .option("max-outage", { type: "string", default: "120s", describe: "give up when the stream is gone this long" })
    .option("json", { type: "boolean", default: false, describe: "print the summary as JSON" })
    .option("poll", {
      type: "string",
      default: "50ms",
      describe: "HLS: how often the playlist is fetched; arrival times are as precise as this (be gentle with CDNs)",
    })
    .option("quality", {
      type: "boolean",
      default: false,
      describe: "full-reference PSNR and SSIM of every frame against its re-rendered reference",
    })
    .option("target-latency", {
      type: "string",
      describe: "simulate a player holding this latency (e.g. 3s): its rebuffers, their time and ratio",
    })
    .option("vmaf", {
      type: "boolean",
      default: false,
      describe: "VMAF of sampled frames (needs an ffmpeg with libvmaf: the one in use, or VAT_VMAF_FFMPEG)",
    })
    .option("vmaf-every", { type: "number", describe: "VMAF: score every Nth frame, at least 3 [default 30]" })
    .option("vmaf-threads", { type: "number", describe: "VMAF: libvmaf threads [default 2]" })
    .option("vmaf-model", { type: "string", describe: "VMAF: vmaf_v0.6.1.pkl, for a libvmaf 1.x [env VAT_VMAF_MODEL]" })
    .option("reference-size", {
      type: "string",
      describe: "quality: the size the signal was made at, when the stream has none to tell (a provider rescaled it)",
    });
}

/** Validated settings; every bad value is refused here, before anything starts. Pure but for finding ffmpeg (and libvmaf). */
export function resolveClientConfig(args: ClientArgs, ffmpeg: string): ClientConfig {
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
  const windowMs = parseDurationMs(args.window ?? "10s", "window");
  if (windowMs < 1000 || windowMs > 3_600_000) throw badInput(`window '${args.window}' is out of range: use 1s to 1h`);
  if (args.frameLimit !== undefined && (!Number.isInteger(args.frameLimit) || args.frameLimit < 1)) {
    throw badInput(`frame limit '${args.frameLimit}' is not valid: use a whole number of at least 1`);
  }
  return {
    url,
    db: args.db ?? "stream_data.db",
    windowMs,
    frameLimit: args.frameLimit ?? null,
    durationMs: args.duration !== undefined ? parseDurationMs(args.duration, "duration") : null,
    storeFrames: args.frames ?? true,
    csvDir: args.csv ?? null,
    clockSync: args.clockSync ?? true,
    connectTimeoutMs: parseDurationMs(args.connectTimeout ?? "20s", "connect timeout"),
    maxOutageMs: parseDurationMs(args.maxOutage ?? "120s", "max outage"),
    pollMs: resolvePoll(args.poll),
    ffmpeg,
    quality: args.quality ?? false,
    referenceSize: args.referenceSize !== undefined ? parseSize(args.referenceSize).name : null,
    targetLatencyMs: args.targetLatency !== undefined ? parseDurationMs(args.targetLatency, "target latency") : null,
    vmaf: args.vmaf ? resolveVmaf(args, ffmpeg) : null,
  };
}

function resolvePoll(poll: string | undefined): number {
  const ms = parseDurationMs(poll ?? "50ms", "poll interval");
  if (ms < 10 || ms > 10_000) throw badInput(`poll interval '${poll}' is out of range: use 10ms to 10s`);
  return ms;
}

function resolveVmaf(args: ClientArgs, ffmpeg: string) {
  const every = args.vmafEvery ?? 30;
  if (!Number.isInteger(every) || every < 3) throw badInput(`--vmaf-every '${args.vmafEvery}' is not valid: use a whole number of 3 or more`);
  const threads = args.vmafThreads ?? 2;
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
  if (urls.length <= 1 && args.control === undefined) {
    const cfg = resolveClientConfig({ ...args, url: urls[0] }, ffmpeg);
    const result = await measure(cfg, shutdown, args.json ?? false);
    printResult(result, args.json ?? false);
    return exitCodeFor(shutdown);
  }
  if (urls.length === 0) throw badInput("give the streams to compare with --url (and --control for the reference stream)");
  // The control (given, or else the first --url) and every other stream, each checked before anything starts.
  const roles = args.control !== undefined
    ? [{ url: args.control, role: "control" }, ...urls.map((u, i) => ({ url: u, role: `stream ${i + 1}` }))]
    : urls.map((u, i) => ({ url: u, role: i === 0 ? "control" : `stream ${i}` }));
  const cfgs = roles.map((r) => ({ ...r, cfg: resolveClientConfig({ ...args, url: r.url }, ffmpeg) }));
  const comparison = await compare(cfgs, shutdown, args.json ?? false);
  printComparison(comparison, args.json ?? false);
  return exitCodeFor(shutdown);
}

interface ComparedStream {
  role: string;
  result: SessionResult;
  versusControl: Comparison | null;
}

/** Reads every stream at once, one run each in the same database, then matches their frames by number. */
async function compare(streams: { url: string; role: string; cfg: ClientConfig }[], shutdown: Shutdown, quiet: boolean) {
  const id = `cmp-${new Date().toISOString().replace(/[-:.]/g, "").slice(0, 15)}-${process.pid}`;
  const results = await Promise.all(
    streams.map((s) =>
      runSession({ ...s.cfg, comparison: { id, role: s.role } }, () => shutdown.signal, prefixedObserver(s.role, quiet)),
    ),
  );
  const store = new RunStore(streams[0]!.cfg.db);
  try {
    const control = results[0]!;
    const controlFrames = store.arrivals(control.runId);
    const out: ComparedStream[] = [{ role: streams[0]!.role, result: control, versusControl: null }];
    results.slice(1).forEach((r, i) => {
      // Frames are matched by number: only streams of one signal can be compared.
      const differ = r.streamId !== null && control.streamId !== null && r.streamId !== control.streamId;
      if (differ) {
        logLine(`[${streams[i + 1]!.role}] carries stream id '${r.streamId}', the control '${control.streamId}': not compared`);
      }
      const c = compareStreams(differ ? [] : store.arrivals(r.runId), controlFrames);
      store.writeComparison(id, r.runId, control.runId, c);
      out.push({ role: streams[i + 1]!.role, result: r, versusControl: c });
    });
    return { id, db: streams[0]!.cfg.db, streams: out };
  } finally {
    store.close();
  }
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

function printComparison(c: Awaited<ReturnType<typeof compare>>, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify({ comparisonId: c.id, db: c.db, streams: c.streams }, null, 2)}
`);
    return;
  }
  const lines = [`vat client: comparison ${c.id} in ${c.db}`];
  for (const s of c.streams) {
    lines.push(`${s.role}: ${s.result.summary.framesDecoded} frames measured`, formatSummary(s.result));
    if (s.versusControl) lines.push(formatComparison(s.versusControl));
  }
  process.stdout.write(`${lines.join("\n")}\n`);
}

export function printResult(result: SessionResult, json: boolean, heading = "vat client", extra: Record<string, unknown> = {}): void {
  if (json) process.stdout.write(`${JSON.stringify({ ...extra, ...result }, null, 2)}\n`);
  else process.stdout.write(`${heading}: ${result.summary.framesDecoded} frames measured\n${formatSummary(result)}\n`);
}

/** 0, or 130/143 when a signal ended the run (its summary was still printed and stored). */
export function exitCodeFor(shutdown: Shutdown): number {
  return shutdown.signal ? exitCodeForSignal(shutdown.signal) : 0;
}

/** Runs a session with progress on stderr: a live line on a terminal, one log line per window otherwise. */
export async function measure(cfg: ClientConfig, shutdown: Shutdown, quiet: boolean) {
  const tty = isTerminal() && !quiet;
  let lineShown = false;
  const clearLine = () => {
    if (lineShown) process.stderr.write("\r\x1b[2K");
    lineShown = false;
  };
  const observer: SessionObserver = {
    info: (line) => {
      clearLine();
      logLine(line);
    },
    window: (w) => {
      if (!tty) logLine(formatWindowLine(w));
    },
    event: (e) => {
      clearLine();
      logLine(`${e.kind}: ${e.detail}`);
    },
    status: (s) => {
      if (!tty) return;
      process.stderr.write(`\r\x1b[2K${formatStatus(s)}`);
      lineShown = true;
    },
  };
  try {
    return await runSession(cfg, () => shutdown.signal, observer);
  } finally {
    clearLine();
  }
}
