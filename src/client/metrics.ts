import { PlayerModel, type Rebuffer } from "./player.ts";
import type { FrameQuality } from "./quality.ts";
import { NumberList, percentile, spread } from "./stats.ts";

/**
 * Turns decoded frames into per-frame records, stalls and window summaries. Pure: times come in as numbers.
 *
 * Definitions (the README's "What the numbers mean" repeats them):
 * - latency = arrival (on the client's clock, shifted by the estimated offset to the server's) − generation time.
 * - played time: a player that starts PLAYOUT_SLACK_MS after the first frame arrives and shows each new frame at the
 *   stream's frame interval, as soon as it is both due and arrived. HLS delivers a segment's frames at once; this
 *   turns bursts into the picture a viewer sees.
 * - achieved fps: new frames whose played time falls in a window ÷ the window's length.
 * - stream fps: frame-number span ÷ generation-time span of the window's new frames (the source's own rate).
 * - stall: a gap between consecutive played frames longer than two frame intervals; its duration is the gap less
 *   one interval (the time the picture froze beyond a normal frame).
 * - dropped: frame numbers skipped between consecutive new frames; a late frame that fills a gap un-drops it.
 * - duplicate: a frame number seen before; out-of-order: a frame older than the newest seen that was never seen.
 * - restart: a frame number at or below the newest seen but generated later than any seen: the source started over.
 * - jitter: mean absolute change of the playout delay (played − generated) between consecutive new frames.
 */
export const PLAYOUT_SLACK_MS = 100;
const SEEN_MEMORY = 8192;

export interface FrameInput {
  /** When the bytes holding this frame arrived, client clock (HLS: its segment's arrival). */
  arrivedAtMs: number;
  /** When the decoder handed the frame over, client clock. */
  decodedAtMs: number;
  /** What the frame's QR code said, placed on the stream's timeline (client/timeline.ts); null when unreadable. */
  payload: { frameNumber: number; generatedAtMs: number | null } | null;
  readMs: number;
  segment: number | null;
  /** Full-reference quality against the re-rendered reference, when measured. */
  quality?: FrameQuality | null;
}

export type FrameKind = "new" | "duplicate" | "late" | "unreadable";

export interface FrameRecord {
  index: number;
  kind: FrameKind;
  frameNumber: number | null;
  generatedAtMs: number | null;
  arrivedAtMs: number;
  decodedAtMs: number;
  playedAtMs: number | null;
  latencyMs: number | null;
  /** Frame numbers skipped just before this one. */
  gapBefore: number;
  segment: number | null;
  readMs: number;
  psnrY: number | null;
  psnrAll: number | null;
  ssimY: number | null;
  ssimAll: number | null;
}

export interface Stall {
  /** Played time at which the picture should have changed and did not (client clock). */
  atMs: number;
  durationMs: number;
  /** The frame that ended the stall. */
  frameNumber: number;
}

/** Latency spread of a window or run, ms. */
export interface LatencyFigures {
  latencyMinMs: number | null;
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
  latencyMaxMs: number | null;
  latencyMeanMs: number | null;
}

/** Luma PSNR (dB) and SSIM of a window's or run's frames against their references: mean, min and p5. */
export interface QualityFigures {
  psnrYMean: number | null;
  psnrYMin: number | null;
  psnrYP5: number | null;
  ssimYMean: number | null;
  ssimYMin: number | null;
  ssimYP5: number | null;
}

export interface WindowSummary extends LatencyFigures, QualityFigures {
  index: number;
  startMs: number;
  endMs: number;
  framesDecoded: number;
  framesNew: number;
  fpsAchieved: number;
  fpsStream: number | null;
  dropped: number;
  duplicates: number;
  outOfOrder: number;
  unreadable: number;
  stalls: number;
  stallMs: number;
  jitterMs: number | null;
  psnrAllMean: number | null;
  ssimAllMean: number | null;
  /** Media bytes that arrived in the window × 8 ÷ its length (HLS: the segments' sizes). */
  bitrateKbps: number | null;
}

