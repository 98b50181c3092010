import { badInput } from "../errors.ts";
import { decodePayload } from "../signal/payload.ts";
import { parseSize, type SizeName } from "../signal/profiles.ts";
import { VERSION } from "../version.ts";
import type { ClockOffset } from "./clock.ts";
import { readServerInfo, syncClock } from "./server-info.ts";
import { FrameDecoder, GRAY_OUTPUT, type DecodedFrame, type DecoderOutput } from "./decoder.ts";
import { ReferenceFrames } from "./reference.ts";
import { HlsSource, type SourceEvent } from "./hls-source.ts";
import type { Fetch } from "./http.ts";
import { StreamMeter, type FrameRecord, type RunSummary, type WindowSummary } from "./metrics.ts";
import { QrReader } from "./qr-reader.ts";
import { RunStore, toCsv } from "./store.ts";
import { Timeline, type SegmentPlace } from "./timeline.ts";
import { VmafSampling, VmafScorer, type VmafTool } from "./vmaf.ts";
import { join } from "node:path";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";

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
  ffmpeg: string;
  /** Measure PSNR and SSIM of every frame against its re-rendered reference. */
  quality: boolean;
  /** The signal's size, when the stream cannot tell (no /params) and a provider may have rescaled it. */
  referenceSize: SizeName | null;
  /** Simulate a player holding this latency: rebuffers at it. */
  targetLatencyMs: number | null;
  /** Score every Nth frame with VMAF through an ffmpeg that has libvmaf (implies full-reference quality). */
  vmaf?: { tool: VmafTool; every: number } | null;
  /** This run is one stream of a comparison. */
  comparison?: { id: string; role: string };
}

export interface LiveStatus {
  elapsedMs: number;
  frames: number;
  fps: number | null;
  latencyP50Ms: number | null;
  dropped: number;
  unreadable: number;
  outage: boolean;
}

export interface SessionObserver {
  info(line: string): void;
  window(w: WindowSummary): void;
  event(e: { kind: string; atMs: number; durationMs?: number; detail: string }): void;
  status(s: LiveStatus): void;
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
  outages: number;
  outageMs: number;
  windows: number;
}

