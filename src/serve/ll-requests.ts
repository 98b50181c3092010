/**
 * What the low-latency origin answers, decided without a clock or a socket: its names, the blocking playlist reload
 * (RFC 8216bis 6.2.5.2: answer once the asked part exists, 400 for a request too far ahead, the caller's bounded wait
 * ends in 503), and whether a part or segment is sent whole, streamed while it is written, waited for, or gone. Pure.
 */
import type { PartRef } from "./ll-packager.ts";

/**
 * The names served (and only these):
 *   stream.m3u8 (ll-hls) or stream.mpd (ll-dash), init_<run>.mp4, seg_<msn>.m4s, part_<msn>_<part>.m4s
 */
export const LL_PLAYLIST = "stream.m3u8";
export const LL_MPD = "stream.mpd";

export function initName(run: number): string {
  return `init_${run}.mp4`;
}
export function segmentName(msn: number): string {
  return `seg_${msn}.m4s`;
}
export function partName(ref: PartRef): string {
  return `part_${ref.msn}_${ref.part}.m4s`;
}

const N = "(0|[1-9]\\d{0,15})";
const INIT = new RegExp(`^init_${N}\\.mp4$`);
const SEGMENT = new RegExp(`^seg_${N}\\.m4s$`);
const PART = new RegExp(`^part_${N}_${N}\\.m4s$`);

export type LlName =
  | { kind: "manifest" }
  | { kind: "init"; run: number }
  | { kind: "segment"; msn: number }
  | { kind: "part"; ref: PartRef };

/** A requested name, or null for anything the origin does not serve. */
export function parseLlName(name: string, manifest: string): LlName | null {
  if (name === manifest) return { kind: "manifest" };
  let m = INIT.exec(name);
  if (m) return { kind: "init", run: Number(m[1]) };
  m = SEGMENT.exec(name);
  if (m) return { kind: "segment", msn: Number(m[1]) };
  m = PART.exec(name);
  if (m) return { kind: "part", ref: { msn: Number(m[1]), part: Number(m[2]) } };
  return null;
}

export type ReloadQuery =
  | { kind: "plain"; skip: boolean }
  | { kind: "block"; msn: number; part: number | null; skip: boolean }
  | { kind: "bad"; reason: string };

/** The playlist request's delivery directives (_HLS_msn, _HLS_part, _HLS_skip). */
export function parseReloadQuery(query: URLSearchParams): ReloadQuery {
  const skipText = query.get("_HLS_skip");
  const skip = skipText === "YES" || skipText === "v2";
  const msnText = query.get("_HLS_msn");
  const partText = query.get("_HLS_part");
  if (msnText === null) {
    return partText === null ? { kind: "plain", skip } : { kind: "bad", reason: "_HLS_part needs _HLS_msn" };
  }
  const whole = /^(0|[1-9]\d{0,15})$/;
  if (!whole.test(msnText)) return { kind: "bad", reason: `_HLS_msn '${msnText}' is not a whole number` };
  if (partText !== null && !whole.test(partText)) return { kind: "bad", reason: `_HLS_part '${partText}' is not a whole number` };
  return { kind: "block", msn: Number(msnText), part: partText === null ? null : Number(partText), skip };
}

/** What the playlist holds right now, as far as a blocking reload cares. */
export interface ReloadState {
  /** The newest whole segment, or null before the first. */
  newestSegment: number | null;
  /** The newest whole part, or null before the first. */
  newestPart: PartRef | null;
  /** Parts a whole segment of the given number has (a request past its last part means the next segment's first). */
  partsOf(msn: number): number | null;
  partsPerSegment: number;
  partTargetS: number;
}

export type ReloadDecision = { kind: "now" } | { kind: "wait" } | { kind: "bad"; reason: string };

/** How many parts ahead of the newest a request may ask for: 3 s of parts below 1 s parts, else 3 (8216bis). */
export function advancePartLimit(partTargetS: number): number {
  return partTargetS < 1 ? Math.floor(3 / partTargetS + 1e-9) : 3;
}

export function decideReload(req: { msn: number; part: number | null }, s: ReloadState): ReloadDecision {
  const lastMsn = s.newestPart ? Math.max(s.newestPart.msn, s.newestSegment ?? -1) : s.newestSegment;
  if (lastMsn !== null && req.msn > lastMsn + 2) {
    return { kind: "bad", reason: `_HLS_msn ${req.msn} is more than two segments past the playlist's last (${lastMsn})` };
  }
  if (req.part === null) return s.newestSegment !== null && s.newestSegment >= req.msn ? { kind: "now" } : { kind: "wait" };
  // Past the last part of a whole segment: the next segment's first part (8216bis 6.2.5.2).
  const parts = s.partsOf(req.msn);
  const want = parts !== null && req.part >= parts ? { msn: req.msn + 1, part: 0 } : { msn: req.msn, part: req.part };
  const have = s.newestPart;
  if (!have) return { kind: "wait" };
  const ahead = (want.msn - have.msn) * s.partsPerSegment + (want.part - have.part);
  if (ahead > advancePartLimit(s.partTargetS)) {
    return { kind: "bad", reason: `part ${req.part} of segment ${req.msn} is ${ahead} parts past the newest, more than the limit of ${advancePartLimit(s.partTargetS)}` };
  }
  return ahead <= 0 ? { kind: "now" } : { kind: "wait" };
}

/** Where a part or segment stands in the window. */
export type Presence = "complete" | "open" | "absent";

export type MediaDecision =
  /** Send it as it is. */
  | { kind: "whole" }
  /** Send what is written and the rest as it comes. */
  | { kind: "stream" }
  /** Not begun yet but next in line: wait for its first bytes. */
  | { kind: "wait" }
  /** Dropped from the window, never to be, or too far ahead: 404. */
  | { kind: "absent" };

/**
 * A part: streamed while written, waited for when it is the one the encoder writes next (the preload hint). A
 * segment: the same, and the next one to begin may be waited for (a DASH player asks for it by the clock, at its
 * availability time less availabilityTimeOffset, which can fall a few ms before its first frame is out).
 */
export function decideMedia(target: { msn: number; part: number | null }, presence: Presence, next: PartRef): MediaDecision {
  if (presence === "complete") return { kind: "whole" };
  if (presence === "open") return { kind: "stream" };
  if (target.part === null) {
    const nextSegment = next.part === 0 ? next.msn : next.msn + 1;
    return target.msn === nextSegment ? { kind: "wait" } : { kind: "absent" };
  }
  return target.msn === next.msn && target.part === next.part ? { kind: "wait" } : { kind: "absent" };
}
