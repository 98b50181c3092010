import type { Payload } from "../signal/payload.ts";
import { sizeOf, type SizeProfile } from "../signal/profiles.ts";
import { FrameRenderer, planLayout } from "../signal/render.ts";
import { frameQuality, referencePlane, type FrameQuality } from "./quality.ts";

/**
 * Re-renders the reference of a received frame from its payload (a frame is a pure function of its size, stream id,
 * number and payload text) and measures the received frame against it. No search for alignment: the payload names
 * the frame. No I/O; the reference is drawn into the quality kernel's memory, which every stream of the process shares.
 */
export class ReferenceFrames {
  private renderers = new Map<string, FrameRenderer>();
  private buffer: Uint8Array = new Uint8Array(0);
  private last: Uint8Array = new Uint8Array(0);
  /**
   * The reference of the last frame compared (luma). It lies in the quality kernel's memory, shared by every stream
   * of the process: the next comparison of any of them may overwrite it, and one of a larger size detaches it, so it
   * is read at once, in the same call as compare (VmafSampling.offer copies it there).
   */
  get lastReference(): Uint8Array {
    return this.last;
  }

  /** Frames whose size matches no test-signal size, so no reference could be made (counted, not measured). */
  unmatched = 0;

  /** size: the signal's size when known (the frames then arrive scaled to it); otherwise each frame's own size. */
  constructor(private readonly size: SizeProfile | null) {}

  private sizeFor(width: number, height: number): SizeProfile | null {
    if (this.size) return this.size.width === width && this.size.height === height ? this.size : null;
    return sizeOf(width, height);
  }

  compare(
    f: { gray: Uint8Array; u?: Uint8Array; v?: Uint8Array; limitedRange?: boolean; width: number; height: number },
    payload: Payload,
    text: string,
  ): FrameQuality | null {
    const size = this.sizeFor(f.width, f.height);
    if (!size || payload.version === 0) {
      this.unmatched++;
      return null;
    }
    const kind = payload.video ? "video" : "live";
    const key = `${size.name}|${payload.streamId}|${kind}`;
    let r = this.renderers.get(key);
    if (!r) {
      r = new FrameRenderer(planLayout(size, payload.streamId, kind));
      this.renderers.set(key, r);
    }
    // Drawn where the quality kernel reads it when there is one (no copy of the picture), else in a buffer of its own.
    let out = referencePlane(f.width, f.height);
    if (!out) {
      if (this.buffer.length !== r.frameBytes) this.buffer = new Uint8Array(r.frameBytes);
      out = this.buffer;
    }
    r.render(payload.frameNumber, text, out);
    this.last = out;
    return frameQuality({ y: f.gray, u: f.u, v: f.v, width: f.width, height: f.height, limitedRange: f.limitedRange }, out);
  }
}
