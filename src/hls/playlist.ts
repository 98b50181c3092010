/** A media playlist, as much of it as vat needs. Pure: text in, data out. */
export interface MediaPlaylist {
  targetDurationS: number;
  mediaSequence: number;
  discontinuitySequence: number;
  segments: PlaylistSegment[];
  endList: boolean;
}

export interface PlaylistSegment {
  /** Media sequence number of this segment. */
  sequence: number;
  uri: string;
  durationS: number;
  discontinuity: boolean;
  /** EXT-X-DISCONTINUITY-SEQUENCE plus the discontinuities up to and including this segment. */
  discontinuitySequence: number;
  programDateTimeMs?: number;
}

export class PlaylistError extends Error {}

/** Parses an HLS media playlist. Throws PlaylistError for text that is not one (a master playlist included). */
export function parseMediaPlaylist(text: string): MediaPlaylist {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  if (lines[0]?.replace(/^\uFEFF/, "") !== "#EXTM3U") throw new PlaylistError("not an HLS playlist (no #EXTM3U)");
  let targetDurationS = 0;
  let mediaSequence = 0;
  let discontinuitySequence = 0;
  let discontinuities = 0;
  let endList = false;
  const segments: PlaylistSegment[] = [];
  let duration: number | null = null;
  let discontinuity = false;
  let pdt: number | undefined;
  for (const line of lines.slice(1)) {
    if (!line) continue;
    if (line.startsWith("#EXT-X-TARGETDURATION:")) targetDurationS = Number(line.slice(22));
    else if (line.startsWith("#EXT-X-MEDIA-SEQUENCE:")) mediaSequence = Number(line.slice(22));
    else if (line.startsWith("#EXTINF:")) duration = Number.parseFloat(line.slice(8));
    else if (line.startsWith("#EXT-X-DISCONTINUITY-SEQUENCE:")) discontinuitySequence = Number(line.slice(30));
    else if (line === "#EXT-X-DISCONTINUITY") discontinuity = true;
    else if (line.startsWith("#EXT-X-PROGRAM-DATE-TIME:")) pdt = Date.parse(line.slice(25));
    else if (line === "#EXT-X-ENDLIST") endList = true;
    else if (line.startsWith("#EXT-X-STREAM-INF")) throw new PlaylistError("a master playlist, not a media playlist");
    else if (!line.startsWith("#")) {
      if (duration === null) throw new PlaylistError(`segment '${line}' has no #EXTINF`);
      if (discontinuity) discontinuities++;
      segments.push({
        sequence: mediaSequence + segments.length,
        uri: line,
        durationS: duration,
        discontinuity,
        discontinuitySequence: discontinuitySequence + discontinuities,
        ...(pdt !== undefined && !Number.isNaN(pdt) ? { programDateTimeMs: pdt } : {}),
      });
      duration = null;
      discontinuity = false;
      pdt = undefined;
    }
  }
  if (!Number.isFinite(targetDurationS) || !Number.isFinite(mediaSequence) || !Number.isFinite(discontinuitySequence)) {
    throw new PlaylistError("malformed #EXT-X-TARGETDURATION, #EXT-X-MEDIA-SEQUENCE or #EXT-X-DISCONTINUITY-SEQUENCE");
  }
  return { targetDurationS, mediaSequence, discontinuitySequence, segments, endList };
}

/** The first variant's URI of a master playlist, or null when the text is a media playlist. */
export function firstVariantUri(text: string): string | null {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  const i = lines.findIndex((l) => l.startsWith("#EXT-X-STREAM-INF"));
  if (i < 0) return null;
  return lines.slice(i + 1).find((l) => l && !l.startsWith("#")) ?? null;
}

export interface LiveSegment {
  sequence: number;
  uri: string;
  durationS: number;
  /** Wall-clock time of the segment's first frame. */
  programDateTimeMs: number;
  /** Timestamps start over here (a new loop of a prerecorded video). */
  discontinuity: boolean;
}

/**
 * Writes a live (sliding-window) media playlist. `discontinuitySequence` counts the discontinuities that have left
 * the window, as HLS requires; every segment carries its EXT-X-PROGRAM-DATE-TIME.
 */
export function renderLivePlaylist(segments: readonly LiveSegment[], discontinuitySequence: number): string {
  const target = Math.max(1, ...segments.map((s) => Math.round(s.durationS)));
  const lines = [
    "#EXTM3U",
    "#EXT-X-VERSION:3",
    `#EXT-X-TARGETDURATION:${target}`,
    `#EXT-X-MEDIA-SEQUENCE:${segments[0]?.sequence ?? 0}`,
    `#EXT-X-DISCONTINUITY-SEQUENCE:${discontinuitySequence}`,
    "#EXT-X-INDEPENDENT-SEGMENTS",
  ];
  for (const s of segments) {
    if (s.discontinuity) lines.push("#EXT-X-DISCONTINUITY");
    lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(s.programDateTimeMs).toISOString()}`);
    lines.push(`#EXTINF:${s.durationS.toFixed(6)},`, s.uri);
  }
  return `${lines.join("\n")}\n`;
}
