import { Database } from "bun:sqlite";
import { COMPARISONS, EVENTS, FRAMES, RUNS, WINDOWS } from "../client/columns.ts";
import { joinMarks } from "../client/comparison.ts";
import type { ComparedStreamFacts, ComparisonFacts } from "./comparison.ts";
import { columns, isRecord, memoryMiB, numberOrNull, providerOf, readDatabase, tableSelector } from "./collect.ts";

/**
 * Every comparison in one database: its control and the streams compared with it (runs of one comparison id), and
 * the frames, windows and events the figures and charts are made of. A `vat compare` run has what compare stored of
 * each provider (compare_providers: its name, status and cost); one made by `vat client --control` or `--variant all`
 * names each stream by its host (and rendition), its status by its run's.
 */
export function readComparisons(file: string): ComparisonFacts[] {
  // A database from before comparisons (schema 1) has no comparison_id column: it holds none.
  return readDatabase(file, (db, names) => (names.has("runs") && columns(db, "runs").has(RUNS.columns.comparisonId.name) ? readAll(db, file, names) : []));
}

interface ProviderRecord {
  role: string;
  name: string;
  status: string;
  reason: string | null;
  runId: number | null;
  costPerHourUsd: number | null;
}

/**
 * A run's new frames with a latency, from all its frames in the order they came; those that arrived at its join
 * marked (client/comparison.ts joinMarks). Pure.
 */
export function measuredFrames(
  rows: {
    kind: string | null; frameNumber: number | null; latencyMs: number | null; arrivedAtMs: number | null; segment: number | null;
    atJoin?: boolean | null;
  }[],
): ComparedStreamFacts["frames"] {
  const atJoin = joinMarks(rows.map((f) => ({ segment: f.segment, arrivedAtMs: f.arrivedAtMs ?? NaN, atJoin: f.atJoin ?? null })));
  return rows.flatMap((f, i) =>
    f.kind !== "new" || f.frameNumber === null || f.latencyMs === null || f.arrivedAtMs === null
      ? []
      : [{ n: f.frameNumber, latencyMs: f.latencyMs, atMs: f.arrivedAtMs, atJoin: atJoin[i]! }],
  );
}

function readAll(db: Database, file: string, names: Set<string>): ComparisonFacts[] {
  const select = tableSelector(db);
  const runs = select(RUNS, ["id", "startedAtMs", "comparisonId", "role", "sizeName", "fps", "cpu", "memory", "declaredBandwidthBps", "url", "params", "rendition", "status"], "comparison_id IS NOT NULL", "ORDER BY id")();
  const framesOf = select(FRAMES, ["kind", "frameNumber", "latencyMs", "arrivedAtMs", "segment", "atJoin"], "run_id = ?", "ORDER BY idx");
  const windowsOf = select(WINDOWS, ["startMs", "endMs", "bitrateKbps", "psnrYMean", "ssimYMean", "framesNew"], "run_id = ?", "ORDER BY idx");
  const eventsOf = names.has(EVENTS.name) ? select(EVENTS, ["kind", "atMs", "durationMs"], "run_id = ?") : () => [];
  const versusOf = names.has(COMPARISONS.name)
    ? select(COMPARISONS, ["relativeLatencyP50Ms", "relativeLatencyP95Ms", "matchedShare"], "run_id = ?")
    : () => [];
  const providers = names.has("compare_providers")
    ? (db.query("SELECT comparison_id AS c, role, name, status, reason, run_id, cost_per_hour_usd FROM compare_providers").all() as Record<string, unknown>[])
      .flatMap((r) => (typeof r.c === "string" && typeof r.role === "string" ? [{ comparisonId: r.c, ...providerRecord(r) }] : []))
    : [];
  const ids = [...new Set(runs.map((r) => r.comparisonId).filter((c): c is string => c !== null))];
  const out: ComparisonFacts[] = [];
  for (const id of ids) {
    const own = runs.filter((r) => r.comparisonId === id);
    const control = own.find((r) => r.role === "control");
    const fromCompare = providers.filter((p) => p.comparisonId === id);
    // A comparison vat client made: each stream compared with the control is one of its runs.
    const listed = fromCompare.length > 0 ? fromCompare : own.filter((r) => r.role !== null && r.role !== "control").map(clientStream);
    if (!control || control.startedAtMs === null || listed.length === 0) continue;
    const stream = (role: string, provider: string, runId: number | null, p: ProviderRecord | null): ComparedStreamFacts => {
      const run = runId === null ? undefined : own.find((r) => r.id === runId);
      const frames = run ? measuredFrames(framesOf(run.id!)) : [];
      const versus = run && p ? (versusOf(run.id!)[0] ?? null) : null; // the control is the reference itself
      return {
        role,
        provider,
        control: p === null,
        status: p?.status ?? (frames.length > 0 ? "measured" : "failed"),
        reason: p?.reason ?? null,
        runId: run?.id ?? null,
        frames,
        windows: run
          ? windowsOf(run.id!).flatMap((w) => (w.startMs === null || w.endMs === null ? [] : [{ startMs: w.startMs, endMs: w.endMs, bitrateKbps: w.bitrateKbps, psnrYMean: w.psnrYMean, ssimYMean: w.ssimYMean, framesNew: w.framesNew }]))
          : [],
        events: run ? eventsOf(run.id!).flatMap((e) => (e.kind === null || e.atMs === null ? [] : [{ kind: e.kind, atMs: e.atMs, durationMs: e.durationMs ?? null }])) : [],
        declaredKbps: run?.declaredBandwidthBps != null ? run.declaredBandwidthBps / 1000 : null,
        costPerHourUsd: p?.costPerHourUsd ?? null,
        relativeP50Ms: versus?.relativeLatencyP50Ms ?? null,
        relativeP95Ms: versus?.relativeLatencyP95Ms ?? null,
        matchedShare: versus?.matchedShare ?? null,
      };
    };
    out.push({
      source: file,
      comparisonId: id,
      startedAtMs: control.startedAtMs,
      size: control.sizeName,
      fps: control.fps,
      cpu: numberOrNull(control.cpu),
      memoryMiB: memoryMiB(control.memory),
      streams: [
        stream("control", fromCompare.length > 0 ? "origin" : providerOf(control.url ?? "", isRecord(control.params) ? control.params : null, control.role, control.rendition), control.id, null),
        ...listed.map((p) => stream(p.role, p.name, p.runId, p)),
      ],
    });
  }
  return out;
}

/** A stream of a comparison vat client made, as compare would have listed it: named by host (and rendition), no cost. */
function clientStream(r: { id?: number | null; role: string | null; url: string | null; params: unknown; rendition: string | null; status: string | null }): ProviderRecord {
  const failed = typeof r.status === "string" && r.status.startsWith("failed");
  return {
    role: r.role!,
    name: providerOf(r.url ?? "", isRecord(r.params) ? r.params : null, r.role, r.rendition),
    status: failed ? "failed" : "measured",
    reason: failed ? r.status!.replace(/^failed:\s*/, "") : null,
    runId: r.id ?? null,
    costPerHourUsd: null,
  };
}

function providerRecord(r: Record<string, unknown>): ProviderRecord {
  const text = (v: unknown) => (typeof v === "string" ? v : null);
  return {
    role: r.role as string,
    name: text(r.name) ?? (r.role as string),
    status: text(r.status) ?? "failed",
    reason: text(r.reason),
    runId: numberOrNull(r.run_id),
    costPerHourUsd: numberOrNull(r.cost_per_hour_usd),
  };
}
