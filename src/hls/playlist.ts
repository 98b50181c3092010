import { chooseRendition, type Rendition, type VariantChoice } from "../client/variants.ts";

/**
 * HLS playlists, as much of them as vat needs. Pure: text in, data out. A playlist is remote input: every value is
 * checked, and one that cannot be used either makes the text "not a playlist" (PlaylistError, with the reason) or is
 * mended and reported as a warning, which the source turns into an event.
 */
export interface MediaPlaylist {
  targetDurationS: number;
  mediaSequence: number;
  discontinuitySequence: number;
  segments: PlaylistSegment[];
  endList: boolean;
  /** Values that were out of range or malformed and were mended (each says what was done). */
  warnings: PlaylistWarning[];
  /** EXT-X-SERVER-CONTROL; null when the playlist has none. */
  serverControl: ServerControl | null;
  /** EXT-X-PART-INF PART-TARGET: the playlist is low latency (LL-HLS); null otherwise. */
  partTargetS: number | null;
  /** Every EXT-X-PART, oldest first, numbered by the segment it belongs to (the one still being written included). */
  parts: PlaylistPart[];
  /** EXT-X-PRELOAD-HINT TYPE=PART: the part the server is writing, named before it exists. */
  preloadHint: PreloadHint | null;
  /** EXT-X-SKIP SKIPPED-SEGMENTS: a delta update left out this many segments before the first listed. */
  skippedSegments: number;
  renditionReports: RenditionReport[];
  /** The EXT-X-MAP in force at the end of the text: the init section of the parts of the segment being written. */
  map?: MediaInit;
}

/** EXT-X-SERVER-CONTROL: what the server offers (blocking reloads, delta updates) and how far back to play. */
export interface ServerControl {
  canBlockReload: boolean;
  /** CAN-SKIP-UNTIL: delta updates (_HLS_skip=YES) may leave out segments older than this. */
  canSkipUntilS: number | null;
  holdBackS: number | null;
  partHoldBackS: number | null;
}

/** One EXT-X-PART: a part of segment `msn`. */
export interface PlaylistPart {
  /** Media sequence number of the segment the part belongs to. */
  msn: number;
  /** Its place in that segment, from 0. */
  index: number;
  uri: string;
  durationS: number;
  independent: boolean;
  /** GAP=YES: the part is unavailable, not to be fetched. */
  gap: boolean;
  byteRange?: ByteRange;
  /** Wall-clock time of the part's first frame, from its segment's EXT-X-PROGRAM-DATE-TIME (or the one before). */
  programDateTimeMs?: number;
  /** The first part of a segment after EXT-X-DISCONTINUITY: timestamps and parameters may start over here. */
  discontinuity: boolean;
  /** Its segment's discontinuity sequence (EXT-X-DISCONTINUITY-SEQUENCE plus the discontinuities up to it). */
  discontinuitySequence: number;
  /** The EXT-X-MAP in force for its segment: the init section its bytes need. */
  map?: MediaInit;
}

export interface PreloadHint {
  uri: string;
  /** BYTERANGE-START and BYTERANGE-LENGTH (null: to the end of the resource). */
  startBytes: number;
  lengthBytes: number | null;
}

/** EXT-X-RENDITION-REPORT: where another rendition's live edge stands. */
export interface RenditionReport {
  uri: string;
  lastMsn: number | null;
  lastPart: number | null;
}

export interface PlaylistWarning {
  /** Which rule: the same problem on every segment or every poll is one kind of warning. */
  code: "extinf" | "program-date-time" | "byterange" | "attribute";
  detail: string;
}

export interface ByteRange {
  lengthBytes: number;
  offsetBytes: number;
}

/** EXT-X-MAP: the initialisation section (fMP4/CMAF) the following segments need. */
export interface MediaInit {
  uri: string;
  byteRange?: ByteRange;
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
  /** EXT-X-BYTERANGE: the segment is this sub-range of its URI. */
  byteRange?: ByteRange;
  /** The EXT-X-MAP in force for this segment. */
  init?: MediaInit;
  /** EXT-X-KEY METHOD in force when it is not NONE: the segment's bytes are encrypted. */
  encryption?: string;
}

