import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import {
  chooseLiveDelay,
  expandTemplate,
  initializationUrl,
  isSegmentAvailable,
  listAvailableByRepresentation,
  listAvailableSegments,
  liveEdgeSegment,
  periodAt,
} from "../../src/dash/addressing.ts";
import { MpdError, parseIsoDurationS, parseMpd, type Mpd } from "../../src/dash/mpd.ts";
import { parseXml, XmlError } from "../../src/dash/xml.ts";
import { parseInitSegment } from "../../src/mp4/init-segment.ts";
import { scanFragmentedSegment } from "../../src/mp4/video-frames.ts";
import { writeDash } from "../helpers/packagers.ts";
import { tempDir } from "../helpers/vat.ts";

const NS = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns="urn:mpeg:dash:schema:mpd:2011" xmlns:xlink="http://www.w3.org/1999/xlink"';

/** What ffmpeg 5.1 writes with -ldash 1 -streaming 1 -use_timeline 0 -frag_duration 0.2 -target_latency 1.5 -utc_timing_url. */
const FFMPEG_LDASH = `<?xml version="1.0" encoding="utf-8"?>
<MPD ${NS}
	profiles="urn:mpeg:dash:profile:isoff-live:2011"
	type="dynamic"
	minimumUpdatePeriod="PT500S"
	availabilityStartTime="2026-12-01T09:31:15.003Z"
	publishTime="2026-12-01T09:31:16.006Z"
	timeShiftBufferDepth="PT5.0S"
	maxSegmentDuration="PT1.0S"
	minBufferTime="PT1.0S">
	<ProgramInformation>
	</ProgramInformation>
	<ServiceDescription id="0">
		<Latency target="1500"/>
	</ServiceDescription>
	<Period id="0" start="PT0.0S">
		<AdaptationSet id="0" contentType="video" startWithSAP="1" segmentAlignment="true" bitstreamSwitching="true" frameRate="25/1" maxWidth="320" maxHeight="240" par="4:3">
			<Resync dT="200000" type="0"/>
			<Representation id="0" mimeType="video/mp4" codecs="avc1.f4000d" bandwidth="212192" width="320" height="240" sar="1:1">
				<ProducerReferenceTime id="0" inband="true" type="captured" wallClockTime="2026-12-01T09:31:15.003Z" presentationTime="0">
					<UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-xsdate:2014" value="https://time.akamai.com/?iso"/>
				</ProducerReferenceTime>
				<Resync dT="1000000" type="1"/>
				<SegmentTemplate timescale="1000000" duration="1000000" availabilityTimeOffset="0.800" availabilityTimeComplete="false" initialization="init-stream$RepresentationID$.m4s" media="chunk-stream$RepresentationID$-$Number%05d$.m4s" startNumber="1">
				</SegmentTemplate>
			</Representation>
		</AdaptationSet>
	</Period>
	<UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-xsdate:2014" value="https://time.akamai.com/?iso"/>
</MPD>
`;

/** What ffmpeg 5.1 writes live with the default SegmentTimeline (-window_size 3). */
const FFMPEG_TIMELINE = `<?xml version="1.0" encoding="utf-8"?>
<MPD ${NS}
	profiles="urn:mpeg:dash:profile:isoff-live:2011"
	type="dynamic"
	minimumUpdatePeriod="PT1S"
	suggestedPresentationDelay="PT1S"
	availabilityStartTime="2026-12-01T09:31:18.297Z"
	publishTime="2026-12-01T09:31:21.303Z"
	timeShiftBufferDepth="PT3.0S"
	maxSegmentDuration="PT1.0S"
	minBufferTime="PT2.0S">
	<ServiceDescription id="0">
	</ServiceDescription>
	<Period id="0" start="PT0.0S">
		<AdaptationSet id="0" contentType="video" startWithSAP="1" segmentAlignment="true" bitstreamSwitching="true" frameRate="25/1" maxWidth="320" maxHeight="240" par="4:3">
			<Representation id="0" mimeType="video/mp4" codecs="avc1.f4000d" bandwidth="207872" width="320" height="240" sar="1:1">
				<SegmentTemplate timescale="12800" initialization="init-stream$RepresentationID$.m4s" media="chunk-stream$RepresentationID$-$Number%05d$.m4s" startNumber="1">
					<SegmentTimeline>
						<S t="0" d="12800" r="2" />
					</SegmentTimeline>
				</SegmentTemplate>
			</Representation>
		</AdaptationSet>
	</Period>
</MPD>
`;

