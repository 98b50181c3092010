/**
 * DASH segment addressing: which segments of a representation exist and are available at a wall-clock time, their
 * URLs, and the one a player would join at. Pure: the MPD model and a time (ms, already corrected by the clock
 * offset UTCTiming gives) in, segment references out.
 *
 * Timing follows ISO/IEC 23009-1 5.3.9.5 and the DASH-IF timing model: in a dynamic presentation a segment becomes
 * available once its end has passed on the wall clock (availabilityStartTime + Period@start + segment end), earlier
 * by availabilityTimeOffset, and stays available for timeShiftBufferDepth after that end.
 */
import { MpdError, resolveUrl, type Mpd, type Period, type Representation, type TimelineEntry } from "./mpd.ts";

export interface SegmentRef {
  number: number;
  /** Start in the representation's ticks, as $Time$ names it. */
  time: number;
  durationTicks: number;
  /** Start and duration in s on the period's presentation timeline (presentationTimeOffset taken off). */
  startS: number;
  durationS: number;
  url: string;
  /** Byte range within `url` (SegmentList@mediaRange), or null for the whole resource. */
  range: string | null;
  /** Wall-clock window in which the segment can be fetched; -Infinity/Infinity in a static presentation. */
  availableFromMs: number;
  availableUntilMs: number;
}

export interface TemplateValues {
  representationId: string;
  number: number;
  time: number;
  bandwidth: number;
}

/** Most segments listed at once: a presentation without a time-shift buffer keeps everything since its start. */
const DEFAULT_LIMIT = 1000;

/** Fills a SegmentTemplate's identifiers: $RepresentationID$, $Number$, $Time$, $Bandwidth$, with %0Nd widths, $$. */
export function expandTemplate(template: string, v: TemplateValues): string {
  return template.replace(/\$([A-Za-z]*)(%0(\d+)d)?\$/g, (whole, id: string, format: string | undefined, width: string | undefined) => {
    if (id === "") {
      if (format) throw new MpdError(`'${whole}' in template '${template}': $$ takes no format`);
      return "$";
    }
    const value = id === "RepresentationID" ? v.representationId : id === "Number" ? v.number : id === "Time" ? v.time : id === "Bandwidth" ? v.bandwidth : null;
    if (value === null) throw new MpdError(`'${whole}' in template '${template}': valid are $RepresentationID$, $Number$, $Time$, $Bandwidth$, $$`);
    if (id === "RepresentationID" && format) throw new MpdError(`'${whole}': $RepresentationID$ takes no format`);
    const text = String(value);
    return width ? text.padStart(Number(width), "0") : text;
  });
}

/** The representation's initialization segment URL, or null when it has none (self-initializing). */
export function initializationUrl(rep: Representation): string | null {
  const a = rep.addressing;
  if (!a) return null;
  if (a.kind === "template") {
    return a.initialization ? resolveUrl(rep.baseUrl, expandTemplate(a.initialization, { representationId: rep.id, number: 0, time: 0, bandwidth: rep.bandwidth })) : null;
  }
  return a.initializationUrl ? resolveUrl(rep.baseUrl, a.initializationUrl) : a.kind === "base" ? rep.baseUrl : null;
}

/** The period being presented at `nowMs` (the last one that has started), or the first. */
export function periodAt(mpd: Mpd, nowMs: number): Period {
  const first = mpd.periods[0];
  if (!first) throw new MpdError("an MPD without a Period");
  if (mpd.type === "static" || mpd.availabilityStartTimeMs === null) return first;
  const nowS = (nowMs - mpd.availabilityStartTimeMs) / 1000;
  return mpd.periods.filter((p) => p.startS <= nowS).at(-1) ?? first;
}

/**
 * The segments of `rep` (in `period`) available at `nowMs`, oldest first; all of them in a static presentation.
 * At most `limit` (the newest kept).
 */
