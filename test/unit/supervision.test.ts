import { describe, expect, test } from "bun:test";
import {
  describeSupervision,
  initialSupervisor,
  restartsOf,
  superviseStep,
  type Action,
  type Observation,
  type SupervisorSettings,
  type SupervisorState,
} from "../../src/serve/supervisor.ts";

const settings: SupervisorSettings = {
  name: "encoder",
  watchdogMs: 8000,
  firstDelayMs: 250,
  maxDelayMs: 5000,
  steadyAfterMs: 30_000,
  killGraceMs: 5000,
};

/** Runs a fixture: observations at given times; returns the final state and every action with its time. */
function run(events: [atMs: number, o: Observation][], from = initialSupervisor(settings, 0)) {
  let state: SupervisorState = from;
  const actions: [number, Action][] = [];
  for (const [at, o] of events) {
    const step = superviseStep(state, o, at);
    state = step.state;
    for (const a of step.actions) actions.push([at, a]);
  }
  return { state, actions, kinds: actions.map(([at, a]) => `${at} ${a.kind}`) };
}

const tick = (at: number): [number, Observation] => [at, { kind: "tick" }];
const started = (at: number): [number, Observation] => [at, { kind: "started" }];
const segment = (at: number): [number, Observation] => [at, { kind: "segment" }];
const failed = (at: number, reason = "EMFILE: too many open files, socketpair"): [number, Observation] => [
  at,
  { kind: "start-failed", reason },
];
const exited = (at: number): [number, Observation] => [at, { kind: "exited", reason: "killed by SIGKILL", detail: "last words" }];

describe("supervision", () => {
  test("starts at once, then only acts on what it observes", () => {
    const r = run([tick(0), tick(100), started(150), tick(200), segment(1100), tick(1200)]);
    expect(r.kinds).toEqual(["0 start"]);
    expect(r.state.phase).toEqual({ kind: "running", sinceMs: 150, lastSegmentAtMs: 1100 });
    expect(restartsOf(r.state)).toBe(0);
  });

  test("an encoder that dies is restarted after the backoff, which doubles with each death", () => {
    const r = run([tick(0), started(0), segment(1000), exited(2000), tick(2100), tick(2250), started(2260), exited(2500), tick(2900), tick(3000)]);
    expect(r.kinds).toEqual(["0 start", "2000 log", "2250 start", "2500 log", "3000 start"]);
    const logs = r.actions.filter(([, a]) => a.kind === "log").map(([, a]) => (a as { line: string }).line);
    expect(logs).toEqual([
      "encoder stopped (killed by SIGKILL): last words; restarting in 250 ms",
      "encoder stopped (killed by SIGKILL): last words; restarting in 500 ms",
    ]);
    expect(restartsOf(r.state)).toBe(1); // the third start is pending
  });

  test("a spawn that fails over and over is retried for ever, the wait bounded at maxDelayMs", () => {
    const events: [number, Observation][] = [tick(0), started(0), segment(1000), exited(2000)];
    let t = 2000;
    const waits: number[] = [];
    let state = run(events).state;
    for (let attempt = 0; attempt < 12; attempt++) {
      // Tick every 50 ms until the supervisor asks for a start, then report that it failed.
      const askedAt = t;
      for (;;) {
        t += 50;
        const step = superviseStep(state, { kind: "tick" }, t);
        state = step.state;
        if (step.actions.some((a) => a.kind === "start")) break;
      }
      waits.push(t - askedAt);
      state = superviseStep(state, { kind: "start-failed", reason: "EMFILE: too many open files, socketpair" }, t).state;
    }
    expect(waits).toEqual([250, 500, 1000, 2000, 4000, 5000, 5000, 5000, 5000, 5000, 5000, 5000]);
    expect(state.phase.kind).toBe("waiting");
    expect(state.failedStarts).toBe(12);
    expect(describeSupervision(state, t + 1000)).toBe(
      "encoder could not start (EMFILE: too many open files, socketpair); next start in 4.0 s (attempt 14, retried until it works)",
    );
    // Descriptors are back: the next start works, segments flow, and after a steady spell the backoff is reset.
    const r = run([tick(t + 5000), started(t + 5000), segment(t + 6000), segment(t + 36_000)], state);
    expect(r.kinds).toEqual([`${t + 5000} start`]);
    expect(describeSupervision(r.state, t + 36_000)).toBeNull();
    expect(r.state.delayMs).toBe(250);
    expect(restartsOf(r.state)).toBe(1);
  });

  test("watchdog: a running encoder that writes no segment for watchdogMs is killed, then restarted", () => {
    const r = run([tick(0), started(0), segment(1000), tick(8900), tick(9100), tick(9200), exited(9300), tick(9550), started(9560)]);
    expect(r.kinds).toEqual(["0 start", "9100 log", "9100 kill", "9300 log", "9550 start"]);
    const line = (r.actions[1]![1] as { line: string }).line;
    expect(line).toBe("encoder wrote no segment for 8.1 s; killing it");
    expect(r.state.phase.kind).toBe("running");
  });

  test("watchdog counts from the start of a run that never wrote a segment, and kills again if one does not exit", () => {
    const r = run([tick(0), started(0), tick(8000), tick(8001), tick(12_000), tick(13_002), exited(13_100)]);
    expect(r.kinds).toEqual(["0 start", "8001 log", "8001 kill", "13002 kill", "13100 log"]);
  });

  test("a stalled segment flow that recovers before the watchdog is left alone", () => {
    const r = run([tick(0), started(0), segment(1000), tick(8000), segment(8500), tick(16_000), tick(16_400)]);
    expect(r.kinds).toEqual(["0 start"]);
  });

  test("observations that do not fit the phase change nothing", () => {
    const s = initialSupervisor(settings, 0);
    for (const o of [{ kind: "started" }, { kind: "segment" }, { kind: "exited", reason: "x" }, { kind: "start-failed", reason: "x" }] as Observation[]) {
      expect(superviseStep(s, o, 10)).toEqual({ state: s, actions: [] });
    }
  });
});