export interface PushResult {
  record: FrameRecord;
  stall: Stall | null;
  restarted: boolean;
  /** The target-latency player had to wait for this frame. */
  rebuffer?: Rebuffer | null;
}

interface WindowAcc {
  decoded: number;
  fresh: number;
  dropped: number;
  duplicates: number;
  outOfOrder: number;
  unreadable: number;
  stalls: number;
  stallMs: number;
  latencies: number[];
  jitterSum: number;
  jitterN: number;
  firstNumber: number | null;
  firstGen: number | null;
  lastNumber: number | null;
  lastGen: number | null;
  psnrY: number[];
  ssimY: number[];
  psnrAll: number[];
  ssimAll: number[];
  bytes: number;
}

function emptyAcc(): WindowAcc {
  return {
    decoded: 0, fresh: 0, dropped: 0, duplicates: 0, outOfOrder: 0, unreadable: 0, stalls: 0, stallMs: 0,
    latencies: [], jitterSum: 0, jitterN: 0, firstNumber: null, firstGen: null, lastNumber: null, lastGen: null,
    psnrY: [], ssimY: [], psnrAll: [], ssimAll: [], bytes: 0,
  };
}

export interface MeterOptions {
  startMs: number;
  windowMs: number;
  /** Server clock − client clock. */
  clockOffsetMs: number;
  /** The stream's configured rate; estimated from generation times when unknown. */
  nominalFps: number | null;
  /** A player holding this latency is simulated alongside (rebuffers at that latency); none when null. */
  targetLatencyMs?: number | null;
}

export class StreamMeter {
  private index = 0;
  private maxNumber: number | null = null;
  private maxGen = -Infinity;
  private seen = new Set<number>();
  private seenOrder: number[] = [];
  private lastPlayed: number | null = null;
  private lastDelay: number | null = null;
  private windowIndex = 0;
  private acc = emptyAcc();
  /** New frames counted by the window their played time falls in (it can be ahead of the arrival window). */
  private playedPerWindow = new Map<number, number[]>();
  private fpsEstimate: number | null;
  private genSteps: number[] = [];
  private lastWindowP50: number | null = null;
  readonly totals = {
    decoded: 0, fresh: 0, dropped: 0, duplicates: 0, outOfOrder: 0, unreadable: 0, stalls: 0, stallMs: 0,
    restarts: 0, firstPlayed: null as number | null, lastPlayed: null as number | null,
  };
  readonly latencies = new NumberList();
  readonly quality = { psnrY: new NumberList(), ssimY: new NumberList() };

  private readonly player: PlayerModel | null;
  /** Decoded time of the first frame (for startup time). */
  firstDecodedAtMs: number | null = null;

  constructor(readonly options: MeterOptions) {
    this.fpsEstimate = options.nominalFps;
    this.player = options.targetLatencyMs != null ? new PlayerModel(options.targetLatencyMs) : null;
  }

  get fps(): number | null {
    return this.fpsEstimate;
  }

  get openWindow(): { index: number; startMs: number; endMs: number } {
    const { startMs, windowMs } = this.options;
    return { index: this.windowIndex, startMs: startMs + this.windowIndex * windowMs, endMs: startMs + (this.windowIndex + 1) * windowMs };
  }

  /** Closes every window that ends at or before nowMs and returns their summaries, oldest first. */
  closeWindowsUpTo(nowMs: number): WindowSummary[] {
    const out: WindowSummary[] = [];
    while (this.openWindow.endMs <= nowMs) out.push(this.closeWindow(this.openWindow.endMs));
    return out;
  }

  /**
   * Closes the open window early at the end of a run. A last sliver in which no frame arrived is no window (its few
   * played frames would make a meaningless rate); they still count in the run's summary.
   */
  finish(nowMs: number): WindowSummary[] {
    const out = this.closeWindowsUpTo(nowMs);
    if (nowMs > this.openWindow.startMs && (this.acc.decoded > 0 || this.windowIndex === 0)) {
      out.push(this.closeWindow(nowMs));
    }
    return out;
  }

