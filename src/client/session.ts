import { badInput, failed } from "../errors.ts";
import { parseSize, type SizeName } from "../signal/profiles.ts";
import { VERSION } from "../version.ts";
import { Analyzer, type CodeReader } from "./analyzer.ts";
import type { ClockOffset } from "./clock.ts";
import { opensOutage } from "./events.ts";
import { CODE_OUTPUT, type DecodedFrame, type DecoderOutput } from "./decoder.ts";
import { Decoding, ffmpegDecoders, type DecoderFactory } from "./decoding.ts";
import type { FrameStamp } from "./feeder.ts";
import type { Fetch } from "./http.ts";
import type { DeliveryFigures } from "./delivery.ts";
import { StreamMeter, type RunSummary } from "./metrics.ts";
import { PipelineLag } from "./pipeline-lag.ts";
import { QrReader } from "./qr-reader.ts";
import { Recorder, type SessionObserver, type Store } from "./recorder.ts";
import { ReferenceFrames } from "./reference.ts";
import { readClock, readServerInfo, type ServerInfo } from "./server-info.ts";
import { openSource, type Source, type SourceDeps, type SourceSettings } from "./source.ts";
import { RunStore, toCsv } from "./store.ts";
import type { VariantChoice } from "./variants.ts";
import { VmafSampling, VmafScorer, type VmafTool } from "./vmaf.ts";
import { join } from "node:path";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { writeFilesAtomic } from "../files.ts";

export type { LiveStatus, SessionObserver } from "./recorder.ts";

export interface ClientConfig {
  url: string;
  db: string;
  windowMs: number;
  frameLimit: number | null;
  durationMs: number | null;
  storeFrames: boolean;
  csvDir: string | null;
  clockSync: boolean;
  connectTimeoutMs: number;
  maxOutageMs: number;
  pollMs: number;
  /** A playlist or MPD larger than this is a failed poll; a segment larger than this is skipped (a limit event). */
  maxPlaylistBytes: number;
  maxSegmentBytes: number;
  ffmpeg: string;
  /** Measure PSNR and SSIM of every frame against its re-rendered reference. */
  quality: boolean;
  /** The signal's size, when the stream cannot tell (no /params) and a provider may have rescaled it. */
  referenceSize: SizeName | null;
  /** Simulate a player holding this latency: rebuffers at it. */
  targetLatencyMs: number | null;
  /** Score every Nth frame with VMAF through an ffmpeg that has libvmaf (implies full-reference quality). */
  vmaf?: { tool: VmafTool; every: number } | null;
  /** Which rendition of a ladder to measure (HLS multivariant playlists, DASH adaptation sets). */
  variant: VariantChoice;
  /** --variant all: the command measures every rendition (each run then has its own variant). */
  all?: boolean;
  /** This run is one stream of a comparison. */
  comparison?: { id: string; role: string };
  /** Waited on before the run row is created, and told once it is: the runs of a comparison are made in a fixed order. */
  turn?: Promise<void>;
  created?: () => void;
}

export interface SessionResult {
  runId: number;
  db: string;
  url: string;
  playlistUrl: string | null;
  streamId: string | null;
  params: Record<string, unknown> | null;
  clock: ClockOffset | null;
  startedAtMs: number;
  endedAtMs: number;
  stopReason: string;
  summary: RunSummary;
  /** A low-latency stream's delivery (LL-HLS, LL-DASH); null for others. */
  delivery: DeliveryFigures | null;
  protocol: string | null;
  outages: number;
  outageMs: number;
  windows: number;
}

/** The session's outside world, injected: tests run a whole session with a scripted source and a fake decoder. */
export interface SessionDeps {
  fetch: Fetch;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  openSource: (url: string, s: SourceSettings, deps: SourceDeps) => Source;
  openStore: (path: string) => Store;
  decoders: (ffmpeg: string, now: () => number) => DecoderFactory;
  codeReader: () => Promise<CodeReader>;
  vmafScorer: (tool: VmafTool) => VmafScorer;
}

