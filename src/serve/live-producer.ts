import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { encodePayload } from "../signal/payload.ts";
import { FrameRenderer, planLayout } from "../signal/render.ts";
import { Encoder, type EncoderSettings } from "./encoder.ts";
import type { LlStream } from "./ll-stream.ts";
import type { ServeConfig } from "./origin.ts";
import { nextStep } from "./pacing.ts";
import type { ProducerExit, SegmentProducer, StartOutcome, StreamSignal } from "./producer.ts";
import { isWrittenName, segmentNames, type SegmentNames } from "./segment-names.ts";

/** Frames this far behind their slot are skipped rather than queued (2 s of video). */
const MAX_LAG_S = 2;

/**
 * The live signal: paces frames by a monotonic clock, renders them and feeds one ffmpeg encoder. The frame count runs
 * on across encoders (frames made while none is running are counted as lost), so a restart continues the stream.
 */
export class LiveProducer implements SegmentProducer {
  readonly name = "encoder";
  private readonly renderer: FrameRenderer;
  private readonly settings: EncoderSettings;
  private readonly names: SegmentNames;
  private encoder: Encoder | null = null;
  private exitListener: (exit: ProducerExit) => void = () => {};
  private running = false;
  private loopDone: Promise<void> = Promise.resolve();
  /** The segment number to look for next: ffmpeg names segments by their media sequence number. */
  private probeSequence = 0;
  private newest: number | null = null;
  private readonly stats = { framesRendered: 0, framesSkipped: 0, framesLostToEncoder: 0 };

  /** ll: the low-latency formats' in-memory packager, which takes the encoder's output instead of the folder. */
  constructor(
    private readonly config: ServeConfig,
    private readonly dir: string,
    private readonly log: (line: string) => void,
    private readonly ll: LlStream | null = null,
  ) {
    this.renderer = new FrameRenderer(planLayout(config.size, config.streamId));
    this.settings = {
      ffmpeg: config.ffmpeg,
      width: config.size.width,
      height: config.size.height,
      fps: config.fps,
      segmentS: config.segmentS,
      listSize: config.listSize,
      preset: config.preset,
      crf: config.crf,
      dir,
      push: config.push,
      format: config.format,
      renditions: config.renditions,
    };
    this.names = segmentNames(config.format, Math.max(1, config.renditions.length));
  }

  async prepare(): Promise<void> {}

  async start(nextSequence: number): Promise<StartOutcome> {
    if (!this.running) {
      this.running = true;
      this.loopDone = this.frameLoop();
    }
    // ffmpeg's DASH muxer numbers from 1 on every start and has no start number: the last run's files would pass for
    // new segments (and be listed under a new MPD's timing), so they go first.
    const first = this.config.format === "dash" ? 1 : nextSequence;
    if (this.config.format === "dash") this.clearFolder();
    let enc: Encoder | null = null;
    const ll = this.ll;
    const onOutput = ll
      ? (chunk: Uint8Array) => {
          // Only the current run's output: what a killed encoder left in the pipe must not reach the next run's.
          if (!enc || this.encoder !== enc) return;
          try {
            ll.write(chunk);
          } catch (err) {
            // Output that is not fMP4 cannot be packaged: treat it as the encoder failing (the supervisor restarts it).
            this.log(`encoder output unreadable (${(err as Error).message}); killing it`);
            enc?.kill();
          }
        }
      : undefined;
    ll?.beginRun();
    const started = await Encoder.start(this.settings, first, (line) => this.log(`ffmpeg: ${this.hidePush(line)}`), onOutput);
    if (!started.ok) return started;
    enc = started.encoder;
    const run = enc;
    if (!this.running) {
      await enc.stop(800); // stopped while ffmpeg was starting
      return { ok: false, reason: "serve is stopping" };
    }
    this.encoder = enc;
    this.probeSequence = first;
    void run.exited.then(({ code, signal }) => {
      if (this.encoder === run || this.encoder === null) ll?.endRun();
      if (this.encoder !== run) return;
      this.encoder = null;
      if (!this.running) return;
      const why = signal ? `killed by ${signal}` : `exit code ${code}`;
      this.exitListener({ reason: why, ...(run.stderr.last ? { detail: this.hidePush(run.stderr.last) } : {}) });
    });
    return { ok: true };
  }

  /** ffmpeg names its outputs in what it prints: the push targets' secrets are kept out of serve's log and /health. */
  private hidePush(text: string): string {
    return this.config.push.reduce((t, u) => t.split(u).join(redactPush(u)), text);
  }

  onExit(listener: (exit: ProducerExit) => void): void {
    this.exitListener = listener;
  }

  kill(): void {
    this.encoder?.kill();
  }

  /**
   * ffmpeg renames a segment to its final name once it is whole (temp_file): its existence is the news. A stat needs
   * no file descriptor, so this keeps working when the process has none left (reading the playlist would not).
   */
  newestSequence(): number | null {
    if (this.ll) return this.ll.newestSequence();
    while (existsSync(join(this.dir, this.names.segmentFile(this.probeSequence)))) this.newest = this.probeSequence++;
    return this.newest;
  }

  private clearFolder(): void {
    try {
      for (const f of readdirSync(this.dir)) if (isWrittenName(f)) rmSync(join(this.dir, f), { force: true });
    } catch (err) {
      this.log(`could not clear the last run's segments: ${(err as Error).message}`);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loopDone;
    const enc = this.encoder;
    this.encoder = null;
    await enc?.stop(800);
  }

  signal(): StreamSignal {
    const c = this.config;
    return {
      streamId: c.streamId,
      fps: c.fps,
      size: c.size.name,
      width: c.size.width,
      height: c.size.height,
      segmentS: c.segmentS,
      preset: c.preset,
      crf: c.crf,
      layout: this.renderer.layout,
    };
  }

  extraParams(): Record<string, unknown> {
    return { push: this.config.push.map(redactPush) };
  }

  counters(): Record<string, number | null> {
    return { ...this.stats, ...this.ll?.counters() };
  }

  statusParts(): string[] {
    return [`frames ${this.stats.framesRendered}`, `skipped ${this.stats.framesSkipped}`];
  }

  private async frameLoop(): Promise<void> {
    const { fps } = this.config;
    const startMono = performance.now();
    const frame = new Uint8Array(this.renderer.frameBytes);
    let next = 0;
    while (this.running) {
      const step = nextStep(startMono, fps, next, performance.now(), MAX_LAG_S * fps);
      if (step.kind === "wait") {
        await Bun.sleep(step.ms);
        continue;
      }
      if (step.skipped > 0) {
        this.stats.framesSkipped += step.skipped;
        this.log(`fell ${step.skipped} frames behind the clock; skipped them`);
      }
      const n = step.frame;
      next = n + 1;
      const enc = this.encoder;
      if (!enc?.alive) {
        this.stats.framesLostToEncoder++;
        continue;
      }
      const generatedAtMs = Date.now();
      const text = encodePayload({ streamId: this.config.streamId, frameNumber: n, generatedAtMs });
      this.renderer.render(n, text, frame);
      this.stats.framesRendered++;
      // The encoder's timestamps count frames, not time: the packager dates its media by the frames' own times.
      this.ll?.frameWritten(generatedAtMs);
      if (!(await enc.write(frame))) this.stats.framesLostToEncoder++;
    }
  }
}

/** Where a push goes, without its path or credentials (an RTMP path holds the stream key). Pure. */
export function redactPush(url: string): string {
  return url.replace(/^([a-z]+:\/\/)(?:[^/@]*@)?([^/?#]*).*$/i, "$1$2");
}
