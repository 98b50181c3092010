import { decodePayload, type Payload } from "../signal/payload.ts";
import type { DecodedFrame } from "./decoder.ts";
import type { FrameStamp } from "./feeder.ts";
import type { FrameInput } from "./metrics.ts";
import type { FrameQuality } from "./quality.ts";
import type { ReferenceFrames } from "./reference.ts";
import { Timeline } from "./timeline.ts";

/** What the analyzer needs of a QR reader (client/qr-reader.ts, or a fake in tests). */
export interface CodeReader {
  read(gray: Uint8Array, width: number, height: number): { text: string } | null;
}

export interface Analysis {
  /** The meter's input for this frame. */
  input: FrameInput;
  payload: Payload | null;
  quality: FrameQuality | null;
}

/**
 * One decoded frame and its stamp → what it carries: the payload read from its code, its place on the stream's
 * timeline, and (when measured) its quality against the re-rendered reference.
 */
export class Analyzer {
  private readonly timeline = new Timeline();

  constructor(
    private readonly reader: CodeReader,
    readonly reference: ReferenceFrames | null,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  analyze(f: DecodedFrame, stamp: FrameStamp | null): Analysis {
    const t0 = this.clock();
    const read = this.reader.read(f.gray, f.width, f.height);
    const readMs = this.clock() - t0;
    const payload = read ? decodePayload(read.text) : null;
    const quality = this.reference && payload && read ? this.reference.compare(f, payload, read.text) : null;
    return {
      input: {
        arrivedAtMs: stamp?.arrivedAtMs ?? f.decodedAtMs,
        decodedAtMs: f.decodedAtMs,
        payload: payload ? this.timeline.place(payload, stamp?.place ?? null) : null,
        readMs,
        segment: stamp?.segment ?? null,
        atJoin: stamp?.atJoin ?? false,
        quality,
      },
      payload,
      quality,
    };
  }
}
