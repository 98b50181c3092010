/**
 * Which frames of a segment are complete while its bytes are still arriving (LL-HLS parts, LL-DASH chunks): a frame
 * is stamped when its own bytes have arrived, not when the segment ends. Pure: chunks in, frames out; the caller
 * stamps the time.
 *
 * Only the boxes that describe frames are kept in memory; media data is counted as it passes and dropped.
 */
import { boxAt, Mp4Error, readBoxHeader, u32At } from "./boxes.ts";
import { emptyMediaSegment, readTopLevelBox, type DefaultsByTrack, type MediaSegment } from "./fragments.ts";
import type { InitSegment, TrackInfo } from "./init-segment.ts";
import { defaultsOf, framesOf, selectTrack, type VideoFrame } from "./video-frames.ts";

/** Boxes read whole before moving on; anything else (mdat, free…) is skipped by its size. */
const READ_WHOLE = new Set(["moof", "styp", "sidx", "prft", "emsg"]);
/** A describing box larger than this is not a real one: refuse it rather than buffer without bound. */
const MAX_READ_BOX = 16 * 1024 * 1024;

export class FrameArrivals {
  private readonly track: TrackInfo;
  private readonly defaults: DefaultsByTrack;
  private readonly nextDecodeTime = new Map<number, number>();
  /** Bytes [bufferStart, received) not yet walked past. */
  private buffer: Uint8Array = new Uint8Array(0);
  private bufferStart = 0;
  /** Offset of the next top-level box. */
  private boxStart = 0;
  private waiting: VideoFrame[] = [];
  private described = 0;
  /** The walk reached a box that runs to the end of the stream. */
  private toEnd = false;
  /** Everything read so far (styp, prft, emsg, fragments). */
  private readonly read: MediaSegment = emptyMediaSegment();
  received = 0;

  constructor(init: InitSegment, trackId?: number) {
    this.track = selectTrack(init, trackId);
    this.defaults = defaultsOf(init);
  }

  /** Takes the next chunk; returns the frames whose last byte it brought, in byte order. */
  push(chunk: Uint8Array): VideoFrame[] {
    const chunkStart = this.received;
    this.received += chunk.length;
    // Bytes of a box being skipped are not kept.
    const keepFrom = Math.max(0, this.boxStart - chunkStart);
    if (keepFrom < chunk.length) {
      if (this.buffer.length === 0) this.bufferStart = chunkStart + keepFrom;
      // A view of the chunk while it is walked: media bytes the walk skips are never copied.
      this.buffer = this.buffer.length === 0 ? chunk.subarray(keepFrom) : concat(this.buffer, chunk.subarray(keepFrom));
    }
    this.walk();
    // What is kept for the next chunk (a box not yet whole) is copied: the caller may reuse its chunk.
    if (this.buffer.length > 0 && this.buffer.buffer === chunk.buffer) this.buffer = this.buffer.slice();
    if (this.waiting.length === 0) return [];
    const done = this.waiting.filter((f) => f.end <= this.received).sort((a, b) => a.end - b.end);
    if (done.length > 0) this.waiting = this.waiting.filter((f) => f.end > this.received);
    return done;
  }

  /**
   * The bytes so far as parseMediaSegment reports them: what was read, and whether they end inside a box. A snapshot:
   * later pieces do not change it.
   */
  get segment(): MediaSegment {
    const r = this.read;
    return {
      segmentType: r.segmentType,
      segmentIndexes: [...r.segmentIndexes],
      producerReferences: [...r.producerReferences],
      eventMessages: [...r.eventMessages],
      fragments: [...r.fragments],
      truncated: !this.toEnd && this.boxStart !== this.received,
    };
  }

  /** Frames described so far whose bytes have not all arrived. */
  get pending(): number {
    return this.waiting.length;
  }

  /** The bytes ended inside a box (call when the transfer is over). */
  get truncated(): boolean {
    return this.waiting.length > 0 || (!this.toEnd && this.boxStart !== this.received);
  }

  private walk(): void {
    for (;;) {
      const at = this.boxStart - this.bufferStart;
      if (at < 0 || at >= this.buffer.length) return;
      const h = readBoxHeader(this.buffer, at);
      if (!h) return;
      // A size-0 box runs to the end of the stream: the end is not known yet, so it cannot be read whole.
      const declaredToEnd = u32At(this.buffer, at) === 0;
      if (READ_WHOLE.has(h.type)) {
        if (declaredToEnd) throw new Mp4Error(`'${h.type}' at ${this.boxStart} declares no size`);
        if (h.size > MAX_READ_BOX) throw new Mp4Error(`'${h.type}' at ${this.boxStart} declares ${h.size} bytes`);
        if (at + h.size > this.buffer.length) return;
        const box = boxAt(h, this.buffer, at, this.boxStart);
        const before = this.read.fragments.length;
        readTopLevelBox(box, this.defaults, this.nextDecodeTime, this.read);
        for (const f of this.read.fragments.slice(before)) {
          const frames = framesOf(f, this.track, this.described);
          this.described += frames.length;
          for (const frame of frames) this.waiting.push(frame);
        }
      } else if (declaredToEnd) {
        // The last box (an mdat written while streaming): nothing after it to find.
        this.toEnd = true;
        this.boxStart = Number.MAX_SAFE_INTEGER;
        this.buffer = new Uint8Array(0);
        return;
      }
      this.boxStart += h.size;
      const kept = this.boxStart - this.bufferStart;
      this.buffer = kept >= this.buffer.length ? new Uint8Array(0) : this.buffer.subarray(kept);
      this.bufferStart = this.boxStart;
    }
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
