/**
 * A DASH MPD (ISO/IEC 23009-1) as typed data: presentation timing, periods, adaptation sets, representations and how
 * each representation's segments are addressed, with BaseURLs resolved and segment information inherited down the
 * levels. Pure: text in, model out.
 */
import { childrenNamed, firstChild, parseXml, XmlError, type XmlElement } from "./xml.ts";

/** Text that is not an MPD, or an MPD that contradicts itself. */
export class MpdError extends Error {}

export interface UtcTiming {
  schemeIdUri: string;
  value: string;
}

export interface ServiceLatency {
  targetMs: number | null;
  minMs: number | null;
  maxMs: number | null;
}

/** One `S` of a SegmentTimeline: `r` repeats after the first (-1: until the next S, the period end or now). */
export interface TimelineEntry {
  t: number | null;
  d: number;
  r: number;
}

export interface SegmentTemplate {
  kind: "template";
  media: string | null;
  initialization: string | null;
  startNumber: number;
  endNumber: number | null;
  timescale: number;
  /** Segment duration in ticks (SegmentTemplate@duration); null with a timeline. */
  duration: number | null;
  presentationTimeOffset: number;
  /** Seconds earlier than the MPD timing says that segments are available (summed over the levels that give it). */
  availabilityTimeOffsetS: number;
  /** False: a segment is fetchable (chunk by chunk) before it is complete. */
  availabilityTimeComplete: boolean;
  timeline: TimelineEntry[] | null;
}

export interface SegmentBase {
  kind: "base";
  timescale: number;
  presentationTimeOffset: number;
  indexRange: string | null;
  initializationUrl: string | null;
  initializationRange: string | null;
  availabilityTimeOffsetS: number;
}

export interface SegmentList {
  kind: "list";
  timescale: number;
  duration: number | null;
  startNumber: number;
  presentationTimeOffset: number;
  initializationUrl: string | null;
  segments: { media: string; mediaRange: string | null }[];
  timeline: TimelineEntry[] | null;
  availabilityTimeOffsetS: number;
}

export type SegmentAddressing = SegmentTemplate | SegmentBase | SegmentList;

export interface Representation {
  id: string;
  bandwidth: number;
  width: number | null;
  height: number | null;
  /** Frames per second (frameRate="30000/1001" → 29.97…), inherited from the adaptation set. */
  frameRate: number | null;
  codecs: string | null;
  mimeType: string | null;
  /** Absolute when the MPD's URL was given; relative otherwise. */
  baseUrl: string;
  encrypted: boolean;
  addressing: SegmentAddressing | null;
}

export interface AdaptationSet {
  id: string | null;
  /** contentType, else the mimeType's first part ("video", "audio", "text"…). */
  contentType: string | null;
  mimeType: string | null;
  codecs: string | null;
  segmentAlignment: boolean;
  encrypted: boolean;
  representations: Representation[];
}

export interface Period {
  id: string | null;
  /** Start on the MPD timeline: Period@start, else the previous period's end, else 0 for the first. */
  startS: number;
  durationS: number | null;
  baseUrl: string;
  adaptationSets: AdaptationSet[];
}

export interface Mpd {
  type: "static" | "dynamic";
  profiles: string | null;
  availabilityStartTimeMs: number | null;
  publishTimeMs: number | null;
  mediaPresentationDurationS: number | null;
  minimumUpdatePeriodS: number | null;
  timeShiftBufferDepthS: number | null;
  suggestedPresentationDelayS: number | null;
  maxSegmentDurationS: number | null;
  minBufferTimeS: number | null;
  utcTimings: UtcTiming[];
  serviceLatency: ServiceLatency | null;
  baseUrl: string;
  periods: Period[];
}

