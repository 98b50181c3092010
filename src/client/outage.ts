import type { StreamEvent } from "./events.ts";

/**
 * Whether a stream is reachable, as a source sees it poll after poll: an outage opens at the first failure, closes
 * (with its length) at the next success, and becomes fatal once it has lasted longer than the run allows.
 */
export class OutageTracker {
  private sinceMs: number | null = null;
  private reason = "";

  constructor(
    private readonly maxOutageMs: number,
    private readonly emit: (e: StreamEvent) => void,
  ) {}

  get open(): boolean {
    return this.sinceMs !== null;
  }

  /** A failed poll. Returns true once the outage is past the limit (a fatal event has then been emitted). */
  failure(reason: string, nowMs: number): boolean {
    if (this.sinceMs === null) {
      this.sinceMs = nowMs;
      this.reason = reason;
      this.emit({ kind: "outage", atMs: nowMs, detail: `stream unreachable: ${reason}` });
      return false;
    }
    if (nowMs - this.sinceMs <= this.maxOutageMs) return false;
    this.emit({
      kind: "outage",
      atMs: nowMs,
      durationMs: nowMs - this.sinceMs,
      fatal: true,
      detail: `the stream has been unreachable for ${Math.round((nowMs - this.sinceMs) / 1000)} s (${this.reason}); giving up`,
    });
    return true;
  }

  /** A successful poll. Returns true when it ended an outage (the stream then starts over for the decoder). */
  success(nowMs: number): boolean {
    if (this.sinceMs === null) return false;
    const durationMs = nowMs - this.sinceMs;
    this.emit({ kind: "reconnect", atMs: nowMs, durationMs, detail: `stream back after ${(durationMs / 1000).toFixed(1)} s (${this.reason})` });
    this.sinceMs = null;
    return true;
  }
}
