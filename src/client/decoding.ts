import { FrameDecoder, type DecodedFrame, type DecoderOutput, type PipeFormat } from "./decoder.ts";
import { startsWithKeyframe } from "../mp4/annexb.ts";
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
  /** Lines of trouble ffmpeg printed: pictures it could not decode whole (client/decoder.ts); the first of them. */
  readonly errors: number;
  readonly trouble: string;
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
 * Media time held back after lost media waiting for a keyframe: a stream without any (refreshed a slice at a time) is
 * decoded again after this much, as it can be.
 */
export const MAX_HOLD_S = 10;

/**
 * Frames not decoded, `lost` of them, in the units `from` to `until`. cause "decoder": a decoder never gave them out,
 * found when it was flushed (their own units, when the decoder read timed frames; otherwise from the last unit given
 * while it had printed no error, or its first), with ffmpeg's first trouble as `message`. cause "lost-media": units not given to a decoder at all, since they go on from media
 * the source lost (MediaUnit.afterGap) and decoding had to wait for a keyframe.
 */
export interface Undecoded {
  cause: "decoder" | "lost-media";
  lost: number;
  /** Frames the decoder gave out beyond all it was given (not measured). */
  extra: number;
  from: number;
  until: number;
  message: string;
}

/**
 * The decoder's lifecycle: one decoder per stream instance (a new one at each discontinuity, or when the bytes change
 * format), fed by the feeder, every frame handed on with its stamp; filler frames never leave this stage.
 *
 * An elementary stream's frames are known by their times (client/feeder.ts), so a frame the decoder drops moves no
 * other; other MPEG-TS takes its stamps by count, and there a dropped frame would shift every later one onto an
 * earlier frame's stamp. Either way, when ffmpeg says media was broken on its way the decoder is flushed and started
 * over at the next unit it can start from, a keyframe first (on the counted path, frames of the broken units may take
 * each other's stamps until then, and the event says which units); and units that go on from media the source lost
 * are not given to a decoder at all (ffmpeg drops most of their frames silently), decoding starting over at the next
 * keyframe. Frames owed or never given count as not decoded (onUndecoded).
 */
export class Decoding {
  private readonly feeder = new Feeder();
  private decoder: Decoder;
  /** What the running decoder reads on its pipe (null for a URL). */
  private format: PipeFormat | null;
  /** Units given to the running decoder: its first, the last while it had printed no error, the last. */
  private firstFed: number | null = null;
  private lastClean: number | null = null;
  private lastFed: number | null = null;
  /** Media was lost since the last unit given: nothing is given until a unit that begins with a keyframe. */
  private afterGap = false;
  /** Units held back meanwhile: their frames, sequence numbers and media time. */
  private unfed: { frames: number; from: number; until: number; seconds: number } | null = null;

  constructor(
    private readonly input: SourceInput,
    private readonly output: DecoderOutput,
    private readonly factory: DecoderFactory,
    private readonly onFrame: FrameHandler,
    private readonly onUndecoded: (u: Undecoded) => void = () => {},
  ) {
    // At once, so that the first unit does not wait for ffmpeg to start (a unit in another format replaces it).
    this.decoder = this.start(input);
    this.format = input.kind === "pipe" ? input.format : null;
  }

  private start(input: SourceInput): Decoder {
    let described = "";
    const d: Decoder = this.factory(input, this.output, (f) => {
      // A decoder reading a URL itself is given nothing: its frames are stamped as they leave it.
      const stamp = input.kind === "pipe" ? this.feeder.next(f.number) : null;
      if (stamp === "filler" || stamp === "unknown") return;
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
    if (m.afterGap && format !== "mpegts") this.afterGap = true;
    // Only a decoder that printed trouble, or lost media, asks whether this unit begins with a keyframe (an elementary
    // stream's; other MPEG-TS is not restarted).
    const key =
      (this.decoder.errors > 0 || this.afterGap) && format !== "mpegts" && m.frames > 0 && startsWithKeyframe(m.bytes, format);
    const waiting = this.afterGap && !key && !this.feeder.startsNewDecoder(m) && format === this.format;
    if (waiting && (this.unfed?.seconds ?? 0) < MAX_HOLD_S) {
      // It goes on from lost media: held back until a keyframe (its frames count as dropped).
      const u = this.unfed;
      this.unfed = { frames: (u?.frames ?? 0) + m.frames, from: u?.from ?? m.sequence, until: m.sequence, seconds: (u?.seconds ?? 0) + m.durationS };
      return;
    }
    // ffmpeg printed errors, or media was lost: start over here (this unit can be decoded from scratch; or no keyframe
    // came for MAX_HOLD_S, as in a stream refreshed without keyframes, and decoding goes on as it can).
    const broken = (key && this.decoder.errors > 0) || (this.afterGap && (key || waiting));
    if (this.feeder.startsNewDecoder(m) || format !== this.format || broken) {
      // A new stream instance (or other bytes than the decoder reads: MPEG-TS where H.264 was expected), or a decoder
      // that may have dropped frames: flush the old decoder (its held frames keep their stamps) and start clean.
      await this.flush();
      this.format = format;
      this.decoder = this.start({ kind: "pipe", format });
    }
    this.afterGap = false;
    this.reportUnfed();
    this.firstFed ??= m.sequence;
    if (this.decoder.errors === 0) this.lastClean = m.sequence;
    this.lastFed = m.sequence;
    for (const bytes of this.feeder.feed(m, format)) await this.decoder.write(bytes);
    if (this.decoder.failure) throw this.decoder.failure;
  }

  /** Flushes the running decoder: what it still owed then, it could not decode. */
  private async flush(): Promise<void> {
    const d = this.decoder;
    await d.finish();
    const lost = this.feeder.owed();
    const extra = this.feeder.unexpected;
    if ((lost > 0 || extra > 0) && this.lastFed !== null) {
      // Numbered frames say their own units; otherwise, the units given since the decoder last printed no error.
      const units = this.feeder.owedUnits() ?? { from: this.lastClean ?? this.firstFed ?? this.lastFed, until: this.lastFed };
      this.onUndecoded({ cause: "decoder", lost, extra, ...units, message: d.trouble });
    }
    this.feeder.clear();
    this.firstFed = this.lastClean = this.lastFed = null;
    this.reportUnfed();
  }

  private reportUnfed(): void {
    const u = this.unfed;
    this.unfed = null;
    if (u && u.frames > 0) this.onUndecoded({ cause: "lost-media", lost: u.frames, extra: 0, from: u.from, until: u.until, message: "" });
  }

  /** Flushes a piped decoder, or stops one reading a URL; returns its exit code. */
  async finish(): Promise<number | null> {
    const d = this.decoder;
    if (this.input.kind === "pipe") await this.flush();
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