export const defaultSessionDeps: SessionDeps = {
  fetch: (url, init) => fetch(url, init),
  now: Date.now,
  sleep: (ms) => Bun.sleep(ms),
  openSource,
  openStore: (path) => new RunStore(path),
  decoders: ffmpegDecoders,
  codeReader: () => QrReader.create(),
  vmafScorer: (tool) => new VmafScorer(tool),
};

/** How often the status line and the window clock tick. */
const TICK_MS = 500;

/**
 * One measurement run: connect, learn the stream's parameters and clock offset, then read every frame until a limit,
 * a stop request, a fatal event or the end of the stream. Stages: source → decoding (feeder) → analyzer → meter →
 * recorder (the only way to the store and the observer).
 */
export async function runSession(
  cfg: ClientConfig,
  stopRequested: () => string | null,
  observer: SessionObserver,
  deps: SessionDeps = defaultSessionDeps,
): Promise<SessionResult> {
  const requestedAtMs = deps.now();
  const rec = new Recorder(observer, cfg.storeFrames);
  const source = deps.openSource(cfg.url, cfg, { ...deps, onEvent: (e) => rec.event(e), cancelled: stopRequested });
  await source.connect();
  const server = await readServerInfo(deps.fetch, source.root);
  for (const w of server.warnings) rec.event({ kind: "bad-value", atMs: deps.now(), detail: `/params: ${w}` });
  const clock = cfg.clockSync ? await serverClock(source, deps, rec) : null;
  const reader = await deps.codeReader();
  await cfg.turn;
  const dbExisted = cfg.db === ":memory:" || existsSync(cfg.db);
  const startedAtMs = deps.now();
  rec.open(deps.openStore(cfg.db), runInfo(cfg, source, server, clock, startedAtMs), cfg.comparison);
  cfg.created?.();
  const meter = new StreamMeter({
    startMs: startedAtMs, windowMs: cfg.windowMs, clockOffsetMs: clock?.offsetMs ?? 0, nominalFps: server.nominalFps,
    targetLatencyMs: cfg.targetLatencyMs, advertisedLatencyMs: source.delivery?.advertisedLatencyMs ?? null,
  });
  const refSize = cfg.referenceSize ?? (server.sizeName as SizeName | null);
  const reference = cfg.quality || cfg.vmaf ? new ReferenceFrames(refSize ? parseSize(refSize) : null) : null;
  const vmaf = cfg.vmaf ? new VmafSampling(deps.vmafScorer(cfg.vmaf.tool), cfg.vmaf.every) : null;
  const frames = new FrameStep(rec, meter, new Analyzer(reader, reference), vmaf, server.streamId, cfg.frameLimit);
  let announced = false;
  const announce = () => {
    if (!announced) rec.info(`vat client: run ${rec.runId}, measuring ${source.url} into ${cfg.db}`);
    announced = true;
  };
  const decoding = new Decoding(
    source.input,
    outputFor(reference, refSize),
    deps.decoders(cfg.ffmpeg, deps.now),
    (f, stamp, described) => {
      announce();
      frames.take(f, stamp, described);
    },
    (u) => {
      const which = `segment${u.from === u.until ? ` ${u.from}` : `s ${u.from}-${u.until}`}`;
      const frames = `${u.lost} frame${u.lost === 1 ? "" : "s"}`;
      rec.event({
        kind: "segment-missing",
        atMs: deps.now(),
        detail:
          u.cause === "decoder"
            ? `the decoder ${u.lost > 0 ? `could not decode ${frames}` : ""}${u.lost > 0 && u.extra > 0 ? " and " : ""}` +
              `${u.extra > 0 ? `gave ${u.extra} frame${u.extra === 1 ? "" : "s"} more (not measured)` : ""} of ${which}` +
              ` (broken media${u.message ? `; ${u.message}` : ""}):${u.lost > 0 ? " they count as dropped, and" : ""} frames of` +
              ` ${u.from === u.until ? "that segment" : "those segments"} may carry each other's stamps; decoding started over`
            : `${frames} of ${which} not decoded: they go on from media that was lost, and decoding waited for a keyframe; they count as dropped`,
      });
    },
  );
  const stop = (): string | null =>
    stopRequested() ?? (rec.fatal ? `failed: ${rec.fatal.detail}` : null) ?? (frames.limitReached ? "frame limit" : null) ??
    (cfg.durationMs !== null && deps.now() - startedAtMs >= cfg.durationMs ? "duration" : null) ??
    (source.input.kind === "url" && !decoding.alive ? "end of stream" : null);
  const ticker = setInterval(() => {
    const now = deps.now();
    rec.closed(meter.closeWindowsUpTo(now - 3000 - 2 * (Number(server.vat?.segmentS) || 2) * 1000));
    rec.status({ elapsedMs: now - startedAtMs, ...meter.live(), outage: rec.outageOpen });
  }, TICK_MS);
  let stopReason = "";
  /** When the source stopped taking media: a stream frozen before that froze up to it (not to the decoder's end). */
  let mediaEndMs: number | null = null;
  try {
    const outcome = await source.run(async (m) => {
      announce();
      meter.addBytes(m.deliveredBytes, m.arrivedAtMs);
      await decoding.take(m);
    }, () => stop() !== null);
    stopReason = stop() ?? (outcome === "ended" ? "end of stream" : "stopped");
    // A run that stopped at its frame limit ended of itself: frames still came (and were not counted).
    mediaEndMs = stopReason === "frame limit" ? null : deps.now();
    const code = await decoding.finish();
    if (meter.decoded === 0 && code !== 0 && source.input.kind === "url" && stopReason === "end of stream") {
      throw badInput(`cannot read '${cfg.url}': ${decoding.lastError || `ffmpeg exit code ${code}`}`);
    }
  } catch (err) {
    await abandon(err, { rec, meter, decoding, vmaf, db: cfg.db, dbExisted, atMs: deps.now(), requestedAtMs });
    throw err;
  } finally {
    clearInterval(ticker);
  }
  const endedAtMs = deps.now();
  rec.closed(meter.finish(endedAtMs, mediaEndMs), true);
  recordEndStall(rec, meter);
  recordEndOutage(rec, endedAtMs);
  const summary = meter.summary(requestedAtMs);
  if (vmaf) await vmaf.settle().then(() => (summary.vmaf = vmaf.summary()));
  const failure = unmeasured(summary, stopRequested() !== null, rec.fatal?.detail ?? null);
  const delivery = source.delivery?.figures(clock?.offsetMs ?? 0, meter.advertisedPlayer) ?? null;
  rec.finish(endedAtMs, failure ? `failed: ${failure}` : stopReason, summary, delivery);
  try {
    if (cfg.csvDir) exportCsv(rec, cfg.csvDir);
  } finally {
    rec.close();
  }
  const result = sessionResult(cfg, source, server, clock, rec, frames.streamId, { startedAtMs, endedAtMs, stopReason, summary, delivery });
  if (failure) throw new UnmeasuredRun(failure, result);
  return result;
}