export class PlaylistError extends Error {}

/** Largest EXTINF taken as is: a day. Anything longer is a broken value, not a segment. */
const MAX_SEGMENT_S = 86_400;

/** Parses an HLS media playlist. Throws PlaylistError for text that is not one (a multivariant playlist included). */
export function parseMediaPlaylist(text: string): MediaPlaylist {
  const lines = playlistLines(text);
  let targetDurationS = 0;
  let mediaSequence = 0;
  let discontinuitySequence = 0;
  let discontinuities = 0;
  let endList = false;
  const segments: PlaylistSegment[] = [];
  const warnings: PlaylistWarning[] = [];
  let duration: string | null = null;
  let discontinuity = false;
  let pdt: number | undefined;
  let range: { lengthBytes: number; offsetBytes: number | null } | null = null;
  let init: MediaInit | undefined;
  let encryption: string | undefined;
  const ll = new LowLatencyTags(warnings);
  for (const line of lines) {
    if (line.startsWith("#EXT-X-TARGETDURATION:")) {
      targetDurationS = parseTargetDuration(line.slice(22));
    } else if (line.startsWith("#EXT-X-MEDIA-SEQUENCE:")) {
      mediaSequence = parseWhole(line.slice(22), "#EXT-X-MEDIA-SEQUENCE", Number.MAX_SAFE_INTEGER);
    } else if (line.startsWith("#EXT-X-DISCONTINUITY-SEQUENCE:")) {
      discontinuitySequence = parseWhole(line.slice(30), "#EXT-X-DISCONTINUITY-SEQUENCE", Number.MAX_SAFE_INTEGER);
    } else if (line.startsWith("#EXTINF:")) duration = line.slice(8).split(",")[0]!.trim();
    else if (line === "#EXT-X-DISCONTINUITY") discontinuity = true;
    else if (line.startsWith("#EXT-X-PROGRAM-DATE-TIME:")) {
      const value = line.slice(25);
      pdt = value.length <= 64 ? Date.parse(value) : Number.NaN;
      if (!Number.isFinite(pdt)) {
        warnings.push({ code: "program-date-time", detail: `#EXT-X-PROGRAM-DATE-TIME '${clip(value)}' is not a date: ignored` });
        pdt = undefined;
      }
    } else if (line.startsWith("#EXT-X-BYTERANGE:")) range = parseByteRange(line.slice(17), "#EXT-X-BYTERANGE");
    else if (line.startsWith("#EXT-X-MAP:")) init = parseMap(line.slice(11));
    else if (line.startsWith("#EXT-X-KEY:")) {
      const method = parseAttributes(line.slice(11)).METHOD;
      if (!method) throw new PlaylistError("#EXT-X-KEY without METHOD");
      encryption = method === "NONE" ? undefined : method;
    } else if (line === "#EXT-X-ENDLIST") endList = true;
    else if (line.startsWith("#EXT-X-STREAM-INF")) throw new PlaylistError("a multivariant (master) playlist, not a media playlist");
    else if (line.startsWith("#EXT-X-") && ll.take(line)) continue;
    else if (!line.startsWith("#")) {
      if (duration === null) throw new PlaylistError(`segment '${clip(line)}' has no #EXTINF`);
      const sequence = mediaSequence + ll.skippedSegments + segments.length;
      if (!Number.isSafeInteger(sequence)) throw new PlaylistError(`media sequence ${sequence} is beyond what a count can hold`);
      if (discontinuity) discontinuities++;
      const previous = segments.at(-1);
      const durationS = checkDuration(duration, sequence, targetDurationS, warnings);
      ll.closeSegment(sequence, pdt, durationS, { discontinuity, discontinuitySequence: discontinuitySequence + discontinuities, init });
      segments.push({
        sequence,
        uri: line,
        durationS,
        discontinuity,
        discontinuitySequence: discontinuitySequence + discontinuities,
        ...(pdt !== undefined ? { programDateTimeMs: pdt } : {}),
        ...(range ? { byteRange: placeRange(range, line, previous, warnings) } : {}),
        ...(init ? { init } : {}),
        ...(encryption ? { encryption } : {}),
      });
      duration = null;
      discontinuity = false;
      pdt = undefined;
      range = null;
    }
  }
  // The segment still being written: a discontinuity already announced counts for its parts.
  ll.closeSegment(mediaSequence + ll.skippedSegments + segments.length, pdt, null, {
    discontinuity,
    discontinuitySequence: discontinuitySequence + discontinuities + (discontinuity ? 1 : 0),
    init,
  });
  return { targetDurationS, mediaSequence, discontinuitySequence, segments, endList, warnings, ...ll.result(), ...(init ? { map: init } : {}) };
}