/** Parses an MPD; `manifestUrl` (where it was fetched) makes every BaseURL absolute. */
export function parseMpd(text: string, manifestUrl = ""): Mpd {
  let root: XmlElement;
  try {
    root = parseXml(text);
  } catch (err) {
    if (err instanceof XmlError) throw new MpdError(`not an MPD: ${err.message}`);
    throw err;
  }
  if (root.localName !== "MPD") throw new MpdError(`not an MPD: the root element is <${root.name}>`);
  const a = root.attributes;
  const type = a.type ?? "static";
  if (type !== "static" && type !== "dynamic") throw new MpdError(`MPD@type is '${type}': valid are static and dynamic`);
  const availabilityStartTimeMs = dateTimeAttr(a, "availabilityStartTime");
  if (type === "dynamic" && availabilityStartTimeMs === null) throw new MpdError("a dynamic MPD without availabilityStartTime");
  const baseUrl = resolveBase(manifestUrl, root);
  const sd = firstChild(root, "ServiceDescription");
  const latency = sd ? firstChild(sd, "Latency") : null;

  const periods: Period[] = [];
  for (const p of childrenNamed(root, "Period")) {
    const prev = periods.at(-1);
    const explicit = durationAttr(p.attributes, "start");
    const startS = explicit ?? (prev ? (prev.durationS === null ? null : prev.startS + prev.durationS) : 0);
    if (startS === null) throw new MpdError(`Period ${p.attributes.id ?? periods.length} has no start and follows a period of unknown duration`);
    periods.push(parsePeriod(p, startS, baseUrl));
  }
  // A period without a duration ends where the next begins.
  periods.forEach((p, i) => {
    const next = periods[i + 1];
    if (p.durationS === null && next) p.durationS = next.startS - p.startS;
  });
  const mediaPresentationDurationS = durationAttr(a, "mediaPresentationDuration");
  const last = periods.at(-1);
  if (last && last.durationS === null && mediaPresentationDurationS !== null) last.durationS = mediaPresentationDurationS - last.startS;

  return {
    type,
    profiles: a.profiles ?? null,
    availabilityStartTimeMs,
    publishTimeMs: dateTimeAttr(a, "publishTime"),
    mediaPresentationDurationS,
    minimumUpdatePeriodS: durationAttr(a, "minimumUpdatePeriod"),
    timeShiftBufferDepthS: durationAttr(a, "timeShiftBufferDepth"),
    suggestedPresentationDelayS: durationAttr(a, "suggestedPresentationDelay"),
    maxSegmentDurationS: durationAttr(a, "maxSegmentDuration"),
    minBufferTimeS: durationAttr(a, "minBufferTime"),
    utcTimings: childrenNamed(root, "UTCTiming").map((u) => ({ schemeIdUri: u.attributes.schemeIdUri ?? "", value: u.attributes.value ?? "" })),
    serviceLatency: latency
      ? { targetMs: numberAttr(latency.attributes, "target"), minMs: numberAttr(latency.attributes, "min"), maxMs: numberAttr(latency.attributes, "max") }
      : null,
    baseUrl,
    periods,
  };
}

function parsePeriod(el: XmlElement, startS: number, parentBase: string): Period {
  const baseUrl = resolveBase(parentBase, el);
  const inherited = segmentInfoOf(el, emptyInheritance());
  return {
    id: el.attributes.id ?? null,
    startS,
    durationS: durationAttr(el.attributes, "duration"),
    baseUrl,
    adaptationSets: childrenNamed(el, "AdaptationSet").map((as) => parseAdaptationSet(as, baseUrl, inherited)),
  };
}

function parseAdaptationSet(el: XmlElement, parentBase: string, periodInfo: Inheritance): AdaptationSet {
  const a = el.attributes;
  const baseUrl = resolveBase(parentBase, el);
  const inherited = segmentInfoOf(el, periodInfo);
  const encrypted = childrenNamed(el, "ContentProtection").length > 0;
  const representations = childrenNamed(el, "Representation").map((r) => {
    const ra = r.attributes;
    const repBase = resolveBase(baseUrl, r);
    const info = segmentInfoOf(r, inherited);
    const id = ra.id;
    if (id === undefined) throw new MpdError("a Representation without an id");
    return {
      id,
      bandwidth: numberAttr(ra, "bandwidth") ?? 0,
      width: numberAttr(ra, "width") ?? numberAttr(a, "width"),
      height: numberAttr(ra, "height") ?? numberAttr(a, "height"),
      frameRate: frameRate(ra.frameRate ?? a.frameRate),
      codecs: ra.codecs ?? a.codecs ?? null,
      mimeType: ra.mimeType ?? a.mimeType ?? null,
      baseUrl: repBase,
      encrypted: encrypted || childrenNamed(r, "ContentProtection").length > 0,
      addressing: buildAddressing(info),
    } satisfies Representation;
  });
  const mimeType = a.mimeType ?? representations[0]?.mimeType ?? null;
  return {
    id: a.id ?? null,
    contentType: a.contentType ?? mimeType?.split("/")[0] ?? null,
    mimeType,
    codecs: a.codecs ?? null,
    segmentAlignment: a.segmentAlignment === "true" || (a.segmentAlignment !== undefined && /^\d+$/.test(a.segmentAlignment)),
    encrypted,
    representations,
  };
}