/** nginx-rtmp writes the same template for video (.m4v) and audio (.m4a). */
const nginxTemplate = (ext: string) => `        <SegmentTemplate
            presentationTimeOffset="0"
            timescale="1000"
            media="stream-$Time$.${ext}"
            initialization="stream-init.${ext}">
          <SegmentTimeline>
             <S t="10000" d="2000"/>
             <S t="12000" d="2000"/>
             <S t="14000" d="2000"/>
             <S t="16000" d="2000"/>
          </SegmentTimeline>
        </SegmentTemplate>`;

/** Shaped like Debian's nginx-rtmp (1.2.2) DASH: one S per segment, $Time$ names, ms timescale, no delay hint. */
const NGINX_RTMP = `<?xml version="1.0"?>
<MPD
    type="dynamic"
    xmlns="urn:mpeg:dash:schema:mpd:2011"
    availabilityStartTime="2026-12-01T10:00:00Z"
    publishTime="2026-12-01T10:00:18Z"
    minimumUpdatePeriod="PT2S"
    minBufferTime="PT2S"
    timeShiftBufferDepth="PT30S"
    profiles="urn:hbbtv:dash:profile:isoff-live:2012,urn:mpeg:dash:profile:isoff-live:2011"
    xmlns:xsi="http://www.w3.org/2011/XMLSchema-instance"
    xsi:schemaLocation="urn:mpeg:DASH:schema:MPD:2011 DASH-MPD.xsd">
  <Period start="PT0S" id="dash">
    <AdaptationSet
        id="1"
        segmentAlignment="true"
        maxWidth="320"
        maxHeight="240"
        maxFrameRate="25">
      <Representation
          id="stream_H264"
          mimeType="video/mp4"
          codecs="avc1.42c00d"
          width="320"
          height="240"
          frameRate="25"
          sar="1:1"
          startWithSAP="1"
          bandwidth="0">
${nginxTemplate("m4v")}
      </Representation>
    </AdaptationSet>
    <AdaptationSet
        id="2"
        segmentAlignment="true">
      <AudioChannelConfiguration
          schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011"
          value="1"/>
      <Representation
          id="stream_AAC"
          mimeType="audio/mp4"
          codecs="mp4a.40.2"
          audioSamplingRate="44100"
          startWithSAP="1"
          bandwidth="0">
${nginxTemplate("m4a")}
      </Representation>
    </AdaptationSet>
  </Period>
</MPD>
`;

/** Shaped like the DASH-IF live simulator's low-latency examples: number template, ATO, ServiceDescription, UTCTiming. */
const DASHIF_LIVE = `<?xml version="1.0" encoding="UTF-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="dynamic" availabilityStartTime="1970-01-01T00:00:00Z"
  publishTime="2026-12-01T10:00:00Z" minimumUpdatePeriod="PT2S" timeShiftBufferDepth="PT1M" maxSegmentDuration="PT2S"
  minBufferTime="PT2S" suggestedPresentationDelay="PT6S" profiles="urn:mpeg:dash:profile:isoff-live:2011,http://www.dashif.org/guidelines/low-latency-live-v5">
  <ServiceDescription id="0">
    <Latency target="3500" min="2000" max="6000" referenceId="0"/>
    <PlaybackRate min="0.96" max="1.04"/>
  </ServiceDescription>
  <Period id="p0" start="PT0S">
    <AdaptationSet contentType="video" mimeType="video/mp4" segmentAlignment="true" startWithSAP="1">
      <SegmentTemplate timescale="90000" duration="180000" startNumber="0" media="$RepresentationID$/$Number$.m4s"
        initialization="$RepresentationID$/init.mp4" availabilityTimeOffset="1.5" availabilityTimeComplete="false"/>
      <Representation id="V300" bandwidth="300000" width="640" height="360" frameRate="60/2" codecs="avc1.64001e"/>
    </AdaptationSet>
    <AdaptationSet contentType="audio" mimeType="audio/mp4" segmentAlignment="1" lang="en">
      <SegmentTemplate timescale="48000" media="$RepresentationID$/$Time$.m4s" initialization="$RepresentationID$/init.mp4">
        <SegmentTimeline><S t="0" d="96000" r="-1"/></SegmentTimeline>
      </SegmentTemplate>
      <Representation id="A48" bandwidth="48000" codecs="mp4a.40.2"/>
    </AdaptationSet>
  </Period>
  <UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-iso:2014" value="https://time.akamai.com/?iso&amp;ms"/>
  <UTCTiming schemeIdUri="urn:mpeg:dash:utc:direct:2014" value="2026-12-01T10:00:00Z"/>
</MPD>
`;