export function listAvailableSegments(mpd: Mpd, period: Period, rep: Representation, nowMs: number, limit = DEFAULT_LIMIT): SegmentRef[] {
  const a = rep.addressing;
  if (!a) throw new MpdError(`representation ${rep.id} has no SegmentTemplate, SegmentList or SegmentBase`);
  const clock = windowOf(mpd, period, nowMs);
  const periodEndTicks = period.durationS === null ? null : period.durationS * a.timescale + a.presentationTimeOffset;
  const make = (number: number, time: number, d: number, url: string, range: string | null = null): SegmentRef => {
    const startS = (time - a.presentationTimeOffset) / a.timescale;
    const durationS = d / a.timescale;
    const endWallMs = clock.periodStartWallMs + (startS + durationS) * 1000;
    return {
      number,
      time,
      durationTicks: d,
      startS,
      durationS,
      url,
      range,
      availableFromMs: clock.static ? -Infinity : endWallMs - a.availabilityTimeOffsetS * 1000,
      availableUntilMs: clock.static || mpd.timeShiftBufferDepthS === null ? Infinity : endWallMs + mpd.timeShiftBufferDepthS * 1000,
    };
  };
  const templateUrl = (number: number, time: number) =>
    a.kind === "template" && a.media
      ? resolveUrl(rep.baseUrl, expandTemplate(a.media, { representationId: rep.id, number, time, bandwidth: rep.bandwidth }))
      : rep.baseUrl;

  if (a.kind === "base") {
    const d = period.durationS === null ? 0 : period.durationS * a.timescale;
    return [make(1, a.presentationTimeOffset, d, rep.baseUrl)];
  }
  if (a.kind === "list") {
    const listed = a.segments.map((s, i) => ({ media: s.media, range: s.mediaRange, number: a.startNumber + i }));
    const times = a.timeline
      ? expandTimeline(a.timeline, a.startNumber, periodEndTicks, Infinity, -Infinity, listed.length)
      : a.duration
        ? listed.map((s, i) => ({ number: s.number, time: a.presentationTimeOffset + i * a.duration!, d: a.duration! }))
        : [];
    return keepAvailable(
      times.slice(0, listed.length).map((t, i) => make(t.number, t.time, t.d, resolveUrl(rep.baseUrl, listed[i]!.media), listed[i]!.range)),
      nowMs,
      limit,
    );
  }
  if (a.timeline) {
    // Ticks of the newest segment end that can be available now, and of the oldest still in the time-shift buffer.
    const newestEnd = clock.static ? Infinity : clock.nowS * a.timescale + a.presentationTimeOffset + a.availabilityTimeOffsetS * a.timescale;
    const oldestEnd = clock.static || mpd.timeShiftBufferDepthS === null ? -Infinity : (clock.nowS - mpd.timeShiftBufferDepthS) * a.timescale + a.presentationTimeOffset;
    const segments = expandTimeline(a.timeline, a.startNumber, periodEndTicks, newestEnd, oldestEnd, limit);
    return keepAvailable(segments.map((s) => make(s.number, s.time, s.d, templateUrl(s.number, s.time))), nowMs, limit);
  }
  const d = a.duration;
  if (!d || d <= 0) throw new MpdError(`representation ${rep.id}: a SegmentTemplate without a duration or a SegmentTimeline`);
  // Segment k (from 0) covers period time [k·d, (k+1)·d).
  let lastK = periodEndTicks === null ? Infinity : Math.ceil((period.durationS! * a.timescale) / d) - 1;
  if (a.endNumber !== null) lastK = Math.min(lastK, a.endNumber - a.startNumber);
  let firstK = 0;
  if (!clock.static) {
    // availabilityTimeOffset="INF" says every segment is fetchable; list those up to now, as a player would ask for.
    const ato = Number.isFinite(a.availabilityTimeOffsetS) ? a.availabilityTimeOffsetS : 0;
    lastK = Math.min(lastK, Math.floor(((clock.nowS + ato) * a.timescale) / d) - 1);
    if (mpd.timeShiftBufferDepthS !== null) firstK = Math.max(0, Math.floor(((clock.nowS - mpd.timeShiftBufferDepthS) * a.timescale) / d));
  } else if (!Number.isFinite(lastK)) {
    throw new MpdError(`representation ${rep.id}: a static presentation of unknown duration addressed by @duration`);
  }
  firstK = Math.max(firstK, lastK - limit + 1);
  const out: SegmentRef[] = [];
  for (let k = firstK; k <= lastK; k++) {
    const number = a.startNumber + k;
    const time = a.presentationTimeOffset + k * d;
    out.push(make(number, time, d, templateUrl(number, time)));
  }
  return keepAvailable(out, nowMs, limit);
}

/** Every representation's available segments in the period presented at `nowMs`, by representation id. */
export function listAvailableByRepresentation(mpd: Mpd, nowMs: number, limit = DEFAULT_LIMIT): Map<string, SegmentRef[]> {
  const period = periodAt(mpd, nowMs);
  const out = new Map<string, SegmentRef[]>();
  for (const set of period.adaptationSets) {
    for (const rep of set.representations) out.set(rep.id, listAvailableSegments(mpd, period, rep, nowMs, limit));
  }
  return out;
}

/** Whether the segment can be fetched at `nowMs`. */
export function isSegmentAvailable(segment: SegmentRef, nowMs: number): boolean {
  return segment.availableFromMs <= nowMs && nowMs < segment.availableUntilMs;
}

export type DelaySource = "service-description" | "suggested-presentation-delay" | "segment-durations" | "min-buffer-time";

export interface LiveEdgeJoin {
  segment: SegmentRef;
  /** How far behind the live edge the player aims, and where that came from. */
  delayS: number;
  delaySource: DelaySource;
  /** The live edge and the join point, in s on the period's presentation timeline. */
  liveEdgeS: number;
  targetS: number;
}

/** Segment durations behind the edge when the MPD asks for no delay (dash.js: FRAGMENT_DURATION_FACTOR). */
export const DEFAULT_DELAY_SEGMENTS = 4;
/** minBufferTime multiples when not even a segment duration is known (dash.js: MIN_BUFFER_TIME_FACTOR). */
const MIN_BUFFER_TIME_FACTOR = 4;

