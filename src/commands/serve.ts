import type { Argv } from "yargs";
import { readEnv, type VatEnv } from "../env.ts";
import { badInput, failed } from "../errors.ts";
import { locateFfmpeg } from "../ffmpeg.ts";
import { logLine } from "../log.ts";
import { checkX264, pushFormat } from "../serve/encoder.ts";
import { Origin, type ServeConfig } from "../serve/origin.ts";
import { PrerecordedOrigin } from "../serve/prerecorded.ts";
import { parseDurationMs } from "../units.ts";
import { createHandler } from "../serve/http.ts";
import { parseFps, parseSize, parseStreamId, SIZE_NAMES } from "../signal/profiles.ts";
import type { Shutdown } from "../shutdown.ts";

export interface ServeArgs {
  fps?: number;
  imageSize?: string;
  id?: string;
  port?: number;
  host?: string;
  segment?: number;
  listSize?: number;
  preset?: string;
  crf?: number;
  dir?: string;
  cpu?: string;
  memory?: string;
  videoType?: string;
  source?: string;
  sourceDuration?: string;
  push?: string | string[];
}

export function serveOptions<T>(y: Argv<T>) {
  return y
    .option("fps", { type: "number", describe: "frames per second, 1-60 [env FPS, default 30]" })
    .option("image-size", {
      alias: "size",
      type: "string",
      describe: `${SIZE_NAMES.join(", ")} or 0-3 [env IMAGE_SIZE, default 720p]`,
    })
    .option("id", { type: "string", describe: "stream id carried in every frame [env ID, default vat]" })
    .option("port", { type: "number", describe: "HTTP port [env PORT, default 5000]" })
    .option("host", { type: "string", describe: "address to listen on [default 0.0.0.0]" })
    .option("segment", { type: "number", describe: "HLS segment duration in seconds [default 1]" })
    .option("list-size", { type: "number", describe: "segments listed in the playlist [default 6]" })
    .option("preset", { type: "string", describe: "x264 preset [default ultrafast]" })
    .option("crf", { type: "number", describe: "x264 constant rate factor, 0-51 [default 23]" })
    .option("dir", { type: "string", describe: "segment folder [default: a temporary folder, removed at exit]" })
    .option("cpu", { type: "string", describe: "task CPU units, reported in /params [env CPU]" })
    .option("memory", { type: "string", describe: "task memory, reported in /params [env MEMORY]" })
    .option("video-type", { type: "string", describe: "live or prerecorded [env VIDEO_TYPE, default live]" })
    .option("source", { type: "string", describe: "prerecorded: a video made by 'vat generate video' [default: render one at start-up]" })
    .option("push", {
      type: "string",
      describe: "also send the stream to this ingest (rtmp://, srt://, udp://) from the same encode; repeatable",
    })
    .option("source-duration", { type: "string", describe: "prerecorded without --source: length of the video rendered at start-up [default 60s]" });
}