/**
 * The low-latency tags (RFC 8216bis: EXT-X-SERVER-CONTROL, -PART-INF, -PART, -PRELOAD-HINT, -SKIP,
 * -RENDITION-REPORT). Parts come before the segment they belong to; closeSegment() numbers the ones seen since the
 * last segment, and at the end of the text those of the segment still being written.
 */
class LowLatencyTags {
  serverControl: ServerControl | null = null;
  partTargetS: number | null = null;
  skippedSegments = 0;
  private readonly parts: PlaylistPart[] = [];
  private pending: Omit<PlaylistPart, "msn" | "index" | "discontinuity" | "discontinuitySequence" | "map">[] = [];
  private preloadHint: PreloadHint | null = null;
  private readonly reports: RenditionReport[] = [];
  /** Where the next segment starts on the wall clock, by the last date and the durations since. */
  private nextStartMs: number | undefined;

  constructor(private readonly warnings: PlaylistWarning[]) {}

  /** Reads the line when it is one of these tags; false for any other. */
  take(line: string): boolean {
    const colon = line.indexOf(":");
    const tag = colon < 0 ? line : line.slice(0, colon);
    const a = () => parseAttributes(line.slice(colon + 1));
    switch (tag) {
      case "#EXT-X-SERVER-CONTROL": {
        const v = a();
        this.serverControl = {
          canBlockReload: v["CAN-BLOCK-RELOAD"] === "YES",
          canSkipUntilS: this.seconds(v["CAN-SKIP-UNTIL"], "CAN-SKIP-UNTIL"),
          holdBackS: this.seconds(v["HOLD-BACK"], "HOLD-BACK"),
          partHoldBackS: this.seconds(v["PART-HOLD-BACK"], "PART-HOLD-BACK"),
        };
        return true;
      }
      case "#EXT-X-PART-INF": {
        const target = this.seconds(a()["PART-TARGET"], "PART-TARGET");
        if (target === null || target <= 0) throw new PlaylistError("#EXT-X-PART-INF without a PART-TARGET duration");
        this.partTargetS = target;
        return true;
      }
      case "#EXT-X-PART":
        this.takePart(a());
        return true;
      case "#EXT-X-PRELOAD-HINT": {
        const v = a();
        if (v.TYPE !== "PART" || !v.URI) return true; // TYPE=MAP hints an init section: vat has it already
        const start = v["BYTERANGE-START"] === undefined ? 0 : this.whole(v["BYTERANGE-START"], "BYTERANGE-START");
        const length = v["BYTERANGE-LENGTH"] === undefined ? null : this.whole(v["BYTERANGE-LENGTH"], "BYTERANGE-LENGTH");
        this.preloadHint = start === null ? null : { uri: v.URI, startBytes: start, lengthBytes: length };
        return true;
      }
      case "#EXT-X-SKIP":
        this.skippedSegments = parseWhole(a()["SKIPPED-SEGMENTS"] ?? "", "#EXT-X-SKIP SKIPPED-SEGMENTS", Number.MAX_SAFE_INTEGER);
        return true;
      case "#EXT-X-RENDITION-REPORT": {
        const v = a();
        if (!v.URI) return true;
        const n = (name: string) => (v[name] === undefined ? null : this.whole(v[name], name));
        this.reports.push({ uri: v.URI, lastMsn: n("LAST-MSN"), lastPart: n("LAST-PART") });
        return true;
      }
      default:
        return false;
    }
  }