/** Static, multi-period, every addressing scheme, BaseURLs at each level, protection (the DASH-IF examples' shapes). */
const DASHIF_STATIC = `<?xml version="1.0" encoding="UTF-8"?>
<!-- three periods: a number template, a self-initializing ad, a segment list -->
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" xmlns:cenc="urn:mpeg:cenc:2013" type="static" mediaPresentationDuration="PT1M"
  minBufferTime="PT1.5S" profiles="urn:mpeg:dash:profile:isoff-live:2011">
  <BaseURL>https://cdn.example.com/content/</BaseURL>
  <Period id="p0" duration="PT20S">
    <BaseURL>period0/</BaseURL>
    <SegmentTemplate timescale="90000" initialization="$RepresentationID$/init.mp4"
      media="$RepresentationID$/$Bandwidth$-$Number%05d$.m4s" startNumber="0" duration="180000"/>
    <AdaptationSet mimeType="video/mp4" codecs="avc1.64001f" frameRate="30000/1001" segmentAlignment="true">
      <ContentProtection schemeIdUri="urn:mpeg:dash:mp4protection:2011" value="cenc" cenc:default_KID="9eb4050d-e44b-4802-932e-27d75083e266"/>
      <ContentProtection schemeIdUri="urn:uuid:edef8ba9-79d6-4ace-a3c8-27dcd51d21ed"><cenc:pssh><![CDATA[AAAA<x>]]>&amp;B</cenc:pssh></ContentProtection>
      <Representation id="v720" bandwidth="3000000" width="1280" height="720"/>
      <Representation id="v360" bandwidth="800000" width="640" height="360"><BaseURL>low/</BaseURL></Representation>
    </AdaptationSet>
    <AdaptationSet mimeType="audio/mp4" codecs="mp4a.40.2" lang="en">
      <SegmentTemplate timescale="48000" media="audio/$Time$.m4s" initialization="audio/init.mp4">
        <SegmentTimeline><S t="0" d="96000" r="-1"/><S t="480000" d="96256" r="-1"/></SegmentTimeline>
      </SegmentTemplate>
      <Representation id="a" bandwidth="128000"/>
    </AdaptationSet>
  </Period>
  <Period id="p1">
    <AdaptationSet mimeType="video/mp4">
      <Representation id="ad" bandwidth="1000000" width="1280" height="720">
        <BaseURL>https://ads.example.com/ad.mp4</BaseURL>
        <SegmentBase indexRange="800-1000" timescale="1000"><Initialization range="0-799"/></SegmentBase>
      </Representation>
    </AdaptationSet>
  </Period>
  <Period id="p2" start="PT30S">
    <AdaptationSet mimeType="video/mp4">
      <SegmentList timescale="1000" duration="10000">
        <Initialization sourceURL="list/init.mp4"/>
        <SegmentURL media="list/a.m4s"/><SegmentURL media="list/b.m4s" mediaRange="100-199"/><SegmentURL media="list/c.m4s"/>
      </SegmentList>
      <Representation id="l" bandwidth="500000"/>
    </AdaptationSet>
  </Period>
</MPD>
`;

const only = (mpd: Mpd, period = 0, set = 0, rep = 0) => {
  const p = mpd.periods[period]!;
  return { period: p, rep: p.adaptationSets[set]!.representations[rep]! };
};
const numbers = (segs: { number: number }[]) => segs.map((s) => s.number);

describe("XML subset", () => {
  test("elements, attributes in either quotes, entities, CDATA, comments, declaration", () => {
    const root = parseXml(`\uFEFF<?xml version="1.0"?>\n<!-- c --><a x="1 &lt; 2" y='&#65;&#x42;'><b/><c>t&amp;<![CDATA[<raw>]]></c><!-- d --></a>\n`);
    expect(root.name).toBe("a");
    expect(root.attributes).toEqual({ x: "1 < 2", y: "AB" });
    expect(root.children.map((c) => [c.name, c.text])).toEqual([
      ["b", ""],
      ["c", "t&<raw>"],
    ]);
    expect(parseXml('<m:MPD xmlns:m="u"/>').localName).toBe("MPD");
  });

  test.each([
    ["<a><b></a>", /does not close/],
    ["<a>", /never closed/],
    ['<a x=1/>', /not quoted/],
    ['<a x="1" x="2"/>', /repeated/],
    ['<a x="1"y="2"/>', /space before/],
    ["<!DOCTYPE a [<!ENTITY e 'boom'>]><a>&e;</a>", /DOCTYPE/],
    ["<a>&bogus;</a>", /unknown entity/],
    ["<a>&amp</a>", /unterminated entity/],
    ["<a/><b/>", /second root/],
    ["text<a/>", /outside the root/],
    ["<a><!-- never", /unterminated comment/],
    ["", /no root/],
    ["<x>".repeat(100), /nested deeper/],
  ])("refuses %p", (xml, message) => {
    expect(() => parseXml(xml)).toThrow(XmlError);
    expect(() => parseXml(xml)).toThrow(message);
  });
});