  /** Media bytes that arrived (a segment), counted in the open window. */
  addBytes(n: number): void {
    this.acc.bytes += n;
  }

  push(f: FrameInput): PushResult {
    // Frames come in arrival order; one past the open window closes it first (the caller collects via closeWindowsUpTo).
    const q = f.quality ?? null;
    const base = {
      index: this.index++,
      arrivedAtMs: f.arrivedAtMs,
      decodedAtMs: f.decodedAtMs,
      segment: f.segment,
      readMs: f.readMs,
      psnrY: q?.psnrY ?? null,
      psnrAll: q?.psnrAll ?? null,
      ssimY: q?.ssimY ?? null,
      ssimAll: q?.ssimAll ?? null,
    };
    if (q) {
      // Quality counts for every frame shown, new or repeated: a repeated frame is what the viewer saw.
      this.acc.psnrY.push(q.psnrY);
      this.acc.ssimY.push(q.ssimY);
      this.acc.psnrAll.push(q.psnrAll);
      this.acc.ssimAll.push(q.ssimAll);
      this.quality.psnrY.push(q.psnrY);
      this.quality.ssimY.push(q.ssimY);
    }
    this.acc.decoded++;
    this.totals.decoded++;
    this.firstDecodedAtMs ??= f.decodedAtMs;
    const p = f.payload;
    if (!p) {
      this.acc.unreadable++;
      this.totals.unreadable++;
      return {
        record: { ...base, kind: "unreadable", frameNumber: null, generatedAtMs: null, playedAtMs: null, latencyMs: null, gapBefore: 0 },
        stall: null,
        restarted: false,
      };
    }
    const gen = p.generatedAtMs;
    const latencyMs = gen === null ? null : f.arrivedAtMs + this.options.clockOffsetMs - gen;
    const n = p.frameNumber;
    let restarted = false;
    let kind: FrameKind = "new";
    let gapBefore = 0;
    if (this.maxNumber !== null && n <= this.maxNumber) {
      if (gen !== null && gen > this.maxGen) {
        restarted = true; // the source started counting again
        this.totals.restarts++;
        this.seen.clear();
        this.seenOrder = [];
        this.maxNumber = null;
      } else if (this.seen.has(n)) {
        kind = "duplicate";
      } else {
        kind = "late";
      }
    }
    if (kind === "duplicate") {
      this.acc.duplicates++;
      this.totals.duplicates++;
      return {
        record: { ...base, kind, frameNumber: n, generatedAtMs: gen, playedAtMs: null, latencyMs, gapBefore: 0 },
        stall: null,
        restarted,
      };
    }
    if (kind === "late") {
      this.acc.outOfOrder++;
      this.totals.outOfOrder++;
      this.acc.dropped--;
      this.totals.dropped--;
      this.remember(n);
      return {
        record: { ...base, kind, frameNumber: n, generatedAtMs: gen, playedAtMs: null, latencyMs, gapBefore: 0 },
        stall: null,
        restarted,
      };
    }
    if (this.maxNumber !== null) {
      gapBefore = n - this.maxNumber - 1;
      this.acc.dropped += gapBefore;
      this.totals.dropped += gapBefore;
      if (gen !== null) this.learnFps(n - this.maxNumber, gen - this.maxGen);
    }
    this.maxNumber = n;
    if (gen !== null) this.maxGen = Math.max(this.maxGen, gen);
    this.remember(n);

    // Playout.
    const interval = 1000 / (this.fpsEstimate ?? 30);
    const played = this.lastPlayed === null ? f.arrivedAtMs + PLAYOUT_SLACK_MS : Math.max(f.arrivedAtMs, this.lastPlayed + interval);
    let stall: Stall | null = null;
    if (this.lastPlayed !== null && !restarted) {
      const gap = played - this.lastPlayed;
      if (gap > 2 * interval) {
        stall = { atMs: this.lastPlayed + interval, durationMs: gap - interval, frameNumber: n };
        this.acc.stalls++;
        this.acc.stallMs += stall.durationMs;
        this.totals.stalls++;
        this.totals.stallMs += stall.durationMs;
      }
    }
    this.lastPlayed = played;
    this.totals.firstPlayed ??= played;
    this.totals.lastPlayed = played;
    const w = Math.floor((played - this.options.startMs) / this.options.windowMs);
    const list = this.playedPerWindow.get(w);
    if (list) list.push(played);
    else this.playedPerWindow.set(w, [played]);

    const rebuffer = gen !== null && this.player ? this.player.push(gen, f.arrivedAtMs + this.options.clockOffsetMs) : null;
    if (gen !== null) {
      const delay = played + this.options.clockOffsetMs - gen;
      if (this.lastDelay !== null && !restarted) {
        this.acc.jitterSum += Math.abs(delay - this.lastDelay);
        this.acc.jitterN++;
      }
      this.lastDelay = delay;
    }

    this.acc.fresh++;
    this.totals.fresh++;
    if (latencyMs !== null) {
      this.acc.latencies.push(latencyMs);
      this.latencies.push(latencyMs);
    }
    if (gen !== null) {
      if (this.acc.firstNumber === null || restarted) {
        this.acc.firstNumber = n;
        this.acc.firstGen = gen;
      }
      this.acc.lastNumber = n;
      this.acc.lastGen = gen;
    }
    return {
      record: { ...base, kind, frameNumber: n, generatedAtMs: gen, playedAtMs: played, latencyMs, gapBefore },
      stall,
      restarted,
      rebuffer,
    };
  }

