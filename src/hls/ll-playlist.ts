/**
 * The LL-HLS media playlist (RFC 8216bis: partial segments, preload hint, blocking reload, delta updates) as text.
 * Pure: a description of the window in, the playlist out.
 */

export interface PlaylistPart {
  durationS: number;
  uri: string;
  independent: boolean;
}

export interface PlaylistSegment {
  msn: number;
  /** Whole segments only; the open one (the last) has none yet. */
  durationS: number;
  uri: string;
  complete: boolean;
  /** Listed for the segments near the live edge only (null: its parts are no longer listed). */
  parts: PlaylistPart[] | null;
  programDateTimeMs: number;
  discontinuity: boolean;
  /** Its init segment (EXT-X-MAP), written where it changes. */
  mapUri: string;
}

export interface LlPlaylist {
  partTargetS: number;
  partHoldBackS: number;
  canSkipUntilS: number;
  /** Discontinuities before the first segment listed (its own, when it starts one, is written as a tag). */
  discontinuitySequence: number;
  /** Oldest first; only the last may be open. */
  segments: readonly PlaylistSegment[];
  preloadHintUri: string;
  /** At least the segments' own target (segment duration rounded up). */
  minTargetDurationS: number;
}

/** EXT-X-SKIP needs version 9; parts, EXT-X-MAP with fMP4 and the rest come earlier. */
const VERSION = 9;

/** Segments a delta update leaves out: the oldest whole ones that end more than CAN-SKIP-UNTIL before the end. */
export function skippableSegments(p: LlPlaylist): number {
  const total = p.segments.reduce((sum, s) => sum + (s.complete ? s.durationS : partsDurationS(s)), 0);
  let endS = 0;
  let n = 0;
  for (const s of p.segments) {
    if (!s.complete) break;
    endS += s.durationS;
    if (total - endS < p.canSkipUntilS - 1e-9) break;
    n++;
  }
  return n;
}

/** EXT-X-TARGETDURATION: every EXTINF rounded to the nearest second is at most this. */
export function targetDurationS(p: Pick<LlPlaylist, "segments" | "minTargetDurationS">): number {
  return Math.max(1, Math.ceil(p.minTargetDurationS - 1e-9), ...p.segments.filter((s) => s.complete).map((s) => Math.round(s.durationS)));
}

/** The playlist, whole or (skip) as a delta update when there is anything to leave out. */
export function renderLlPlaylist(p: LlPlaylist, skip = false): string {
  const first = p.segments[0];
  const skipped = skip ? skippableSegments(p) : 0;
  const lines = [
    "#EXTM3U",
    `#EXT-X-VERSION:${VERSION}`,
    `#EXT-X-TARGETDURATION:${targetDurationS(p)}`,
    `#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=${decimal(p.canSkipUntilS)},PART-HOLD-BACK=${decimal(p.partHoldBackS)}`,
    `#EXT-X-PART-INF:PART-TARGET=${decimal(p.partTargetS)}`,
    `#EXT-X-MEDIA-SEQUENCE:${first?.msn ?? 0}`,
    `#EXT-X-DISCONTINUITY-SEQUENCE:${p.discontinuitySequence}`,
  ];
  if (skipped > 0) lines.push(`#EXT-X-SKIP:SKIPPED-SEGMENTS=${skipped}`);
  let map: string | null = null;
  for (const s of p.segments.slice(skipped)) {
    if (s.discontinuity) lines.push("#EXT-X-DISCONTINUITY");
    if (s.mapUri !== map) lines.push(`#EXT-X-MAP:URI="${s.mapUri}"`);
    map = s.mapUri;
    lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(s.programDateTimeMs).toISOString()}`);
    for (const part of s.parts ?? []) {
      lines.push(`#EXT-X-PART:DURATION=${decimal(part.durationS)},URI="${part.uri}"${part.independent ? ",INDEPENDENT=YES" : ""}`);
    }
    if (s.complete) lines.push(`#EXTINF:${decimal(s.durationS)},`, s.uri);
  }
  lines.push(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="${p.preloadHintUri}"`);
  return `${lines.join("\n")}\n`;
}

function partsDurationS(s: PlaylistSegment): number {
  return (s.parts ?? []).reduce((sum, p) => sum + p.durationS, 0);
}

/** Up to five decimals, no trailing zeros (0.2, 1, 0.96667). */
function decimal(n: number): string {
  return String(Number(n.toFixed(5)));
}