/**
 * Segment information as it flows down Period → AdaptationSet → Representation: a lower level's attributes and
 * children override a higher one's, the rest is inherited (ISO/IEC 23009-1 5.3.9.1).
 */
interface Inheritance {
  kind: "template" | "base" | "list" | null;
  attributes: Record<string, string>;
  timeline: TimelineEntry[] | null;
  initialization: XmlElement | null;
  segmentUrls: XmlElement[] | null;
  /** availabilityTimeOffset carried by BaseURLs on the way down, added to the segment element's. */
  baseUrlOffsetS: number;
}

function emptyInheritance(): Inheritance {
  return { kind: null, attributes: {}, timeline: null, initialization: null, segmentUrls: null, baseUrlOffsetS: 0 };
}

const SEGMENT_ELEMENTS = { SegmentTemplate: "template", SegmentBase: "base", SegmentList: "list" } as const;

function segmentInfoOf(el: XmlElement, parent: Inheritance): Inheritance {
  const baseUrlEl = firstChild(el, "BaseURL");
  const baseUrlOffsetS = parent.baseUrlOffsetS + (baseUrlEl ? (numberAttr(baseUrlEl.attributes, "availabilityTimeOffset") ?? 0) : 0);
  for (const [name, kind] of Object.entries(SEGMENT_ELEMENTS)) {
    const seg = firstChild(el, name);
    if (!seg) continue;
    const same = parent.kind === kind;
    const timelineEl = firstChild(seg, "SegmentTimeline");
    const urls = childrenNamed(seg, "SegmentURL");
    return {
      kind,
      attributes: { ...(same ? parent.attributes : {}), ...seg.attributes },
      timeline: timelineEl ? parseTimeline(timelineEl) : same ? parent.timeline : null,
      initialization: firstChild(seg, "Initialization") ?? (same ? parent.initialization : null),
      segmentUrls: urls.length > 0 ? urls : same ? parent.segmentUrls : null,
      baseUrlOffsetS,
    };
  }
  return { ...parent, baseUrlOffsetS };
}

function parseTimeline(el: XmlElement): TimelineEntry[] {
  return childrenNamed(el, "S").map((s) => {
    const d = numberAttr(s.attributes, "d");
    if (d === null || d <= 0) throw new MpdError(`SegmentTimeline S without a positive d (${JSON.stringify(s.attributes)})`);
    const r = numberAttr(s.attributes, "r") ?? 0;
    if (!Number.isInteger(r) || r < -1) throw new MpdError(`SegmentTimeline S@r is ${r}: valid are -1 and up`);
    return { t: numberAttr(s.attributes, "t"), d, r };
  });
}

