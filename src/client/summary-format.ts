import { COMPARISONS, formatFigure, RUNS, WINDOWS } from "./columns.ts";
import type { DeliveryFigures } from "./delivery.ts";
import type { Comparison } from "./comparison.ts";
import type { WindowSummary } from "./metrics.ts";
import type { LiveStatus, SessionResult } from "./session.ts";

const f1 = (v: number | null | undefined, unit = "") => (v === null || v === undefined ? "-" : `${v.toFixed(1)}${unit}`);
const f0 = (v: number | null | undefined, unit = "") => (v === null || v === undefined ? "-" : `${Math.round(v)}${unit}`);
/** A window's (or, named alike, a run's) figure, with the unit and decimals its column declares. */
const w = (field: keyof typeof WINDOWS.columns, v: number | null | undefined, withUnit = true) =>
  formatFigure(WINDOWS.columns[field], v, withUnit);
const c = (field: keyof typeof COMPARISONS.columns, v: number | null | undefined) => formatFigure(COMPARISONS.columns[field], v);

/** A run's first line: how many frames had a code read, and of how many decoded when some had none. */
export function framesRead(s: { framesDecoded: number; unreadable: number }): string {
  const read = s.framesDecoded - s.unreadable;
  return s.unreadable === 0 ? `${read} frames read` : `${read} frames read of ${s.framesDecoded} decoded`;
}

/** The end-of-run table for people. Pure. */
export function formatSummary(r: SessionResult): string {
  const s = r.summary;
  const durationS = (r.endedAtMs - r.startedAtMs) / 1000;
  const v = (r.params?.vat ?? {}) as Record<string, unknown>;
  const what = v.size ? ` (id ${v.streamId}, ${v.size} ${v.fps} fps)` : "";
  const clock = r.clock
    ? `clock offset ${f1(r.clock.offsetMs, " ms")} ± ${f1(r.clock.uncertaintyMs, " ms")}`
    : "clocks assumed in agreement";
  const rows: [string, string][] = [
    ["stream", `${r.playlistUrl ?? r.url}${what}`],
    ["measured", `${durationS.toFixed(1)} s, stopped by ${r.stopReason}; ${s.framesDecoded} frames decoded`],
    ["fps", `${w("fpsAchieved", s.fpsAchieved, false)} achieved · ${w("fpsStream", s.fpsNominal, false)} nominal`],
    [
      "latency",
      `p50 ${w("latencyP50Ms", s.latencyP50Ms)} · p95 ${w("latencyP95Ms", s.latencyP95Ms)} · min ${w("latencyMinMs", s.latencyMinMs)} · ` +
        `max ${w("latencyMaxMs", s.latencyMaxMs)} (${clock})`,
    ],
    ["frames", `${s.framesNew} new · ${s.dropped} dropped · ${s.duplicates} duplicate · ${s.outOfOrder} out of order · ${s.unreadable} unreadable`],
    ["stalls", `${s.stalls} (${w("stallMs", s.stallMs)} frozen)`],
    ...(s.psnrYMean !== null
      ? ([[
          "quality",
          `PSNR-Y mean ${w("psnrYMean", s.psnrYMean)} · p5 ${w("psnrYP5", s.psnrYP5)} · min ${w("psnrYMin", s.psnrYMin)} · ` +
            `SSIM-Y mean ${w("ssimYMean", s.ssimYMean)} · p5 ${w("ssimYP5", s.ssimYP5)} · min ${w("ssimYMin", s.ssimYMin)}`,
        ]] as [string, string][])
      : []),
    ...(s.vmaf
      ? ([[
          "vmaf",
          `mean ${w("vmafMean", s.vmaf.mean)} · p5 ${w("vmafMean", s.vmaf.p5)} · min ${w("vmafMean", s.vmaf.min)} (${s.vmaf.samples} frames scored` +
            `${s.vmaf.skipped ? `, ${s.vmaf.skipped} skipped: libvmaf could not keep up` : ""})`,
        ]] as [string, string][])
      : []),
    [
      "player",
      `startup ${f0(s.player.startupMs, " ms")} · stall-free latency ${f0(s.player.stallFreeLatencyMs, " ms")}` +
        (s.player.targetLatencyMs !== null
          ? ` · at ${f0(s.player.targetLatencyMs, " ms")}: ${s.player.rebuffers} rebuffers, ${f0(s.player.rebufferMs, " ms")} ` +
            `(${((s.player.rebufferRatio ?? 0) * 100).toFixed(2)} %)`
          : ""),
    ],
    ...(r.delivery ? ([["delivery", formatDelivery(r.protocol, r.delivery)]] as [string, string][]) : []),
    ["outages", `${r.outages} (${f1(r.outageMs / 1000, " s")})${s.restarts ? ` · ${s.restarts} stream restarts` : ""}`],
    ["stored", `run ${r.runId} in ${r.db} (${r.windows} window${r.windows === 1 ? "" : "s"})`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, val]) => `  ${k.padEnd(width)}  ${val}`).join("\n");
}