/** A run that ended without a measurement: it is stored (status failed) and its result is printed, but never as a success. */
export class UnmeasuredRun extends Error {
  readonly error;
  constructor(
    reason: string,
    readonly result: SessionResult,
  ) {
    super(reason);
    this.error = failed(`${result.playlistUrl ?? result.url}: ${reason}`);
  }
}

/** Why a finished run measured nothing, or null when it measured something (a stop by signal is the user's choice). */
export function unmeasured(s: RunSummary, signalled: boolean, fatal: string | null): string | null {
  if (fatal) return fatal;
  if (signalled) return null;
  if (s.framesDecoded === 0) return "no video frame was decoded";
  if (s.framesNew === 0 && s.unreadable > 0) return `none of the ${s.unreadable} frames decoded carried a readable vat code`;
  return null;
}

/** Per frame: analyzer → meter → recorder, with the events the meter finds. */
class FrameStep {
  limitReached = false;
  private readonly lag = new PipelineLag();

  constructor(
    private readonly rec: Recorder,
    private readonly meter: StreamMeter,
    private readonly analyzer: Analyzer,
    private readonly vmaf: VmafSampling | null,
    public streamId: string | null,
    private readonly frameLimit: number | null,
  ) {}

  take(f: DecodedFrame, stamp: FrameStamp | null, described: string): void {
    if (this.limitReached) return;
    this.rec.event({ kind: "stream-info", atMs: f.decodedAtMs, detail: described });
    const a = this.analyzer.analyze(f, stamp);
    if (a.payload && this.streamId === null && a.payload.streamId) {
      this.streamId = a.payload.streamId;
      this.rec.streamId(a.payload.streamId);
    }
    this.rec.closed(this.meter.closeWindowsUpTo(a.input.arrivedAtMs));
    const r = this.meter.push(a.input);
    this.rec.frame(r.record);
    const behind = stamp ? this.lag.push(a.input.arrivedAtMs, a.input.decodedAtMs) : null;
    if (behind) this.rec.event(behind);
    if (this.vmaf && a.quality && r.record.kind === "new" && f.u && f.v) {
      this.vmaf.offer({ ...f, u: f.u, v: f.v }, this.analyzer.reference!.lastReference, r.record, (s) => this.rec.vmaf(s), (l) => this.rec.info(l));
    }
    const n = r.record.frameNumber;
    if (r.stall) {
      const { atMs, durationMs } = r.stall;
      const next = r.stall.frameNumber === null ? "a frame whose code could not be read" : `frame ${r.stall.frameNumber}`;
      this.rec.event({ kind: "stall", atMs, durationMs, detail: `no new frame for ${Math.round(durationMs)} ms before ${next}` });
    }
    if (r.rebuffer) {
      const { atMs, durationMs } = r.rebuffer;
      const target = this.meter.options.targetLatencyMs;
      this.rec.event({ kind: "rebuffer", atMs, durationMs, detail: `a player at ${target} ms latency waits ${Math.round(durationMs)} ms for frame ${n}` });
    }
    if (r.restarted) this.rec.event({ kind: "stream-restart", atMs: a.input.arrivedAtMs, detail: `frame numbers started over at ${n}` });
    if (this.frameLimit !== null && this.meter.decoded >= this.frameLimit) this.limitReached = true;
  }
}