describe("MPD values", () => {
  test.each([
    ["PT2S", 2],
    ["PT1.0S", 1],
    ["PT1H2M3.5S", 3723.5],
    ["P1DT2S", 86402],
    ["P0Y0M0DT0H0M2.000S", 2],
    ["PT0S", 0],
  ])("duration %s", (text, s) => expect(parseIsoDurationS(text)).toBe(s));

  test.each(["2S", "PT", "P", "PT2", "PT-2S"])("not a duration: %s", (text) => expect(() => parseIsoDurationS(text)).toThrow(MpdError));

  test("template identifiers and widths", () => {
    const v = { representationId: "v1", number: 42, time: 90000, bandwidth: 800000 };
    expect(expandTemplate("$RepresentationID$/$Number%05d$-$Time$-$Bandwidth$.m4s", v)).toBe("v1/00042-90000-800000.m4s");
    expect(expandTemplate("a$$b$Number$$Time%012d$", v)).toBe("a$b42000000090000");
    expect(expandTemplate("$Number%01d$", { ...v, number: 12345 })).toBe("12345");
    expect(() => expandTemplate("$Foo$.m4s", v)).toThrow(/valid are \$RepresentationID\$/);
    expect(() => expandTemplate("$RepresentationID%03d$", v)).toThrow(/takes no format/);
  });

  test("malformed MPDs", () => {
    expect(() => parseMpd("<html/>")).toThrow(/root element is <html>/);
    expect(() => parseMpd("<MPD>")).toThrow(/not an MPD/);
    expect(() => parseMpd('<MPD type="live"/>')).toThrow(/valid are static and dynamic/);
    expect(() => parseMpd('<MPD type="dynamic"/>')).toThrow(/without availabilityStartTime/);
    expect(() => parseMpd('<MPD minBufferTime="2 seconds"/>')).toThrow(/not an ISO 8601 duration/);
    expect(() => parseMpd('<MPD><Period><AdaptationSet><Representation bandwidth="1"/></AdaptationSet></Period></MPD>')).toThrow(/without an id/);
    const timeline = (s: string) => `<MPD><Period><AdaptationSet><SegmentTemplate media="$Time$"><SegmentTimeline>${s}</SegmentTimeline></SegmentTemplate><Representation id="r"/></AdaptationSet></Period></MPD>`;
    expect(() => parseMpd(timeline('<S t="0"/>'))).toThrow(/without a positive d/);
    expect(() => parseMpd(timeline('<S d="1" r="-2"/>'))).toThrow(/valid are -1 and up/);
    const open = parseMpd(timeline('<S t="0" d="1" r="-1"/>'));
    expect(() => listAvailableSegments(open, open.periods[0]!, open.periods[0]!.adaptationSets[0]!.representations[0]!, 0)).toThrow(/nothing to end it/);
    expect(() => parseMpd('<MPD><Period><AdaptationSet><SegmentTemplate media="$Number$"/><Representation id="r"/></AdaptationSet></Period></MPD>')).toThrow(/neither a duration nor a SegmentTimeline/);
  });
});