  private remember(n: number): void {
    this.seen.add(n);
    this.seenOrder.push(n);
    if (this.seenOrder.length > SEEN_MEMORY) this.seen.delete(this.seenOrder.shift()!);
  }

  /** Without a configured rate, the median of recent generation steps per frame gives it. */
  private learnFps(frames: number, genMs: number): void {
    if (this.options.nominalFps !== null || frames <= 0 || genMs <= 0) return;
    this.genSteps.push(genMs / frames);
    if (this.genSteps.length > 64) this.genSteps.shift();
    const step = percentile(this.genSteps, 50)!;
    this.fpsEstimate = 1000 / step;
  }

  private closeWindow(endMs: number): WindowSummary {
    const { index, startMs } = this.openWindow;
    const a = this.acc;
    const lengthS = (endMs - startMs) / 1000;
    // A window cut short at the end of a run counts only frames played before its end.
    const played = (this.playedPerWindow.get(index) ?? []).filter((t) => t < endMs).length;
    this.playedPerWindow.delete(index);
    const spanS = a.lastGen !== null && a.firstGen !== null ? (a.lastGen - a.firstGen) / 1000 : 0;
    const lat = spread(a.latencies);
    const psnr = spread(a.psnrY);
    const ssim = spread(a.ssimY);
    const summary: WindowSummary = {
      index,
      startMs,
      endMs,
      framesDecoded: a.decoded,
      framesNew: a.fresh,
      fpsAchieved: lengthS > 0 ? played / lengthS : 0,
      fpsStream: spanS > 0 ? (a.lastNumber! - a.firstNumber!) / spanS : null,
      dropped: a.dropped,
      duplicates: a.duplicates,
      outOfOrder: a.outOfOrder,
      unreadable: a.unreadable,
      stalls: a.stalls,
      stallMs: a.stallMs,
      latencyMinMs: lat.min,
      latencyP50Ms: lat.p50,
      latencyP95Ms: lat.p95,
      latencyMaxMs: lat.max,
      latencyMeanMs: lat.mean,
      jitterMs: a.jitterN ? a.jitterSum / a.jitterN : null,
      psnrYMean: psnr.mean,
      psnrYMin: psnr.min,
      psnrYP5: percentile(a.psnrY, 5),
      ssimYMean: ssim.mean,
      ssimYMin: ssim.min,
      ssimYP5: percentile(a.ssimY, 5),
      psnrAllMean: spread(a.psnrAll).mean,
      ssimAllMean: spread(a.ssimAll).mean,
      bitrateKbps: lengthS > 0 && a.bytes > 0 ? (a.bytes * 8) / lengthS / 1000 : null,
    };
    this.windowIndex++;
    this.acc = emptyAcc();
    if (summary.latencyP50Ms !== null) this.lastWindowP50 = summary.latencyP50Ms;
    return summary;
  }

