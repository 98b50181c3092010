import { compareStreams, type Comparison } from "./comparison.ts";
import { runSession, UnmeasuredRun, type ClientConfig, type SessionObserver, type SessionResult } from "./session.ts";
import { RunStore } from "./store.ts";

export interface ComparedStream {
  role: string;
  /** Null when the stream could not be measured at all (why: error). */
  result: SessionResult | null;
  error: string | null;
  /** What ended it, for the command to report. */
  cause: unknown;
  versusControl: Comparison | null;
}

export interface ComparisonResult {
  id: string;
  db: string;
  streams: ComparedStream[];
}

/** A comparison's id: its start time and the process, so that two comparisons in one database never collide. */
export function comparisonId(now = new Date(), pid = process.pid): string {
  return `cmp-${now.toISOString().replace(/[-:.]/g, "").slice(0, 15)}-${pid}`;
}

/**
 * Reads every stream at once on one clock, one run each in the same database, then matches their frames by number
 * against the first (the control). Runs are created in the order given, the control first, whatever order the streams
 * answer in: each session waits for the one before it to have created its run (or to have failed).
 */
export async function compareStreamsLive(
  streams: { role: string; cfg: ClientConfig }[],
  stopRequested: () => string | null,
  observerFor: (role: string) => SessionObserver,
  note: (line: string) => void,
  id = comparisonId(),
): Promise<ComparisonResult> {
  let turn: Promise<void> = Promise.resolve();
  const runs = streams.map((s) => {
    const mine = turn;
    let done!: () => void;
    turn = new Promise<void>((r) => (done = r));
    // The next session may create its run once this one has, or has ended without one.
    const cfg: ClientConfig = { ...s.cfg, comparison: { id, role: s.role }, turn: mine, created: done };
    const session = runSession(cfg, stopRequested, observerFor(s.role));
    void session.finally(done).catch(() => {});
    return session.then(
      (result) => ({ result, error: null, cause: null }),
      (err: unknown) =>
        err instanceof UnmeasuredRun
          ? { result: err.result, error: err.message, cause: err.error }
          : { result: null, error: (err as Error).message, cause: err },
    );
  });
  const outcomes = await Promise.all(runs);
  const db = streams[0]!.cfg.db;
  const control = outcomes[0]!.result;
  const out: ComparedStream[] = [{ role: streams[0]!.role, ...outcomes[0]!, versusControl: null }];
  const store = new RunStore(db);
  try {
    const controlFrames = control ? store.arrivals(control.runId) : [];
    outcomes.slice(1).forEach((o, i) => {
      const role = streams[i + 1]!.role;
      const r = o.result;
      if (!r || !control) {
        out.push({ role, ...o, versusControl: null });
        return;
      }
      // Frames are matched by number: only streams of one signal can be compared.
      const differ = r.streamId !== null && control.streamId !== null && r.streamId !== control.streamId;
      if (differ) note(`[${role}] carries stream id '${r.streamId}', the control '${control.streamId}': not compared`);
      const c = compareStreams(differ ? [] : store.arrivals(r.runId), controlFrames);
      store.writeComparison(id, r.runId, control.runId, c);
      out.push({ role, ...o, versusControl: c });
    });
  } finally {
    store.close();
  }
  return { id, db, streams: out };
}