  private takePart(v: Record<string, string>): void {
    const durationS = this.seconds(v.DURATION, "EXT-X-PART DURATION");
    if (!v.URI || durationS === null) {
      this.warnings.push({ code: "attribute", detail: "#EXT-X-PART without URI or DURATION: ignored" });
      return;
    }
    let byteRange: ByteRange | undefined;
    if (v.BYTERANGE !== undefined) {
      const r = parseByteRange(v.BYTERANGE, "#EXT-X-PART BYTERANGE");
      const before = [...this.parts, ...this.pending].at(-1);
      // Without an offset a part's range follows the previous part's of the same URI.
      const follows = before?.uri === v.URI && before.byteRange ? before.byteRange.offsetBytes + before.byteRange.lengthBytes : 0;
      byteRange = { lengthBytes: r.lengthBytes, offsetBytes: r.offsetBytes ?? follows };
    }
    this.pending.push({ uri: v.URI, durationS, independent: v.INDEPENDENT === "YES", gap: v.GAP === "YES", ...(byteRange ? { byteRange } : {}) });
  }

  /**
   * The parts seen since the last segment belong to segment `msn`, dated `pdtMs` (or undated: it starts where the
   * one before ended); durationS null for the segment still being written. `segment` is what the parts take from it:
   * a discontinuity (on its first part only), its discontinuity sequence, its init section.
   */
  closeSegment(
    msn: number,
    dateMs: number | undefined,
    durationS: number | null,
    segment: { discontinuity: boolean; discontinuitySequence: number; init: MediaInit | undefined },
  ): void {
    const pdtMs = dateMs ?? this.nextStartMs;
    this.nextStartMs = pdtMs === undefined || durationS === null ? undefined : pdtMs + durationS * 1000;
    let offsetMs = 0;
    this.pending.forEach((p, index) => {
      this.parts.push({
        ...p,
        msn,
        index,
        ...(pdtMs !== undefined ? { programDateTimeMs: pdtMs + offsetMs } : {}),
        discontinuity: segment.discontinuity && index === 0,
        discontinuitySequence: segment.discontinuitySequence,
        ...(segment.init ? { map: segment.init } : {}),
      });
      offsetMs += p.durationS * 1000;
    });
    this.pending = [];
  }

  result() {
    return {
      serverControl: this.serverControl,
      partTargetS: this.partTargetS,
      parts: this.parts,
      preloadHint: this.preloadHint,
      skippedSegments: this.skippedSegments,
      renditionReports: this.reports,
    };
  }

  /** A duration attribute; a malformed one is left out with a warning (the server offers less, not nothing). */
  private seconds(value: string | undefined, name: string): number | null {
    if (value === undefined) return null;
    const n = value.length <= MAX_NUMBER_CHARS && DECIMAL.test(value) ? Number(value) : Number.NaN;
    if (Number.isFinite(n) && n <= MAX_SEGMENT_S) return n;
    this.warnings.push({ code: "attribute", detail: `${name} '${clip(value)}' is not a duration: ignored` });
    return null;
  }

  private whole(value: string, name: string): number | null {
    if (/^\d{1,16}$/.test(value) && Number.isSafeInteger(Number(value))) return Number(value);
    this.warnings.push({ code: "attribute", detail: `${name} '${clip(value)}' is not a whole number: ignored` });
    return null;
  }
}

/** The lines of a playlist after its #EXTM3U header, trimmed, blank ones left out. */
function playlistLines(text: string): string[] {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  if (lines[0]?.replace(/^\uFEFF/, "") !== "#EXTM3U") throw new PlaylistError("not an HLS playlist (no #EXTM3U)");
  return lines.slice(1).filter((l) => l !== "");
}

