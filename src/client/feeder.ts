import { accessUnitDelimiter } from "../mp4/annexb.ts";
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
  /** Its unit was already whole when the stream was joined (MediaUnit.atJoin). */
  atJoin: boolean;
}

/**
 * Copies of its first frame after an MPEG-TS unit. ffmpeg 5.1 holds 2 frames of an MPEG-TS input: its demuxer the
 * last PES (a video PES has no length: it ends when the next one starts), its parser one more; two more for margin.
 */
export const FILLER_FRAMES = 4;

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
 * source saw each frame arrive). ffmpeg holds the last frames it was given until more input comes. An elementary
 * stream (H.264, HEVC: fMP4's video, and MPEG-TS's) holds one, in ffmpeg's parser, until the next frame starts: an
 * access unit delimiter after each unit starts one, so that every frame of the unit comes out at once, an LL-HLS
 * part's as well (nothing past the parser holds frames, with the decoder and the rawvideo encoder on one thread each:
 * client/decoder.ts). Other MPEG-TS units get FILLER_FRAMES copies of their first (key) frame after them: the copies
 * are held instead of real frames, and are dropped by count, unread; an LL-HLS part gets none (they would stand where
 * the next frame's references are), its last frames come out when the next part pushes them. A discontinuity needs
 * a new decoder: the caller flushes the old one (its held frames still take their stamps) before the new unit's
 * stamps are queued.
 */
export class Feeder {
  private queue: Expected[] = [];
  /** A unit whose frames could not be counted was fed: frames nothing was expected for may be its. */
  private uncounted = false;
  /** Frames the decoder gave out beyond all it was given (broken media parsed as more pictures): not measured. */
  unexpected = 0;

  /** True when this unit starts a new stream instance: flush and replace the decoder, then call clear(). */
  startsNewDecoder(m: MediaUnit): boolean {
    return m.discontinuity;
  }

  /** Frames of the stream (fillers not counted) that the decoder was given and has not given out. */
  owed(): number {
    let n = 0;
    for (const e of this.queue) if (!e.filler) n += e.remaining;
    return n;
  }

  /** Forgets what the old decoder still owed (after it was flushed: frames it could not decode). */
  clear(): void {
    this.queue = [];
    this.uncounted = false;
    this.unexpected = 0;
  }

  /** The writes that give a decoder reading `format` this unit (and what pushes its last frames out). */
  feed(m: MediaUnit, format: PipeFormat = "mpegts"): Uint8Array[] {
    if (m.frames === 0) {
      this.uncounted = true;
      return [m.bytes];
    }
    this.queue.push({ unit: m, frames: m.frames, remaining: m.frames, filler: false });
    if (format !== "mpegts") return [m.bytes, accessUnitDelimiter(format)];
    if (m.continuesGroup) return [m.bytes];
    this.queue.push({ unit: m, frames: FILLER_FRAMES, remaining: FILLER_FRAMES, filler: true });
    const head = m.bytes.subarray(0, m.firstFrameEnd);
    return [m.bytes, ...Array.from({ length: FILLER_FRAMES }, () => head)];
  }

  /**
   * The stamp of the next frame out of the decoder: "filler" for a copy to drop, null when nothing is expected (a
   * source whose frames the decoder reads itself, or a unit whose frames could not be counted), "unknown" for a frame
   * beyond every one it was given (broken media the decoder took for more pictures): not measured.
   */
  next(): FrameStamp | "filler" | "unknown" | null {
    const head = this.queue[0];
    if (!head) {
      if (this.uncounted) return null;
      this.unexpected++;
      return "unknown";
    }
    const position = head.frames - head.remaining;
    if (--head.remaining <= 0) this.queue.shift();
    if (head.filler) return "filler";
    const u = head.unit;
    return {
      arrivedAtMs: u.frameArrivalsMs?.[position] ?? u.arrivedAtMs,
      segment: u.sequence,
      atJoin: u.atJoin === true,
      place: {
        programDateTimeMs: u.programDateTimeMs,
        discontinuitySequence: u.discontinuitySequence,
        offsetMs: u.ptsOffsetsMs[position] ?? null,
      },
    };
  }
}