function buildAddressing(info: Inheritance): SegmentAddressing | null {
  const a = info.attributes;
  const timescale = numberAttr(a, "timescale") ?? 1;
  if (timescale <= 0) throw new MpdError(`timescale ${timescale} is not positive`);
  const presentationTimeOffset = numberAttr(a, "presentationTimeOffset") ?? 0;
  const availabilityTimeOffsetS = (numberAttr(a, "availabilityTimeOffset") ?? 0) + info.baseUrlOffsetS;
  const initializationUrl = info.initialization?.attributes.sourceURL ?? null;
  switch (info.kind) {
    case "template": {
      const duration = numberAttr(a, "duration");
      if (!info.timeline && duration === null && a.media?.includes("$Number")) {
        throw new MpdError("a SegmentTemplate with $Number$ has neither a duration nor a SegmentTimeline");
      }
      return {
        kind: "template",
        media: a.media ?? null,
        initialization: a.initialization ?? initializationUrl,
        startNumber: numberAttr(a, "startNumber") ?? 1,
        endNumber: numberAttr(a, "endNumber"),
        timescale,
        duration: info.timeline ? null : duration,
        presentationTimeOffset,
        availabilityTimeOffsetS,
        availabilityTimeComplete: a.availabilityTimeComplete !== "false",
        timeline: info.timeline,
      };
    }
    case "base":
      return {
        kind: "base",
        timescale,
        presentationTimeOffset,
        indexRange: a.indexRange ?? null,
        initializationUrl,
        initializationRange: info.initialization?.attributes.range ?? null,
        availabilityTimeOffsetS,
      };
    case "list":
      return {
        kind: "list",
        timescale,
        duration: numberAttr(a, "duration"),
        startNumber: numberAttr(a, "startNumber") ?? 1,
        presentationTimeOffset,
        initializationUrl,
        segments: (info.segmentUrls ?? []).map((u) => ({ media: u.attributes.media ?? "", mediaRange: u.attributes.mediaRange ?? null })),
        timeline: info.timeline,
        availabilityTimeOffsetS,
      };
    case null:
      return null;
  }
}

function resolveBase(parent: string, el: XmlElement): string {
  const b = firstChild(el, "BaseURL");
  const rel = b?.text.trim();
  if (!rel) return parent;
  return resolveUrl(parent, rel);
}

/** A reference resolved against a base; a relative base stays relative (joined as a path). */
export function resolveUrl(base: string, ref: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(ref)) return ref;
  try {
    return new URL(ref, base).toString();
  } catch {
    if (ref.startsWith("/")) return ref;
    return base.slice(0, base.lastIndexOf("/") + 1) + ref;
  }
}

function numberAttr(a: Record<string, string>, name: string): number | null {
  const v = a[name];
  if (v === undefined) return null;
  if (v === "INF") return Infinity;
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n)) throw new MpdError(`@${name}="${v}" is not a number`);
  return n;
}

function durationAttr(a: Record<string, string>, name: string): number | null {
  const v = a[name];
  return v === undefined ? null : parseIsoDurationS(v, name);
}

function dateTimeAttr(a: Record<string, string>, name: string): number | null {
  const v = a[name];
  if (v === undefined) return null;
  // xs:dateTime without a zone: MPD writers mean UTC (dash.js reads it so too).
  const withZone = /(Z|[+-]\d\d:?\d\d)$/.test(v) ? v : `${v}Z`;
  const ms = Date.parse(withZone);
  if (!Number.isFinite(ms)) throw new MpdError(`@${name}="${v}" is not an xs:dateTime`);
  return ms;
}

/** ISO 8601 durations as MPDs write them: PT1H2M3.5S, P1DT2S, P0Y0M0DT0H0M2.000S (a year as 365 days, a month 30). */
export function parseIsoDurationS(v: string, name = "duration"): number {
  const m = /^(-)?P(?:(\d+(?:\.\d+)?)Y)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(v.trim());
  if (!m || v.trim() === "P" || v.trim().endsWith("T")) throw new MpdError(`@${name}="${v}" is not an ISO 8601 duration (e.g. PT2S)`);
  const [, neg, y, mo, w, d, h, mi, s] = m;
  const n = (x: string | undefined) => (x ? Number(x) : 0);
  const total = n(y) * 365 * 86400 + n(mo) * 30 * 86400 + n(w) * 7 * 86400 + n(d) * 86400 + n(h) * 3600 + n(mi) * 60 + n(s);
  return neg ? -total : total;
}

function frameRate(v: string | undefined): number | null {
  if (v === undefined) return null;
  const m = /^(\d+(?:\.\d+)?)(?:\/(\d+))?$/.exec(v.trim());
  if (!m || Number(m[2] ?? 1) === 0) throw new MpdError(`@frameRate="${v}" is not a frame rate (e.g. 30 or 30000/1001)`);
  return Number(m[1]) / Number(m[2] ?? 1);
}