/** A decimal-integer (RFC 8216 4.2) up to max; anything else makes the playlist unusable. */
function parseWhole(value: string, tag: string, max: number): number {
  const text = value.trim();
  const n = /^\d{1,16}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n > max) {
    throw new PlaylistError(`${tag} '${clip(text)}' is not a whole number from 0 to ${max}`);
  }
  return n;
}

/** RFC 8216 wants a decimal-integer; some packagers write "2.0", which players accept. */
function parseTargetDuration(value: string): number {
  const text = value.trim();
  const n = text.length <= MAX_NUMBER_CHARS && DECIMAL.test(text) ? Number(text) : Number.NaN;
  if (!Number.isFinite(n) || n > MAX_SEGMENT_S) {
    throw new PlaylistError(`#EXT-X-TARGETDURATION '${clip(text)}' is not a duration from 0 to ${MAX_SEGMENT_S} s`);
  }
  return n;
}

/** A decimal number, written so that no input can make it backtrack (and numbers are short: longer text is none). */
const DECIMAL = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/;
const MAX_NUMBER_CHARS = 32;

/**
 * An EXTINF duration. One that is no number, negative or longer than a day is mended to the target duration (what
 * a player would assume) and reported, so that one broken segment does not make the whole stream unmeasurable.
 */
function checkDuration(value: string, sequence: number, targetDurationS: number, warnings: PlaylistWarning[]): number {
  const n = value.length <= MAX_NUMBER_CHARS && DECIMAL.test(value) ? Number(value) : Number.NaN;
  if (Number.isFinite(n) && n >= 0 && n <= MAX_SEGMENT_S) return n;
  warnings.push({
    code: "extinf",
    detail: `#EXTINF '${clip(value)}' of segment ${sequence} is not a duration from 0 to ${MAX_SEGMENT_S} s: taken as the target duration (${targetDurationS} s)`,
  });
  return targetDurationS;
}

/** `<n>[@<o>]`; the offset stays null when absent (the segment rule and the map rule differ on what it means). */
function parseByteRange(value: string, tag: string): { lengthBytes: number; offsetBytes: number | null } {
  const m = /^(\d{1,16})(?:@(\d{1,16}))?$/.exec(value.trim());
  const lengthBytes = m ? Number(m[1]) : Number.NaN;
  const offsetBytes = m?.[2] !== undefined ? Number(m[2]) : null;
  if (!Number.isSafeInteger(lengthBytes) || (offsetBytes !== null && !Number.isSafeInteger(offsetBytes))) {
    throw new PlaylistError(`${tag} '${clip(value)}' is not <length>[@<offset>]`);
  }
  return { lengthBytes, offsetBytes };
}

/** A segment's range without an offset starts where the previous segment's range of the same URI ended. */
function placeRange(
  range: { lengthBytes: number; offsetBytes: number | null },
  uri: string,
  previous: PlaylistSegment | undefined,
  warnings: PlaylistWarning[],
): ByteRange {
  if (range.offsetBytes !== null) return { lengthBytes: range.lengthBytes, offsetBytes: range.offsetBytes };
  const before = previous?.uri === uri ? previous.byteRange : undefined;
  if (!before) {
    warnings.push({
      code: "byterange",
      detail: `#EXT-X-BYTERANGE of '${clip(uri)}' has no offset and follows no range of the same URI: taken from byte 0`,
    });
    return { lengthBytes: range.lengthBytes, offsetBytes: 0 };
  }
  return { lengthBytes: range.lengthBytes, offsetBytes: before.offsetBytes + before.lengthBytes };
}

function parseMap(value: string): MediaInit {
  const a = parseAttributes(value);
  if (!a.URI) throw new PlaylistError("#EXT-X-MAP without URI");
  if (a.BYTERANGE === undefined) return { uri: a.URI };
  const r = parseByteRange(a.BYTERANGE, "#EXT-X-MAP BYTERANGE");
  return { uri: a.URI, byteRange: { lengthBytes: r.lengthBytes, offsetBytes: r.offsetBytes ?? 0 } };
}

