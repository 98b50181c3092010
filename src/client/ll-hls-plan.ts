import type { MediaPlaylist, PlaylistPart } from "../hls/playlist.ts";

/**
 * The LL-HLS client's decisions, as pure functions of the last playlist (RFC 8216bis 6.2.5, 6.3.7): which part comes
 * next, whether it is listed, hinted or still to wait for, where to join, and what a blocking reload asks. The
 * source (client/ll-hls-source.ts) only carries them out.
 */
export interface PartAddress {
  /** Media sequence number of the part's segment. */
  msn: number;
  /** Its index in the segment, from 0. */
  part: number;
}

export function samePart(a: PartAddress | null, b: PartAddress | null): boolean {
  return a !== null && b !== null && a.msn === b.msn && a.part === b.part;
}

/** Part `a` comes after part `b` in the stream. */
export function isAfter(a: PartAddress, b: PartAddress): boolean {
  return a.msn > b.msn || (a.msn === b.msn && a.part > b.part);
}

export function findPart(p: MediaPlaylist, a: PartAddress): PlaylistPart | undefined {
  return p.parts.find((x) => x.msn === a.msn && x.index === a.part);
}

/** Segment `msn` is whole (its EXTINF is listed): it has no part after the last one listed. */
function segmentClosed(p: MediaPlaylist, msn: number): boolean {
  return p.segments.some((s) => s.sequence === msn);
}

/**
 * The part after `a`: the next in its segment, or the first of the next segment once `a`'s segment is whole and `a`
 * was its last part (or its parts have left the playlist).
 */
export function partAfter(p: MediaPlaylist, a: PartAddress): PartAddress {
  if (segmentClosed(p, a.msn)) {
    const more = p.parts.some((x) => x.msn === a.msn && x.index > a.part);
    if (!more) return { msn: a.msn + 1, part: 0 };
  }
  return { msn: a.msn, part: a.part + 1 };
}

/** The segment the playlist is writing: the one after its last whole segment. */
function openSegment(p: MediaPlaylist): number {
  const last = p.segments.at(-1);
  return last ? last.sequence + 1 : p.mediaSequence + p.skippedSegments;
}

/** The newest part the playlist lists, or null. */
export function lastListedPart(p: MediaPlaylist): PartAddress | null {
  const last = p.parts.at(-1);
  return last ? { msn: last.msn, part: last.index } : null;
}

/** What EXT-X-PRELOAD-HINT names: the part after the last one listed. */
export function hintAddress(p: MediaPlaylist): PartAddress {
  const last = lastListedPart(p);
  return last ? partAfter(p, last) : { msn: openSegment(p), part: 0 };
}

/** The answer to a blocking reload for `want` lists it, or something after it (the server had it when it answered). */
export function reached(p: MediaPlaylist, want: PartAddress): boolean {
  return segmentClosed(p, want.msn) || p.segments.some((s) => s.sequence > want.msn) ||
    p.parts.some((x) => x.msn > want.msn || (x.msn === want.msn && x.index >= want.part));
}

export type Join = { kind: "listed"; part: PlaylistPart } | { kind: "wait"; want: PartAddress };

/**
 * Where to start: the newest INDEPENDENT part that starts no more than PART-HOLD-BACK (else three part targets, the
 * spec's least) behind the live edge, so that decoding starts on a key frame and little of what is fetched at once
 * was waiting on the server. With none so close, the first part of the next segment (its first part is independent:
 * a segment starts with a key frame), fetched as it is written.
 */
export function joinPart(p: MediaPlaylist): Join {
  const holdBackS = p.serverControl?.partHoldBackS ?? 3 * (p.partTargetS ?? 0);
  let behindS = 0;
  for (let i = p.parts.length - 1; i >= 0; i--) {
    const part = p.parts[i]!;
    behindS += part.durationS;
    if (behindS > holdBackS + 1e-6) break;
    if (part.independent && !part.gap) return { kind: "listed", part };
  }
  return { kind: "wait", want: { msn: openSegment(p) + (p.parts.some((x) => x.msn === openSegment(p)) ? 1 : 0), part: 0 } };
}

/**
 * What to do for the part wanted next: fetch it as listed (it is whole), fetch the preload hint (it is being written,
 * and its request is open before its bytes exist), or ask for the playlist that lists it.
 */
export type PartStep =
  | { kind: "listed"; part: PlaylistPart }
  | { kind: "hinted"; uri: string; range: { offsetBytes: number; lengthBytes: number } | null }
  | { kind: "reload" };

export function partStep(p: MediaPlaylist, want: PartAddress): PartStep {
  const listed = findPart(p, want);
  if (listed) return { kind: "listed", part: listed };
  const hint = p.preloadHint;
  // A hint with an open-ended range is fetched when listed instead (the client's ranges have a length).
  if (hint && samePart(hintAddress(p), want) && (hint.startBytes === 0 || hint.lengthBytes !== null)) {
    const range = hint.lengthBytes !== null ? { offsetBytes: hint.startBytes, lengthBytes: hint.lengthBytes } : null;
    return { kind: "hinted", uri: hint.uri, range };
  }
  return { kind: "reload" };
}

/**
 * The playlist URL that blocks until `want` exists (_HLS_msn, _HLS_part), as a delta update (_HLS_skip=YES) when the
 * server offers them; without blocking reloads, the plain URL.
 */
export function reloadUrl(playlistUrl: string, p: MediaPlaylist, want: PartAddress): string {
  const u = new URL(playlistUrl);
  for (const k of ["_HLS_msn", "_HLS_part", "_HLS_skip"]) u.searchParams.delete(k);
  if (!p.serverControl?.canBlockReload) return u.href;
  u.searchParams.set("_HLS_msn", String(want.msn));
  u.searchParams.set("_HLS_part", String(want.part));
  if (p.serverControl.canSkipUntilS) u.searchParams.set("_HLS_skip", "YES");
  return u.href;
}

/** When a part's bytes were all there to be had by its playlist's dates: its start plus its duration (server clock). */
export function partAvailableAtMs(part: PlaylistPart): number | null {
  return part.programDateTimeMs === undefined ? null : part.programDateTimeMs + part.durationS * 1000;
}
