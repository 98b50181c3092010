import { compareStreamsLive, comparisonId, type ComparedStream } from "../client/compare.ts";
import type { ClientConfig, SessionObserver } from "../client/session.ts";
import { formatStatus, formatWindowLine } from "../client/summary-format.ts";
import { failed, interrupted, VatError } from "../errors.ts";
import { startFargateOrigin } from "../launch/fargate-origin.ts";
import { startLocalOrigin } from "../launch/local.ts";
import type { Progress } from "../log.ts";
import { parseIngestFailure } from "./ingest-log.ts";
import type { ComparePlan, PlaybackStream } from "./plan.ts";
import { costPerHourUsd, rankRows, type ProviderRow } from "./ranking.ts";
import { waitForPlayback, type PlaybackState } from "./readiness.ts";
import { SecretRedactor } from "./redaction.ts";
import { CompareStore } from "./store.ts";

/**
 * One comparison: the origin (on this machine or a Fargate task) pushing its one encode to every provider's ingest, a wait for each
 * provider's playback to carry vat's frames, then the control and every playback that came up measured at once on one
 * clock. The origin (and with it every push) is stopped on every way out; what was measured is always stored.
 */
export interface CompareDeps {
  /** How to run this same vat (launch's selfCommand). */
  self: string[];
  cancelled: () => string | null;
  progress: Progress;
  /** Whether window lines are logged as they close (not with --json). */
  verbose: boolean;
}

export interface CompareOutcome {
  comparisonId: string;
  db: string;
  originUrl: string;
  control: ComparedStream | null;
  /** Every playback, ranked: measured ones by the plan's key, then the failed ones. */
  ranked: ProviderRow[];
}

export async function runComparison(plan: ComparePlan, deps: CompareDeps): Promise<CompareOutcome> {
  const { progress } = deps;
  const redactor = new SecretRedactor(plan.providers.flatMap((p) => [p.ingest, ...p.playback]));
  const ingestUrls = plan.providers.map((p) => p.ingest.reveal());
  const ingestFailures = new Map<number, string>();
  const id = comparisonId();
  progress.info(`vat compare: ${plan.streams.length} playback(s) of ${plan.providers.length} provider(s) from ${plan.file}, comparison ${id}`);
  let origin: Origin | null = null;
  let stopReason = `vat compare ${id}: failed`;
  const states = new Map<string, PlaybackState>();
  let compared: ComparedStream[] = [];
  let rows: ProviderRow[] = [];
  try {
    origin = await startOrigin(plan, deps, ingestUrls, (line) => {
      const f = parseIngestFailure(line, ingestUrls);
      if (f && !ingestFailures.has(f.index)) {
        ingestFailures.set(f.index, f.reason);
        progress.info(`[${plan.providers[f.index]!.name}] ingest ${plan.providers[f.index]!.ingest}: ${f.reason}`);
      }
      if (!progress.onTerminal) progress.info(`serve | ${redactor.redact(line)}`);
    }).catch((err: unknown) => {
      throw redactError(err, redactor);
    });
    progress.info(`vat compare: origin live at ${origin.url}, pushing to ${plan.providers.length} ingest(s)`);
    await waitForPlaybacks(plan, deps, redactor, states);
    const signal = deps.cancelled();
    if (signal) throw interrupted(signal, `stopped by ${signal} while waiting for the providers' playbacks`);
    const up = plan.streams.flatMap((s) => {
      const st = states.get(s.role);
      return st?.up ? [{ stream: s, url: st.url }] : [];
    });
    if (up.length === 0) throw failed(`no provider's playback carried the origin's stream: ${describeFailures(plan, states, ingestFailures)}`);
    progress.info(`vat compare: measuring the control and ${up.map((u) => u.stream.role).join(", ")}`);
    const c = await compareStreamsLive(
      [{ role: "control", cfg: { ...plan.measure, url: origin.url } }, ...up.map((u) => ({ role: u.stream.role, cfg: { ...configFor(plan, u.stream), url: u.url } }))],
      deps.cancelled,
      (role) => observerFor(role, deps, redactor),
      (line) => progress.info(redactor.redact(line)),
      id,
    );
    compared = c.streams;
    const sig = deps.cancelled();
    stopReason = sig ? `vat compare ${id}: interrupted by ${sig}` : `vat compare ${id}: done`;
  } catch (err) {
    const sig = deps.cancelled();
    stopReason = redactor.redact(sig ? `vat compare ${id}: interrupted by ${sig}` : `vat compare ${id}: ${(err as Error).message}`);
    throw err;
  } finally {
    progress.clear();
    if (origin) {
      // A task that could not be stopped is logged with how to stop it; what was measured is stored first all the same.
      const stopError: unknown = await origin.stop(stopReason).then(() => null, (e: unknown) => e);
      if (stopError === null) progress.info("vat compare: origin stopped, every push with it");
      // What was measured is stored however the comparison ended (an error, a signal, a provider that never came up).
      rows = plan.streams.map((s) => rowFor(s, states, compared, ingestFailures, redactor));
      storeRows(plan, id, rows, redactor);
      if (stopError !== null) throw redactError(stopError, redactor);
    }
  }
  const control = compared.find((s) => s.role === "control") ?? null;
  if (control?.error) {
    const cause = control.cause;
    if (cause instanceof VatError && cause.kind === "interrupted") throw cause;
    throw failed(`the control (the origin's own stream) could not be measured: ${control.error}`);
  }
  // A comparison is of providers: with none measured, whatever came up, it is no success.
  if (!rows.some((r) => r.status === "measured")) throw failed(`no provider could be measured: ${rows.map((r) => `${r.role}: ${r.reason ?? r.status}`).join("; ")}`);
  return { comparisonId: id, db: plan.measure.db, originUrl: origin!.url, control, ranked: rankRows(rows, plan.rank) };
}