describe("ffmpeg -ldash -streaming (SegmentTemplate@duration, availabilityTimeOffset)", () => {
  const mpd = parseMpd(FFMPEG_LDASH, "http://127.0.0.1:8080/live/manifest.mpd");
  const { period, rep } = only(mpd);
  const ast = Date.parse("2026-12-01T09:31:15.003Z");

  test("the model", () => {
    expect([mpd.type, mpd.availabilityStartTimeMs, mpd.publishTimeMs, mpd.minimumUpdatePeriodS, mpd.timeShiftBufferDepthS, mpd.maxSegmentDurationS, mpd.minBufferTimeS, mpd.suggestedPresentationDelayS]).toEqual([
      "dynamic", ast, Date.parse("2026-12-01T09:31:16.006Z"), 500, 5, 1, 1, null,
    ]);
    expect(mpd.serviceLatency).toEqual({ targetMs: 1500, minMs: null, maxMs: null });
    // Only the MPD's own UTCTiming: the one inside ProducerReferenceTime describes that element's clock.
    expect(mpd.utcTimings).toEqual([{ schemeIdUri: "urn:mpeg:dash:utc:http-xsdate:2014", value: "https://time.akamai.com/?iso" }]);
    const set = period.adaptationSets[0]!;
    expect([set.contentType, set.mimeType, set.segmentAlignment, set.encrypted]).toEqual(["video", "video/mp4", true, false]);
    expect([rep.id, rep.bandwidth, rep.width, rep.height, rep.frameRate, rep.codecs]).toEqual(["0", 212192, 320, 240, 25, "avc1.f4000d"]);
    expect(rep.addressing).toMatchObject({ kind: "template", timescale: 1e6, duration: 1e6, startNumber: 1, availabilityTimeOffsetS: 0.8, availabilityTimeComplete: false, timeline: null });
    expect(initializationUrl(rep)).toBe("http://127.0.0.1:8080/live/init-stream0.m4s");
  });

  test("available segments: complete ones 0.8 s early, kept for the 5 s time-shift buffer", () => {
    const now = ast + 10_500;
    const segs = listAvailableSegments(mpd, period, rep, now);
    expect(numbers(segs)).toEqual([6, 7, 8, 9, 10, 11]);
    expect(segs.at(-1)).toEqual({
      number: 11,
      time: 10e6,
      durationTicks: 1e6,
      startS: 10,
      durationS: 1,
      url: "http://127.0.0.1:8080/live/chunk-stream0-00011.m4s",
      range: null,
      availableFromMs: ast + 11_000 - 800,
      availableUntilMs: ast + 11_000 + 5000,
    });
    const next = listAvailableSegments(mpd, period, rep, ast + 11_200).at(-1)!;
    expect(next.number).toBe(12);
    expect(isSegmentAvailable(next, ast + 11_199)).toBe(false);
    expect(isSegmentAvailable(next, ast + 11_200)).toBe(true);
    expect(isSegmentAvailable(segs[0]!, ast + 11_000)).toBe(false); // [5, 6) leaves at 6 + 5
    expect(numbers(listAvailableSegments(mpd, period, rep, now, 2))).toEqual([10, 11]);
    expect(listAvailableSegments(mpd, period, rep, ast + 100)).toEqual([]);
  });

  test("the live edge: the ServiceDescription target", () => {
    const join = liveEdgeSegment(mpd, period, rep, ast + 10_500)!;
    expect([join.delayS, join.delaySource, join.liveEdgeS, join.targetS, join.segment.number]).toEqual([1.5, "service-description", 10.5, 9, 10]);
    expect(liveEdgeSegment(mpd, period, rep, ast + 100)).toBeNull();
  });
});

describe("ffmpeg live SegmentTimeline", () => {
  const mpd = parseMpd(FFMPEG_TIMELINE, "http://h/d/manifest.mpd");
  const { period, rep } = only(mpd);
  const ast = Date.parse("2026-12-01T09:31:18.297Z");

  test("segments appear as they complete and leave 3 s after", () => {
    expect(numbers(listAvailableSegments(mpd, period, rep, ast + 2500))).toEqual([1, 2]);
    const at = listAvailableSegments(mpd, period, rep, ast + 3300);
    expect(at.map((s) => [s.number, s.time, s.startS, s.url])).toEqual([
      [1, 0, 0, "http://h/d/chunk-stream0-00001.m4s"],
      [2, 12800, 1, "http://h/d/chunk-stream0-00002.m4s"],
      [3, 25600, 2, "http://h/d/chunk-stream0-00003.m4s"],
    ]);
    expect(numbers(listAvailableSegments(mpd, period, rep, ast + 4500))).toEqual([2, 3]);
  });

  test("the live edge: suggestedPresentationDelay", () => {
    const join = liveEdgeSegment(mpd, period, rep, ast + 3300)!;
    expect([join.delayS, join.delaySource, join.segment.number]).toEqual([1, "suggested-presentation-delay", 3]);
  });
});