/** The server clock's offset: the source's own (DASH's UTCTiming), else /time; a clock refused is said why. */
async function serverClock(source: Source, deps: SessionDeps, rec: Recorder): Promise<ClockOffset | null> {
  if (!source.root) return null;
  const reading = source.clock ?? (await readClock(deps, source.root));
  if (reading.warning) rec.event({ kind: "bad-value", atMs: deps.now(), detail: reading.warning });
  else if (!reading.clock) rec.info("the server has no clock to ask (/time, UTCTiming): latency assumes both clocks agree (use NTP on both ends)");
  return reading.clock;
}

/** Quality needs all planes at the reference's size (scaled when a provider changed it); codes need only their region. */
function outputFor(reference: ReferenceFrames | null, size: SizeName | null): DecoderOutput {
  if (!reference) return CODE_OUTPUT;
  const s = size ? parseSize(size) : null;
  return { pixFmt: "yuv420p", scale: s ? { width: s.width, height: s.height } : null };
}

function runInfo(cfg: ClientConfig, source: Source, server: ServerInfo, clock: ClockOffset | null, startedAtMs: number) {
  const p = server.params;
  return {
    startedAtMs,
    url: cfg.url,
    playlistUrl: source.root ? source.url : null,
    streamId: server.streamId,
    imageSize: server.imageSize,
    sizeName: server.sizeName,
    fps: server.nominalFps,
    cpu: p?.CPU != null ? String(p.CPU) : null,
    memory: p?.MEMORY != null ? String(p.MEMORY) : null,
    videoType: (p?.VIDEO_TYPE as string | undefined) ?? null,
    params: p,
    clockOffsetMs: clock?.offsetMs ?? 0,
    clockUncertaintyMs: clock?.uncertaintyMs ?? null,
    clockSynced: clock !== null,
    windowMs: cfg.windowMs,
    vatVersion: VERSION,
    options: { ...cfg, ffmpeg: undefined, turn: undefined, created: undefined },
    ...source.facts,
  };
}

