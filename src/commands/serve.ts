import type { Argv } from "yargs";
import { readEnv, type VatEnv } from "../env.ts";
import { isIP } from "node:net";
import { badInput, unavailable } from "../errors.ts";
import { locateFfmpeg } from "../ffmpeg.ts";
import { Progress } from "../log.ts";
import { pushFormat } from "../serve/encoder.ts";
import { checkX264 } from "../serve/x264.ts";
import { isLowLatency, parseFormat, parseLadder, STREAM_FORMATS } from "../serve/stream-format.ts";
import { Origin, type ServeConfig } from "../serve/origin.ts";
import { PrerecordedProducer } from "../serve/prerecorded.ts";
import { parseDurationMs } from "../units.ts";
import { createHandler } from "../serve/http.ts";
import { parseFps, parseSize, parseStreamId, SIZE_NAMES } from "../signal/profiles.ts";
import type { Shutdown } from "../shutdown.ts";

export interface ServeArgs {
  // Numbers come in as the text given (a flag or the environment) and are checked as plain decimals here: yargs' own
  // number parsing would take 0x10 for 16.
  fps?: number | string;
  imageSize?: string;
  id?: string;
  port?: number | string;
  host?: string;
  segment?: number | string;
  listSize?: number | string;
  preset?: string;
  crf?: number | string;
  dir?: string;
  cpu?: string;
  memory?: string;
  videoType?: string;
  source?: string;
  sourceDuration?: string;
  push?: string | string[];
  format?: string;
  ladder?: string;
  part?: string;
}

/** The defaults, declared once: --help shows them, and resolveServeConfig falls back to them under flags and env. */
export const SERVE_DEFAULTS = {
  fps: 30,
  imageSize: "720p",
  id: "vat",
  port: 5000,
  host: "0.0.0.0",
  segment: 1,
  listSize: 6,
  preset: "ultrafast",
  crf: 23,
  videoType: "live",
  sourceDuration: "60s",
  format: "hls",
  part: "200ms",
} as const;

export function serveOptions<T>(y: Argv<T>) {
  const d = SERVE_DEFAULTS;
  // Options the launcher's environment can set show their default without yargs applying it (it would hide the env).
  const underEnv = (v: string | number) => ({ defaultDescription: String(v) });
  return y
    .option("fps", { type: "string", describe: "frames per second, 1-60 [env FPS]", ...underEnv(d.fps) })
    .option("image-size", {
      alias: "size",
      type: "string",
      describe: `${SIZE_NAMES.join(", ")} or 0-3 [env IMAGE_SIZE]`,
      ...underEnv(d.imageSize),
    })
    .option("id", { type: "string", describe: "stream id carried in every frame [env ID]", ...underEnv(d.id) })
    .option("port", { type: "string", describe: "HTTP port [env PORT]", ...underEnv(d.port) })
    .option("host", { type: "string", describe: "address to listen on", default: d.host })
    .option("segment", { type: "string", describe: "HLS segment duration in seconds", default: d.segment })
    .option("list-size", { type: "string", describe: "segments listed in the playlist", default: d.listSize })
    .option("preset", { type: "string", describe: "x264 preset", default: d.preset })
    .option("crf", { type: "string", describe: "x264 constant rate factor, 0-51", default: d.crf })
    .option("dir", { type: "string", describe: "segment folder [default: a temporary folder, removed at exit]" })
    .option("cpu", { type: "string", describe: "task CPU units, reported in /params [env CPU]" })
    .option("memory", { type: "string", describe: "task memory, reported in /params [env MEMORY]" })
    .option("video-type", { type: "string", describe: "live or prerecorded [env VIDEO_TYPE]", ...underEnv(d.videoType) })
    .option("source", { type: "string", describe: "prerecorded: a video made by 'vat generate video' [default: render one at start-up]" })
    .option("format", { type: "string", describe: `${STREAM_FORMATS.join(", ")}: MPEG-TS HLS, HLS with fMP4 (CMAF) segments, or DASH [env FORMAT]`, ...underEnv(d.format) })
    .option("part", {
      type: "string",
      describe: "ll-hls/ll-dash: part length, e.g. 200ms, 0.25s or 200 (ms): one frame to half a segment",
      defaultDescription: SERVE_DEFAULTS.part,
    })
    .option("ladder", {
      type: "string",
      describe: "renditions scaled from the signal in the same encode, e.g. 1080p,720p,360p or WxH (the largest is the signal size)",
    })
    .option("push", {
      type: "string",
      describe: "also send the stream to this ingest (rtmp://, srt://, udp://) from the same encode; repeatable [env VAT_PUSH: one a line]",
    })
    .option("source-duration", {
      type: "string",
      describe: "prerecorded without --source: length of the video rendered at start-up",
      default: d.sourceDuration,
    });
}