describe("nginx-rtmp SegmentTimeline with $Time$", () => {
  const mpd = parseMpd(NGINX_RTMP, "http://127.0.0.1:8081/dash/stream.mpd");
  const ast = Date.parse("2026-12-01T10:00:00Z");

  test("video and audio, named by time", () => {
    const { period, rep } = only(mpd);
    expect(period.id).toBe("dash");
    expect(period.adaptationSets.map((s) => s.contentType)).toEqual(["video", "audio"]);
    expect(rep.frameRate).toBe(25);
    expect(initializationUrl(rep)).toBe("http://127.0.0.1:8081/dash/stream-init.m4v");
    const segs = listAvailableSegments(mpd, period, rep, ast + 18_500);
    expect(segs.map((s) => [s.number, s.time, s.url])).toEqual([
      [1, 10000, "http://127.0.0.1:8081/dash/stream-10000.m4v"],
      [2, 12000, "http://127.0.0.1:8081/dash/stream-12000.m4v"],
      [3, 14000, "http://127.0.0.1:8081/dash/stream-14000.m4v"],
      [4, 16000, "http://127.0.0.1:8081/dash/stream-16000.m4v"],
    ]);
    const audio = only(mpd, 0, 1).rep;
    expect(listAvailableSegments(mpd, period, audio, ast + 18_500).at(-1)!.url).toBe("http://127.0.0.1:8081/dash/stream-16000.m4a");
    const both = listAvailableByRepresentation(mpd, ast + 18_500);
    expect([...both.keys()]).toEqual(["stream_H264", "stream_AAC"]);
    expect(both.get("stream_AAC")!.map((s) => s.time)).toEqual([10000, 12000, 14000, 16000]);
    // The newest is not available until its end on the wall clock.
    expect(numbers(listAvailableSegments(mpd, period, rep, ast + 17_999))).toEqual([1, 2, 3]);
  });

  test("no delay in the MPD: four segment durations behind the edge, as dash.js", () => {
    const { period, rep } = only(mpd);
    const join = liveEdgeSegment(mpd, period, rep, ast + 18_500)!;
    expect([join.delayS, join.delaySource, join.targetS, join.segment.time]).toEqual([8, "segment-durations", 10.5, 10000]);
    // Further behind than the oldest segment: the oldest available.
    expect(liveEdgeSegment(mpd, period, rep, ast + 18_500, 6)!.segment.time).toBe(10000);
  });
});

describe("DASH-IF low-latency live (number template with ATO, timeline r=-1 to now)", () => {
  const mpd = parseMpd(DASHIF_LIVE, "https://livesim.example/ll/manifest.mpd");
  const now = 1_800_000_000_000;

  test("model: service description, UTC timing, frame rate, alignment", () => {
    expect(mpd.serviceLatency).toEqual({ targetMs: 3500, minMs: 2000, maxMs: 6000 });
    expect(mpd.utcTimings).toEqual([
      { schemeIdUri: "urn:mpeg:dash:utc:http-iso:2014", value: "https://time.akamai.com/?iso&ms" },
      { schemeIdUri: "urn:mpeg:dash:utc:direct:2014", value: "2026-12-01T10:00:00Z" },
    ]);
    const { rep } = only(mpd);
    expect(rep.frameRate).toBe(30);
    expect(mpd.periods[0]!.adaptationSets[1]!.segmentAlignment).toBe(true);
    expect(initializationUrl(rep)).toBe("https://livesim.example/ll/V300/init.mp4");
  });

  test("available segments over a one-minute buffer, decades after availabilityStartTime", () => {
    const { period, rep } = only(mpd);
    const video = listAvailableSegments(mpd, period, rep, now);
    expect(video.length).toBe(30);
    expect([video[0]!.number, video.at(-1)!.number, video.at(-1)!.url]).toEqual([9e8 - 30, 9e8 - 1, "https://livesim.example/ll/V300/899999999.m4s"]);
    const audio = listAvailableSegments(mpd, period, only(mpd, 0, 1).rep, now);
    expect(audio.length).toBe(30);
    expect(audio.at(-1)!.time).toBe((1.8e9 - 2) * 48000);
    expect(audio.at(-1)!.number).toBe(9e8);
    expect(audio.at(-1)!.url).toBe(`https://livesim.example/ll/A48/${(1.8e9 - 2) * 48000}.m4s`);
    // The segment still being written becomes fetchable 1.5 s before its end.
    const soon = listAvailableSegments(mpd, period, rep, now + 500).at(-1)!;
    expect([soon.number, soon.availableFromMs]).toEqual([9e8, now + 500]);
  });

  test("the live edge: the target (3.5 s) wins over suggestedPresentationDelay (6 s)", () => {
    const { period, rep } = only(mpd);
    const join = liveEdgeSegment(mpd, period, rep, now)!;
    expect([join.delayS, join.delaySource, join.segment.number]).toEqual([3.5, "service-description", 9e8 - 2]);
    const noTarget = { ...mpd, serviceLatency: null };
    expect(chooseLiveDelay(noTarget, 2)).toEqual({ delayS: 6, source: "suggested-presentation-delay" });
    expect(chooseLiveDelay({ ...noTarget, suggestedPresentationDelayS: null }, 2)).toEqual({ delayS: 8, source: "segment-durations" });
    expect(chooseLiveDelay({ ...noTarget, suggestedPresentationDelayS: null }, null)).toEqual({ delayS: 8, source: "min-buffer-time" });
    // Never further back than the time-shift buffer holds.
    expect(chooseLiveDelay({ ...noTarget, suggestedPresentationDelayS: 90 }, 2)).toEqual({ delayS: 60, source: "suggested-presentation-delay" });
  });
});

