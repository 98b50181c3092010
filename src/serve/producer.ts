import type { FrameLayout } from "../signal/render.ts";

/** What the stream carries, as /params reports it. */
export interface StreamSignal {
  streamId: string;
  fps: number;
  size: string;
  width: number;
  height: number;
  segmentS: number;
  preset: string;
  crf: number;
  layout: FrameLayout | null;
}

export type StartOutcome = { ok: true } | { ok: false; reason: string };

export interface ProducerExit {
  reason: string;
  /** Its last words, e.g. ffmpeg's last stderr line. */
  detail?: string;
}

/**
 * What writes the segments into the origin's folder: the live encoder, or the looped prerecorded video. The origin
 * supervises it (src/serve/supervisor.ts) and reports for it; a producer supplies only what differs.
 */
export interface SegmentProducer {
  /** What is supervised, in log lines and /health ("encoder"). */
  readonly name: string;
  /** Work before the first start (rendering and cutting a source); stops early when cancelled() names a signal. */
  prepare(cancelled: () => string | null): Promise<void>;
  /** Starts producing; the first new segment is numbered nextSequence (a producer with its own clock may ignore it). */
  start(nextSequence: number): Promise<StartOutcome>;
  /** Called once per successful start, when that run ends by itself or after kill(). */
  onExit(listener: (exit: ProducerExit) => void): void;
  /** Stops the current run as if it had crashed (the watchdog). */
  kill(): void;
  /** The newest finished segment's sequence number, or null before the first. Must not need a file descriptor. */
  newestSequence(): number | null;
  /** Stops for good and removes what it made. */
  stop(): Promise<void>;
  signal(): StreamSignal;
  /** /params keys under `vat` only this producer has. */
  extraParams(): Record<string, unknown>;
  /** /health counters only this producer has. */
  counters(): Record<string, number | null>;
  /** Parts of the status line only this producer has. */
  statusParts(): string[];
}
