import type { Payload } from "../signal/payload.ts";

/** A frame placed on the stream's timeline: its number since the stream began and when it was (due to be) shown. */
export interface PlacedFrame {
  streamId: string;
  frameNumber: number;
  /** Server clock, ms since the epoch; null when nothing says when a prerecorded frame went out. */
  generatedAtMs: number | null;
  /** The loop of a prerecorded video this frame belongs to (0 for live frames). */
  loop: number;
}

/** Where a decoded frame came from: its HLS segment, as the playlist and the segment's own timestamps describe it. */
export interface SegmentPlace {
  /** EXT-X-PROGRAM-DATE-TIME of the segment: when its first frame was due. */
  programDateTimeMs: number | null;
  /** The segment's discontinuity number: a prerecorded stream's loop count. */
  discontinuitySequence: number;
  /** The frame's presentation time after the segment's first frame, ms. */
  offsetMs: number | null;
}

/**
 * Turns payloads into timeline positions. Live payloads carry both already. A prerecorded video's payload carries its
 * frame number within the video and its time from the video's start; the serving side publishes when each segment's
 * first frame was due (EXT-X-PROGRAM-DATE-TIME) and starts a new discontinuity at each loop, so:
 *   generated = segment's PROGRAM-DATE-TIME + the frame's presentation offset in the segment (how HLS players map
 *   timestamps to wall-clock time), and frame number = loop × frames in the video + frame number in the video.
 * Without a playlist (a file or an RTMP/SRT URL read by ffmpeg) loops are counted where the number falls back by more
 * than half the video, and generation times are unknown. Pure; keeps only the loop count between frames.
 */
export class Timeline {
  private loop = 0;
  private lastInVideo: number | null = null;

  place(p: Payload, where: SegmentPlace | null): PlacedFrame {
    if (!p.video) return { streamId: p.streamId, frameNumber: p.frameNumber, generatedAtMs: p.generatedAtMs, loop: 0 };
    const frames = p.video.loopFrames;
    let loop: number;
    let generatedAtMs: number | null = null;
    if (where) {
      loop = where.discontinuitySequence;
      if (where.programDateTimeMs !== null && where.offsetMs !== null) generatedAtMs = where.programDateTimeMs + where.offsetMs;
    } else {
      if (this.lastInVideo !== null && this.lastInVideo - p.frameNumber > frames / 2) this.loop++;
      loop = this.loop;
    }
    this.lastInVideo = p.frameNumber;
    return { streamId: p.streamId, frameNumber: loop * frames + p.frameNumber, generatedAtMs, loop };
  }
}