  /** Cheap figures for a live status line: run totals, and the open window's median latency (never a full sort). */
  live(): { frames: number; fps: number | null; latencyP50Ms: number | null; dropped: number; unreadable: number } {
    const t = this.totals;
    const spanS = t.firstPlayed !== null && t.lastPlayed !== null ? (t.lastPlayed - t.firstPlayed) / 1000 : 0;
    return {
      frames: t.decoded,
      fps: spanS > 0 ? (t.fresh - 1) / spanS : null,
      latencyP50Ms: percentile(this.acc.latencies, 50) ?? this.lastWindowP50,
      dropped: t.dropped,
      unreadable: t.unreadable,
    };
  }

  /**
   * Whole-run figures. Achieved fps over the run: new frames ÷ the played span (first to last played frame).
   * requestedAtMs: when the client first asked for the stream (startup time runs from there to the first frame).
   */
  summary(requestedAtMs: number | null = null): RunSummary {
    const t = this.totals;
    const spanS = t.firstPlayed !== null && t.lastPlayed !== null ? (t.lastPlayed - t.firstPlayed) / 1000 : 0;
    const lat = spread(this.latencies.view());
    const psnr = spread(this.quality.psnrY.view());
    const ssim = spread(this.quality.ssimY.view());
    return {
      framesDecoded: t.decoded,
      framesNew: t.fresh,
      fpsAchieved: spanS > 0 ? (t.fresh - 1) / spanS : null,
      fpsNominal: this.fpsEstimate,
      dropped: t.dropped,
      duplicates: t.duplicates,
      outOfOrder: t.outOfOrder,
      unreadable: t.unreadable,
      stalls: t.stalls,
      stallMs: t.stallMs,
      restarts: t.restarts,
      latencyMinMs: lat.min,
      latencyP50Ms: lat.p50,
      latencyP95Ms: lat.p95,
      latencyMaxMs: lat.max,
      latencyMeanMs: lat.mean,
      psnrYMean: psnr.mean,
      psnrYMin: psnr.min,
      psnrYP5: percentile(this.quality.psnrY.view(), 5),
      ssimYMean: ssim.mean,
      ssimYMin: ssim.min,
      ssimYP5: percentile(this.quality.ssimY.view(), 5),
      vmaf: null,
      player: {
        startupMs: requestedAtMs !== null && this.firstDecodedAtMs !== null ? this.firstDecodedAtMs - requestedAtMs : null,
        stallFreeLatencyMs: lat.max,
        targetLatencyMs: this.player?.targetLatencyMs ?? null,
        rebuffers: this.player?.rebuffers ?? null,
        rebufferMs: this.player?.rebufferMs ?? null,
        rebufferRatio: this.player?.ratio ?? null,
      },
    };
  }
}

export interface RunSummary extends LatencyFigures, QualityFigures {
  framesDecoded: number;
  framesNew: number;
  fpsAchieved: number | null;
  fpsNominal: number | null;
  dropped: number;
  duplicates: number;
  outOfOrder: number;
  unreadable: number;
  stalls: number;
  stallMs: number;
  restarts: number;
  /** VMAF of sampled frames (--vmaf): filled in by the session once the last sample is scored. */
  vmaf: { samples: number; skipped: number; mean: number | null; min: number | null; p5: number | null } | null;
  /**
   * Player-side figures: startup = first request to first decoded frame; stall-free latency = the smallest steady
   * latency at which a player would never have stalled (the largest frame latency); rebuffers, their time and ratio
   * for a player holding the target latency (--target-latency).
   */
  player: {
    startupMs: number | null;
    stallFreeLatencyMs: number | null;
    targetLatencyMs: number | null;
    rebuffers: number | null;
    rebufferMs: number | null;
    rebufferRatio: number | null;
  };
}
