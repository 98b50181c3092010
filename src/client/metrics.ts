import { PlayerModel, type Rebuffer } from "./player.ts";
import type { FrameQuality } from "./quality.ts";
import { mean, NumberList, percentile, spread } from "./stats.ts";

/**
 * Turns decoded frames into per-frame records, stalls and window summaries. Pure: times come in as numbers.
 *
 * Definitions (the README's "What the numbers mean" repeats them):
 * - latency = arrival (on the client's clock, shifted by the estimated offset to the server's) − generation time.
 * - played time: a player that starts PLAYOUT_SLACK_MS after the first frame arrives and shows each new frame at the
 *   stream's frame interval, as soon as it is both due and arrived. HLS delivers a segment's frames at once; this
 *   turns bursts into the picture a viewer sees. A frame whose code cannot be read is shown too (the viewer sees it):
 *   it takes its place in the playout as a new frame does.
 * - achieved fps: frames shown (new or unreadable) whose played time falls in a window ÷ the window's length.
 * - stream fps: frame-number span ÷ generation-time span of the window's new frames (the source's own rate).
 * - stall: a gap between consecutive played frames longer than two frame intervals; its duration is the gap less
 *   one interval (the time the picture froze beyond a normal frame).
 * - dropped: frame numbers skipped between consecutive new frames, less the unreadable frames decoded between them
 *   (frames delivered whose codes could not be read, or that a provider put in their place, are not lost); a late
 *   frame that fills a counted gap un-drops it (a frame older than any seen, such as a replay of what came before the
 *   join, was never counted: drops never go below zero).
 * - duplicate: a frame number seen before; out-of-order: a frame older than the newest seen that was never seen.
 * - restart: a frame number at or below the newest seen but generated later than any seen: the source started over.
 * - jitter: mean absolute change of the playout delay (played − generated) between consecutive new frames.
 */
export const PLAYOUT_SLACK_MS = 100;
const SEEN_MEMORY = 8192;
/** A learnt frame rate: steps between new frames kept, and how many in a row make one estimate (client/metrics.ts learnFps). */
const FPS_MEMORY_STEPS = 96;
const FPS_SPAN_STEPS = 16;

export interface FrameInput {
  /** When the bytes holding this frame arrived, client clock (HLS: its segment's arrival). */
  arrivedAtMs: number;
  /** When the decoder handed the frame over, client clock. */
  decodedAtMs: number;
  /** What the frame's QR code said, placed on the stream's timeline (client/timeline.ts); null when unreadable. */
  payload: { frameNumber: number; generatedAtMs: number | null } | null;
  readMs: number;
  segment: number | null;
  /** Its unit was already whole when the stream was joined (client/source.ts MediaUnit.atJoin). */
  atJoin?: boolean;
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
  /** Its source marked its unit as already whole at the join (MediaUnit.atJoin): it arrived at the join. */
  atJoin: boolean;
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
  /**
   * The frame that ended the stall (null: one whose code could not be read); for one still going on when the run
   * ended, the newest frame number seen.
   */
  frameNumber: number | null;
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

/** What happened to the frames of a window or a run, counted (see the definitions at the top of this file). */
export interface FrameCounts {
  framesDecoded: number;
  framesNew: number;
  dropped: number;
  duplicates: number;
  outOfOrder: number;
  unreadable: number;
  stalls: number;
  stallMs: number;
}

export interface WindowSummary extends FrameCounts, LatencyFigures, QualityFigures {
  index: number;
  startMs: number;
  endMs: number;
  fpsAchieved: number;
  fpsStream: number | null;
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

/**
 * The counts and samples of a span of frames: one Tally type for a window and for the whole run, fed by the same calls
 * so the two can never disagree on what a figure counts.
 */
export class Tally {
  decoded = 0;
  fresh = 0;
  /** Frames shown: new ones and unreadable ones (client/metrics.ts play). */
  shown = 0;
  dropped = 0;
  duplicates = 0;
  outOfOrder = 0;
  unreadable = 0;
  stalls = 0;
  stallMs = 0;
  readonly latencies = new NumberList();
  jitterSum = 0;
  jitterN = 0;
  firstNumber: number | null = null;
  firstGen: number | null = null;
  lastNumber: number | null = null;
  lastGen: number | null = null;
  firstPlayed: number | null = null;
  lastPlayed: number | null = null;
  readonly psnrY = new NumberList();
  readonly ssimY = new NumberList();
  readonly psnrAll = new NumberList();
  readonly ssimAll = new NumberList();
  bytes = 0;