export interface SessionDeps {
  fetch: Fetch;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

const defaultDeps: SessionDeps = {
  fetch: (url, init) => fetch(url, init),
  now: Date.now,
  sleep: (ms) => Bun.sleep(ms),
};

/**
 * Which URLs the client reads as HLS itself: a server root (vat's playlist path) or a .m3u8 playlist. Everything else
 * (files, rtmp://, srt://, http URLs of other media) goes to ffmpeg. Returns the playlist URL, or null. Pure.
 */
export function playlistUrlFor(url: string): string | null {
  if (!/^https?:\/\//i.test(url)) return null;
  const u = new URL(url);
  if (u.pathname === "/" || u.pathname === "") return new URL("/video/stream.m3u8", u).href;
  return /\.m3u8$/i.test(u.pathname) ? u.href : null;
}

/**
 * One measurement run: connect, learn the stream's parameters and clock offset, then read every frame until a limit,
 * a stop request or the end of the stream, writing windows, frames and events to the store as it goes.
 */
export async function runSession(
  cfg: ClientConfig,
  stopRequested: () => string | null,
  observer: SessionObserver,
  deps: SessionDeps = defaultDeps,
): Promise<SessionResult> {
  const requestedAtMs = deps.now();
  const playlistUrl = playlistUrlFor(cfg.url);
  const events: SourceEvent[] = [];
  let outageOpen = false;
  let store: RunStore | null = null;
  let runId = 0;
  const onEvent = (e: SourceEvent) => {
    events.push(e);
    if (e.kind === "outage") outageOpen = true;
    if (e.kind === "reconnect") outageOpen = false;
    observer.event(e);
    if (store) store.writeEvent(runId, e);
  };
  const source = playlistUrl
    ? new HlsSource(playlistUrl, {
        fetch: deps.fetch,
        now: deps.now,
        sleep: deps.sleep,
        pollMs: cfg.pollMs,
        requestTimeoutMs: 5000,
        connectTimeoutMs: cfg.connectTimeoutMs,
        maxOutageMs: cfg.maxOutageMs,
        onEvent,
        cancelled: stopRequested,
      })
    : null;
  if (source) await source.connect();

  const root = playlistUrl ? new URL("/", source!.url).href : null;
  const info = await readServerInfo(deps.fetch, root);
  const { params, vat } = info;
  let clock: ClockOffset | null = null;
  if (root && cfg.clockSync) {
    clock = await syncClock(deps, root);
    if (!clock) observer.info("the server has no /time: latency assumes both clocks agree (use NTP on both ends)");
  }
  const reader = await QrReader.create();
  const dbExisted = cfg.db === ":memory:" || existsSync(cfg.db);
  store = new RunStore(cfg.db);
  const startedAtMs = deps.now();
  const nominalFps = info.nominalFps;
  runId = store.createRun({
    startedAtMs,
    url: cfg.url,
    playlistUrl: source?.url ?? null,
    streamId: info.streamId,
    imageSize: info.imageSize,
    sizeName: info.sizeName,
    fps: nominalFps,
    cpu: params?.CPU != null ? String(params.CPU) : null,
    memory: params?.MEMORY != null ? String(params.MEMORY) : null,
    videoType: (params?.VIDEO_TYPE as string | undefined) ?? null,
    params,
    clockOffsetMs: clock?.offsetMs ?? 0,
    clockUncertaintyMs: clock?.uncertaintyMs ?? null,
    clockSynced: clock !== null,
    windowMs: cfg.windowMs,
    vatVersion: VERSION,
    options: { ...cfg, ffmpeg: undefined },
  });
  for (const e of events) store.writeEvent(runId, e);
  if (cfg.comparison) store.setComparison(runId, cfg.comparison.id, cfg.comparison.role);
  let streamIdSeen: string | null = info.streamId;
  let announced = false;
  const announce = () => {
    if (announced) return;
    announced = true;
    observer.info(`vat client: run ${runId}, measuring ${source?.url ?? cfg.url} into ${cfg.db}`);
  };

  const meter = new StreamMeter({
    startMs: startedAtMs,
    windowMs: cfg.windowMs,
    clockOffsetMs: clock?.offsetMs ?? 0,
    nominalFps,
    targetLatencyMs: cfg.targetLatencyMs,
  });
  let pending: FrameRecord[] = [];
  let windows = 0;
  const flush = (closed: WindowSummary[]) => {
    for (const w of closed) {
      const cut = pending.findIndex((f) => f.arrivedAtMs >= w.endMs);
      const mine = cut < 0 ? pending : pending.slice(0, cut);
      pending = cut < 0 ? [] : pending.slice(cut);
      store!.writeWindow(runId, w, cfg.storeFrames ? mine : []);
      windows++;
      observer.window(w);
    }
  };

  // Frames leave the decoder in segment order; each takes its segment's arrival stamp. ffmpeg holds the last few
  // frames it was given until more input comes, so after each segment it gets FILLER_FRAMES copies of that segment's
  // first (key) frame: the copies are held instead of real frames, and are dropped here by count, unread.
  interface Pending {
    sequence: number;
    arrivedAtMs: number;
    frames: number;
    remaining: number;
    filler: boolean;
    discontinuitySequence: number;
    programDateTimeMs: number | null;
    ptsOffsetsMs: number[];
  }
  const queue: Pending[] = [];
  const timeline = new Timeline();
  // Quality: frames are decoded at the reference's size (scaled when a provider changed it) with their chroma.
  const sizeName = cfg.referenceSize ?? ((vat?.size as SizeName | undefined) ?? null);
  const referenceSize = sizeName ? parseSize(sizeName) : null;
  const reference = cfg.quality || cfg.vmaf ? new ReferenceFrames(referenceSize) : null;
  const vmaf = cfg.vmaf ? new VmafSampling(new VmafScorer(cfg.vmaf.tool), cfg.vmaf.every) : null;
  const output: DecoderOutput = reference
    ? { pixFmt: "yuv420p", scale: referenceSize ? { width: referenceSize.width, height: referenceSize.height } : null }
    : GRAY_OUTPUT;
  let limitReached = false;
  let streamInfo = "";
  let described: FrameDecoder | null = null;
  // Once per decoder (a new one starts at each discontinuity), not per frame; an event only when it changed.
  const describeStream = (d: FrameDecoder, f: DecodedFrame) => {
    if (d === described) return;
    described = d;
    const info = `${d.input?.codec ?? "video"} ${d.input ? `${d.input.width}x${d.input.height}` : `${f.width}x${f.height}`}`;
    if (info === streamInfo) return;
    streamInfo = info;
    onEvent({ kind: "stream-info", atMs: f.decodedAtMs, detail: info });
  };
  let current: FrameDecoder | null = null;
  const onFrame = (f: DecodedFrame) => {
    if (limitReached) return;
    announce();
    if (current) describeStream(current, f);
    let arrivedAtMs = f.decodedAtMs;
    let segment: number | null = null;
    let place: SegmentPlace | null = null;
    const head = queue[0];
    if (head) {
      const position = head.frames - head.remaining;
      if (--head.remaining <= 0) queue.shift();
      if (head.filler) return;
      arrivedAtMs = head.arrivedAtMs;
      segment = head.sequence;
      place = {
        programDateTimeMs: head.programDateTimeMs,
        discontinuitySequence: head.discontinuitySequence,
        offsetMs: head.ptsOffsetsMs[position] ?? null,
      };
    }
    const t0 = performance.now();
    const read = reader.read(f.gray, f.width, f.height);
    const readMs = performance.now() - t0;
    const payload = read ? decodePayload(read.text) : null;
    if (payload && streamIdSeen === null && payload.streamId) {
      streamIdSeen = payload.streamId;
      store!.noteStreamId(runId, payload.streamId);
    }
    const quality = reference && payload && read ? reference.compare(f, payload, read.text) : null;
    flush(meter.closeWindowsUpTo(arrivedAtMs));
    const r = meter.push({
      arrivedAtMs,
      decodedAtMs: f.decodedAtMs,
      payload: payload ? timeline.place(payload, place) : null,
      readMs,
      segment,
      quality,
    });
    pending.push(r.record);
    if (vmaf && quality && r.record.kind === "new" && f.u && f.v) {
      vmaf.offer({ ...f, u: f.u, v: f.v }, reference!.lastReference, r.record, (sample) => store!.writeVmaf(runId, sample), observer.info);
    }
    if (r.stall) {
      store!.writeEvent(runId, {
        kind: "stall",
        atMs: r.stall.atMs,
        durationMs: r.stall.durationMs,
        detail: `no new frame for ${Math.round(r.stall.durationMs)} ms before frame ${r.stall.frameNumber}`,
      });
    }
    if (r.rebuffer) {
      store!.writeEvent(runId, {
        kind: "rebuffer",
        atMs: r.rebuffer.atMs - (clock?.offsetMs ?? 0),
        durationMs: r.rebuffer.durationMs,
        detail: `a player at ${cfg.targetLatencyMs} ms latency waits ${Math.round(r.rebuffer.durationMs)} ms for frame ${r.record.frameNumber}`,
      });
    }
    if (r.restarted) {
      onEvent({ kind: "stream-restart", atMs: arrivedAtMs, detail: `frame numbers started over at ${r.record.frameNumber}` });
    }
    if (cfg.frameLimit !== null && meter.totals.decoded >= cfg.frameLimit) limitReached = true;
  };

  const shouldStop = (): string | null => {
    const s = stopRequested();
    if (s) return s;
    if (limitReached) return "frame limit";
    if (cfg.durationMs !== null && deps.now() - startedAtMs >= cfg.durationMs) return "duration";
    return null;
  };

  const ticker = setInterval(() => {
    const now = deps.now();
    const grace = 3000 + 2 * (Number(vat?.segmentS) || 2) * 1000;
    flush(meter.closeWindowsUpTo(now - grace));
    observer.status({ elapsedMs: now - startedAtMs, ...meter.live(), outage: outageOpen });
  }, 500);

  let stopReason = "";
  try {
    if (source) {
      let decoder = new FrameDecoder(cfg.ffmpeg, { kind: "mpegts-pipe" }, onFrame, deps.now, output);
      current = decoder;
      const outcome = await source.run(async (seg) => {
        announce();
        if (seg.discontinuity) {
          // A new stream instance: flush the old decoder (its held frames keep their stamps) and start clean.
          await decoder.finish();
          queue.length = 0;
          decoder = new FrameDecoder(cfg.ffmpeg, { kind: "mpegts-pipe" }, onFrame, deps.now, output);
          current = decoder;
        }
        meter.addBytes(seg.bytes.length);
        if (seg.frames === 0) {
          await decoder.write(seg.bytes);
        } else {
          const common = {
            sequence: seg.sequence,
            arrivedAtMs: seg.arrivedAtMs,
            discontinuitySequence: seg.discontinuitySequence,
            programDateTimeMs: seg.programDateTimeMs,
            ptsOffsetsMs: seg.ptsOffsetsMs,
          };
          queue.push({ ...common, frames: seg.frames, remaining: seg.frames, filler: false });
          queue.push({ ...common, frames: FILLER_FRAMES, remaining: FILLER_FRAMES, filler: true });
          await decoder.write(seg.bytes);
          const head = seg.bytes.subarray(0, seg.firstFrameEnd);
          for (let i = 0; i < FILLER_FRAMES; i++) await decoder.write(head);
        }
        if (decoder.failure) throw decoder.failure;
      }, () => shouldStop() !== null);
      stopReason = shouldStop() ?? (outcome === "ended" ? "end of stream" : "stopped");
      await decoder.finish();
      if (decoder.failure) throw decoder.failure;
    } else {
      const decoder = new FrameDecoder(cfg.ffmpeg, { kind: "url", url: cfg.url }, onFrame, deps.now, output);
      current = decoder;
      while (decoder.alive && shouldStop() === null) await deps.sleep(50);
      stopReason = shouldStop() ?? "end of stream";
      if (decoder.alive) decoder.kill();
      const { code } = await decoder.exited;
      if (decoder.failure) throw decoder.failure;
      if (meter.totals.decoded === 0 && code !== 0 && stopReason === "end of stream") {
        throw badInput(`cannot read '${cfg.url}': ${decoder.lastError || `ffmpeg exit code ${code}`}`);
      }
    }
  } catch (err) {
    // A run that failed before it measured anything leaves nothing behind; measured windows are always kept.
    if (windows === 0 && meter.totals.decoded === 0) {
      const empty = store.discardRun(runId);
      store.close();
      if (empty && !dbExisted) for (const f of [cfg.db, `${cfg.db}-wal`, `${cfg.db}-shm`]) rmSync(f, { force: true });
    } else {
      store.close();
    }
    throw err;
  } finally {
    clearInterval(ticker);
  }
  const endedAtMs = deps.now();
  flush(meter.finish(endedAtMs));
  const summary = meter.summary(requestedAtMs);
  if (vmaf) {
    await vmaf.settle();
    summary.vmaf = vmaf.summary();
    store.fillWindowVmaf(runId);
  }
  store.finishRun(runId, endedAtMs, stopReason, summary);
  if (cfg.csvDir) exportCsv(store, runId, cfg.csvDir);
  store.close();
  const reconnects = events.filter((e) => e.kind === "reconnect");
  return {
    runId,
    db: cfg.db,
    url: cfg.url,
    playlistUrl: source?.url ?? null,
    streamId: streamIdSeen,
    params,
    clock,
    startedAtMs,
    endedAtMs,
    stopReason,
    summary,
    outages: events.filter((e) => e.kind === "outage").length,
    outageMs: reconnects.reduce((s, e) => s + (e.durationMs ?? 0), 0),
    windows,
  };
}

/** ffmpeg 5.1 holds 3 frames of an MPEG-TS input (demuxer, parser, output); one more for margin. */
const FILLER_FRAMES = 4;

function exportCsv(store: RunStore, runId: number, dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const table of ["windows", "frames", "events"] as const) {
    writeFileSync(join(dir, `run-${runId}-${table}.csv`), toCsv(store.rows(table, runId)));
  }
}