/** Flags win over the environment the Fargate launcher sets, which wins over defaults. Pure. */
export function resolveServeConfig(args: ServeArgs, env: VatEnv): Omit<ServeConfig, "ffmpeg"> {
  const e = env.serve;
  const size = parseSize(args.imageSize ?? e.imageSize ?? "720p");
  const fps = parseFps(args.fps ?? e.fps ?? 30);
  const streamId = parseStreamId(args.id ?? e.id ?? "vat");
  const port = Number(args.port ?? e.port ?? 5000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw badInput(`port '${args.port ?? e.port}' is not valid: use a whole number from 0 to 65535`);
  }
  const segmentS = args.segment ?? 1;
  if (!(segmentS >= 0.5 && segmentS <= 10)) {
    throw badInput(`segment duration '${segmentS}' is out of range: use 0.5 to 10 seconds`);
  }
  const listSize = args.listSize ?? 6;
  if (!Number.isInteger(listSize) || listSize < 2 || listSize > 60) {
    throw badInput(`list size '${listSize}' is out of range: use a whole number from 2 to 60`);
  }
  const { preset, crf } = checkX264(args.preset ?? "ultrafast", args.crf ?? 23);
  const videoType = (args.videoType ?? e.videoType ?? "live").toLowerCase();
  if (videoType !== "live" && videoType !== "prerecorded") {
    throw badInput(`unknown video type '${args.videoType ?? e.videoType}': use live or prerecorded`);
  }
  if (args.source !== undefined && videoType !== "prerecorded") {
    throw badInput("--source is for prerecorded streams: add --video-type prerecorded");
  }
  const sourceDurationS = parseDurationMs(args.sourceDuration ?? "60s", "source duration") / 1000;
  if (sourceDurationS < segmentS * 2 || sourceDurationS > 3600) {
    throw badInput(`source duration '${args.sourceDuration}' is out of range: use ${segmentS * 2} s (two segments) to 1 h`);
  }
  const push = args.push === undefined ? [] : Array.isArray(args.push) ? args.push : [args.push];
  for (const u of push) pushFormat(u);
  if (push.length && videoType !== "live") throw badInput("--push works with live video: a prerecorded stream is not re-encoded");
  const fpsGiven = args.fps ?? e.fps;
  const sizeGiven = args.imageSize ?? e.imageSize;
  const idGiven = args.id ?? e.id;
  return {
    streamId,
    size,
    sizeIndex: SIZE_NAMES.indexOf(size.name),
    fps,
    host: args.host ?? "0.0.0.0",
    port,
    segmentS,
    listSize,
    preset,
    crf,
    videoType,
    sourceDurationS,
    push,
    ...(args.source !== undefined ? { source: args.source } : {}),
    asked: {
      ...(fpsGiven !== undefined ? { fps } : {}),
      ...(sizeGiven !== undefined ? { size: size.name } : {}),
      ...(idGiven !== undefined ? { streamId } : {}),
    },
    ...(args.dir ? { dir: args.dir } : {}),
    ...((args.cpu ?? e.cpu) ? { cpu: args.cpu ?? e.cpu } : {}),
    ...((args.memory ?? e.memory) ? { memory: args.memory ?? e.memory } : {}),
  };
}

const STATUS_EVERY_MS = 60_000;

export async function runServe(args: ServeArgs, shutdown: Shutdown): Promise<number> {
  const env = readEnv();
  const config: ServeConfig = { ...resolveServeConfig(args, env), ffmpeg: locateFfmpeg(env.ffmpeg) };
  if (config.source) PrerecordedOrigin.describeSource(config); // bad input fails before anything starts
  const origin = config.videoType === "prerecorded" ? new PrerecordedOrigin(config, logLine) : new Origin(config, logLine);
  if (origin instanceof PrerecordedOrigin) {
    try {
      await origin.prepare(() => shutdown.signal);
    } catch (err) {
      await origin.stop();
      throw err;
    }
  }
  let server: ReturnType<typeof Bun.serve>;
  try {
    server = Bun.serve({
      hostname: config.host,
      port: config.port,
      fetch: createHandler(origin),
      development: false,
      idleTimeout: 30,
      error: (err) => {
        logLine(`http: ${err.message}`);
        return new Response("internal error\n", { status: 500 });
      },
    });
  } catch (err) {
    await origin.stop();
    throw failed(`cannot listen on ${config.host}:${config.port}: ${(err as Error).message}`);
  }
  origin.start();
  const c = config;
  const p = origin.params().vat as { size: string; width: number; height: number; fps: number; streamId: string; segmentS: number };
  logLine(
    `vat serve: ${c.videoType} ${p.size} (${p.width}x${p.height}) ${p.fps} fps, id ${p.streamId}, ` +
      `${p.segmentS} s segments, http://${c.host}:${server.port}/video/stream.m3u8`,
  );
  const status = setInterval(() => logLine(origin.statusLine()), STATUS_EVERY_MS);
  const signal = await shutdown.requested;
  clearInterval(status);
  logLine(`vat serve: ${signal}, stopping`);
  server.stop(true);
  await origin.stop();
  logLine("vat serve: stopped");
  return 0;
}