  counts(): FrameCounts {
    return {
      framesDecoded: this.decoded,
      framesNew: this.fresh,
      dropped: this.dropped,
      duplicates: this.duplicates,
      outOfOrder: this.outOfOrder,
      unreadable: this.unreadable,
      stalls: this.stalls,
      stallMs: this.stallMs,
    };
  }

  latency(): LatencyFigures {
    const lat = spread(this.latencies.view());
    return { latencyMinMs: lat.min, latencyP50Ms: lat.p50, latencyP95Ms: lat.p95, latencyMaxMs: lat.max, latencyMeanMs: lat.mean };
  }

  quality(): QualityFigures {
    const psnr = spread(this.psnrY.view());
    const ssim = spread(this.ssimY.view());
    return {
      psnrYMean: psnr.mean,
      psnrYMin: psnr.min,
      psnrYP5: percentile(this.psnrY.view(), 5),
      ssimYMean: ssim.mean,
      ssimYMin: ssim.min,
      ssimYP5: percentile(this.ssimY.view(), 5),
    };
  }

  /** Frames shown ÷ the span between the first and last played (null for fewer than two). */
  playedFps(): number | null {
    const spanS = this.firstPlayed !== null && this.lastPlayed !== null ? (this.lastPlayed - this.firstPlayed) / 1000 : 0;
    return spanS > 0 ? (this.shown - 1) / spanS : null;
  }
}

/** Frame numbers counted as dropped, kept as ranges so that a late frame un-drops only what was counted. */
interface Gap {
  from: number;
  to: number;
  /** The window the gap was counted in: a late frame arriving in that window un-drops it there too. */
  window: number;
  /** Its numbers still counted as dropped: all of them, less the unreadable frames decoded in it, less late ones filled. */
  counted: number;
}
const GAP_MEMORY = 256;

export interface MeterOptions {
  startMs: number;
  windowMs: number;
  /** Server clock − client clock. */
  clockOffsetMs: number;
  /** The stream's configured rate; estimated from generation times when unknown. */
  nominalFps: number | null;
  /** A player holding this latency is simulated alongside (rebuffers at that latency); none when null. */
  targetLatencyMs?: number | null;
  /** The latency the stream itself advertises (PART-HOLD-BACK, DASH's latency target): a player held there too. */
  advertisedLatencyMs?: number | null;
}

export class StreamMeter {
  private index = 0;
  private maxNumber: number | null = null;
  private maxGen = -Infinity;
  private seen = new Set<number>();
  private seenOrder: number[] = [];
  private gaps: Gap[] = [];
  private lastPlayed: number | null = null;
  private lastDelay: number | null = null;
  private windowIndex = 0;
  /** The open window's tally, and the whole run's: every count goes to both. */
  private window = new Tally();
  readonly run = new Tally();
  restarts = 0;
  /** Bytes that arrived in windows not open yet, by window index (addBytes). */
  private bytesAhead = new Map<number, number>();
  /** Unreadable frames decoded since the last new frame: numbers they may carry are not dropped. */
  private unreadableSinceNew = 0;
  /** Frames shown (new or unreadable) counted by the window their played time falls in (it can be ahead of the arrival window). */
  private playedPerWindow = new Map<number, number[]>();
  private fpsEstimate: number | null;
  private genSteps: { frames: number; ms: number }[] = [];
  private lastWindowP50: number | null = null;

