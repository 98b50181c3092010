import { opensOutage, type StreamEvent } from "./events.ts";
import type { DeliveryFigures } from "./delivery.ts";
import type { FrameRecord, RunSummary, WindowSummary } from "./metrics.ts";
import type { RunInfo, RunStore } from "./store.ts";

export interface LiveStatus {
  elapsedMs: number;
  frames: number;
  fps: number | null;
  latencyP50Ms: number | null;
  dropped: number;
  unreadable: number;
  outage: boolean;
}

export interface SessionObserver {
  info(line: string): void;
  window(w: WindowSummary): void;
  event(e: StreamEvent): void;
  status(s: LiveStatus): void;
}

/** What the recorder needs of the store (client/store.ts's SQLite file, or :memory: in tests). */
export type Store = Pick<
  RunStore,
  | "createRun"
  | "writeWindow"
  | "writeEvent"
  | "setComparison"
  | "noteStreamId"
  | "writeVmaf"
  | "fillWindowVmaf"
  | "finishRun"
  | "rows"
  | "discardRun"
  | "close"
>;

export interface VmafSample {
  frameIndex: number;
  frameNumber: number;
  arrivedAtMs: number;
  vmaf: number;
}

/**
 * The only path by which events, frames, windows and samples reach the store and the observer. Events before the run
 * row exists (while connecting) are kept and written once it does. Frames wait until the window they arrived in
 * closes, and go to the store with it in one transaction.
 */
export class Recorder {
  readonly events: StreamEvent[] = [];
  private run: { store: Store; id: number } | null = null;
  private pending: FrameRecord[] = [];
  private streamInfo = "";
  windows = 0;
  outageOpen = false;
  /** The first fatal event: the run cannot go on. */
  fatal: StreamEvent | null = null;
  /** The store refused a write (a full disk): measuring stops; what was stored before stays. */
  private storeFailed = false;

  constructor(
    private readonly observer: SessionObserver,
    private readonly storeFrames: boolean,
  ) {}

  /**
   * Every write to the store goes through here. A write that fails (a full disk, a file gone read-only) ends the run
   * as a fatal event the observer sees; the windows already stored are kept, and nothing more is written.
   */
  private write(f: (store: Store, id: number) => void): void {
    if (!this.run || this.storeFailed) return;
    try {
      f(this.run.store, this.run.id);
    } catch (err) {
      this.storeFailed = true;
      const e: StreamEvent = { kind: "storage", atMs: Date.now(), fatal: true, detail: `the database cannot be written: ${(err as Error).message}` };
      this.fatal ??= e;
      this.events.push(e);
      this.observer.event(e);
    }
  }

  get runId(): number {
    return this.run?.id ?? 0;
  }

  /** Creates the run row; events seen so far are written to it. */
  open(store: Store, info: RunInfo, comparison?: { id: string; role: string }): number {
    const id = store.createRun(info);
    this.run = { store, id };
    for (const e of this.events) store.writeEvent(id, e);
    if (comparison) store.setComparison(id, comparison.id, comparison.role);
    return id;
  }

  event(e: StreamEvent): void {
    if (e.kind === "stream-info") {
      if (e.detail === this.streamInfo) return; // once per decoder, and only when it changed
      this.streamInfo = e.detail;
    }
    this.events.push(e);
    if (e.kind === "outage") this.outageOpen = opensOutage(e);
    if (e.kind === "reconnect") this.outageOpen = false;
    if (e.fatal) this.fatal ??= e;
    this.observer.event(e);
    this.write((store, id) => store.writeEvent(id, e));
  }

  info(line: string): void {
    this.observer.info(line);
  }

  status(s: LiveStatus): void {
    this.observer.status(s);
  }

  frame(r: FrameRecord): void {
    if (this.storeFrames) this.pending.push(r);
  }

  /**
   * Closed windows, oldest first, each stored with the frames that arrived in it. At the end of the run (last) the
   * final window takes every frame still pending, also one that arrived at the very instant the run ended.
   */
  closed(windows: readonly WindowSummary[], last = false): void {
    for (const [i, w] of windows.entries()) {
      const cut = last && i === windows.length - 1 ? -1 : this.pending.findIndex((f) => f.arrivedAtMs >= w.endMs);
      const mine = cut < 0 ? this.pending : this.pending.slice(0, cut);
      this.pending = cut < 0 ? [] : this.pending.slice(cut);
      this.write((store, id) => store.writeWindow(id, w, mine));
      if (this.storeFailed) return;
      this.windows++;
      this.observer.window(w);
    }
  }

  streamId(streamId: string): void {
    this.write((store, id) => store.noteStreamId(id, streamId));
  }

  vmaf(s: VmafSample): void {
    this.write((store, id) => store.writeVmaf(id, s));
  }

  /** The run's end: its status and summary (and each window's VMAF, once every sample is scored). */
  finish(endedAtMs: number, status: string, summary: RunSummary, delivery: DeliveryFigures | null = null): void {
    this.write((store, id) => {
      if (summary.vmaf) store.fillWindowVmaf(id);
      store.finishRun(id, endedAtMs, status, summary, delivery ?? undefined);
    });
  }

  rows(table: "windows" | "frames" | "events"): Record<string, unknown>[] {
    return this.run!.store.rows(table, this.run!.id);
  }

  /** A run that measured nothing leaves nothing behind: true when the database then holds no run at all. */
  discard(): boolean {
    return this.run ? this.run.store.discardRun(this.run.id) : false;
  }

  close(): void {
    this.run?.store.close();
  }
}
