/**
 * The low-latency DASH manifest (a dynamic MPD, CMAF live profile): segments addressed by number from the clock
 * (SegmentTemplate@duration), each requestable `availabilityTimeOffset` before it is whole and sent as its chunks are
 * written (`availabilityTimeComplete=false`), the origin's clock for UTCTiming, a ServiceDescription latency target.
 * Pure: a description in, XML text out.
 */

export interface MpdPeriod {
  /** Its id and its start from availabilityStartTime. */
  id: string;
  startS: number;
  /** Set when its media ends before the next period starts (frames skipped, the encoder restarted): Period@duration. */
  durationS: number | null;
  /** The number of its first segment, and that segment's media time. */
  startNumber: number;
  presentationTimeOffset: number;
  timescale: number;
  /** Every segment's duration, in timescale ticks. */
  segmentTicks: number;
  initUri: string;
  mediaTemplate: string;
}

export interface LlMpd {
  availabilityStartMs: number;
  publishMs: number;
  /** How long before the live edge segments can still be fetched. */
  timeShiftBufferS: number;
  minimumUpdatePeriodS: number;
  segmentDurationS: number;
  /** One CMAF chunk: availabilityTimeOffset is segment − chunk (a segment can be asked for once its first chunk is due). */
  chunkDurationS: number;
  latencyTargetMs: number;
  utcTimingUrl: string;
  width: number;
  height: number;
  fps: number;
  codecs: string;
  bandwidthBps: number;
  periods: readonly MpdPeriod[];
}

/** The MPD's availabilityTimeOffset in seconds. */
export function availabilityTimeOffsetS(m: Pick<LlMpd, "segmentDurationS" | "chunkDurationS">): number {
  return round(Math.max(0, m.segmentDurationS - m.chunkDurationS));
}

export function renderLlMpd(m: LlMpd): string {
  const ato = availabilityTimeOffsetS(m);
  const periods = m.periods.map(
    (p) => `  <Period id="${escapeXml(p.id)}" start="${isoDuration(p.startS)}"${p.durationS === null ? "" : ` duration="${isoDuration(p.durationS)}"`}>
    <AdaptationSet id="0" contentType="video" mimeType="video/mp4" segmentAlignment="true" startWithSAP="1">
      <Representation id="0" codecs="${escapeXml(m.codecs)}" width="${m.width}" height="${m.height}" frameRate="${m.fps}" bandwidth="${m.bandwidthBps}">
        <SegmentTemplate timescale="${p.timescale}" duration="${p.segmentTicks}" startNumber="${p.startNumber}" presentationTimeOffset="${p.presentationTimeOffset}" initialization="${escapeXml(p.initUri)}" media="${escapeXml(p.mediaTemplate)}" availabilityTimeOffset="${ato}" availabilityTimeComplete="false"/>
      </Representation>
    </AdaptationSet>
  </Period>`,
  );
  return `<?xml version="1.0" encoding="utf-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-live:2011,urn:mpeg:dash:profile:cmaf:2019" type="dynamic" availabilityStartTime="${isoTime(m.availabilityStartMs)}" publishTime="${isoTime(m.publishMs)}" minimumUpdatePeriod="${isoDuration(m.minimumUpdatePeriodS)}" timeShiftBufferDepth="${isoDuration(m.timeShiftBufferS)}" maxSegmentDuration="${isoDuration(m.segmentDurationS)}" minBufferTime="${isoDuration(m.chunkDurationS * 2)}">
  <ServiceDescription id="0">
    <Latency referenceId="0" target="${Math.round(m.latencyTargetMs)}" min="${Math.round(m.latencyTargetMs / 2)}" max="${Math.round(m.latencyTargetMs * 2)}"/>
    <PlaybackRate min="0.9" max="1.1"/>
  </ServiceDescription>
${periods.join("\n")}
  <UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-iso:2014" value="${escapeXml(m.utcTimingUrl)}"/>
</MPD>
`;
}

/** xs:dateTime in UTC with milliseconds. */
function isoTime(ms: number): string {
  return new Date(Math.round(ms)).toISOString();
}

/** xs:duration in seconds, to the millisecond: PT1.5S. */
function isoDuration(s: number): string {
  return `PT${round(s)}S`;
}

function round(n: number): number {
  return Number(n.toFixed(3));
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