function sessionResult(
  cfg: ClientConfig, source: Source, server: ServerInfo, clock: ClockOffset | null, rec: Recorder, streamId: string | null,
  end: Pick<SessionResult, "startedAtMs" | "endedAtMs" | "stopReason" | "summary" | "delivery">,
): SessionResult {
  const reconnects = rec.events.filter((e) => e.kind === "reconnect");
  return {
    runId: rec.runId,
    db: cfg.db,
    url: cfg.url,
    playlistUrl: source.root ? source.url : null,
    streamId,
    params: server.params,
    clock,
    protocol: source.facts.protocol,
    ...end,
    // An outage is opened by one event without a length; what closes it carries the length: a reconnect, the fatal
    // event that gives up on it, or the end of the run (recordEndOutage).
    outages: rec.events.filter(opensOutage).length,
    outageMs: [...reconnects, ...rec.events.filter((e) => e.kind === "outage" && !opensOutage(e))].reduce((s, e) => s + (e.durationMs ?? 0), 0),
    windows: rec.windows,
  };
}

/** An outage still open when the run ended: its length so far, to the end of the run, as the event that closes it. */
function recordEndOutage(rec: Recorder, endedAtMs: number): void {
  if (!rec.outageOpen) return;
  const opened = rec.events.findLast(opensOutage);
  if (!opened) return;
  const durationMs = Math.max(0, endedAtMs - opened.atMs);
  rec.event({
    kind: "outage",
    atMs: endedAtMs,
    durationMs,
    detail: `stream unreachable for ${(durationMs / 1000).toFixed(1)} s, to the end of the run (${opened.detail.replace(/^stream unreachable: /, "")})`,
  });
}

/** The stall (and a target-latency player's rebuffer) still going on when the run ended, as events. */
function recordEndStall(rec: Recorder, meter: StreamMeter): void {
  const s = meter.endStall;
  if (s) rec.event({ kind: "stall", atMs: s.atMs, durationMs: s.durationMs, detail: `no new frame for ${Math.round(s.durationMs)} ms after frame ${s.frameNumber}, to the end of the run` });
  const rb = meter.endRebuffer;
  if (rb) {
    const target = meter.options.targetLatencyMs;
    rec.event({ kind: "rebuffer", atMs: rb.atMs, durationMs: rb.durationMs, detail: `a player at ${target} ms latency waits ${Math.round(rb.durationMs)} ms, to the end of the run` });
  }
}

/**
 * A run that threw: nothing of it may outlive it (its decoder and VMAF scorer are stopped). One that failed before it
 * measured anything leaves nothing behind; what it measured is kept, stored as failed with why.
 */
async function abandon(
  err: unknown,
  r: { rec: Recorder; meter: StreamMeter; decoding: Decoding; vmaf: VmafSampling | null; db: string; dbExisted: boolean; atMs: number; requestedAtMs: number },
): Promise<void> {
  r.decoding.abort();
  await r.vmaf?.settle().catch(() => {});
  if (r.rec.windows === 0 && r.meter.decoded === 0) return discardEmpty(r.rec, r.db, r.dbExisted);
  r.rec.closed(r.meter.finish(r.atMs), true);
  recordEndStall(r.rec, r.meter);
  recordEndOutage(r.rec, r.atMs);
  r.rec.finish(r.atMs, `failed: ${(err as Error).message}`, r.meter.summary(r.requestedAtMs));
  r.rec.close();
}

function discardEmpty(rec: Recorder, db: string, dbExisted: boolean): void {
  const empty = rec.discard();
  rec.close();
  if (empty && !dbExisted) for (const f of [db, `${db}-wal`, `${db}-shm`]) rmSync(f, { force: true });
}

/** The run's CSV files, each written whole or not at all; a failure is one line, the run itself stays stored. */
function exportCsv(rec: Recorder, dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw failed(`cannot write the CSV files into '${dir}': ${(err as Error).message}`);
  }
  writeFilesAtomic(
    (["windows", "frames", "events"] as const).map((table) => ({ path: join(dir, `run-${rec.runId}-${table}.csv`), data: toCsv(rec.rows(table)) })),
  );
}
