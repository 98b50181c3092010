import { spawnFfmpeg, StderrTail, type FfmpegChild } from "../ffmpeg.ts";
import { isDecodeTrouble, parseInputVideo, parseRawOutputFullRange, parseRawOutputSize } from "./ffmpeg-output.ts";

const QUEUE_LIMIT_BYTES = 64 * 1024 * 1024;
/** Decoded output waiting to be handed over beyond this pauses ffmpeg's stdout (it then waits on its pipe). */
const BACKLOG_PAUSE_BYTES = 16 * 1024 * 1024;

export interface DecodedFrame {
  /** Luma plane; the buffer is reused for the next frame, so copy what you keep. */
  gray: Uint8Array;
  /** Chroma planes (4:2:0), when the decoder was asked for them (quality measurement). */
  u?: Uint8Array;
  v?: Uint8Array;
  /** yuv420p output: the planes are limited range as decoded (quality maps them to full range, client/full-range.ts). */
  limitedRange?: boolean;
  width: number;
  height: number;
  decodedAtMs: number;
  /**
   * The input frame it was decoded from, known by its block's time, when the decoder reads numbered frames (an
   * elementary stream, given as timed Matroska blocks: client/feeder.ts); null for other input, or when ffmpeg did not
   * say.
   */
  number: number | null;
}

/** Containers and elementary streams a decoder reads on its stdin. */
export type PipeFormat = "mpegts" | "h264" | "hevc";

export type DecoderInput = { kind: "pipe"; format: PipeFormat } | { kind: "url"; url: string };

export interface DecoderOutput {
  /** gray: the luma plane only (reading codes); yuv420p: all planes (measuring quality). */
  pixFmt: "gray" | "yuv420p";
  /** Scale every frame to this size (the reference's, when a provider changed the resolution). */
  scale: { width: number; height: number } | null;
  /**
   * Only the part of the frame that holds the code, reduced to a size at which it is still read reliably: the code's
   * square with its quiet zone (CODE_SQUARE, in proportion to the height, so a rescaled copy keeps it there), at most
   * CODE_REGION_PX high, its luma plane as decoded (limited range for vat's streams: no conversion). A 1080p frame is then 1/25 of the
   * bytes to scale, pipe and copy.
   */
  codeRegion?: boolean;
}

/** Codes read from this many rows keep at least 5 pixels a module at every signal size (7.7 px a module at 1080p). */
export const CODE_REGION_PX = 288;

/**
 * Where the signal's code (quiet zone included) lies, as shares of the frame's height: the renderer gives it at most
 * 80 % of the height and centres it in the picture's left square (src/signal/render.ts planLayout).
 */
export const CODE_SQUARE = { offset: 0.1, side: 0.8 };

export const GRAY_OUTPUT: DecoderOutput = { pixFmt: "gray", scale: null };
export const CODE_OUTPUT: DecoderOutput = { pixFmt: "gray", scale: null, codeRegion: true };

/** Whether the decoder reads numbered frames and prints each frame's number (an elementary stream on its pipe). */
export function readsNumbered(input: DecoderInput): boolean {
  return input.kind === "pipe" && input.format !== "mpegts";
}

/**
 * Each decoded frame's time, printed on stderr before the frame goes on ("frame:N pts:T pts_time:…"): for numbered
 * input, T is its input block's time (client/feeder.ts), the frame's number. The print needs a key to match, so
 * one is added first; the times are then renumbered 0, 1, 2… so that the output's are in order even when B-frames
 * come out in another order than they went in (the raw output has no timestamps, but ffmpeg checks them).
 */
const NUMBER_PRINT = "metadata=mode=add:key=vat:value=1,metadata=mode=print:key=vat:file='pipe\\:2':direct=1,setpts=N";

/** The line NUMBER_PRINT writes after each frame's: the key it matched. */
const NUMBER_PRINT_KEY_LINE = "vat=1";

/**
 * A stderr line of NUMBER_PRINT's: the frame's number (null when its time is none: ffmpeg prints NOPTS), "key" for
 * the key's line after it, null for any other line.
 */
export function printedFrame(line: string): { number: number | null } | "key" | null {
  if (line === NUMBER_PRINT_KEY_LINE) return "key";
  const m = /^frame:\s*\d+\s+pts:\s*(\S+)/.exec(line);
  if (!m) return null;
  return { number: /^-?\d+$/.test(m[1]!) ? Number(m[1]) : null };
}

