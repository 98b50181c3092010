/**
 * What vat costs beside plain ffmpeg doing the same work, in one run. Uses the compiled binary (`bun run build`
 * first). Not a test: take figures on a quiet machine, `bun run bench --json` for the README.
 *
 *   bun bench/serve-client.ts [--seconds 30] [--warmup 5] [--vat-warmup 60] [--sizes 1080p,720p,480p,240p] [--fps 30]
 *                             [--streams 1,2,4,8,12] [--only client,serve,many,formats] [--json]
 *
 * How to read it. Every CPU figure is CPU-seconds per second of video (1.00 = one core kept busy): the process with
 * all its live descendants (the ffmpeg children) plus the children they have reaped, from /proc/<pid>/stat
 * (utime + stime + cutime + cstime), over a steady-state span of --seconds that starts --warmup seconds after a
 * plain ffmpeg started, --vat-warmup seconds after a vat process did (its JavaScript reaches its compiled tiers only
 * after tens of seconds: see BenchOptions.vatWarmupS; --vat-warmup 5 gives the cost of a short run). A ratio is vat's
 * figure divided by the plain-ffmpeg one: 1.0 would mean vat adds nothing to the decode (or encode) it cannot do
 * without.
 *
 * client (one live `vat serve` per size, read by one process at a time):
 *   vat        `vat client` reading the server's HLS: fetching, decoding (ffmpeg hands over only each frame's code
 *              region), reading QR codes, metrics, SQLite. "+ quality" adds `--quality` (whole yuv420p frames,
 *              PSNR and SSIM against the re-rendered reference).
 *   null       ffmpeg decoding the same HLS with `-threads 1 -f null -`: the bare decode, the floor.
 *   gray pipe  ffmpeg decoding to whole gray rawvideo frames on a pipe that is read and discarded.
 *   decoder    ffmpeg with vat's own decoder arguments (src/client/decoder.ts) on the same URL, output discarded:
 *              vat ÷ decoder is what vat's own code costs on top of the ffmpeg it runs.
 *   QR read    the client's time to read each frame's code (frames.read_ms): most of what vat adds to its decoder.
 *   delay      pipeline delay, decoded − arrived for every frame that arrived in the span (frames table): how long
 *              a frame waits in the client after its segment arrived. Frames carry their segment's arrival time, so
 *              this delay is not in the latency figures; it says whether the client keeps up.
 *   fps        frames read ÷ the video they span (first to last frame number read, per run) × the frame rate: 30.0
 *              at 30 fps when none is missed.
 *   serve while read  the live server's own CPU during the vat client's span.
 * serve (no reader):
 *   vat live   `vat serve` rendering and encoding the signal in real time.
 *   x264       ffmpeg alone with serve's own encoder arguments (hlsEncoderArgs, imported), reading ~90 raw gray
 *              frames of vat's signal rendered beforehand, in a loop at the frame rate (`-re -stream_loop -1`),
 *              running at the same time as vat live and measured over the same span (each after its own warm-up),
 *              so that the machine's load moves both alike. vat ÷ x264 is what rendering, pacing and serving cost
 *              on top of the encode.
 *   prerecorded `vat serve --video-type prerecorded` looping a video made beforehand by `vat generate video`.
 * many (one prerecorded 1080p server, so that the server costs next to nothing; N × --url in one `vat client`):
 *   per stream: client CPU and memory (peak proportional set size of the tree, sampled every second: the ffmpeg
 *   libraries every decoder maps count once, not once per decoder) divided by N, and the
 *   memory each stream adds beyond the first run's (what sizing a client for more streams wants); pipeline
 *   delay p50/p95 over every stream's frames; drops and unreadable frames in the span. It stops at the first N
 *   that falls behind (a drop, p95 delay over 100 ms, or a client that ended early; `--keep-going` measures every
 *   N) and prints how many fit.
 *
 * formats (one live `vat serve --format F` per format and size, one at a time: alone for a span, then read by
 * `vat client` on its manifest):
 *   vat        the client's CPU on MPEG-TS HLS (hls), HLS with fMP4 segments (cmaf), DASH (dash), LL-HLS (ll-hls,
 *              200 ms parts) and LL-DASH (ll-dash) at one size, in the same run; ÷ hls is each one's cost beside
 *              MPEG-TS HLS (the bound: within 10 % for cmaf and dash, 15 % for ll-hls and ll-dash). fps, delay and
 *              serve while read as for client (a client that missed frames would look cheaper).
 *   serve      `vat serve --format F` itself, every format from the same x264 settings (only the muxer and the
 *              packaging differ: ffmpeg's hls/dash muxers writing files, or for ll-* ffmpeg's fMP4 on a pipe with a
 *              fragment per frame, cut into parts in vat's memory). alone: nobody reading; while read: during the
 *              client's span, answering its requests (for ll-*, blocking reloads and parts streamed while written).
 *              ÷ hls against the same bounds; vat's own is the server process without its ffmpeg (rendering, the
 *              frames' pipe, the packager, HTTP), so that a difference can be placed on vat or on ffmpeg.
 *
 * Each section can run alone (--only), and --seconds 10 gives a quick look; figures for the README want the default
 * 30 s on a quiet machine. The load average before and after is printed: figures taken while other work shares the
 * cores are not figures. --json prints every figure unrounded instead of the tables.
 */
import { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { resolveServeConfig } from "../src/commands/serve.ts";
import { CODE_OUTPUT, decoderArgs, GRAY_OUTPUT, type DecoderOutput } from "../src/client/decoder.ts";
import { percentile } from "../src/client/stats.ts";
import { readEnv } from "../src/env.ts";
import { VatError } from "../src/errors.ts";
import { locateFfmpeg } from "../src/ffmpeg.ts";
import { hlsEncoderArgs } from "../src/serve/encoder.ts";
import { PLAYLIST_NAME } from "../src/serve/segment-names.ts";
import { STREAM_FORMATS, type StreamFormat } from "../src/serve/stream-format.ts";
import { encodePayload } from "../src/signal/payload.ts";
import { parseSize, type SizeName } from "../src/signal/profiles.ts";
import { FrameRenderer, planLayout } from "../src/signal/render.ts";
import { stopProcess, track } from "../test/helpers/processes.ts";
import { killStragglers, requireBinary, serve, spawnVat, tempDir, type Served } from "../test/helpers/vat.ts";
import {
  costToHls,
  fallsBehind,
  FORMAT_COST_MARGIN,
  LL_FORMAT_COST_MARGIN,
  loopedFileInput,
  ratio,
  readFps,
  streamsThatFit,
  withinFormatMargin,
  type ReadFrame,
  type StreamLoad,
} from "./figures.ts";
import { parseBenchOptions, USAGE, type BenchOptions } from "./options.ts";
import { readTreeUsage, type TreeUsage } from "./proc-usage.ts";

/** Frames of the signal x264 loops over when it runs alone: 3 s at 30 fps, enough texture and motion to be typical. */
const LOOP_FRAMES = 90;
/** A client keeps running this long after its span, so that it is still alive (and its ffmpeg unreaped) at the end. */
const TAIL_S = 3;

interface Span {
  /** CPU-seconds per second of the span, one per measured root process; null for a process that ended early. */
  cpuPerS: (number | null)[];
  /** The same for each root process alone, without its children (vat's own code beside the ffmpeg it runs). */
  ownCpuPerS: (number | null)[];
  /** Peak proportional set size of each tree (shared libraries divided among the processes that map them). */
  peakPssBytes: number[];
  startMs: number;
  endMs: number;
}

/**
 * Waits out the warm-up (opts.warmupS for a plain ffmpeg, opts.vatWarmupS for vat; for processes started apart, the
 * part of it left for the last one started), then measures these process trees over the steady-state span.
 */
async function measureSpan(opts: BenchOptions, roots: number[], warmupS: number): Promise<Span> {
  await Bun.sleep(warmupS * 1000);
  const before = readTreeUsage(roots);
  const startMs = Date.now();
  const t0 = performance.now();
  const peak = before.map((u) => u.pssBytes);
  const end = t0 + opts.seconds * 1000;
  for (let left = end - performance.now(); left > 0; left = end - performance.now()) {
    await Bun.sleep(Math.min(1000, left));
    readTreeUsage(roots).forEach((u, i) => (peak[i] = Math.max(peak[i]!, u.pssBytes)));
  }
  const after = readTreeUsage(roots);
  const wallS = (performance.now() - t0) / 1000;
  const perS = (used: (u: TreeUsage) => number) =>
    roots.map((_, i) => (before[i]!.alive && after[i]!.alive ? (used(after[i]!) - used(before[i]!)) / wallS : null));
  return {
    cpuPerS: perS((u) => u.cpuS),
    ownCpuPerS: perS((u) => u.ownCpuS),
    peakPssBytes: peak,
    startMs,
    endMs: Date.now(),
  };
}

interface FrameFigures {
  delayP50Ms: number | null;
  delayP95Ms: number | null;
  /** Time the client spent reading each frame's QR code. */
  readP50Ms: number | null;
  readP95Ms: number | null;
  /** Frames read per second of video, per stream (figures.ts readFps): 30.0 at 30 fps when none is missed. */
  fps: number | null;
  dropped: number;
  unreadable: number;
}

/** The pipeline delay and counts of the frames (of every run in the database) that arrived within the span. */
function spanFrames(db: string, span: Span, fps: number): FrameFigures {
  const d = new Database(db, { readonly: true });
  try {
    const rows = d
      .query(
        "SELECT run_id AS run, frame_number AS frameNumber, kind, gap_before, read_ms, decoded_at_ms - arrived_at_ms AS delay_ms " +
          "FROM frames WHERE arrived_at_ms >= ? AND arrived_at_ms < ?",
      )
      .all(span.startMs, span.endMs) as (ReadFrame & { gap_before: number; read_ms: number | null; delay_ms: number })[];
    const read = rows.filter((r) => r.kind !== "unreadable");
    const delays = read.map((r) => r.delay_ms);
    const reads = rows.flatMap((r) => (r.read_ms === null ? [] : [r.read_ms]));
    return {
      delayP50Ms: percentile(delays, 50),
      delayP95Ms: percentile(delays, 95),
      readP50Ms: percentile(reads, 50),
      readP95Ms: percentile(reads, 95),
      fps: readFps(rows, fps),
      dropped: rows.reduce((s, r) => s + r.gap_before, 0),
      unreadable: rows.length - read.length,
    };
  } finally {
    d.close();
  }
}

/** Runs `vat client` on these URLs for the warm-up and span, and measures it (and, if given, the server beside it). */
async function measureVatClient(opts: BenchOptions, urls: string[], db: string, extra: string[], server?: Served) {
  const args = ["client", ...urls.flatMap((u) => ["--url", u]), "--db", db, "--json", ...extra];
  const c = spawnVat([...args, "--duration", `${opts.vatWarmupS + opts.seconds + TAIL_S}s`]);
  const stderr = new Response(c.stderr).text();
  const stdout = new Response(c.stdout).text();
  const span = await measureSpan(opts, server ? [c.pid, server.proc.pid] : [c.pid], opts.vatWarmupS);
  const code = await c.exited;
  await stdout;
  const clientCpu = span.cpuPerS[0] ?? null;
  if (clientCpu === null) process.stderr.write(`vat client ended early (${code}): ${(await stderr).trim().split("\n").slice(-3).join(" / ")}\n`);
  return { clientCpu, serveCpu: span.cpuPerS[1] ?? null, serveOwnCpu: span.ownCpuPerS[1] ?? null, rssBytes: span.peakPssBytes[0]!, exitCode: code, ...spanFrames(db, span, opts.fps) };
}

/** Runs a plain ffmpeg for the warm-up and span; its stdout, if piped, is read and thrown away. */
async function measureFfmpeg(opts: BenchOptions, ffmpeg: string, args: string[], pipeOut: boolean): Promise<number | null> {
  const plain = startPlainFfmpeg(ffmpeg, args, pipeOut);
  try {
    return await plain.figure((await measureSpan(opts, [plain.proc.pid], opts.warmupS)).cpuPerS[0]!);
  } finally {
    await stopProcess(plain.proc, "SIGTERM");
  }
}

/** A plain ffmpeg started for a figure; `figure` passes its CPU on, and when it is null says why (ffmpeg ended early). */
function startPlainFfmpeg(ffmpeg: string, args: string[], pipeOut: boolean) {
  const proc = track(Bun.spawn([ffmpeg, ...args], { stdin: "ignore", stdout: pipeOut ? "pipe" : "ignore", stderr: "pipe" }));
  if (pipeOut) void drain(proc.stdout as ReadableStream<Uint8Array>);
  const stderr = new Response(proc.stderr).text();
  return {
    proc,
    async figure(cpuPerS: number | null): Promise<number | null> {
      if (cpuPerS === null) process.stderr.write(`ffmpeg ${args.join(" ")} ended early: ${(await stderr).trim().slice(-300)}\n`);
      return cpuPerS;
    },
  };
}

async function drain(stream: ReadableStream<Uint8Array>): Promise<void> {
  for await (const _ of stream) {
    // discarded: only ffmpeg's cost is wanted
  }
}

async function startServer(args: string[]): Promise<Served> {
  const s = serve(args);
  try {
    await s.waitLive(60_000);
  } catch (err) {
    await s.stop();
    throw err;
  }
  return s;
}

function playlistOf(s: Served): string {
  return `${s.url}/video/${PLAYLIST_NAME}`;
}

interface ClientRow {
  size: SizeName;
  variant: "codes" | "quality";
  vatCpu: number | null;
  nullCpu: number | null;
  grayPipeCpu: number | null;
  decoderCpu: number | null;
  /** The live server's own cost while this client read it. */
  serveCpu: number | null;
  frames: FrameFigures;
}

/** Whole frames in all planes, as `vat client --quality` asks its decoder for them (session.ts outputFor, no rescale). */
const QUALITY_OUTPUT: DecoderOutput = { pixFmt: "yuv420p", scale: null };

async function benchClient(opts: BenchOptions, ffmpeg: string, dir: string, size: SizeName): Promise<ClientRow[]> {
  const server = await startServer(["--size", size, "--fps", String(opts.fps)]);
  try {
    const url = playlistOf(server);
    note(`client ${size}: ffmpeg -f null`);
    const nullCpu = await measureFfmpeg(opts, ffmpeg, ["-hide_banner", "-nostats", "-loglevel", "error", "-threads", "1", "-i", url, "-f", "null", "-"], false);
    note(`client ${size}: ffmpeg gray rawvideo pipe`);
    const grayPipeCpu = await measureFfmpeg(opts, ffmpeg, decoderArgs({ kind: "url", url }, GRAY_OUTPUT), true);
    const rows: ClientRow[] = [];
    for (const variant of ["codes", "quality"] as const) {
      note(`client ${size}: ffmpeg with vat's decoder arguments (${variant})`);
      const decoderCpu = await measureFfmpeg(opts, ffmpeg, decoderArgs({ kind: "url", url }, variant === "quality" ? QUALITY_OUTPUT : CODE_OUTPUT), true);
      note(`client ${size}: vat client${variant === "quality" ? " --quality" : ""}`);
      const r = await measureVatClient(opts, [server.url], join(dir, `client-${size}-${variant}.db`), variant === "quality" ? ["--quality"] : [], server);
      rows.push({ size, variant, vatCpu: r.clientCpu, nullCpu, grayPipeCpu, decoderCpu, serveCpu: r.serveCpu, frames: r });
    }
    return rows;
  } finally {
    await server.stop();
  }
}

interface ServeRow {
  size: SizeName;
  vatLiveCpu: number | null;
  x264Cpu: number | null;
  prerecordedCpu: number | null;
}

/** Renders LOOP_FRAMES frames of the live signal (as serve renders them) into one raw gray file. */
async function renderLoopFile(size: SizeName, fps: number, streamId: string, file: string): Promise<void> {
  const renderer = new FrameRenderer(planLayout(parseSize(size), streamId));
  const writer = Bun.file(file).writer();
  const t0 = Date.now();
  for (let n = 0; n < LOOP_FRAMES; n++) {
    writer.write(renderer.render(n, encodePayload({ streamId, frameNumber: n, generatedAtMs: t0 + (n * 1000) / fps })));
  }
  await writer.end();
}

const videos = new Map<string, string>();

/** A prerecorded video of the signal, made once per size by `vat generate video`, as a user would before serving it. */
async function videoFor(opts: BenchOptions, dir: string, size: SizeName): Promise<string> {
  const known = videos.get(size);
  if (known) return known;
  const file = join(dir, `signal-${size}.mp4`);
  note(`vat generate video ${size}`);
  const g = spawnVat(["generate", "video", "--size", size, "--fps", String(opts.fps), "--duration", "30s", "-o", file]);
  const [code, err] = await Promise.all([g.exited, new Response(g.stderr).text()]);
  if (code !== 0) throw new Error(`vat generate video failed (${code}): ${err.trim()}`);
  videos.set(size, file);
  return file;
}

async function benchServe(opts: BenchOptions, ffmpeg: string, dir: string, size: SizeName): Promise<ServeRow> {
  const config = resolveServeConfig({ imageSize: size, fps: opts.fps }, { serve: {} });
  const raw = join(dir, `loop-${size}.gray`);
  await renderLoopFile(size, opts.fps, config.streamId, raw);
  const segments = join(dir, `x264-${size}`);
  mkdirSync(segments);
  // The config carries every encoder setting serve would use (segment length, list size, preset, crf, no push).
  const encoderArgs = hlsEncoderArgs({ ...config, ffmpeg, width: config.size.width, height: config.size.height, dir: segments }, 0);

  // Both at once, over one span: measured one after the other, x264 alone had moved between runs about as much as
  // the difference being measured. x264 starts so that each has had its own warm-up when the span begins (vat the
  // longer of the two, should --vat-warmup be the shorter).
  note(`serve ${size}: vat serve live, and x264 alone with serve's arguments beside it`);
  const live = await startServer(["--size", size, "--fps", String(opts.fps)]);
  let vatLiveCpu: number | null;
  let x264Cpu: number | null;
  try {
    await Bun.sleep(Math.max(0, opts.vatWarmupS - opts.warmupS) * 1000);
    const x264 = startPlainFfmpeg(ffmpeg, loopedFileInput(encoderArgs, raw), false);
    try {
      const span = await measureSpan(opts, [live.proc.pid, x264.proc.pid], opts.warmupS);
      vatLiveCpu = span.cpuPerS[0]!;
      x264Cpu = await x264.figure(span.cpuPerS[1]!);
    } finally {
      await stopProcess(x264.proc, "SIGTERM");
    }
  } finally {
    await live.stop();
  }

  const video = await videoFor(opts, dir, size);
  note(`serve ${size}: vat serve prerecorded`);
  const pre = await startServer(["--video-type", "prerecorded", "--source", video, "--fps", String(opts.fps)]);
  try {
    return { size, vatLiveCpu, x264Cpu, prerecordedCpu: (await measureSpan(opts, [pre.proc.pid], opts.vatWarmupS)).cpuPerS[0]! };
  } finally {
    await pre.stop();
  }
}

interface ManyRow extends StreamLoad {
  cpuPerStream: number | null;
  rssPerStreamMiB: number;
  /** Resident memory each stream adds beyond the first: what sizing a client for more streams wants. */
  rssAddedPerStreamMiB: number | null;
  serveCpu: number | null;
  frames: FrameFigures;
}

async function benchMany(opts: BenchOptions, dir: string): Promise<{ rows: ManyRow[]; fit: number }> {
  const video = await videoFor(opts, dir, "1080p");
  const server = await startServer(["--video-type", "prerecorded", "--source", video, "--fps", String(opts.fps)]);
  const rows: ManyRow[] = [];
  try {
    for (const n of opts.streams) {
      note(`many: ${n} × 1080p${opts.fps} in one vat client`);
      const r = await measureVatClient(opts, Array.from({ length: n }, () => server.url), join(dir, `many-${n}.db`), [], server);
      const row: ManyRow = {
        streams: n,
        cpuPerStream: r.clientCpu === null ? null : r.clientCpu / n,
        rssPerStreamMiB: r.rssBytes / n / 2 ** 20,
        rssAddedPerStreamMiB: rows[0] && n > rows[0].streams
          ? (r.rssBytes / 2 ** 20 - rows[0].rssPerStreamMiB * rows[0].streams) / (n - rows[0].streams)
          : null,
        serveCpu: r.serveCpu,
        frames: r,
        dropped: r.dropped,
        delayP95Ms: r.delayP95Ms,
        failed: r.clientCpu === null || r.exitCode !== 0,
      };
      rows.push(row);
      if (fallsBehind(row) && !opts.keepGoing) {
        note(`many: ${n} streams fall behind; stopping (--keep-going measures the rest)`);
        break;
      }
    }
  } finally {
    await server.stop();
  }
  return { rows, fit: streamsThatFit(rows) };
}

interface FormatRow {
  size: SizeName;
  format: StreamFormat;
  clientCpu: number | null;
  serveCpu: number | null;
  frames: FrameFigures;
}

/** The manifest a server announces in /params (the playlist or the MPD): what a client of that format is given. */
async function manifestOf(s: Served): Promise<string> {
  const params = (await (await fetch(`${s.url}/params`)).json()) as { vat: { manifestPath: string } };
  return `${s.url}${params.vat.manifestPath}`;
}

/** The server's side of one format at one size: the same encode settings for every format, only the packaging differs. */
interface FormatServeRow {
  size: SizeName;
  format: StreamFormat;
  /** `vat serve` with nobody reading: render, encode, package. */
  aloneCpu: number | null;
  /** Of that, vat's own process without its ffmpeg: rendering, the pipe to ffmpeg and (ll-*) the in-memory packager. */
  aloneOwnCpu: number | null;
  /** While one `vat client` reads it (the formats row's client): the above plus answering its requests. */
  whileReadCpu: number | null;
  whileReadOwnCpu: number | null;
}

/**
 * Each format at one size, one server at a time so that each has the machine to itself: the server alone first,
 * then vat client on it (measuring both).
 */
async function benchFormats(opts: BenchOptions, dir: string, size: SizeName): Promise<{ client: FormatRow[]; serve: FormatServeRow[] }> {
  const client: FormatRow[] = [];
  const served: FormatServeRow[] = [];
  for (const format of STREAM_FORMATS) {
    const server = await startServer(["--format", format, "--size", size, "--fps", String(opts.fps)]);
    try {
      note(`formats ${size}: vat serve --format ${format}, nobody reading`);
      const alone = await measureSpan(opts, [server.proc.pid], opts.vatWarmupS);
      note(`formats ${size}: vat client on ${format}`);
      const r = await measureVatClient(opts, [await manifestOf(server)], join(dir, `format-${size}-${format}.db`), [], server);
      client.push({ size, format, clientCpu: r.clientCpu, serveCpu: r.serveCpu, frames: r });
      served.push({
        size,
        format,
        aloneCpu: alone.cpuPerS[0]!,
        aloneOwnCpu: alone.ownCpuPerS[0]!,
        whileReadCpu: r.serveCpu,
        whileReadOwnCpu: r.serveOwnCpu,
      });
    } finally {
      await server.stop();
    }
  }
  return { client, serve: served };
}

function note(line: string): void {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
}

const num = (v: number | null | undefined, digits = 2): string => (v === null || v === undefined || !Number.isFinite(v) ? "–" : v.toFixed(digits));
const times = (v: number | null): string => (v === null ? "–" : `${v.toFixed(2)}×`);

/** A cost ratio against its format's bound, for a table. */
function judged(format: StreamFormat, costRatio: number | null): string {
  const within = withinFormatMargin(format, costRatio);
  return within === null ? "–" : within ? "yes" : "no";
}

function table(headers: string[], rows: string[][]): string {
  return [`| ${headers.join(" | ")} |`, `|${headers.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
}

function printTables(
  opts: BenchOptions,
  client: ClientRow[],
  served: ServeRow[],
  many: { rows: ManyRow[]; fit: number } | null,
  formats: FormatRow[],
  formatServe: FormatServeRow[],
): void {
  const fps = opts.fps;
  const out: string[] = [];
  if (client.length) {
    out.push(
      "client: CPU-s per video-s (vat ÷ plain ffmpeg), pipeline delay ms",
      table(
        ["size", "client", "vat", "null", "vat ÷ null", "gray pipe", "vat ÷ gray pipe", "decoder", "vat ÷ decoder", "QR read ms p50 / p95", "delay p50 / p95", "fps", "serve while read"],
        client.map((r) => [
          `${r.size}${fps}`, r.variant === "quality" ? "+ quality" : "codes", num(r.vatCpu, 3), num(r.nullCpu, 3), times(ratio(r.vatCpu, r.nullCpu)),
          num(r.grayPipeCpu, 3), times(ratio(r.vatCpu, r.grayPipeCpu)), num(r.decoderCpu, 3), times(ratio(r.vatCpu, r.decoderCpu)),
          `${num(r.frames.readP50Ms)} / ${num(r.frames.readP95Ms)}`, `${num(r.frames.delayP50Ms, 0)} / ${num(r.frames.delayP95Ms, 0)}`, num(r.frames.fps, 1), num(r.serveCpu, 3),
        ]),
      ),
      "",
    );
  }
  if (served.length) {
    out.push(
      "serve: CPU-s per video-s, nobody reading",
      table(
        ["size", "vat live", "x264 alone", "vat ÷ x264", "prerecorded", "prerecorded ÷ live"],
        served.map((r) => [
          `${r.size}${fps}`, num(r.vatLiveCpu, 3), num(r.x264Cpu, 3), times(ratio(r.vatLiveCpu, r.x264Cpu)), num(r.prerecordedCpu, 3),
          `${num(r.prerecordedCpu !== null && r.vatLiveCpu ? (100 * r.prerecordedCpu) / r.vatLiveCpu : null, 0)} %`,
        ]),
      ),
      "",
    );
  }
  if (many) {
    out.push(
      `many: N × 1080p${fps} in one vat client (prerecorded server)`,
      table(
        ["streams", "client CPU-s per video-s per stream", "MiB per stream (PSS)", "MiB added per stream", "delay p50 / p95 ms", "dropped", "unreadable", "fps per stream", "behind"],
        many.rows.map((r) => [
          String(r.streams), num(r.cpuPerStream, 3), num(r.rssPerStreamMiB, 0), num(r.rssAddedPerStreamMiB, 0), `${num(r.frames.delayP50Ms, 0)} / ${num(r.frames.delayP95Ms, 0)}`,
          String(r.dropped), String(r.frames.unreadable), num(r.frames.fps, 1), fallsBehind(r) ? "yes" : "no",
        ]),
      ),
      `${many.fit} stream${many.fit === 1 ? "" : "s"} of 1080p${fps} fit in one vat client on this machine`,
      "",
    );
  }
  const bounds = `bound: ${100 * FORMAT_COST_MARGIN} % more, ll-hls and ll-dash ${100 * LL_FORMAT_COST_MARGIN} %`;
  if (formats.length) {
    const toHls = costToHls(formats, (r) => r.clientCpu);
    out.push(
      `formats: vat client CPU-s per video-s on each format, ÷ MPEG-TS HLS at the same size (${bounds})`,
      table(
        ["size", "format", "vat", "÷ hls", "within bound", "delay p50 / p95", "fps", "serve while read"],
        formats.map((r, i) => [
          `${r.size}${fps}`, r.format, num(r.clientCpu, 3), num(toHls[i], 2), judged(r.format, toHls[i]!),
          `${num(r.frames.delayP50Ms, 0)} / ${num(r.frames.delayP95Ms, 0)}`, num(r.frames.fps, 1), num(r.serveCpu, 3),
        ]),
      ),
      "",
    );
  }
  if (formatServe.length) {
    const aloneToHls = costToHls(formatServe, (r) => r.aloneCpu);
    const readToHls = costToHls(formatServe, (r) => r.whileReadCpu);
    out.push(
      `formats: vat serve CPU-s per video-s on each format from the same encode, ÷ MPEG-TS HLS at the same size (${bounds}); ` +
        "vat's own: its process without ffmpeg",
      table(
        ["size", "format", "alone", "÷ hls", "within bound", "vat's own", "while read", "÷ hls", "within bound", "vat's own"],
        formatServe.map((r, i) => [
          `${r.size}${fps}`, r.format, num(r.aloneCpu, 3), num(aloneToHls[i], 2), judged(r.format, aloneToHls[i]!), num(r.aloneOwnCpu, 3),
          num(r.whileReadCpu, 3), num(readToHls[i], 2), judged(r.format, readToHls[i]!), num(r.whileReadOwnCpu, 3),
        ]),
      ),
      "",
    );
  }
  process.stdout.write(`${out.join("\n")}\n`);
}

async function main(): Promise<void> {
  let opts: BenchOptions;
  try {
    opts = parseBenchOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
  requireBinary();
  const ffmpeg = locateFfmpeg(readEnv().ffmpeg);
  const dir = tempDir("vat-bench-");
  const stop = (signal: NodeJS.Signals) => {
    killStragglers();
    dir.cleanup();
    process.exit(signal === "SIGINT" ? 130 : 143);
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  const loadBefore = loadavg();
  const client: ClientRow[] = [];
  const served: ServeRow[] = [];
  let many: { rows: ManyRow[]; fit: number } | null = null;
  const formats: FormatRow[] = [];
  const formatServe: FormatServeRow[] = [];
  try {
    if (opts.only.includes("client")) for (const size of opts.sizes) client.push(...(await benchClient(opts, ffmpeg, dir.path, size)));
    if (opts.only.includes("serve")) for (const size of opts.sizes) served.push(await benchServe(opts, ffmpeg, dir.path, size));
    if (opts.only.includes("many")) many = await benchMany(opts, dir.path);
    if (opts.only.includes("formats")) {
      for (const size of opts.sizes) {
        const f = await benchFormats(opts, dir.path, size);
        formats.push(...f.client);
        formatServe.push(...f.serve);
      }
    }
  } finally {
    killStragglers();
    dir.cleanup();
  }
  const machine = { cores: cpus().length, cpu: cpus()[0]?.model ?? null, loadBefore, loadAfter: loadavg() };
  if (opts.json) {
    const clientToHls = costToHls(formats, (r) => r.clientCpu);
    const aloneToHls = costToHls(formatServe, (r) => r.aloneCpu);
    const readToHls = costToHls(formatServe, (r) => r.whileReadCpu);
    const json = {
      settings: opts,
      machine,
      client,
      serve: served,
      many,
      formats: formats.map((r, i) => ({ ...r, costToHls: clientToHls[i] })),
      formatServe: formatServe.map((r, i) => ({ ...r, aloneToHls: aloneToHls[i], whileReadToHls: readToHls[i] })),
    };
    process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
    return;
  }
  const load = (l: number[]) => l.map((v) => v.toFixed(2)).join(" ");
  process.stdout.write(
    `vat beside plain ffmpeg: ${opts.fps} fps, ${opts.seconds} s steady state after ${opts.vatWarmupS} s warm-up for vat, ${opts.warmupS} s for ffmpeg, ` +
      `${machine.cores} cores (${machine.cpu}), load ${load(loadBefore)} before, ${load(machine.loadAfter)} after\n\n`,
  );
  printTables(opts, client, served, many, formats, formatServe);
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${err instanceof VatError || err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
  killStragglers();
  process.exit(1);
});