/**
 * An attribute list (RFC 8216 4.2): NAME=value pairs, quoted strings may hold commas. Quotes are removed. Read by
 * index, not by a regular expression: a hostile line of megabytes must cost linear time, not backtracking.
 */
export function parseAttributes(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < text.length; ) {
    const eq = text.indexOf("=", i);
    if (eq < 0) break;
    const name = text.slice(i, eq).trim();
    let value: string;
    let next: number;
    if (text[eq + 1] === '"') {
      const close = text.indexOf('"', eq + 2);
      value = text.slice(eq + 2, close < 0 ? text.length : close);
      const comma = close < 0 ? -1 : text.indexOf(",", close);
      next = comma < 0 ? text.length : comma + 1;
    } else {
      const comma = text.indexOf(",", eq + 1);
      const end = comma < 0 ? text.length : comma;
      value = text.slice(eq + 1, end).trim();
      next = end + 1;
    }
    if (ATTRIBUTE_NAME.test(name)) out[name] = value;
    i = next;
  }
  return out;
}

const ATTRIBUTE_NAME = /^[A-Z0-9-]+$/;

function clip(text: string, max = 40): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** One EXT-X-STREAM-INF of a multivariant playlist. */
export interface Variant {
  uri: string;
  /** Peak bits/s; null when missing or malformed (a warning says so). */
  bandwidth: number | null;
  averageBandwidth?: number;
  resolution?: { width: number; height: number };
  codecs?: string[];
  frameRate?: number;
  /** The EXT-X-MEDIA group of its audio. */
  audio?: string;
}

/** One EXT-X-MEDIA rendition (an audio track, subtitles, an alternative angle). */
export interface MediaRendition {
  type: string;
  groupId: string;
  name: string;
  uri?: string;
  language?: string;
  default: boolean;
  autoselect: boolean;
}

export interface MultivariantPlaylist {
  variants: Variant[];
  renditions: MediaRendition[];
  warnings: PlaylistWarning[];
}

/** A multivariant playlist, or null when the text is a media playlist. Throws PlaylistError for other text. */
export function parseMultivariantPlaylist(text: string): MultivariantPlaylist | null {
  const lines = playlistLines(text);
  if (!lines.some((l) => l.startsWith("#EXT-X-STREAM-INF"))) return null;
  const variants: Variant[] = [];
  const renditions: MediaRendition[] = [];
  const warnings: PlaylistWarning[] = [];
  let pending: Record<string, string> | null = null;
  for (const line of lines) {
    if (line.startsWith("#EXT-X-STREAM-INF:")) pending = parseAttributes(line.slice(18));
    else if (line.startsWith("#EXT-X-MEDIA:")) {
      const a = parseAttributes(line.slice(13));
      if (!a.TYPE || !a["GROUP-ID"] || !a.NAME) {
        warnings.push({ code: "attribute", detail: `#EXT-X-MEDIA without TYPE, GROUP-ID or NAME: ignored` });
        continue;
      }
      renditions.push({
        type: a.TYPE,
        groupId: a["GROUP-ID"],
        name: a.NAME,
        ...(a.URI ? { uri: a.URI } : {}),
        ...(a.LANGUAGE ? { language: a.LANGUAGE } : {}),
        default: a.DEFAULT === "YES",
        autoselect: a.AUTOSELECT === "YES",
      });
    } else if (!line.startsWith("#") && pending) {
      variants.push(toVariant(line, pending, variants.length, warnings));
      pending = null;
    }
  }
  return { variants, renditions, warnings };
}