  private readonly player: PlayerModel | null;
  /** The player at the stream's advertised latency: its rebuffers are figures of the run, not events. */
  readonly advertisedPlayer: PlayerModel | null;
  /** Decoded time of the first frame (for startup time). */
  firstDecodedAtMs: number | null = null;

  constructor(readonly options: MeterOptions) {
    this.fpsEstimate = options.nominalFps;
    this.player = options.targetLatencyMs != null ? new PlayerModel(options.targetLatencyMs) : null;
    this.advertisedPlayer = options.advertisedLatencyMs != null ? new PlayerModel(options.advertisedLatencyMs) : null;
  }

  get fps(): number | null {
    return this.fpsEstimate;
  }

  /** Frames decoded so far in the run. */
  get decoded(): number {
    return this.run.decoded;
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
   * A stall still going on when the run ended (no new frame to play by its end), counted in its last window and the
   * run's summary by finish(); a target-latency player's wait for the next frame is its rebuffer.
   */
  endStall: Stall | null = null;
  endRebuffer: { atMs: number; durationMs: number } | null = null;

  /**
   * Closes the open window early at the end of a run. A last sliver in which no frame arrived is no window (its few
   * played frames would make a meaningless rate); they still count in the run's summary. A stream that stopped
   * delivering before the run ended froze the picture from its last played frame to the end: a stall, as one between
   * two frames is, and the run's achieved fps is over the time to the end. `mediaEndMs`: when the client stopped
   * taking media (the run's end less the time its decoder took to finish what it had): the freeze ends there; null
   * when the run ended of itself (a frame limit), not because nothing came.
   */
  finish(nowMs: number, mediaEndMs: number | null = nowMs): WindowSummary[] {
    const interval = 1000 / (this.fpsEstimate ?? 30);
    const endMs = Math.min(nowMs, mediaEndMs ?? -Infinity);
    const frozen = this.lastPlayed !== null && this.maxNumber !== null && endMs - this.lastPlayed > 2 * interval;
    // A freeze to the end goes in the run's last window: the one the end falls in, or ends at.
    const out: WindowSummary[] = [];
    while (frozen ? this.openWindow.endMs < nowMs : this.openWindow.endMs <= nowMs) out.push(this.closeWindow(this.openWindow.endMs));
    if (frozen && this.lastPlayed !== null && this.maxNumber !== null) {
      this.endStall = { atMs: this.lastPlayed + interval, durationMs: endMs - this.lastPlayed - interval, frameNumber: this.maxNumber };
      this.countStall(this.endStall);
      this.count((t) => (t.lastPlayed = endMs));
      this.lastPlayed = endMs;
    }
    if (this.player && this.maxGen > -Infinity && mediaEndMs !== null) {
      const rb = this.player.end(endMs + this.options.clockOffsetMs, interval);
      this.endRebuffer = rb ? { ...rb, atMs: rb.atMs - this.options.clockOffsetMs } : null;
    }
    if (mediaEndMs !== null) this.advertisedPlayer?.end(endMs + this.options.clockOffsetMs, interval);
    if (nowMs > this.openWindow.startMs && (this.window.decoded > 0 || this.windowIndex === 0 || this.endStall)) {
      out.push(this.closeWindow(nowMs));
    }
    return out;
  }

  /**
   * Media bytes that arrived (a segment, a part) at atMs, counted in the window that holds atMs: units are handed on
   * before the frames of earlier ones are read, so the window they arrived in may not be open yet. One that arrived
   * in a window already closed (a unit handed on late) counts in the open one.
   */
  addBytes(n: number, atMs: number): void {
    this.run.bytes += n;
    const w = Math.floor((atMs - this.options.startMs) / this.options.windowMs);
    if (w <= this.windowIndex) this.window.bytes += n;
    else this.bytesAhead.set(w, (this.bytesAhead.get(w) ?? 0) + n);
  }

  private count(f: (t: Tally) => void): void {
    f(this.window);
    f(this.run);
  }

  private countStall(s: Stall): void {
    this.count((t) => {
      t.stalls++;
      t.stallMs += s.durationMs;
    });
  }

  push(f: FrameInput): PushResult {
    // Frames come in arrival order; one past the open window closes it first (the caller collects via closeWindowsUpTo).
    const q = f.quality ?? null;
    const base = {
      index: this.index++,
      arrivedAtMs: f.arrivedAtMs,
      decodedAtMs: f.decodedAtMs,
      segment: f.segment,
      atJoin: f.atJoin === true,
      readMs: f.readMs,
      psnrY: q?.psnrY ?? null,
      psnrAll: q?.psnrAll ?? null,
      ssimY: q?.ssimY ?? null,
      ssimAll: q?.ssimAll ?? null,
    };
    this.count((t) => {
      t.decoded++;
      // Quality counts for every frame shown, new or repeated: a repeated frame is what the viewer saw.
      if (q) {
        t.psnrY.push(q.psnrY);
        t.ssimY.push(q.ssimY);
        t.psnrAll.push(q.psnrAll);
        t.ssimAll.push(q.ssimAll);
      }
    });
    this.firstDecodedAtMs ??= f.decodedAtMs;
    const p = f.payload;
    if (!p) {
      this.count((t) => t.unreadable++);
      this.unreadableSinceNew++;
      // Shown all the same: the picture moved on, it did not freeze.
      const { played, stall } = this.play(f.arrivedAtMs, null);
      return {
        record: { ...base, kind: "unreadable", frameNumber: null, generatedAtMs: null, playedAtMs: played, latencyMs: null, gapBefore: 0 },
        stall,
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
        this.restarts++;
        this.seen.clear();
        this.seenOrder = [];
        this.gaps = [];
        this.maxNumber = null;
      } else if (this.seen.has(n)) {
        kind = "duplicate";
      } else {
        kind = "late";
      }
    }
    if (kind === "duplicate" || kind === "late") {
      if (kind === "duplicate") this.count((t) => t.duplicates++);
      else {
        this.count((t) => t.outOfOrder++);
        this.fillGap(n);
        this.remember(n);
      }
      return {
        record: { ...base, kind, frameNumber: n, generatedAtMs: gen, playedAtMs: null, latencyMs, gapBefore: 0 },
        stall: null,
        restarted,
      };
    }
    const unreadableBefore = this.unreadableSinceNew;
    this.unreadableSinceNew = 0;
    if (this.maxNumber !== null) {
      gapBefore = n - this.maxNumber - 1;
      const dropped = Math.max(0, gapBefore - unreadableBefore);
      if (dropped > 0) {
        this.count((t) => (t.dropped += dropped));
        // Which numbers the unreadable frames carried is not known: late frames in the gap un-drop up to what counted.
        this.gaps.push({ from: this.maxNumber + 1, to: n - 1, window: this.windowIndex, counted: dropped });
        if (this.gaps.length > GAP_MEMORY) this.gaps.shift();
      }
      if (gen !== null) this.learnFps(n - this.maxNumber, gen - this.maxGen);
    }
    this.maxNumber = n;
    if (gen !== null) this.maxGen = Math.max(this.maxGen, gen);
    this.remember(n);

    // A restart (the source numbering again) froze the picture as any gap does.
    const { played, stall } = this.play(f.arrivedAtMs, n);

    // The player model runs on the server's clock; its rebuffer is reported on the client's, as every event is.
    const rb = gen !== null && this.player ? this.player.push(gen, f.arrivedAtMs + this.options.clockOffsetMs) : null;
    const rebuffer = rb ? { ...rb, atMs: rb.atMs - this.options.clockOffsetMs } : null;
    if (gen !== null) this.advertisedPlayer?.push(gen, f.arrivedAtMs + this.options.clockOffsetMs);
    let jitter: number | null = null;
    if (gen !== null) {
      const delay = played + this.options.clockOffsetMs - gen;
      if (this.lastDelay !== null && !restarted) jitter = Math.abs(delay - this.lastDelay);
      this.lastDelay = delay;
    }
    this.count((t) => {
      t.fresh++;
      if (jitter !== null) {
        t.jitterSum += jitter;
        t.jitterN++;
      }
      if (latencyMs !== null) t.latencies.push(latencyMs);
      if (gen !== null) {
        if (t.firstNumber === null || restarted) {
          t.firstNumber = n;
          t.firstGen = gen;
        }
        t.lastNumber = n;
        t.lastGen = gen;
      }
    });
    return {
      record: { ...base, kind, frameNumber: n, generatedAtMs: gen, playedAtMs: played, latencyMs, gapBefore },
      stall,
      restarted,
      rebuffer,
    };
  }

  /**
   * A frame shown (new or unreadable): when the playout shows it, and the stall before it if the picture froze. The
   * stall names the frame after it (null: an unreadable one).
   */
  private play(arrivedAtMs: number, frameNumber: number | null): { played: number; stall: Stall | null } {
    const interval = 1000 / (this.fpsEstimate ?? 30);
    const played = this.lastPlayed === null ? arrivedAtMs + PLAYOUT_SLACK_MS : Math.max(arrivedAtMs, this.lastPlayed + interval);
    let stall: Stall | null = null;
    if (this.lastPlayed !== null) {
      const gap = played - this.lastPlayed;
      if (gap > 2 * interval) {
        stall = { atMs: this.lastPlayed + interval, durationMs: gap - interval, frameNumber };
        this.countStall(stall);
      }
    }
    this.lastPlayed = played;
    const w = Math.floor((played - this.options.startMs) / this.options.windowMs);
    const list = this.playedPerWindow.get(w);
    if (list) list.push(played);
    else this.playedPerWindow.set(w, [played]);
    this.count((t) => {
      t.shown++;
      t.firstPlayed ??= played;
      t.lastPlayed = played;
    });
    return { played, stall };
  }

  /**
   * A late frame un-drops its number only when that number was counted as dropped (it lies in a remembered gap): a
   * frame older than any seen (a replay of what came before the join) was never counted, so drops never go negative.
   * A window already closed keeps its figure; the open window and the run lose the drop.
   */
  private fillGap(n: number): void {
    const i = this.gaps.findIndex((g) => n >= g.from && n <= g.to);
    if (i < 0) return;
    const g = this.gaps[i]!;
    // Each number fills once (a second copy is a duplicate); a gap whose drops are all filled is done.
    if (--g.counted === 0) this.gaps.splice(i, 1);
    this.run.dropped--;
    if (g.window === this.windowIndex) this.window.dropped--;
  }

  private remember(n: number): void {
    this.seen.add(n);
    this.seenOrder.push(n);
    if (this.seenOrder.length > SEEN_MEMORY) this.seen.delete(this.seenOrder.shift()!);
  }

  /**
   * Without a configured rate, recent generation steps give it: the median, over runs of FPS_SPAN_STEPS steps in a
   * row, of each run's time per frame. Generation times are whole milliseconds, so one step of a 30 fps stream is 33
   * or 34 ms and their median is off by 1 % (60 fps: 16 or 17, 2 %); a run's sum is off by at most 1 ms over about
   * half a second. A step that is not the stream's (a jump, a restart) spoils only the runs it is in.
   */
  private learnFps(frames: number, genMs: number): void {
    if (this.options.nominalFps !== null || frames <= 0 || genMs <= 0) return;
    this.genSteps.push({ frames, ms: genMs });
    if (this.genSteps.length > FPS_MEMORY_STEPS) this.genSteps.shift();
    // Until there are enough steps for a run, single steps (their median sets an outlier aside).
    const span = this.genSteps.length < FPS_SPAN_STEPS ? 1 : FPS_SPAN_STEPS;
    const rates: number[] = [];
    let frameSum = 0;
    let msSum = 0;
    for (const [i, s] of this.genSteps.entries()) {
      frameSum += s.frames;
      msSum += s.ms;
      if (i >= span) {
        frameSum -= this.genSteps[i - span]!.frames;
        msSum -= this.genSteps[i - span]!.ms;
      }
      if (i >= span - 1) rates.push(msSum / frameSum);
    }
    this.fpsEstimate = 1000 / percentile(rates, 50)!;
  }

  private closeWindow(endMs: number): WindowSummary {
    const { index, startMs } = this.openWindow;
    const a = this.window;
    const lengthS = (endMs - startMs) / 1000;
    // A window cut short at the end of a run counts only frames played before its end.
    const played = (this.playedPerWindow.get(index) ?? []).filter((t) => t < endMs).length;
    this.playedPerWindow.delete(index);
    const spanS = a.lastGen !== null && a.firstGen !== null ? (a.lastGen - a.firstGen) / 1000 : 0;
    const summary: WindowSummary = {
      index,
      startMs,
      endMs,
      ...a.counts(),
      fpsAchieved: lengthS > 0 ? played / lengthS : 0,
      fpsStream: spanS > 0 ? (a.lastNumber! - a.firstNumber!) / spanS : null,
      ...a.latency(),
      jitterMs: a.jitterN ? a.jitterSum / a.jitterN : null,
      ...a.quality(),
      psnrAllMean: mean(a.psnrAll.view()),
      ssimAllMean: mean(a.ssimAll.view()),
      bitrateKbps: lengthS > 0 && a.bytes > 0 ? (a.bytes * 8) / lengthS / 1000 : null,
    };
    this.windowIndex++;
    this.window = new Tally();
    this.window.bytes = this.bytesAhead.get(this.windowIndex) ?? 0;
    this.bytesAhead.delete(this.windowIndex);
    if (summary.latencyP50Ms !== null) this.lastWindowP50 = summary.latencyP50Ms;
    return summary;
  }

  /** Cheap figures for a live status line: run totals, and the open window's median latency (never a full sort). */
  live(): { frames: number; fps: number | null; latencyP50Ms: number | null; dropped: number; unreadable: number } {
    const t = this.run;
    return {
      frames: t.decoded,
      fps: t.playedFps(),
      latencyP50Ms: percentile(this.window.latencies.view(), 50) ?? this.lastWindowP50,
      dropped: t.dropped,
      unreadable: t.unreadable,
    };
  }

  /**
   * Whole-run figures. Achieved fps over the run: (new frames − 1) ÷ the played span (first to last played frame).
   * requestedAtMs: when the client first asked for the stream (startup time runs from there to the first frame).
   */
  summary(requestedAtMs: number | null = null): RunSummary {
    const t = this.run;
    const latency = t.latency();
    return {
      ...t.counts(),
      fpsAchieved: t.playedFps(),
      fpsNominal: this.fpsEstimate,
      restarts: this.restarts,
      ...latency,
      ...t.quality(),
      vmaf: null,
      player: {
        startupMs: requestedAtMs !== null && this.firstDecodedAtMs !== null ? this.firstDecodedAtMs - requestedAtMs : null,
        stallFreeLatencyMs: latency.latencyMaxMs,
        targetLatencyMs: this.player?.targetLatencyMs ?? null,
        rebuffers: this.player?.rebuffers ?? null,
        rebufferMs: this.player?.rebufferMs ?? null,
        rebufferRatio: this.player?.ratio ?? null,
      },
    };
  }
}

export interface RunSummary extends FrameCounts, LatencyFigures, QualityFigures {
  fpsAchieved: number | null;
  fpsNominal: number | null;
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