/** The origin wherever the plan runs it; stop() ends it and with it every push. */
interface Origin {
  url: string;
  stop(reason: string): Promise<void>;
}

/**
 * The origin pushing its one encode to every ingest (VAT_PUSH, one a line: kept off serve's command line). A local
 * server's log lines reach onServerLine; a Fargate task's go to its own log (CloudWatch).
 */
async function startOrigin(plan: ComparePlan, deps: CompareDeps, ingestUrls: string[], onServerLine: (line: string) => void): Promise<Origin> {
  const onWaiting = (reason: string, elapsedMs: number) =>
    deps.progress.update(`waiting for the origin (${(elapsedMs / 1000).toFixed(1)} s): ${reason}`, {
      // A new line when the reason changes, not its counters.
      key: `origin ${reason.replace(/\d+(\.\d+)?/g, "#")}`,
    });
  const o = plan.origin;
  if (o.backend === "fargate") {
    return await startFargateOrigin(o.launch, {
      region: o.region,
      stack: o.stack,
      startTimeoutMs: plan.originStartTimeoutMs,
      cancelled: deps.cancelled,
      onWaiting,
      extraEnv: { VAT_PUSH: ingestUrls.join("\n") },
      label: "vat compare",
    });
  }
  return await startLocalOrigin({
    self: deps.self,
    env: {},
    serveArgs: plan.serveArgs,
    pushUrls: ingestUrls,
    startTimeoutMs: plan.originStartTimeoutMs,
    cancelled: deps.cancelled,
    onServerLine,
    onWaiting,
  });
}

/** Bitrates and costs from the stored windows, the providers' rows, and no secret left in what the client stored. */
function storeRows(plan: ComparePlan, id: string, rows: ProviderRow[], redactor: SecretRedactor): void {
  const store = new CompareStore(plan.measure.db);
  try {
    for (const r of rows) {
      if (r.runId === null) continue;
      r.bitrateKbps = store.meanBitrateKbps(r.runId);
      r.costPerHourUsd = costPerHourUsd(streamOf(plan, r.role).provider.price, r.bitrateKbps);
    }
    store.scrubRuns(id, rows.flatMap((r) => (r.runId === null ? [] : [r.runId])), redactor.replacements);
    store.writeProviders(id, rows.map((row) => {
      const p = streamOf(plan, row.role).provider;
      return { row, ingest: p.ingest.display, price: p.price };
    }));
  } finally {
    store.close();
  }
}

/** A playback's measurement: the comparison's settings, its URL, and the rendition its provider names (else --variant's). */
function configFor(plan: ComparePlan, s: PlaybackStream): ClientConfig {
  return { ...plan.measure, url: s.playback.reveal(), variant: s.provider.variant ?? plan.measure.variant };
}

function streamOf(plan: ComparePlan, role: string): PlaybackStream {
  return plan.streams.find((s) => s.role === role)!;
}

