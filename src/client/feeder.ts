import { accessUnitDelimiter, type ElementaryFormat } from "../mp4/annexb.ts";
import type { PipeFormat } from "./decoder.ts";
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

/**
 * Copies of a unit's first frame after it, on an elementary stream that a delimiter then ends. ffmpeg 5.1 holds one
 * frame, at times two, past its parser: two H.264 copies left no real frame held in any run (vat serve's streams,
 * MPEG-TS and CMAF, 240p and 1080p). HEVC gets one: its decoder drops a second identical copy, which would make a
 * real frame count as filler; so a unit's last HEVC frame may wait for the next unit.
 */
export const ELEMENTARY_FILLER_FRAMES: Record<ElementaryFormat, number> = { h264: 2, hevc: 1 };

interface Expected {
  unit: MediaUnit;
  frames: number;
  remaining: number;
  filler: boolean;
}

/**
 * Turns source media into decoder input and, as frames come out, into their stamps. Pure: it holds no decoder.
 *
 * Frames leave the decoder in the order their bytes went in; each takes its unit's arrival stamp (or its own, when the
 * source saw each frame arrive). ffmpeg holds the last few frames it was given until more input comes, so after each
 * unit it gets copies of that unit's first (key) frame: the copies are held instead of real frames, and are dropped
 * by count, unread. MPEG-TS needs FILLER_FRAMES of them; an elementary stream (H.264, HEVC) fewer, followed by an
 * access unit delimiter that ends the last. An LL-HLS part that the next part continues gets no copy (it would stand where
 * the next frame's references are), only the delimiter: its frames but the last one or two come out at once. A
 * discontinuity needs a new decoder: the caller flushes the old one (its held frames still take their stamps) before
 * the new unit's stamps are queued.
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

  /** The writes that give a decoder reading `format` this unit (and the filler that pushes its last frames out). */
  feed(m: MediaUnit, format: PipeFormat = "mpegts"): Uint8Array[] {
    if (m.frames === 0) return [m.bytes];
    this.queue.push({ unit: m, frames: m.frames, remaining: m.frames, filler: false });
    const end = format === "mpegts" ? [] : [accessUnitDelimiter(format)];
    if (m.continuesGroup) return [m.bytes, ...end];
    const copies = format === "mpegts" ? FILLER_FRAMES : ELEMENTARY_FILLER_FRAMES[format];
    this.queue.push({ unit: m, frames: copies, remaining: copies, filler: true });
    const head = m.bytes.subarray(0, m.firstFrameEnd);
    return [m.bytes, ...Array.from({ length: copies }, () => head), ...end];
  }

  /**
   * The stamp of the next frame out of the decoder: "filler" for a copy to drop, null when nothing is expected (a
   * source whose frames the decoder reads itself, or a unit whose frames could not be counted).
   */
  next(): FrameStamp | "filler" | null {
    const head = this.queue[0];
    if (!head) return null;
    const position = head.frames - head.remaining;
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
