import type { StreamEvent } from "./events.ts";
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

  constructor(
    private readonly observer: SessionObserver,
    private readonly storeFrames: boolean,
  ) {}

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
    if (e.kind === "outage") this.outageOpen = true;
    if (e.kind === "reconnect") this.outageOpen = false;
    if (e.fatal) this.fatal ??= e;
    this.observer.event(e);
    if (this.run) this.run.store.writeEvent(this.run.id, e);
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
      this.run!.store.writeWindow(this.run!.id, w, mine);
      this.windows++;
      this.observer.window(w);
    }
  }

  streamId(id: string): void {
    this.run?.store.noteStreamId(this.run.id, id);
  }

  vmaf(s: VmafSample): void {
    this.run?.store.writeVmaf(this.run.id, s);
  }

  /** The run's end: its status and summary (and each window's VMAF, once every sample is scored). */
  finish(endedAtMs: number, status: string, summary: RunSummary): void {
    const { store, id } = this.run!;
    if (summary.vmaf) store.fillWindowVmaf(id);
    store.finishRun(id, endedAtMs, status, summary);
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