/** Every playback checked at once, each bounded by its own start timeout, with one progress line for all of them. */
async function waitForPlaybacks(
  plan: ComparePlan,
  deps: CompareDeps,
  redactor: SecretRedactor,
  states: Map<string, PlaybackState>,
): Promise<void> {
  const started = performance.now();
  const lastSeen = new Map<string, string>();
  const show = (final = false) => {
    const elapsedS = (performance.now() - started) / 1000;
    const parts = plan.streams.map((s) => {
      const st = states.get(s.role);
      return st === undefined ? `${s.role} waiting` : st.up ? `${s.role} up` : `${s.role} failed`;
    });
    const key = parts.join(", ");
    deps.progress.update(`waiting for the playbacks (${elapsedS.toFixed(1)} s): ${key}`, { key, final });
  };
  const ticker = setInterval(show, 250);
  try {
    await Promise.all(plan.streams.map(async (s) => {
      const state = await waitForPlayback({
        cfg: configFor(plan, s),
        streamId: plan.streamId,
        timeoutMs: s.startTimeoutMs,
        cancelled: deps.cancelled,
        onEvent: (detail) => lastSeen.set(s.role, redactor.redact(detail)),
      });
      const settled: PlaybackState = state.up
        ? state
        : { ...state, reason: redactor.redact(state.reason) + (lastSeen.has(s.role) ? ` (last: ${lastSeen.get(s.role)})` : "") };
      states.set(s.role, settled);
      deps.progress.info(`[${s.role}] ${settled.up ? `playback ${redactor.redact(s.playback.display)} carries the origin's stream` : `not up: ${settled.reason}`}`);
    }));
  } finally {
    clearInterval(ticker);
    show(true);
    deps.progress.clear();
  }
}

function rowFor(
  s: PlaybackStream,
  states: Map<string, PlaybackState>,
  compared: readonly ComparedStream[],
  ingestFailures: Map<number, string>,
  redactor: SecretRedactor,
): ProviderRow {
  const ingestNote = ingestFailures.has(s.providerIndex) ? `ingest ${s.provider.ingest}: ${ingestFailures.get(s.providerIndex)}` : null;
  const base: ProviderRow = {
    role: s.role, provider: s.provider.name, playback: redactor.redact(s.playback.display), status: "failed", reason: null, runId: null,
    relativeLatencyP50Ms: null, relativeLatencyP95Ms: null, matchedShare: null, framesNew: null, dropped: null, stalls: null,
    stallMs: null, psnrYMean: null, ssimYMean: null, bitrateKbps: null, costPerHourUsd: null,
  };
  const state = states.get(s.role);
  const c = compared.find((x) => x.role === s.role);
  if (!state?.up || !c) {
    const why = state && !state.up ? state.reason : "not measured: the comparison stopped first";
    return { ...base, reason: [ingestNote, why].filter(Boolean).join("; ") };
  }
  const r = c.result;
  const v = c.versusControl;
  const error = c.error === null ? null : redactor.redact(c.error);
  return {
    ...base,
    // A run that ended in error but measured frames keeps its figures, with the error as its reason.
    status: r && (c.error === null || r.summary.framesNew > 0) ? "measured" : "failed",
    reason: [ingestNote, error].filter(Boolean).join("; ") || null,
    runId: r?.runId ?? null,
    relativeLatencyP50Ms: v?.relativeLatencyP50Ms ?? null,
    relativeLatencyP95Ms: v?.relativeLatencyP95Ms ?? null,
    matchedShare: v?.matchedShare ?? null,
    framesNew: r?.summary.framesNew ?? null,
    dropped: r?.summary.dropped ?? null,
    stalls: r?.summary.stalls ?? null,
    stallMs: r?.summary.stallMs ?? null,
    psnrYMean: r?.summary.psnrYMean ?? null,
    ssimYMean: r?.summary.ssimYMean ?? null,
  };
}

function describeFailures(plan: ComparePlan, states: Map<string, PlaybackState>, ingestFailures: Map<number, string>): string {
  return plan.streams
    .map((s) => {
      const st = states.get(s.role);
      const ingest = ingestFailures.get(s.providerIndex);
      return `${s.role}: ${ingest ? `ingest: ${ingest}; ` : ""}${st && !st.up ? st.reason : "not checked"}`;
    })
    .join("; ");
}

function observerFor(role: string, deps: CompareDeps, redactor: SecretRedactor): SessionObserver {
  const { progress } = deps;
  return {
    info: (line) => progress.info(`[${role}] ${redactor.redact(line)}`),
    window: (w) => {
      if (deps.verbose && !progress.onTerminal) progress.info(`[${role}] ${formatWindowLine(w)}`);
    },
    event: (e) => progress.info(`[${role}] ${e.kind}: ${redactor.redact(e.detail)}`),
    // One live line: the control's, which every provider is measured against.
    status: (s) => {
      if (role === "control" && progress.onTerminal) progress.update(`measuring · control ${formatStatus(s)}`);
    },
  };
}

/** An error whose message may quote a child's output, with every secret URL in it shown redacted. */
function redactError(err: unknown, redactor: SecretRedactor): unknown {
  if (!(err instanceof Error)) return err;
  const message = redactor.redact(err.message);
  if (message === err.message) return err;
  return err instanceof VatError ? new VatError(err.kind, message, err.signal) : new Error(message);
}