test("a dynamic multi-period MPD: the period presented now, its segments on the period's own timeline", () => {
  const mpd = parseMpd(
    `<MPD type="dynamic" availabilityStartTime="2026-12-01T10:00:00Z">
      <Period id="a" start="PT0S"><AdaptationSet><SegmentTemplate timescale="1" duration="2" media="a-$Number$"/><Representation id="r"/></AdaptationSet></Period>
      <Period id="b" start="PT60S"><AdaptationSet><SegmentTemplate timescale="1" duration="2" media="b-$Number$" presentationTimeOffset="100"/><Representation id="r"/></AdaptationSet></Period>
    </MPD>`,
    "http://h/m.mpd",
  );
  const ast = Date.parse("2026-12-01T10:00:00Z");
  expect(mpd.periods.map((p) => [p.id, p.startS, p.durationS])).toEqual([["a", 0, 60], ["b", 60, null]]);
  expect(periodAt(mpd, ast + 59_000).id).toBe("a");
  expect(periodAt(mpd, ast + 65_000).id).toBe("b");
  // Period a ends at 60 s: its last segment is [58, 60), number 30.
  expect(listAvailableByRepresentation(mpd, ast + 59_000).get("r")!.at(-1)!.url).toBe("http://h/a-29");
  const b = listAvailableByRepresentation(mpd, ast + 65_000).get("r")!;
  expect(b.map((s) => [s.number, s.time, s.startS, s.url])).toEqual([
    [1, 100, 0, "http://h/b-1"],
    [2, 102, 2, "http://h/b-2"],
  ]);
  const { period, rep } = only(mpd);
  expect(listAvailableSegments(mpd, period, rep, ast + 600_000).at(-1)!.number).toBe(30);
});

test('availabilityTimeOffset="INF": every listed segment is fetchable from the start of time', () => {
  const mpd = parseMpd(
    '<MPD type="dynamic" availabilityStartTime="2026-12-01T10:00:00Z" timeShiftBufferDepth="PT4S"><Period start="PT0S"><AdaptationSet><SegmentTemplate timescale="1" duration="2" media="$Number$" availabilityTimeOffset="INF"/><Representation id="r"/></AdaptationSet></Period></MPD>',
  );
  const { period, rep } = only(mpd);
  const segs = listAvailableSegments(mpd, period, rep, Date.parse("2026-12-01T10:00:09Z"));
  expect(segs.map((s) => [s.number, s.availableFromMs])).toEqual([
    [3, -Infinity],
    [4, -Infinity],
  ]);
});

