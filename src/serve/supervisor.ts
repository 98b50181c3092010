/**
 * Supervision of a segment producer as a pure function of state, what was observed and the time: when to start it,
 * when to restart it after it died or could not start (bounded exponential backoff, never giving up: a failure such as
 * running out of file descriptors is transient), and when to kill one that stopped producing (the watchdog). The
 * origin carries out the actions and reports back what happened.
 */

export interface SupervisorSettings {
  /** What is supervised, in log lines and reasons ("encoder"). */
  name: string;
  /** A running producer that writes no segment for this long is killed. */
  watchdogMs: number;
  firstDelayMs: number;
  maxDelayMs: number;
  /** A run that lasted this long and still produces resets the backoff to firstDelayMs. */
  steadyAfterMs: number;
  /** A killed producer that has not exited after this long is killed again. */
  killGraceMs: number;
}

export type SupervisorPhase =
  | { kind: "waiting"; untilMs: number }
  | { kind: "starting"; sinceMs: number }
  | { kind: "running"; sinceMs: number; lastSegmentAtMs: number | null }
  | { kind: "killing"; sinceMs: number };

export interface SupervisorState {
  readonly settings: SupervisorSettings;
  readonly phase: SupervisorPhase;
  /** The wait before the next start after a failure. */
  readonly delayMs: number;
  /** Starts that succeeded, the first one included. */
  readonly starts: number;
  /** Starts that failed, in all. */
  readonly failedStarts: number;
  /** Failures (deaths or failed starts) since the producer last ran steadily. */
  readonly failuresInARow: number;
  /** What went wrong last, while it has not been put right by a new segment. */
  readonly problem: string | null;
}

export type Observation =
  | { kind: "tick" }
  | { kind: "started" }
  | { kind: "start-failed"; reason: string }
  /** The producer stopped by itself, or after a kill. detail: its last words (ffmpeg's last stderr line). */
  | { kind: "exited"; reason: string; detail?: string }
  | { kind: "segment" };

export type Action = { kind: "start" } | { kind: "kill" } | { kind: "log"; line: string };

export interface Step {
  state: SupervisorState;
  actions: Action[];
}

export function initialSupervisor(settings: SupervisorSettings, nowMs: number): SupervisorState {
  return {
    settings,
    phase: { kind: "waiting", untilMs: nowMs },
    delayMs: settings.firstDelayMs,
    starts: 0,
    failedStarts: 0,
    failuresInARow: 0,
    problem: null,
  };
}

/** The restarts carried out so far (successful starts after the first). */
export function restartsOf(s: SupervisorState): number {
  return Math.max(0, s.starts - 1);
}

export function superviseStep(s: SupervisorState, o: Observation, nowMs: number): Step {
  const { name } = s.settings;
  const p = s.phase;
  switch (o.kind) {
    case "tick":
      if (p.kind === "waiting" && nowMs >= p.untilMs) return { state: { ...s, phase: { kind: "starting", sinceMs: nowMs } }, actions: [{ kind: "start" }] };
      if (p.kind === "running") {
        const since = Math.max(p.sinceMs, p.lastSegmentAtMs ?? p.sinceMs);
        if (nowMs - since > s.settings.watchdogMs) {
          const problem = `wrote no segment for ${((nowMs - since) / 1000).toFixed(1)} s`;
          return {
            state: { ...s, phase: { kind: "killing", sinceMs: nowMs }, problem },
            actions: [{ kind: "log", line: `${name} ${problem}; killing it` }, { kind: "kill" }],
          };
        }
      }
      if (p.kind === "killing" && nowMs - p.sinceMs > s.settings.killGraceMs) {
        return { state: { ...s, phase: { kind: "killing", sinceMs: nowMs } }, actions: [{ kind: "kill" }] };
      }
      return { state: s, actions: [] };
    case "started":
      if (p.kind !== "starting") return { state: s, actions: [] };
      return { state: { ...s, phase: { kind: "running", sinceMs: nowMs, lastSegmentAtMs: null }, starts: s.starts + 1 }, actions: [] };
    case "start-failed": {
      if (p.kind !== "starting") return { state: s, actions: [] };
      const next = backOff(s, nowMs, `could not start (${o.reason})`);
      return {
        state: { ...next, failedStarts: s.failedStarts + 1 },
        actions: [{ kind: "log", line: `${name} could not start (${o.reason}); retrying in ${s.delayMs} ms` }],
      };
    }
    case "exited": {
      if (p.kind !== "running" && p.kind !== "killing") return { state: s, actions: [] };
      const next = backOff(s, nowMs, `stopped (${o.reason})`);
      return {
        state: next,
        actions: [{ kind: "log", line: `${name} stopped (${o.reason})${o.detail ? `: ${o.detail}` : ""}; restarting in ${s.delayMs} ms` }],
      };
    }
    case "segment": {
      if (p.kind !== "running") return { state: s, actions: [] };
      const steady = nowMs - p.sinceMs >= s.settings.steadyAfterMs;
      return {
        state: {
          ...s,
          phase: { ...p, lastSegmentAtMs: nowMs },
          problem: null,
          ...(steady ? { delayMs: s.settings.firstDelayMs, failuresInARow: 0 } : {}),
        },
        actions: [],
      };
    }
  }
}

/** Waits delayMs before the next start, and doubles the wait after that one (up to maxDelayMs). */
function backOff(s: SupervisorState, nowMs: number, problem: string): SupervisorState {
  return {
    ...s,
    phase: { kind: "waiting", untilMs: nowMs + s.delayMs },
    delayMs: Math.min(s.settings.maxDelayMs, s.delayMs * 2),
    failuresInARow: s.failuresInARow + 1,
    problem,
  };
}

/** What supervision is doing about a problem, for /health's reason; null while nothing is wrong. */
export function describeSupervision(s: SupervisorState, nowMs: number): string | null {
  const { name } = s.settings;
  const p = s.phase;
  if (p.kind === "waiting" && s.problem) {
    const inS = (Math.max(0, p.untilMs - nowMs) / 1000).toFixed(1);
    return `${name} ${s.problem}; next start in ${inS} s (attempt ${s.failuresInARow + 1}, retried until it works)`;
  }
  if (p.kind === "starting") return s.problem ? `${name} ${s.problem}; starting it again` : null;
  if (p.kind === "killing") return `${name} ${s.problem ?? "stopped producing"}; killed, waiting for it to exit`;
  return s.problem ? `${name} ${s.problem}` : null;
}

/** The supervisor's state for /health. */
export function supervisionView(s: SupervisorState, nowMs: number) {
  const p = s.phase;
  return {
    phase: p.kind,
    restarts: restartsOf(s),
    failedStarts: s.failedStarts,
    failuresInARow: s.failuresInARow,
    nextStartInMs: p.kind === "waiting" ? Math.max(0, p.untilMs - nowMs) : null,
    problem: s.problem,
  };
}