/** ffmpeg arguments: any input → 8-bit frames on stdout, one per decoded picture, none added or dropped. */
export function decoderArgs(input: DecoderInput, out: DecoderOutput = GRAY_OUTPUT): string[] {
  const numbered = readsNumbered(input);
  const src = input.kind === "pipe" ? ["-f", numbered ? "matroska" : input.format, "-i", "pipe:0"] : ["-i", input.url];
  const filters = [
    ...(numbered ? [NUMBER_PRINT] : []),
    ...(out.pixFmt === "yuv420p"
      ? [`${out.scale ? `scale=${out.scale.width}:${out.scale.height}:flags=bicubic,` : ""}format=yuv420p|yuvj420p`]
      : out.codeRegion
        ? [codeRegionFilter()]
        : out.scale ? [`scale=${out.scale.width}:${out.scale.height}:flags=bicubic`] : []),
  ];
  return [
    "-hide_banner", "-nostats", "-loglevel", "info",
    // Start at once (the default probing buffers 5 s of input), decode with no reorder delay on one thread (frame
    // threads would hold frames back by the thread count), and flush every frame to the pipe. Slice threads hold none
    // back but gain nothing here: vat serve's x264 (one thread, zerolatency) makes one slice a frame, and a 1080p
    // stream of four slices decoded with `-threads 2 -thread_type slice` took ~10 % more CPU for no less wall time.
    // An elementary stream starts with its parameter sets: probing more than their few bytes only holds the first
    // frames back (a whole segment of a 240p HEVC stream fits in MPEG-TS's 128 KB).
    "-probesize", input.kind === "pipe" && input.format !== "mpegts" ? "4096" : "131072",
    "-analyzeduration", "0", "-flags", "low_delay", "-threads", "1",
    ...src,
    "-map", "0:v:0", "-an", "-sn", "-dn",
    // Quality: 4:2:0 planes as decoded, limited or full range as the stream has them (the output line says which).
    // The signal was rendered full range and vat serve's encoder maps it to x264's limited range; the client maps
    // limited planes back itself (client/full-range.ts, exactly as `scale=out_range=full` does): swscale's general
    // path for that cost about twice the decode at 1080p. At the reference's size the scale filter passes frames
    // through untouched; a stream of another size is scaled (in its own range) before it is mapped.
    ...(filters.length > 0 ? ["-vf", filters.join(",")] : []),
    // The output's time base is the input's (1 ms for numbered input): a coarser one would give frames 1 ms apart
    // the same time, which ffmpeg takes for frames out of order.
    ...(numbered ? ["-enc_time_base", "-1"] : []),
    // The input's times as they are: ffmpeg would otherwise take the first packet's time off every frame's, when it
    // read that packet while probing (a small first frame), and not when it did not.
    ...(numbered ? ["-copyts"] : []),
    // One encoder thread: ffmpeg runs the rawvideo encoder frame-threaded (a thread a core), and its threads hold the
    // last frames back until more come, as the decoder's would.
    "-threads", "1",
    // yuv420p: the format filter has chosen it (yuvj420p is the same layout), so that no range is converted here.
    "-f", "rawvideo", ...(out.pixFmt === "yuv420p" ? [] : ["-pix_fmt", out.pixFmt]), "-fps_mode", "passthrough", "-flush_packets", "1",
    "pipe:1",
  ];
}

/**
 * Pictures whose first plane is their luma, as decoders of vat's streams (and most others) give them; anything else
 * (RGB, 10-bit) is converted to the first of them, after the crop.
 */
