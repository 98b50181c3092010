import type { PipeFormat } from "./decoder.ts";
import { MatroskaBlocks, matroskaHeader } from "./matroska-feed.ts";
import type { MediaUnit } from "./source.ts";
import type { SegmentPlace } from "./timeline.ts";

/**
 * What a decoded frame is known by before its code is read: when its bytes arrived, which unit it came in, and its
 * place on the stream's timeline.
 */
export interface FrameStamp {
  arrivedAtMs: number;
  segment: number | null;
  place: SegmentPlace | null;
  /** Its unit was already whole when the stream was joined (MediaUnit.atJoin). */
  atJoin: boolean;
}

/**
 * Copies of its first frame after an MPEG-TS unit. ffmpeg 5.1 holds 2 frames of an MPEG-TS input: its demuxer the
 * last PES (a video PES has no length: it ends when the next one starts), its parser one more; two more for margin.
 */
export const FILLER_FRAMES = 4;

/** A timed block's time is its frame's presentation time after the first frame's, plus this (client/feeder.ts). */
const MARGIN_MS = 10_000;
/** Block times remembered so that none is given twice (client/feeder.ts blockTimes). */
const RECENT_TIMES = 512;

interface Expected {
  unit: MediaUnit;
  frames: number;
  remaining: number;
  filler: boolean;
  /** The unit's presentation offsets in presentation order (the decoder's output order), once asked. */
  presentation?: number[];
}

/**
 * Turns source media into decoder input and, as frames come out, into their stamps. Pure: it holds no decoder; one
 * Feeder serves one decoder at a time (clear() when it is replaced).
 *
 * An elementary stream (H.264, HEVC: fMP4's video, and MPEG-TS's) goes to the decoder as Matroska, a block a frame,
 * each at its frame's presentation time (client/matroska-feed.ts; blockTimes below); the decoder gives each frame out
 * with that time, its number here, so a frame takes its own stamp, whatever frames the decoder dropped (with a word
 * or without), made up or gave out in another order (B-frames), and a number given no frame is a frame not decoded.
 * Nothing holds frames back.
 *
 * Other MPEG-TS video (MPEG-2 and the like) is read by ffmpeg's MPEG-TS demuxer, and its frames take their stamps by
 * count: frames leave the decoder in presentation order, each taking its unit's next one. The demuxer and its parser
 * hold the last frames of their input until more comes: each unit gets FILLER_FRAMES copies of its first (key) frame
 * after it, held instead of real frames and dropped by count, unread; an LL-HLS part gets none (they would stand where
 * the next frame's references are), its last frames come out when the next part pushes them.
 *
 * A discontinuity needs a new decoder: the caller flushes the old one (its held frames still take their stamps) before
 * the new unit's stamps are queued.
 */
export class Feeder {
  private queue: Expected[] = [];
  /** A unit whose frames could not be counted was fed: frames nothing was expected for may be its. */
  private uncounted = false;
  /** Frames given to the decoder as timed blocks and not given out yet, by their block's time. */
  private numbered = new Map<number, { unit: MediaUnit; position: number }[]>();
  /** The decoder's Matroska blocks; null until the stream's header is written. */
  private blocks: MatroskaBlocks | null = null;
  /** What a frame's presentation time (ms) less this is its block's time; the latest block time given. */
  private timeBase: number | null = null;
  private latestTime = -1;
  /** The last unit's first presentation time, unwrapped (a 33-bit PTS wraps every 26.5 h): the next is unwrapped by it. */
  private lastPts: number | null = null;
  /** Block times given lately, so that no two frames get one (a source repeating a PTS). */
  private recentTimes: number[] = [];
  private recentSet = new Set<number>();
  /** Frames the decoder gave out beyond all it was given (broken media parsed as more pictures): not measured. */
  unexpected = 0;

  /** True when this unit starts a new stream instance: flush and replace the decoder, then call clear(). */
  startsNewDecoder(m: MediaUnit): boolean {
    if (m.discontinuity) return true;
    // A clock gone back past the first frame's margin (a new encoder, a period restarting its media time): a decoder
    // given times that go back would give frames out by their decode order (blockTimes).
    const pts = this.presentationTimes(m);
    return this.timeBase !== null && pts !== null && pts.reduce((a, b) => Math.min(a, b), Infinity) - this.timeBase < 0;
  }

  /** Frames of the stream (fillers not counted) that the decoder was given and has not given out. */
  owed(): number {
    let n = 0;
    for (const list of this.numbered.values()) n += list.length;
    for (const e of this.queue) if (!e.filler) n += e.remaining;
    return n;
  }

  /**
   * The units of the frames owed, first and last, when the decoder read numbered frames (each frame's unit is known);
   * null otherwise, or when none is owed.
   */
  owedUnits(): { from: number; until: number } | null {
    let from = Infinity;
    let until = -Infinity;
    for (const list of this.numbered.values()) {
      for (const { unit } of list) {
        from = Math.min(from, unit.sequence);
        until = Math.max(until, unit.sequence);
      }
    }
    return from <= until ? { from, until } : null;
  }

  /** Forgets what the old decoder still owed (after it was flushed: frames it could not decode). */
  clear(): void {
    this.queue = [];
    this.uncounted = false;
    this.numbered.clear();
    this.blocks = null;
    this.timeBase = null;
    this.latestTime = -1;
    this.lastPts = null;
    this.recentTimes = [];
    this.recentSet.clear();
    this.unexpected = 0;
  }

