/**
 * What happened to a stream while it was measured: data, not exceptions (as hls.js's ErrorData). Every event reaches
 * the store and the observer through the recorder. A fatal event ends the run: the stream cannot be measured further
 * (given up after an outage, encrypted, a codec or container vat cannot decode); the run is then stored as failed with
 * its reason. A limit hit is not fatal: a segment over the limit is skipped, a playlist over it is a failed poll.
 */
export type StreamEventKind =
  | "outage"
  | "reconnect"
  | "stream-restart"
  | "segment-missing"
  | "stale-playlist"
  | "skipped-segments"
  | "slow-segment"
  | "target-duration"
  | "stream-info"
  | "stall"
  | "rebuffer"
  | "limit"
  | "storage"
  | "unmeasurable"
  /** The client could not keep up: frames waited ever longer between arriving and being read (client/pipeline-lag.ts). */
  | "behind"
  /**
   * Something new (a segment sooner than the ones before it said, a restart, a gap) came while a live HLS playlist's
   * polls paused between segments (client/poll-schedule.ts). It may have been seen up to durationMs late. The polls
   * no longer pause in the run, unless polls failed after the pause (the lateness may then be theirs).
   */
  | "early-segment"
  /** An LL-HLS server answered a blocking playlist reload before the part asked for existed (it does not block). */
  | "early-reload"
  /** A value from the stream (playlist, /params, /time) was malformed or out of range, and was mended or ignored. */
  | "bad-value";

export interface StreamEvent {
  kind: StreamEventKind;
  /** Client clock. */
  atMs: number;
  durationMs?: number;
  detail: string;
  /** The run cannot go on. */
  fatal?: boolean;
}

/**
 * The event that opens an outage (the stream unreachable), the one without a length; what closes it carries the
 * length: a reconnect, the fatal outage event that gives up on it, or the end of the run.
 */
export function opensOutage(e: { kind: string; durationMs?: number | null }): boolean {
  return e.kind === "outage" && (e.durationMs ?? null) === null;
}

/** Kept for the sources' vocabulary: what a source reports is a stream event. */
export type SourceEvent = StreamEvent;
export type SourceEventKind = StreamEventKind;