/**
 * The delay a player keeps behind the live edge, chosen as dash.js chooses it without user settings: the
 * ServiceDescription latency target, else suggestedPresentationDelay, else `delaySegments` segment durations, else
 * 4 × minBufferTime; never more than the time-shift buffer.
 */
export function chooseLiveDelay(mpd: Mpd, segmentDurationS: number | null, delaySegments = DEFAULT_DELAY_SEGMENTS): { delayS: number; source: DelaySource } {
  const target = mpd.serviceLatency?.targetMs;
  let choice: { delayS: number; source: DelaySource };
  if (target && target > 0) choice = { delayS: target / 1000, source: "service-description" };
  else if (mpd.suggestedPresentationDelayS && mpd.suggestedPresentationDelayS > 0) choice = { delayS: mpd.suggestedPresentationDelayS, source: "suggested-presentation-delay" };
  else if (segmentDurationS && segmentDurationS > 0) choice = { delayS: segmentDurationS * delaySegments, source: "segment-durations" };
  else choice = { delayS: (mpd.minBufferTimeS ?? 0) * MIN_BUFFER_TIME_FACTOR, source: "min-buffer-time" };
  const tsb = mpd.timeShiftBufferDepthS;
  return tsb !== null && tsb > 0 ? { ...choice, delayS: Math.min(choice.delayS, tsb) } : choice;
}

/**
 * The segment a player joining at `nowMs` starts with: the available one holding the point `delay` behind the live
 * edge (the oldest available when the point is older still). Null when nothing is available yet.
 */
export function liveEdgeSegment(mpd: Mpd, period: Period, rep: Representation, nowMs: number, delaySegments = DEFAULT_DELAY_SEGMENTS): LiveEdgeJoin | null {
  if (mpd.type !== "dynamic" || mpd.availabilityStartTimeMs === null) throw new MpdError("a live edge needs a dynamic MPD");
  const available = listAvailableSegments(mpd, period, rep, nowMs);
  const newest = available.at(-1);
  if (!newest) return null;
  const { delayS, source } = chooseLiveDelay(mpd, newest.durationS || mpd.maxSegmentDurationS, delaySegments);
  const liveEdgeS = (nowMs - mpd.availabilityStartTimeMs) / 1000 - period.startS;
  const targetS = liveEdgeS - delayS;
  const segment = available.find((s) => s.startS <= targetS && targetS < s.startS + s.durationS) ?? (targetS < available[0]!.startS ? available[0]! : newest);
  return { segment, delayS, delaySource: source, liveEdgeS, targetS };
}

interface Clock {
  static: boolean;
  /** Wall-clock ms of the period's start. */
  periodStartWallMs: number;
  /** Now, in s on the period's timeline. */
  nowS: number;
}

function windowOf(mpd: Mpd, period: Period, nowMs: number): Clock {
  if (mpd.type === "static" || mpd.availabilityStartTimeMs === null) return { static: true, periodStartWallMs: 0, nowS: Infinity };
  const periodStartWallMs = mpd.availabilityStartTimeMs + period.startS * 1000;
  return { static: false, periodStartWallMs, nowS: (nowMs - periodStartWallMs) / 1000 };
}

function keepAvailable(segments: SegmentRef[], nowMs: number, limit: number): SegmentRef[] {
  return segments.filter((s) => isSegmentAvailable(s, nowMs)).slice(-limit);
}

/**
 * Expands a SegmentTimeline into segments whose end lies in (oldestEnd, newestEnd], in ticks. Repeats are stepped
 * over arithmetically, so a hostile @r costs nothing; r=-1 runs to the next S, the period end or newestEnd.
 */
export function expandTimeline(
  entries: TimelineEntry[],
  startNumber: number,
  periodEndTicks: number | null,
  newestEnd: number,
  oldestEnd: number,
  limit: number,
): { number: number; time: number; d: number }[] {
  const out: { number: number; time: number; d: number }[] = [];
  let time = 0;
  let number = startNumber;
  entries.forEach((s, i) => {
    if (s.t !== null) time = s.t;
    let count = s.r + 1;
    if (s.r === -1) {
      const next = entries[i + 1];
      const until = next?.t ?? periodEndTicks ?? (Number.isFinite(newestEnd) ? newestEnd : null);
      if (until === null) throw new MpdError("SegmentTimeline S@r=-1 with nothing to end it (no next S@t, period end or clock)");
      count = Math.max(0, Math.ceil((until - time) / s.d));
    }
    // Indices j in [0, count) with oldestEnd < time + (j+1)·d <= newestEnd.
    const lo = Number.isFinite(oldestEnd) ? Math.max(0, Math.floor((oldestEnd - time) / s.d)) : 0;
    const hi = Number.isFinite(newestEnd) ? Math.min(count, Math.floor((newestEnd - time) / s.d)) : count;
    const from = Math.max(lo, hi - limit);
    for (let j = from; j < hi; j++) out.push({ number: number + j, time: time + j * s.d, d: s.d });
    if (out.length > limit) out.splice(0, out.length - limit);
    time += count * s.d;
    number += count;
  });
  return out;
}
