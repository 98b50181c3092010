import type { Comparison } from "./comparison.ts";
import type { WindowSummary } from "./metrics.ts";
import type { LiveStatus, SessionResult } from "./session.ts";

const f1 = (v: number | null | undefined, unit = "") => (v === null || v === undefined ? "-" : `${v.toFixed(1)}${unit}`);
const f0 = (v: number | null | undefined, unit = "") => (v === null || v === undefined ? "-" : `${Math.round(v)}${unit}`);

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
    ["fps", `${f1(s.fpsAchieved)} achieved · ${f1(s.fpsNominal)} nominal`],
    [
      "latency",
      `p50 ${f0(s.latencyP50Ms, " ms")} · p95 ${f0(s.latencyP95Ms, " ms")} · min ${f0(s.latencyMinMs, " ms")} · ` +
        `max ${f0(s.latencyMaxMs, " ms")} (${clock})`,
    ],
    ["frames", `${s.framesNew} new · ${s.dropped} dropped · ${s.duplicates} duplicate · ${s.outOfOrder} out of order · ${s.unreadable} unreadable`],
    ["stalls", `${s.stalls} (${f0(s.stallMs, " ms")} frozen)`],
    ...(s.psnrYMean !== null
      ? ([[
          "quality",
          `PSNR-Y mean ${f1(s.psnrYMean, " dB")} · p5 ${f1(s.psnrYP5, " dB")} · min ${f1(s.psnrYMin, " dB")} · ` +
            `SSIM-Y mean ${s.ssimYMean!.toFixed(4)} · p5 ${s.ssimYP5!.toFixed(4)} · min ${s.ssimYMin!.toFixed(4)}`,
        ]] as [string, string][])
      : []),
    ...(s.vmaf
      ? ([[
          "vmaf",
          `mean ${f1(s.vmaf.mean)} · p5 ${f1(s.vmaf.p5)} · min ${f1(s.vmaf.min)} (${s.vmaf.samples} frames scored` +
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
    ["outages", `${r.outages} (${f1(r.outageMs / 1000, " s")})${s.restarts ? ` · ${s.restarts} stream restarts` : ""}`],
    ["stored", `run ${r.runId} in ${r.db} (${r.windows} window${r.windows === 1 ? "" : "s"})`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, val]) => `  ${k.padEnd(width)}  ${val}`).join("\n");
}

/** One log line per closed window (when no terminal shows the live line). Pure. */
export function formatWindowLine(w: WindowSummary): string {
  return (
    `window ${w.index}: ${w.framesNew} frames, ${f1(w.fpsAchieved)} fps (stream ${f1(w.fpsStream)}), ` +
    `latency p50 ${f0(w.latencyP50Ms, " ms")} p95 ${f0(w.latencyP95Ms, " ms")}, dropped ${w.dropped}, ` +
    `unreadable ${w.unreadable}, stalls ${w.stalls}` +
    (w.psnrYMean !== null ? `, PSNR-Y ${f1(w.psnrYMean, " dB")}, SSIM-Y ${w.ssimYMean!.toFixed(4)}` : "")
  );
}

/** The live status line on a terminal. Pure. */
export function formatStatus(s: LiveStatus): string {
  return (
    `${(s.elapsedMs / 1000).toFixed(0).padStart(4)} s · ${String(s.frames).padStart(6)} frames · ` +
    `${f1(s.fps)} fps · latency p50 ${f0(s.latencyP50Ms, " ms")} · dropped ${s.dropped} · unreadable ${s.unreadable}` +
    (s.outage ? " · STREAM UNREACHABLE" : "")
  );
}

/** A stream against the control: relative latency and matched frames. Pure. */
export function formatComparison(c: Comparison): string {
  const share = c.matchedShare === null ? "-" : `${(c.matchedShare * 100).toFixed(1)} %`;
  return (
    `  vs control  relative latency p50 ${f0(c.relativeLatencyP50Ms, " ms")} · p95 ${f0(c.relativeLatencyP95Ms, " ms")} · ` +
    `min ${f0(c.relativeLatencyMinMs, " ms")} · max ${f0(c.relativeLatencyMaxMs, " ms")}; frames matched ${share} ` +
    `(${c.framesMatched} of ${c.framesControl})`
  );
}
