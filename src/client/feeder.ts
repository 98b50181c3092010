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
}

/** ffmpeg 5.1 holds 3 frames of an MPEG-TS input (demuxer, parser, output); one more for margin. */
export const FILLER_FRAMES = 4;

interface Expected {
  unit: MediaUnit;
  remaining: number;
  filler: boolean;
}

/**
 * Turns source media into decoder input and, as frames come out, into their stamps. Pure: it holds no decoder.
 *
 * Frames leave the decoder in the order their bytes went in; each takes its unit's arrival stamp (or its own, when the
 * source saw each frame arrive). ffmpeg holds the last few frames it was given until more input comes, so after each
 * unit it gets FILLER_FRAMES copies of that unit's first (key) frame: the copies are held instead of real frames, and
 * are dropped by count, unread. A discontinuity needs a new decoder: the caller flushes the old one (its held frames
 * still take their stamps) before the new unit's stamps are queued.
 */
export class Feeder {
  private queue: Expected[] = [];

  /** True when this unit starts a new stream instance: flush and replace the decoder, then call clear(). */
  startsNewDecoder(m: MediaUnit): boolean {
    return m.discontinuity;
  }

  /** Forgets what the old decoder still owed (after it was flushed). */
  clear(): void {
    this.queue = [];
  }

  /** The writes that give the decoder this unit (and the filler that pushes its last frames out). */
  feed(m: MediaUnit): Uint8Array[] {
    if (m.frames === 0) return [m.bytes];
    if (m.continuesGroup) {
      this.queue.push({ unit: m, remaining: m.frames, filler: false });
      return [m.bytes];
    }
    this.queue.push({ unit: m, remaining: m.frames, filler: false });
    this.queue.push({ unit: m, remaining: FILLER_FRAMES, filler: true });
    const head = m.bytes.subarray(0, m.firstFrameEnd);
    return [m.bytes, ...Array.from({ length: FILLER_FRAMES }, () => head)];
  }

  /**
   * The stamp of the next frame out of the decoder: "filler" for a copy to drop, null when nothing is expected (a
   * source whose frames the decoder reads itself, or a unit whose frames could not be counted).
   */
  next(): FrameStamp | "filler" | null {
    const head = this.queue[0];
    if (!head) return null;
    const position = (head.filler ? FILLER_FRAMES : head.unit.frames) - head.remaining;
    if (--head.remaining <= 0) this.queue.shift();
    if (head.filler) return "filler";
    const u = head.unit;
    return {
      arrivedAtMs: u.frameArrivalsMs?.[position] ?? u.arrivedAtMs,
      segment: u.sequence,
      place: {
        programDateTimeMs: u.programDateTimeMs,
        discontinuitySequence: u.discontinuitySequence,
        offsetMs: u.ptsOffsetsMs[position] ?? null,
      },
    };
  }
}