/** A number written as a plain decimal (no hex, exponent, spaces or empty text), or an error saying what is valid. Pure. */
export function parseDecimal(v: unknown, what: string, valid: string): number {
  if (typeof v === "number") return v;
  if (Array.isArray(v)) throw badInput(`${what} is given ${v.length} times (${v.join(", ")}): give it once`);
  if (typeof v !== "string" || !/^-?\d+(\.\d+)?$/.test(v)) throw badInput(`${what} '${String(v)}' is not a plain decimal number: use ${valid}`);
  return Number(v);
}

const HOST_NAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** An IPv4 or IPv6 address or a host name to listen on; 256.1.1.1 or an empty text is refused. Pure. */
export function parseHost(host: string): string {
  if (isIP(host)) return host;
  // Digits and dots only is meant as an IPv4 address, a colon as IPv6: invalid ones are not host names either.
  if (/^[\d.]*$/.test(host) || host.includes(":") || !HOST_NAME.test(host)) {
    throw badInput(`host '${host}' is not an address to listen on: use an IPv4 or IPv6 address (0.0.0.0, 127.0.0.1, ::) or a host name`);
  }
  return host;
}

/** A text option given once; a repeated one (yargs makes it a list) is refused rather than joined. Pure. */
function once(v: unknown, flag: string): string {
  if (Array.isArray(v)) throw badInput(`${flag} is given ${v.length} times (${v.join(", ")}): give it once`);
  return String(v);
}