describe("DASH-IF static: periods, BaseURL levels, $Bandwidth$, r=-1, SegmentBase, SegmentList, protection", () => {
  const mpd = parseMpd(DASHIF_STATIC, "https://origin.example.com/manifests/show.mpd");

  test("periods chain their starts and durations", () => {
    expect(mpd.periods.map((p) => [p.id, p.startS, p.durationS])).toEqual([
      ["p0", 0, 20],
      ["p1", 20, 10],
      ["p2", 30, 30],
    ]);
    expect(mpd.mediaPresentationDurationS).toBe(60);
    expect(periodAt(mpd, 0).id).toBe("p0");
  });

  test("number template inherited from the period, BaseURL per level", () => {
    const set = mpd.periods[0]!.adaptationSets[0]!;
    expect([set.encrypted, set.representations[0]!.encrypted, set.representations[0]!.frameRate]).toEqual([true, true, 30000 / 1001]);
    const [v720, v360] = set.representations;
    const hi = listAvailableSegments(mpd, mpd.periods[0]!, v720!, 0);
    expect(hi.length).toBe(10);
    expect([hi[0]!.url, hi[9]!.url, hi[9]!.startS]).toEqual([
      "https://cdn.example.com/content/period0/v720/3000000-00000.m4s",
      "https://cdn.example.com/content/period0/v720/3000000-00009.m4s",
      18,
    ]);
    expect(hi[0]!.availableFromMs).toBe(-Infinity);
    expect(listAvailableSegments(mpd, mpd.periods[0]!, v360!, 0)[1]!.url).toBe("https://cdn.example.com/content/period0/low/v360/800000-00001.m4s");
    expect(initializationUrl(v360!)).toBe("https://cdn.example.com/content/period0/low/v360/init.mp4");
  });

  test("r=-1 runs to the next S@t, then to the period end", () => {
    const audio = mpd.periods[0]!.adaptationSets[1]!;
    expect(audio.contentType).toBe("audio");
    const segs = listAvailableSegments(mpd, mpd.periods[0]!, audio.representations[0]!, 0);
    expect(segs.map((s) => s.time)).toEqual([0, 96000, 192000, 288000, 384000, 480000, 576256, 672512, 768768, 865024]);
    // startNumber="0" comes down from the Period's SegmentTemplate; timescale and media are the set's own.
    expect(segs.map((s) => s.number)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(segs[5]!.url).toBe("https://cdn.example.com/content/period0/audio/480000.m4s");
  });

  test("SegmentBase: one self-initializing resource; SegmentList: listed URLs and ranges", () => {
    const ad = mpd.periods[1]!.adaptationSets[0]!.representations[0]!;
    expect(ad.addressing).toMatchObject({ kind: "base", indexRange: "800-1000", initializationRange: "0-799" });
    expect(initializationUrl(ad)).toBe("https://ads.example.com/ad.mp4");
    expect(listAvailableSegments(mpd, mpd.periods[1]!, ad, 0).map((s) => [s.url, s.durationS])).toEqual([["https://ads.example.com/ad.mp4", 10]]);
    const list = mpd.periods[2]!.adaptationSets[0]!.representations[0]!;
    expect(initializationUrl(list)).toBe("https://cdn.example.com/content/list/init.mp4");
    expect(listAvailableSegments(mpd, mpd.periods[2]!, list, 0).map((s) => [s.number, s.startS, s.url, s.range])).toEqual([
      [1, 0, "https://cdn.example.com/content/list/a.m4s", null],
      [2, 10, "https://cdn.example.com/content/list/b.m4s", "100-199"],
      [3, 20, "https://cdn.example.com/content/list/c.m4s", null],
    ]);
  });

  test("a hostile repeat count costs nothing: the list is bounded", () => {
    const hostile = parseMpd(
      '<MPD type="static"><Period duration="PT1S"><AdaptationSet><SegmentTemplate timescale="1" media="$Time$"><SegmentTimeline><S t="0" d="1" r="999999999999"/></SegmentTimeline></SegmentTemplate><Representation id="r"/></AdaptationSet></Period></MPD>',
    );
    const { period, rep } = only(hostile);
    const segs = listAvailableSegments(hostile, period, rep, 0, 50);
    expect(segs.length).toBe(50);
    expect(segs.at(-1)!.time).toBe(999999999999);
  });
});

describe("ffmpeg 5.1 static DASH: the MPD's addressing names the files it wrote, at the times the segments hold", () => {
  const dirs: { cleanup(): void }[] = [];
  afterAll(() => dirs.forEach((d) => d.cleanup()));

  test.each([true, false])("use_timeline %p", (timeline) => {
    const dir = tempDir("vat-dash-");
    dirs.push(dir);
    const out = writeDash(dir.path, { fps: 25, gop: 25, durationS: 3, segmentS: 1, timeline });
    const mpd = parseMpd(readFileSync(out.mpd, "utf8"), "http://127.0.0.1:1/x/manifest.mpd");
    const { period, rep } = only(mpd);
    expect(rep.addressing?.kind).toBe("template");
    expect(rep.addressing?.kind === "template" && rep.addressing.timeline !== null).toBe(timeline);
    const segs = listAvailableSegments(mpd, period, rep, Date.now());
    expect(segs.map((s) => basename(new URL(s.url).pathname))).toEqual(out.segments.map((f) => basename(f)));
    expect(basename(new URL(initializationUrl(rep)!).pathname)).toBe(basename(out.init));
    const init = parseInitSegment(readFileSync(out.init));
    segs.forEach((s, i) => {
      const scan = scanFragmentedSegment(readFileSync(out.segments[i]!), init);
      expect(scan.frameList[0]!.decodeMs).toBeCloseTo(s.startS * 1000, 3);
      expect(scan.frames).toBe(Math.round(s.durationS * 25));
    });
  });
});
