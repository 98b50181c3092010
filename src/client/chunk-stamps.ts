import { Mp4Error } from "../mp4/boxes.ts";
import { FrameArrivals } from "../mp4/frame-arrivals.ts";
import type { MediaSegment } from "../mp4/fragments.ts";
import type { InitSegment } from "../mp4/init-segment.ts";

/**
 * Per-frame arrival stamps of an fMP4 body read as it streams in (an LL-HLS part, an LL-DASH segment still being
 * written): each frame takes the time of the piece that brought its last byte (mp4/frame-arrivals.ts). Pure: pieces
 * and their times in, stamps in decode order out.
 */
export class ChunkStamps {
  private readonly arrivals: FrameArrivals;
  private readonly stampsMs: number[] = [];
  /** The body's boxes could not be followed: stamps stop, the whole body's arrival stamps what is left. */
  broken: string | null = null;
  firstByteAtMs: number | null = null;

  constructor(init: InitSegment, trackId: number) {
    this.arrivals = new FrameArrivals(init, trackId);
  }

  push(chunk: Uint8Array, atMs: number): void {
    this.firstByteAtMs ??= atMs;
    if (this.broken) return;
    try {
      for (const f of this.arrivals.push(chunk)) this.stampsMs[f.index] = atMs;
    } catch (err) {
      if (!(err instanceof Mp4Error)) throw err;
      this.broken = err.message;
    }
  }

  /**
   * The body's boxes as read while it came (what parsing the whole body gives, mp4/frame-arrivals.ts), or null when
   * they could not be followed and must be read again from the whole body.
   */
  get segment(): MediaSegment | null {
    return this.broken ? null : this.arrivals.segment;
  }

  /** Stamps of the body's `frames` frames in decode order; a frame never seen complete takes `endMs` (the last byte). */
  frameArrivalsMs(frames: number, endMs: number): number[] {
    return Array.from({ length: frames }, (_, i) => this.stampsMs[i] ?? endMs);
  }
}
