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
 * The loop is the discontinuity number of the segment the first frame came in (vat's origin counts its loops so);
 * after that, a loop is counted where the video started over, not at every discontinuity (a packager that restarts
 * starts one too, and one that writes no EXT-X-DISCONTINUITY-SEQUENCE numbers them from 0 again as they scroll
 * out): by the times, where both frames have one (the wall-clock time between them, less the video's, is whole
 * videos, give or take LOOP_SLACK: an outage can span several loops; anything else, such as an origin that started
 * the video over, is no loop, and the meter sees the number fall back as a restart), else where the number falls back
 * by more than half the video. Without a playlist (a file or an RTMP/SRT URL read by ffmpeg) generation times are
 * unknown. Pure; keeps only the last frame's place, the frame length and the loop count between frames.
 */
/** How far from whole videos the time between two frames may be and still count as loops: a tenth of the video, 1-5 s. */
function loopSlackMs(videoMs: number): number {
  return Math.min(videoMs / 4, Math.max(1000, Math.min(5000, videoMs / 10)));
}

export class Timeline {
  private loop = 0;
  private last: { inVideo: number; msInVideo: number; generatedAtMs: number | null } | null = null;
  /** A frame's length in the video, ms, from its payloads' times (null until a frame far enough in gives it). */
  private frameMs: number | null = null;
  private frameMsFrom = 0;

  place(p: Payload, where: SegmentPlace | null): PlacedFrame {
    if (!p.video) return { streamId: p.streamId, frameNumber: p.frameNumber, generatedAtMs: p.generatedAtMs, loop: 0 };
    const frames = p.video.loopFrames;
    const generatedAtMs = where && where.programDateTimeMs !== null && where.offsetMs !== null ? where.programDateTimeMs + where.offsetMs : null;
    // Times are whole ms: the furthest frame in gives the frame's length best (frame 1 within 1.5 %, 100 within 0.02 %).
    if (p.frameNumber > 0 && p.frameNumber >= this.frameMsFrom) {
      this.frameMs = p.generatedAtMs / p.frameNumber;
      this.frameMsFrom = p.frameNumber;
    }
    const last = this.last;
    if (last === null) this.loop = where?.discontinuitySequence ?? 0;
    else if (generatedAtMs !== null && last.generatedAtMs !== null && this.frameMs !== null) {
      const videoMs = frames * this.frameMs;
      const beyond = generatedAtMs - last.generatedAtMs - (p.generatedAtMs - last.msInVideo);
      const wrapped = Math.round(beyond / videoMs);
      if (wrapped > 0 && Math.abs(beyond - wrapped * videoMs) <= loopSlackMs(videoMs)) this.loop += wrapped;
    } else if (last.inVideo - p.frameNumber > frames / 2) this.loop++;
    this.last = { inVideo: p.frameNumber, msInVideo: p.generatedAtMs, generatedAtMs };
    return { streamId: p.streamId, frameNumber: this.loop * frames + p.frameNumber, generatedAtMs, loop: this.loop };
  }
}