  /** The writes that give a decoder reading `format` this unit (and what pushes its last frames out). */
  feed(m: MediaUnit, format: PipeFormat = "mpegts"): Uint8Array[] {
    if (format !== "mpegts") {
      if (m.frames === 0) return [];
      const ends = m.frameEnds;
      if (!ends || ends.length !== m.frames) throw new Error(`unit ${m.sequence}: ${m.frames} frames but ${ends?.length ?? "no"} frame ends`);
      const writes = this.blocks ? [] : [matroskaHeader(format)];
      this.blocks ??= new MatroskaBlocks();
      const times = this.blockTimes(m);
      writes.push(this.blocks.blocks(m.bytes, ends, times));
      for (const [i, t] of times.entries()) {
        const list = this.numbered.get(t);
        if (list) list.push({ unit: m, position: i });
        else this.numbered.set(t, [{ unit: m, position: i }]);
      }
      return writes;
    }
    if (m.frames === 0) {
      this.uncounted = true;
      return [m.bytes];
    }
    this.queue.push({ unit: m, frames: m.frames, remaining: m.frames, filler: false });
    if (m.continuesGroup) return [m.bytes];
    this.queue.push({ unit: m, frames: FILLER_FRAMES, remaining: FILLER_FRAMES, filler: true });
    const head = m.bytes.subarray(0, m.firstFrameEnd);
    return [m.bytes, ...Array.from({ length: FILLER_FRAMES }, () => head)];
  }

  /**
   * Each frame's block time: its presentation time less timeBase, whole ms, so that the decoder gives frames out in the
   * order of their times (B-frames: out of the order they went in), which ffmpeg needs to keep each frame's own (it
   * takes the input's decode order for a frame's time when those times go back). A frame with none, or one that would
   * go before 0 (a clock that jumped back), comes 1 ms after the latest. The first frame's time is MARGIN_MS: frames
   * shown before it (an open GOP's leading pictures) still have one.
   */
  private blockTimes(m: MediaUnit): number[] {
    const pts = this.presentationTimes(m);
    if (pts) this.lastPts = pts[0]!;
    if (pts && this.timeBase === null) this.timeBase = pts[0]! - MARGIN_MS;
    return Array.from({ length: m.frames }, (_, i) => {
      const t = pts ? Math.round(pts[i]! - this.timeBase!) : -1;
      let time = t >= 0 ? t : this.latestTime + 1;
      // A time already given (a PTS repeated) would make the decoder print one frame's time for two.
      while (this.numbered.has(time) || this.recentSet.has(time)) time++;
      this.recentTimes.push(time);
      this.recentSet.add(time);
      if (this.recentTimes.length > RECENT_TIMES) this.recentSet.delete(this.recentTimes.shift()!);
      this.latestTime = Math.max(this.latestTime, time);
      return time;
    });
  }

  /** The unit's frames' presentation times (ms, decode order), unwrapped against the last unit's; null when it has none. */
  private presentationTimes(m: MediaUnit): number[] | null {
    const pts = m.framePtsMs?.length === m.frames && m.frames > 0 ? m.framePtsMs : null;
    if (!pts || this.lastPts === null) return pts;
    const wrap = 2 ** 33 / 90;
    const turns = Math.round((this.lastPts - pts[0]!) / wrap);
    return turns === 0 ? pts : pts.map((t) => t + turns * wrap);
  }

  /**
   * The stamp of the next frame out of the decoder, `number` the input frame it came from when the decoder read
   * numbered blocks: "filler" for a copy to drop, null when nothing is expected (a source whose frames the decoder
   * reads itself, or a unit whose frames could not be counted), "unknown" for a frame that is none of those it was
   * given (broken media the decoder took for more pictures; a number given out twice): not measured.
   */
  next(number: number | null = null): FrameStamp | "filler" | "unknown" | null {
    if (this.blocks) {
      const list = number === null ? undefined : this.numbered.get(number);
      const given = list?.shift();
      if (!given) {
        this.unexpected++;
        return "unknown";
      }
      if (list!.length === 0) this.numbered.delete(number!);
      return stampOf(given.unit, given.position, given.unit.ptsOffsetsMs[given.position] ?? null);
    }
    const head = this.queue[0];
    if (!head) {
      if (this.uncounted) return null;
      this.unexpected++;
      return "unknown";
    }
    const position = head.frames - head.remaining;
    if (--head.remaining <= 0) this.queue.shift();
    if (head.filler) return "filler";
    // Out in presentation order: the unit's position-th presentation time.
    head.presentation ??= [...head.unit.ptsOffsetsMs].sort((a, b) => a - b);
    return stampOf(head.unit, position, head.presentation[position] ?? null);
  }
}

/** A frame's stamp: its own arrival where the source saw each frame arrive (`position` in decode order), else its unit's. */
function stampOf(u: MediaUnit, position: number, offsetMs: number | null): FrameStamp {
  return {
    arrivedAtMs: u.frameArrivalsMs?.[position] ?? u.arrivedAtMs,
    segment: u.sequence,
    atJoin: u.atJoin === true,
    place: { programDateTimeMs: u.programDateTimeMs, discontinuitySequence: u.discontinuitySequence, offsetMs },
  };
}