const LUMA_FIRST_FORMATS = ["yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "gray"];

/**
 * The code's square, cropped before anything else touches the pixels, and its luma plane taken as it is: converting
 * the whole frame to full-range gray in swscale cost half a decode again at 1080p (6 M instructions a frame over a
 * decode of 11.6 M; this filter costs 2 M). The area scaler averages compression noise away where it reduces.
 */
function codeRegionFilter(): string {
  const { offset, side } = CODE_SQUARE;
  // In proportion to the shorter side: the signal is landscape, but a portrait stream must not fail the crop.
  const at = (share: number) => `'min(iw,ih)*${share}'`;
  const crop = `crop=w=${at(side)}:h=${at(side)}:x=${at(offset)}:y=${at(offset)}`;
  return `${crop},format=${LUMA_FIRST_FORMATS.join("|")},extractplanes=y,scale=w=-2:h='min(ih,${CODE_REGION_PX})':flags=area`;
}

/**
 * One long-lived ffmpeg turning a byte stream (or a URL) into gray frames. Frames are handed over synchronously and
 * in order; while the handler runs, ffmpeg waits on the pipe.
 */
export class FrameDecoder {
  private readonly child: FfmpegChild;
  private readonly stderr: StderrTail;
  private stderrText = "";
  private size: { width: number; height: number } | null = null;
  private limitedRange = false;
  private frame = new Uint8Array(0);
  private filled = 0;
  private pending: Uint8Array[] = [];
  /**
   * Decoded output not yet handed over, oldest first. Frames are handed over one per turn of the event loop: a pipe
   * read holds several (a segment decodes in a burst), and reading all their codes in one go would hold back the
   * fetches of every stream in the client, whose arrival times are stamped as their bytes come in.
   */
  private backlog: Uint8Array[] = [];
  private backlogBytes = 0;
  private handing = false;
  private whenHandedOver: (() => void) | null = null;
  /** The most decoded output that waited at once: pauseAtBytes and what one read brought past it, at most. */
  peakBacklogBytes = 0;
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  input: { codec: string; width: number; height: number } | null = null;
  framesOut = 0;
  /**
   * Lines of trouble ffmpeg printed (ffmpeg-output.ts isDecodeTrouble): none for a sound stream, one or more for each
   * picture it could not decode whole (it may then give out fewer frames than it was given).
   */
  errors = 0;
  /** The first of them, without ffmpeg's context address ("h264: error while decoding MB 18 6"). */
  trouble = "";
  /** An error thrown by the frame handler: decoding stops and the owner rethrows it. */
  failure: unknown = null;
  /** The decoder prints each frame's number (readsNumbered); those printed and not yet given to their frames. */
  private readonly numbered: boolean;
  private numbers: (number | null)[] = [];
  /** A whole frame waits for its number's line. */
  private waitingForNumber = false;
  /** ffmpeg has closed its output and error streams. */
  private closed = false;

  constructor(
    ffmpeg: string,
    input: DecoderInput,
    private readonly onFrame: (f: DecodedFrame) => void,
    now: () => number = Date.now,
    private readonly output: DecoderOutput = GRAY_OUTPUT,
    private readonly pauseAtBytes = BACKLOG_PAUSE_BYTES,
  ) {
    this.child = spawnFfmpeg(ffmpeg, decoderArgs(input, output));
    this.numbered = readsNumbered(input);
    this.stderr = new StderrTail(this.child.stderr, 30, (line) => {
      if (this.numbered) {
        const printed = printedFrame(line);
        if (printed === "key") return false;
        if (printed) {
          this.numbers.push(printed.number);
          this.resumeAfterNumber(now);
          return false;
        }
      }
      if (isDecodeTrouble(line)) {
        this.errors++;
        this.trouble ||= line.replace(/^\[([^\]]*?) @ 0x[0-9a-f]+\] /, "$1: ").slice(0, 160);
      }
      if (this.size) return;
      this.stderrText += `${line}\n`;
      this.input ??= parseInputVideo(this.stderrText);
      const size = parseRawOutputSize(this.stderrText);
      if (size) {
        this.size = size;
        // Full range only when the output line says so (yuvj, pc); limited, the usual, otherwise.
        this.limitedRange = parseRawOutputFullRange(this.stderrText) !== true;
        this.frame = new Uint8Array((size.width * size.height * (output.pixFmt === "yuv420p" ? 3 : 2)) / 2);
        for (const chunk of this.pending.splice(0)) this.enqueue(chunk, now);
      }
    });
    this.child.stdout.on("data", (chunk: Buffer) => {
      const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      if (this.size) this.enqueue(bytes, now);
      else this.pending.push(Uint8Array.from(bytes));
    });
    if (input.kind === "url") this.child.stdin.end();
    // Exited once ffmpeg has closed and every frame it wrote has been handed over.
    this.exited = new Promise((resolve) =>
      this.child.once("close", (code, signal) => {
        // Every line has come: a frame still waiting for its number has none.
        this.closed = true;
        this.resumeAfterNumber(now);
        this.afterHandOver(() => resolve({ code, signal }));
      }),
    );
  }

  get lastError(): string {
    return this.stderr.last;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /**
   * Queues bytes for ffmpeg without waiting for it to take them, so that fetching (and stamping arrivals) never waits
   * on decoding; only a decoder more than QUEUE_LIMIT_BYTES behind makes the caller wait.
   */
  async write(bytes: Uint8Array): Promise<void> {
    if (!this.alive || this.child.stdin.writableEnded) return;
    this.child.stdin.write(bytes);
    if (this.child.stdin.writableLength <= QUEUE_LIMIT_BYTES) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.child.stdin.off("drain", done);
        this.child.off("exit", done);
        resolve();
      };
      this.child.stdin.once("drain", done);
      this.child.once("exit", done);
    });
  }

  /** Ends the input and waits until every frame has come out (or timeoutMs passed, then kills ffmpeg). */
  async finish(timeoutMs = 5000): Promise<void> {
    if (!this.child.stdin.writableEnded) this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** Stops ffmpeg at once; frames it wrote that were not handed over yet are dropped (they are not wanted). */
  kill(): void {
    this.backlog = [];
    this.backlogBytes = 0;
    this.child.kill("SIGKILL");
  }

  private enqueue(chunk: Uint8Array, now: () => number): void {
    if (this.failure) return;
    this.backlog.push(chunk);
    this.backlogBytes += chunk.length;
    this.peakBacklogBytes = Math.max(this.peakBacklogBytes, this.backlogBytes);
    if (this.backlogBytes > this.pauseAtBytes) this.child.stdout.pause();
    if (!this.handing) {
      this.handing = true;
      setImmediate(() => this.handOverOne(now));
    }
  }

  /** A frame that waited for its number's line goes on (the line came, or none will). */
  private resumeAfterNumber(now: () => number): void {
    if (!this.waitingForNumber) return;
    this.waitingForNumber = false;
    setImmediate(() => this.handOverOne(now));
  }

  private afterHandOver(then: () => void): void {
    if (!this.handing) then();
    else this.whenHandedOver = then;
  }

  /** Hands over the next whole frame of the backlog (if it holds one), then yields to the event loop. */
  private handOverOne(now: () => number): void {
    let handed = false;
    while (!handed && this.backlog.length > 0 && !this.failure) {
      const chunk = this.backlog[0]!;
      if (this.numbered && this.numbers.length === 0 && !this.closed && this.filled + chunk.length >= this.frame.length) {
        // ffmpeg prints a frame's number before it writes the frame, but on another pipe: wait for the line.
        this.waitingForNumber = true;
        return;
      }
      const used = this.consume(chunk, now);
      handed = used.frame;
      this.backlogBytes -= used.bytes;
      if (used.bytes === chunk.length) this.backlog.shift();
      else this.backlog[0] = chunk.subarray(used.bytes);
    }
    if (this.failure) {
      this.backlog = [];
      this.backlogBytes = 0;
    }
    if (this.child.stdout.isPaused() && this.backlogBytes <= this.pauseAtBytes / 2) this.child.stdout.resume();
    if (this.backlog.length > 0) {
      setImmediate(() => this.handOverOne(now));
      return;
    }
    this.handing = false;
    const then = this.whenHandedOver;
    this.whenHandedOver = null;
    then?.();
  }

  /** Copies bytes of `chunk` into the frame being filled, up to the end of one frame, which it hands over. */
  private consume(chunk: Uint8Array, now: () => number): { bytes: number; frame: boolean } {
    const frameBytes = this.frame.length;
    const take = Math.min(frameBytes - this.filled, chunk.length);
    this.frame.set(take === chunk.length ? chunk : chunk.subarray(0, take), this.filled);
    this.filled += take;
    if (this.filled < frameBytes) return { bytes: take, frame: false };
    this.filled = 0;
    this.framesOut++;
    const number = this.numbered ? (this.numbers.shift() ?? null) : null;
    try {
      const { width, height } = this.size!;
      const n = width * height;
      this.onFrame(
        this.output.pixFmt === "yuv420p"
          ? {
              gray: this.frame.subarray(0, n),
              u: this.frame.subarray(n, n * 1.25),
              v: this.frame.subarray(n * 1.25),
              limitedRange: this.limitedRange,
              width,
              height,
              decodedAtMs: now(),
              number,
            }
          : { gray: this.frame, width, height, decodedAtMs: now(), number },
      );
    } catch (err) {
      this.failure ??= err;
      this.child.stdout.removeAllListeners("data");
      this.child.kill("SIGKILL");
    }
    return { bytes: take, frame: true };
  }
}