function toVariant(uri: string, a: Record<string, string>, index: number, warnings: PlaylistWarning[]): Variant {
  const whole = (name: string): number | undefined => {
    const v = a[name];
    if (v === undefined) return undefined;
    const n = /^\d{1,16}$/.test(v) ? Number(v) : Number.NaN;
    if (Number.isSafeInteger(n)) return n;
    warnings.push({ code: "attribute", detail: `variant ${index}: ${name} '${clip(v)}' is not a whole number: ignored` });
    return undefined;
  };
  const bandwidth = whole("BANDWIDTH") ?? null;
  if (bandwidth === null && a.BANDWIDTH === undefined) {
    warnings.push({ code: "attribute", detail: `variant ${index} (${clip(uri)}) has no BANDWIDTH` });
  }
  const averageBandwidth = whole("AVERAGE-BANDWIDTH");
  let resolution: Variant["resolution"];
  if (a.RESOLUTION !== undefined) {
    const m = /^(\d{1,5})x(\d{1,5})$/.exec(a.RESOLUTION);
    if (m && Number(m[1]) > 0 && Number(m[2]) > 0) resolution = { width: Number(m[1]), height: Number(m[2]) };
    else warnings.push({ code: "attribute", detail: `variant ${index}: RESOLUTION '${clip(a.RESOLUTION)}' is not WxH: ignored` });
  }
  let frameRate: number | undefined;
  if (a["FRAME-RATE"] !== undefined) {
    const n = Number(a["FRAME-RATE"]);
    if (Number.isFinite(n) && n > 0 && n <= 1000) frameRate = n;
    else warnings.push({ code: "attribute", detail: `variant ${index}: FRAME-RATE '${clip(a["FRAME-RATE"])}' is not a rate: ignored` });
  }
  const codecs = a.CODECS?.split(",").map((c) => c.trim()).filter(Boolean);
  return {
    uri,
    bandwidth,
    ...(averageBandwidth !== undefined ? { averageBandwidth } : {}),
    ...(resolution ? { resolution } : {}),
    ...(codecs?.length ? { codecs } : {}),
    ...(frameRate !== undefined ? { frameRate } : {}),
    ...(a.AUDIO ? { audio: a.AUDIO } : {}),
  };
}

const VIDEO_CODECS = /^(avc1|avc3|hvc1|hev1|vp08|vp09|av01|dvh1|dvhe|mp4v)/;

/** A variant without CODECS may hold video; one whose CODECS name none (an audio-only rendition) cannot. */
function mayHoldVideo(v: Variant): boolean {
  return !v.codecs || v.codecs.some((c) => VIDEO_CODECS.test(c));
}

/** A variant as a rendition of the ladder (client/variants.ts: what --variant chooses among), with its position. */
export interface VariantRendition extends Rendition {
  variant: Variant;
  /** Position in the playlist, from 0. */
  index: number;
}

/**
 * The variants --variant chooses among: those that may hold video (all of them when none does), a missing
 * BANDWIDTH ranking lowest.
 */
export function variantRenditions(variants: readonly Variant[]): VariantRendition[] {
  const all = variants.map((variant, index) => ({
    variant,
    index,
    bandwidth: variant.bandwidth ?? 0,
    width: variant.resolution?.width ?? null,
    height: variant.resolution?.height ?? null,
  }));
  const video = all.filter((r) => mayHoldVideo(r.variant));
  return video.length ? video : all;
}

/** The variant to measure, by the rules every ladder follows (chooseRendition); null when none matches. */
export function chooseVariant(variants: readonly Variant[], choice: VariantChoice): VariantRendition | null {
  return chooseRendition(variantRenditions(variants), choice);
}

export type ResolvedUri = { ok: true; url: string } | { ok: false; reason: string };

/**
 * A URI named by a playlist, resolved against the playlist's own URL. A playlist is remote input: only http(s) may
 * be fetched from it, never a local file (file:), inline data (data:) or anything else a fetch would open.
 */
export function resolveRemoteUri(uri: string, baseUrl: string): ResolvedUri {
  let url: URL;
  try {
    url = new URL(uri, baseUrl);
  } catch {
    return { ok: false, reason: `'${clip(uri)}' is not a URI` };
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return { ok: false, reason: `refused: a playlist may only name http(s) URIs, not ${url.protocol}` };
  }
  return { ok: true, url: url.href };
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