/** Drops the settings not given, so that spreading a layer leaves the one beneath showing through. */
function given<T extends object>(layer: T): Partial<T> {
  return Object.fromEntries(Object.entries(layer).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Flags win over the environment the Fargate launcher sets, which wins over the defaults. Pure. */
export function resolveServeConfig(args: ServeArgs, env: VatEnv): Omit<ServeConfig, "ffmpeg"> {
  const e = env.serve;
  const fromEnv = given({ fps: e.fps, imageSize: e.imageSize, id: e.id, port: e.port, videoType: e.videoType, cpu: e.cpu, memory: e.memory, format: e.format });
  const fromFlags = given({
    fps: args.fps, imageSize: args.imageSize, id: args.id, port: args.port, host: args.host, segment: args.segment,
    listSize: args.listSize, preset: args.preset, crf: args.crf, videoType: args.videoType, sourceDuration: args.sourceDuration,
    cpu: args.cpu, memory: args.memory, format: args.format,
  });
  const v = { ...SERVE_DEFAULTS, ...fromEnv, ...fromFlags };
  const fps = parseFps(parseDecimal(v.fps, "fps", "a whole number from 1 to 60"));
  const format = parseFormat(once(v.format, "--format"));
  const ladder = args.ladder === undefined ? null : parseLadder(once(args.ladder, "--ladder"), fps);
  const askedSize = fromEnv.imageSize !== undefined || fromFlags.imageSize !== undefined;
  const size = ladder && !askedSize ? ladder.top : parseSize(v.imageSize);
  if (ladder && size.name !== ladder.top.name) {
    throw badInput(`--ladder's largest size is ${ladder.top.name} but the image size is ${size.name}: the signal is rendered at the top of the ladder, give them alike (or leave out --image-size)`);
  }
  const streamId = parseStreamId(String(v.id));
  const port = parseDecimal(v.port, "port", "a whole number from 0 to 65535");
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw badInput(`port '${v.port}' is not valid: use a whole number from 0 to 65535`);
  }
  const host = parseHost(String(v.host));
  const segmentS = parseDecimal(v.segment, "segment duration", "0.5 to 10 seconds");
  if (!(segmentS >= 0.5 && segmentS <= 10)) {
    throw badInput(`segment duration '${v.segment}' is out of range: use 0.5 to 10 seconds`);
  }
  const listSize = parseDecimal(v.listSize, "list size", "a whole number from 2 to 60");
  if (!Number.isInteger(listSize) || listSize < 2 || listSize > 60) {
    throw badInput(`list size '${v.listSize}' is out of range: use a whole number from 2 to 60`);
  }
  const { preset, crf } = checkX264(String(v.preset), parseDecimal(v.crf, "crf", "0 to 51"));
  const videoType = String(v.videoType).toLowerCase();
  if (videoType !== "live" && videoType !== "prerecorded") {
    throw badInput(`unknown video type '${v.videoType}': use live or prerecorded`);
  }
  if (args.source !== undefined && videoType !== "prerecorded") {
    throw badInput("--source is for prerecorded streams: add --video-type prerecorded");
  }
  const sourceDurationS = parseDurationMs(String(v.sourceDuration), "source duration") / 1000;
  if (sourceDurationS < segmentS * 2 || sourceDurationS > 3600) {
    throw badInput(`source duration '${v.sourceDuration}' is out of range: use ${segmentS * 2} s (two segments) to 1 h`);
  }
  const push = [
    ...(args.push === undefined ? [] : Array.isArray(args.push) ? args.push : [args.push]),
    ...(env.serve.push ?? "").split("\n").map((u) => u.trim()).filter((u) => u !== ""),
  ];
  for (const u of push) pushFormat(u);
  if (push.length && videoType !== "live") throw badInput("--push works with live video: a prerecorded stream is not re-encoded");
  if (videoType !== "live" && (format !== "hls" || ladder)) {
    throw badInput("--format cmaf/dash and --ladder work with live video: a prerecorded stream is served as MPEG-TS HLS");
  }
  if (isLowLatency(format) && ladder) {
    throw badInput(`--ladder works with --format ${STREAM_FORMATS.filter((f) => !isLowLatency(f)).join(", ")}: ${format} serves one rendition`);
  }
  if (args.part !== undefined && !isLowLatency(format)) throw badInput(`--part is for --format ll-hls or ll-dash (the format is ${format})`);
  const partS = parsePartS(args.part === undefined ? SERVE_DEFAULTS.part : once(args.part, "--part"), fps, segmentS);
  const asked = { ...fromEnv, ...fromFlags };
  return {
    streamId,
    size,
    sizeIndex: SIZE_NAMES.indexOf(size.name),
    fps,
    host,
    port,
    segmentS,
    listSize,
    preset,
    crf,
    videoType,
    sourceDurationS,
    push,
    format,
    partS,
    renditions: ladder?.renditions ?? [],
    ...(args.source !== undefined ? { source: args.source } : {}),
    asked: {
      ...(asked.fps !== undefined ? { fps } : {}),
      ...(asked.imageSize !== undefined ? { size: size.name } : {}),
      ...(asked.id !== undefined ? { streamId } : {}),
    },
    ...(args.dir ? { dir: args.dir } : {}),
    ...(v.cpu ? { cpu: v.cpu } : {}),
    ...(v.memory ? { memory: v.memory } : {}),
  };
}

/**
 * A part length: "200ms", "0.25s" or a plain number of milliseconds; from one frame (it holds whole frames) to half a
 * segment (a segment of one or two parts is no lower latency than plain HLS). Pure.
 */
export function parsePartS(input: string, fps: number, segmentS: number): number {
  const text = input.trim();
  const ms = /^\d+(\.\d+)?$/.test(text) ? Number(text) : parseDurationMs(text, "part length");
  const minMs = Math.floor(1000 / fps);
  const maxMs = (segmentS * 1000) / 2;
  if (!(ms >= minMs && ms <= maxMs)) {
    throw badInput(`part length '${input}' is out of range: use ${minMs} ms (one frame at ${fps} fps) to ${maxMs} ms (half the ${segmentS} s segment)`);
  }
  return ms / 1000;
}

/** How often the status line is logged when no terminal shows it; on a terminal it is redrawn every second. */
const STATUS_EVERY_MS = 60_000;

export async function runServe(args: ServeArgs, shutdown: Shutdown): Promise<number> {
  const env = readEnv();
  const config: ServeConfig = { ...resolveServeConfig(args, env), ffmpeg: locateFfmpeg(env.ffmpeg) };
  if (config.source) PrerecordedProducer.describeSource(config); // bad input fails before anything starts
  const progress = new Progress({ logEveryMs: 0 });
  const log = (line: string) => progress.info(line);
  const origin = Origin.open(config, log);
  let server: ReturnType<typeof Bun.serve>;
  try {
    server = listen(config, origin, log);
  } catch (err) {
    await origin.stop();
    throw err;
  }
  try {
    await origin.prepare(() => shutdown.signal);
  } catch (err) {
    server.stop(true);
    await origin.stop();
    throw err;
  }
  origin.start();
  const c = config;
  const p = origin.params().vat as { size: string; width: number; height: number; fps: number; streamId: string; segmentS: number };
  log(
    `vat serve: ${c.videoType} ${p.size} (${p.width}x${p.height}) ${p.fps} fps, id ${p.streamId}, ` +
      `${p.segmentS} s segments, ${c.format}${origin.ll ? ` ${c.partS * 1000} ms parts` : ""}${c.renditions.length ? ` ladder ${c.renditions.map((r) => `${r.width}x${r.height}`).join(",")}` : ""}, ` +
      `http://${c.host}:${server.port}${origin.manifestPath}`,
  );
  const status = setInterval(() => progress.update(origin.statusLine()), progress.onTerminal ? 1000 : STATUS_EVERY_MS);
  const signal = await shutdown.requested;
  clearInterval(status);
  log(`vat serve: ${signal}, stopping`);
  server.stop(true);
  await origin.stop();
  log("vat serve: stopped");
  return 0;
}

/** Seconds a connection may sit idle: idle keep-alive connections must not hold the process's fds for long. */
const IDLE_TIMEOUT_S = 10;

/** Listens on the configured address, alone: a port in use is an error at once (no SO_REUSEPORT sharing). */
function listen(config: ServeConfig, origin: Origin, log: (line: string) => void): ReturnType<typeof Bun.serve> {
  const errors = countHttpErrors(log);
  try {
    return Bun.serve({
      hostname: config.host,
      port: config.port,
      reusePort: false,
      fetch: createHandler(origin),
      development: false,
      idleTimeout: IDLE_TIMEOUT_S,
      error: (err) => {
        errors(err);
        return new Response("internal error\n", { status: 500 });
      },
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const where = `${config.host}:${config.port}`;
    if (e.code === "EADDRINUSE") throw unavailable(`cannot listen on ${where}: port ${config.port} is in use; stop what listens there or choose another --port`);
    if (e.code === "EADDRNOTAVAIL" || e.code === "EINVAL") {
      throw unavailable(`cannot listen on ${where}: ${config.host} is not an address of this machine (${e.code}); use 0.0.0.0 or one of its addresses`);
    }
    throw unavailable(`cannot listen on ${where}: ${e.message}`);
  }
}

/** Logs the first unexpected request error at once and then at most one summary line a minute, never one per request. */
function countHttpErrors(log: (line: string) => void, everyMs = 60_000): (err: Error) => void {
  let lastLogMs = -Infinity;
  let unlogged = 0;
  return (err) => {
    const now = performance.now();
    if (now - lastLogMs < everyMs) {
      unlogged++;
      return;
    }
    log(`http: ${err.message}${unlogged ? ` (and ${unlogged} more errors since the last line)` : ""}`);
    lastLogMs = now;
    unlogged = 0;
  };
}