/** A low-latency stream's delivery: parts, the player at the advertised latency, blocking reloads, part lateness. Pure. */
export function formatDelivery(protocol: string | null, d: DeliveryFigures): string {
  const f = (field: keyof DeliveryFigures, v: number | null) => formatFigure(RUNS.columns[field], v);
  const partMs = d.partDurationS === null ? null : d.partDurationS * 1000;
  return (
    `${protocol ?? "stream"} · parts of ${formatFigure(RUNS.columns.advertisedLatencyMs, partMs)} · ` +
    `at its advertised ${f("advertisedLatencyMs", d.advertisedLatencyMs)}: ${d.advertisedRebuffers ?? "-"} rebuffers, ` +
    `${f("advertisedRebufferMs", d.advertisedRebufferMs)}` +
    (d.reloads !== null
      ? ` · blocking reloads ${d.reloads} (p50 ${f("reloadP50Ms", d.reloadP50Ms)}, p95 ${f("reloadP95Ms", d.reloadP95Ms)}, ` +
        `${d.earlyReloads} answered early)`
      : "") +
    ` · parts late p50 ${f("partLateP50Ms", d.partLateP50Ms)}, p95 ${f("partLateP95Ms", d.partLateP95Ms)}`
  );
}

/** One log line per closed window (when no terminal shows the live line). Pure. */
export function formatWindowLine(s: WindowSummary): string {
  return (
    `window ${s.index}: ${s.framesNew} frames, ${w("fpsAchieved", s.fpsAchieved)} (stream ${w("fpsStream", s.fpsStream, false)}), ` +
    `latency p50 ${w("latencyP50Ms", s.latencyP50Ms)} p95 ${w("latencyP95Ms", s.latencyP95Ms)}, dropped ${s.dropped}, ` +
    `unreadable ${s.unreadable}, stalls ${s.stalls}` +
    (s.psnrYMean !== null ? `, PSNR-Y ${w("psnrYMean", s.psnrYMean)}, SSIM-Y ${w("ssimYMean", s.ssimYMean)}` : "")
  );
}

/** The live status line on a terminal. Pure. */
export function formatStatus(s: LiveStatus): string {
  return (
    `${(s.elapsedMs / 1000).toFixed(0).padStart(4)} s · ${String(s.frames).padStart(6)} frames · ` +
    `${w("fpsAchieved", s.fps)} · latency p50 ${w("latencyP50Ms", s.latencyP50Ms)} · dropped ${s.dropped} · unreadable ${s.unreadable}` +
    (s.outage ? " · STREAM UNREACHABLE" : "")
  );
}

/** A stream against the control: relative latency and matched frames. Pure. */
export function formatComparison(r: Comparison): string {
  const share = r.matchedShare === null ? "-" : `${(r.matchedShare * 100).toFixed(1)} %`;
  return (
    `  vs control  relative latency p50 ${c("relativeLatencyP50Ms", r.relativeLatencyP50Ms)} · p95 ${c("relativeLatencyP95Ms", r.relativeLatencyP95Ms)} · ` +
    `min ${c("relativeLatencyMinMs", r.relativeLatencyMinMs)} · max ${c("relativeLatencyMaxMs", r.relativeLatencyMaxMs)}; frames matched ${share} ` +
    `(${r.framesMatched} of ${r.framesControl})`
  );
}
