import { FrameDecoder, type DecodedFrame, type DecoderOutput, type PipeFormat } from "./decoder.ts";
import { Feeder, type FrameStamp } from "./feeder.ts";
import type { MediaUnit, SourceInput } from "./source.ts";

/** What the session needs of a decoder (client/decoder.ts's ffmpeg child, or a fake in tests). */
export interface Decoder {
  write(bytes: Uint8Array): Promise<void>;
  /** Ends the input and waits for every frame to come out. */
  finish(): Promise<void>;
  kill(): void;
  readonly alive: boolean;
  readonly exited: Promise<{ code: number | null }>;
  readonly failure: unknown;
  readonly lastError: string;
  /** The stream as the decoder reads it, once known. */
  readonly input: { codec: string; width: number; height: number } | null;
}

export type DecoderFactory = (input: SourceInput, output: DecoderOutput, onFrame: (f: DecodedFrame) => void) => Decoder;

export const ffmpegDecoders =
  (ffmpeg: string, now: () => number): DecoderFactory =>
  (input, output, onFrame) =>
    new FrameDecoder(ffmpeg, input, onFrame, now, output);

/** A decoded frame with its stamp (null: stamped when decoded) and the stream as its decoder described it. */
export type FrameHandler = (f: DecodedFrame, stamp: FrameStamp | null, described: string) => void;

/**
 * The decoder's lifecycle: one decoder per stream instance (a new one at each discontinuity, or when the bytes change
 * format), fed by the feeder, every frame handed on with its stamp; filler frames never leave this stage.
 */
export class Decoding {
  private readonly feeder = new Feeder();
  private decoder: Decoder;
  /** What the running decoder reads on its pipe (null for a URL). */
  private format: PipeFormat | null;

  constructor(
    private readonly input: SourceInput,
    private readonly output: DecoderOutput,
    private readonly factory: DecoderFactory,
    private readonly onFrame: FrameHandler,
  ) {
    // At once, so that the first unit does not wait for ffmpeg to start (a unit in another format replaces it).
    this.decoder = this.start(input);
    this.format = input.kind === "pipe" ? input.format : null;
  }

  private start(input: SourceInput): Decoder {
    let described = "";
    const d: Decoder = this.factory(input, this.output, (f) => {
      const stamp = this.feeder.next();
      if (stamp === "filler") return;
      described ||= d.input ? `${d.input.codec} ${d.input.width}x${d.input.height}` : `video ${f.width}x${f.height}`;
      this.onFrame(f, stamp, described);
    });
    return d;
  }

  get alive(): boolean {
    return this.decoder.alive;
  }

  async take(m: MediaUnit): Promise<void> {
    if (this.input.kind !== "pipe") return; // a decoder reading a URL is given nothing
    const format = m.format ?? this.input.format;
    if (this.feeder.startsNewDecoder(m) || format !== this.format) {
      // A new stream instance (or other bytes than the decoder reads: MPEG-TS where H.264 was expected): flush the old
      // decoder (its held frames keep their stamps) and start clean.
      await this.decoder.finish();
      this.feeder.clear();
      this.format = format;
      this.decoder = this.start({ kind: "pipe", format });
    }
    for (const bytes of this.feeder.feed(m, format)) await this.decoder.write(bytes);
    if (this.decoder.failure) throw this.decoder.failure;
  }

  /** Flushes a piped decoder, or stops one reading a URL; returns its exit code. */
  async finish(): Promise<number | null> {
    const d = this.decoder;
    if (this.input.kind === "pipe") await d.finish();
    else if (d.alive) d.kill();
    const { code } = await d.exited;
    if (d.failure) throw d.failure;
    return code;
  }

  /** Stops the decoder at once (the run failed): its frames are not wanted any more. */
  abort(): void {
    if (this.decoder.alive) this.decoder.kill();
  }

  get lastError(): string {
    return this.decoder.lastError;
  }
}
