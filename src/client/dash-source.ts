import { initializationUrl, listAvailableSegments, periodAt, type SegmentRef } from "../dash/addressing.ts";
import { MpdError, parseMpd, type Mpd, type Period, type Representation } from "../dash/mpd.ts";
import { badInput, failed, interrupted } from "../errors.ts";
import { Mp4Error } from "../mp4/boxes.ts";
import type { DecoderInput } from "./decoder.ts";
import { Fmp4Track } from "./fmp4-track.ts";
import { DeliveryLog } from "./delivery.ts";
import { fetchBytes, fetchText, type Fetched } from "./http.ts";
import { fetchStreamed } from "./streamed-body.ts";
import { OrderedPipeline } from "./ordered-pipeline.ts";
import { OutageTracker } from "./outage.ts";
import { readClock, type ClockReading } from "./server-info.ts";
import type { MediaUnit, Source, SourceDeps, SourceOutcome, SourceSettings, StreamFacts } from "./source.ts";
import { pickUtcTiming, sampleUtcTiming } from "./utc-timing.ts";
import { chooseRendition, describeRendition, VARIANT_RULE } from "./variants.ts";

const REQUEST_TIMEOUT_MS = 5000;
/** A segment due by the clock may still be on its way to the server's disk: ask again for this long before giving up. */
const LATE_SEGMENT_MS = 1500;

/** How often a low-latency source looks whether the next segment is due (a computation, not a request). */
const LOW_LATENCY_LOOK_MS = 10;

/** The video representations of a period, in the order a chooser sees them (lowest bandwidth first). */
export function videoRepresentations(period: Period): Representation[] {
  const sets = period.adaptationSets.filter((a) => a.contentType === "video" || (a.contentType === null && /video/.test(a.mimeType ?? "")));
  return sets.flatMap((a) => a.representations).sort((a, b) => a.bandwidth - b.bandwidth);
}

/**
 * DASH, fetched by vat itself (never through ffmpeg's DASH demuxer, which starts at the beginning of the time-shift
 * window and re-reads segments): the MPD, the chosen video representation's init segment once, then each media
 * segment the moment it is available by the MPD's timing on the server's clock (UTCTiming, else /time), from the live
 * edge on. Each segment's arrival is stamped when its last byte arrives.
 */
/** A segment's period and the state it was asked for in (handed over later, when its bytes are in). */
interface SegmentPlace {
  discontinuity: boolean;
  periodIndex: number;
  periodStartS: number;
  atoMs: number;
}

export class DashSource implements Source {
  readonly root: string;
  input: DecoderInput = { kind: "pipe", format: "h264" };
  clock: ClockReading = { clock: null, warning: null };
  private mpd!: Mpd;
  private mpdAtMs = 0;
  private rep!: Representation;
  private period!: Period;
  private track!: Fmp4Track;
  private initUrl: string | null = null;
  /**
   * The last segment fetched, by its media time: numbers are no guide, since a SegmentTimeline that slides with the
   * live window renumbers from startNumber at every update (nginx-rtmp's does).
   */
  /** The last segment asked for (of this.period): its times (ticks), number, and end in the period (seconds). */
  private last: { time: number; end: number; number: number; endS: number; durationS: number } | null = null;
  private readonly outage: OutageTracker;
  private pendingDiscontinuity = false;
  /** Low latency: when the segment after the last one asked for becomes available (server clock), if known. */
  private nextDueMs: number | null = null;
  /** A segment was lost since the last one handed on (MediaUnit.afterGap). */
  private lostBefore = false;
  /** A discontinuity whose segment could not be had: the next segment handed over carries it. */
  private carriedDiscontinuity = false;
  private periodIndex = 0;
  private readonly pipe = new OrderedPipeline(4);
  /** Low-latency DASH (availabilityTimeOffset, chunked segments): its delivery; null for plain DASH. */
  delivery: DeliveryLog | null = null;

  constructor(
    readonly url: string,
    private readonly s: SourceSettings,
    private readonly deps: SourceDeps,
  ) {
    this.root = new URL("/", url).href;
    this.outage = new OutageTracker(s.maxOutageMs, deps.onEvent);
  }

  get facts(): StreamFacts {
    const first = this.mpd && this.rep ? listAvailableSegments(this.mpd, this.period, this.rep, this.serverNow()).at(-1) : undefined;
    return {
      protocol: this.delivery ? "ll-dash" : "dash",
      container: "fmp4",
      codecs: this.rep?.codecs ?? this.track?.track.codec ?? null,
      rendition: this.rep?.width && this.rep.height ? `${this.rep.width}x${this.rep.height}` : null,
      declaredBandwidthBps: this.rep?.bandwidth || null,
      segmentDurationS: first?.durationS ?? this.mpd?.maxSegmentDurationS ?? null,
    };
  }

  /** Server clock now. */
  private serverNow(): number {
    return this.deps.now() + (this.clock.clock?.offsetMs ?? 0);
  }

  async connect(): Promise<void> {
    const started = this.deps.now();
    for (;;) {
      const stop = this.deps.cancelled();
      if (stop) throw interrupted(stop, `stopped by ${stop} before ${this.url} answered`);
      const sentMs = this.deps.now();
      const r = await fetchText(this.deps.fetch, this.url, { timeoutMs: REQUEST_TIMEOUT_MS, maxBytes: this.s.maxPlaylistBytes });
      if (r.ok) {
        this.mpd = this.parse(r.value, true);
        this.mpdAtMs = this.deps.now();
        if (this.s.clockSync) this.clock = await this.syncClock({ sentMs, receivedMs: this.mpdAtMs });
        await this.choosePeriod(true);
        return;
      }
      if (this.deps.now() - started >= this.s.connectTimeoutMs) {
        // The same kinds as the HLS source's: a URL the user gave that yields no stream is theirs to mend.
        throw badInput(`no stream at ${this.url}: ${r.reason} for ${Math.round(this.s.connectTimeoutMs / 1000)} s (is the server up? raise --connect-timeout to wait longer)`);
      }
      await this.deps.sleep(Math.min(1000, this.s.pollMs * 4));
    }
  }

  private parse(text: string, first: boolean): Mpd {
    try {
      const mpd = parseMpd(text, this.url);
      if (first && mpd.periods.some((p) => p.adaptationSets.some((a) => a.encrypted || a.representations.some((r) => r.encrypted)))) {
        throw failed(`${this.url}: the stream is encrypted (ContentProtection): vat measures clear streams only`);
      }
      return mpd;
    } catch (err) {
      if (first && err instanceof MpdError) throw badInput(`${this.url} answers but is not a stream: ${err.message}`);
      throw err;
    }
  }

  private async syncClock(mpdFetch: { sentMs: number; receivedMs: number }): Promise<ClockReading> {
    const timing = pickUtcTiming(this.mpd.utcTimings);
    // A relative UTCTiming URL (an origin that does not know its public address names its clock so) is the MPD's.
    const resolved = timing && /^urn:mpeg:dash:utc:http-/.test(timing.schemeIdUri) && URL.canParse(timing.value, this.url)
      ? { ...timing, value: new URL(timing.value, this.url).href }
      : timing;
    const viaUtc = resolved ? await sampleUtcTiming(resolved, this.deps, mpdFetch) : null;
    return viaUtc?.clock || viaUtc?.warning ? viaUtc : await readClock(this.deps, this.root);
  }

  /**
   * The period to read: the one being read, as this MPD has it, until every segment of it has been asked for (its
   * last segment is available the moment the next period starts, and is read before it); then the next one; at
   * first, or when this MPD no longer has it, the one the clock is in.
   */
  private periodToRead(): Period {
    const at = this.period ? this.mpd.periods.findIndex((p) => samePeriod(p, this.period)) : -1;
    if (at < 0) return periodAt(this.mpd, this.serverNow());
    const current = this.mpd.periods[at]!;
    return this.readToEnd(current) ? (this.mpd.periods[at + 1] ?? current) : current;
  }

  /**
   * `period` (the one being read) is done: it has an end, and the last segment asked for reached it; or it has no
   * length; or the clock is PERIOD_GRACE_MS past its end (a timeline that stops short of it, segments that left the
   * window during an outage).
   */
  private readToEnd(period: Period): boolean {
    if (period.durationS === null) return false;
    const last = this.last;
    if (period.durationS <= 0 || (last !== null && last.endS >= period.durationS - last.durationS / 2)) return true;
    const start = this.mpd.availabilityStartTimeMs;
    return start !== null && this.serverNow() >= start + (period.startS + period.durationS) * 1000 + PERIOD_GRACE_MS;
  }

  /** The period being presented, its chosen video representation and (when it changed) its init segment. */
  private async choosePeriod(first: boolean): Promise<void> {
    const period = this.periodToRead();
    const reps = videoRepresentations(period);
    if (reps.length === 0) throw failed(`${this.url}: no video adaptation set in the MPD (audio-only?): nothing to measure`);
    // A new period has its own timeline: what was fetched of the last one says nothing of where this one stands.
    const newPeriod = this.period !== undefined && (period.id !== this.period.id || period.startS !== this.period.startS);
    if (newPeriod) this.last = null;
    const rep = chooseRendition(reps, this.s.variant);
    if (!rep) {
      const have = reps.map((r, i) => `${i}: ${describeRendition(r)}`).join(", ");
      throw badInput(`${this.url}: no video representation matches --variant (it has ${have}); use ${VARIANT_RULE}`);
    }
    const changed = !first && (period !== this.period || rep.id !== this.rep.id);
    if (newPeriod) this.periodIndex++;
    this.period = period;
    this.rep = rep;
    const initUrl = initializationUrl(rep);
    if (initUrl === this.initUrl) return;
    if (!initUrl) throw failed(`${this.url}: representation ${rep.id} has no initialization segment (self-initializing segments are not read)`);
    const r = await fetchBytes(this.deps.fetch, initUrl, { timeoutMs: REQUEST_TIMEOUT_MS, maxBytes: this.s.maxPlaylistBytes });
    if (!r.ok) throw failed(`${this.url}: its init segment ${initUrl} cannot be fetched: ${r.reason}`);
    const track = Fmp4Track.open(r.value);
    if ("unmeasurable" in track) throw failed(`${this.url}: ${track.unmeasurable}`);
    this.track = track;
    this.initUrl = initUrl;
    this.input = { kind: "pipe", format: track.format };
    if (changed) this.pendingDiscontinuity = true;
    this.noteLowLatency(rep);
    this.deps.onEvent({ kind: "stream-info", atMs: this.deps.now(), detail: `DASH ${this.mpd.type}, representation ${rep.id} (${describeRendition(rep)} declared), ${track.description}` });
  }

  /**
   * A segment offered before it is complete (availabilityTimeOffset, availabilityTimeComplete=false) is low-latency
   * DASH: it is asked for at its availability minus the offset and read chunk by chunk as the server writes it. Its
   * chunks last the segment less the offset (the server offers a segment once its first chunk is written).
   */
  private noteLowLatency(rep: Representation): void {
    const a = rep.addressing;
    const atoS = a && a.kind !== "base" ? a.availabilityTimeOffsetS : 0;
    if (!(atoS > 0) || !Number.isFinite(atoS) || this.mpd.type !== "dynamic") {
      this.delivery = null;
      return;
    }
    const segmentS = a?.kind === "template" && a.duration ? a.duration / a.timescale : null;
    this.delivery ??= new DeliveryLog();
    this.delivery.partDurationS = segmentS !== null && segmentS > atoS ? segmentS - atoS : null;
    this.delivery.advertisedLatencyMs = this.mpd.serviceLatency?.targetMs ?? null;
  }

  async run(onMedia: (m: MediaUnit) => Promise<void>, shouldStop: () => boolean): Promise<SourceOutcome> {
    try {
      return await this.follow(onMedia, shouldStop);
    } finally {
      await this.pipe.flush();
    }
  }

  private async follow(onMedia: (m: MediaUnit) => Promise<void>, shouldStop: () => boolean): Promise<SourceOutcome> {
    while (!shouldStop()) {
      if (this.refreshDue()) {
        const r = await fetchText(this.deps.fetch, this.url, { timeoutMs: REQUEST_TIMEOUT_MS, maxBytes: this.s.maxPlaylistBytes });
        let mpd: Mpd | null = null;
        try {
          mpd = r.ok ? this.parse(r.value, false) : null;
        } catch {
          mpd = null;
        }
        if (!mpd) {
          if (this.outage.failure(r.ok ? "the MPD cannot be parsed" : r.reason, this.deps.now())) return "failed";
          await this.deps.sleep(Math.min(2000, this.s.pollMs * 4));
          continue;
        }
        if (this.outage.success(this.deps.now())) this.pendingDiscontinuity = true;
        this.mpd = mpd;
        this.mpdAtMs = this.deps.now();
        await this.choosePeriod(false);
      }
      const seg = this.nextSegment();
      if (!seg && this.readToEnd(this.period)) {
        // The period was read to its end: on to the next the MPD has, without waiting for the MPD's next read (a
        // period that is not one further on leaves the loop to wait as for any segment).
        const before = this.mpd.periods.indexOf(this.period);
        await this.choosePeriod(false);
        if (this.mpd.periods.indexOf(this.period) > before) continue;
      }
      if (!seg) {
        if (this.mpd.type === "static") return "ended";
        // Low latency: the next segment is due by the clock alone (no fetch to learn it): sleep until it is due, then
        // look often (it may be late).
        const dueInMs = this.nextDueMs === null ? 0 : this.nextDueMs - this.serverNow();
        await this.deps.sleep(this.delivery ? Math.min(this.s.pollMs, Math.max(LOW_LATENCY_LOOK_MS, dueInMs)) : this.s.pollMs);
        continue;
      }
      await this.fetchSegment(seg, onMedia);
    }
    return "stopped";
  }

  /**
   * Dynamic MPDs change. A SegmentTimeline names a segment only once the MPD lists it, so it is fetched as often as an
   * HLS playlist is (--poll): arrival is then as precise for DASH as for HLS. Segments of a duration template can be
   * computed from the clock: the MPD is read again after minimumUpdatePeriod (or every few seconds).
   */
  private refreshDue(): boolean {
    if (this.mpd.type === "static") return false;
    const a = this.rep.addressing;
    const listed = a !== null && (a.kind === "list" || (a.kind === "template" && a.timeline !== null));
    const everyMs = listed ? this.s.pollMs : Math.max(this.s.pollMs, (this.mpd.minimumUpdatePeriodS ?? 2) * 1000);
    return this.deps.now() - this.mpdAtMs >= everyMs;
  }

  /**
   * The first segment after the last one fetched that is available now; at first, the newest (the live edge), as the
   * HLS source joins. A player joining further back fetches the segments behind the edge at once, so their arrival
   * says when it joined, not when the provider delivered them: latency is measured from the edge on.
   */
  private nextSegment(): SegmentRef | null {
    const now = this.serverNow();
    const available = listAvailableSegments(this.mpd, this.period, this.rep, now);
    if (this.last === null && this.mpd.type === "dynamic") return (this.periodIndex === 0 ? available.at(-1) : available[0]) ?? null;
    return available.find((s) => this.last === null || s.time > this.last.time) ?? null;
  }

  /** Fetches one segment; a segment that cannot be had is an event (its frames then count as dropped). */
  private async fetchSegment(seg: SegmentRef, onMedia: (m: MediaUnit) => Promise<void>): Promise<void> {
    // Segments lost before this one (they left the window): said at its hand-over, in its turn.
    const lastEnd = this.last?.end ?? null;
    const afterSkip = lastEnd !== null && seg.time > lastEnd;
    if (lastEnd !== null && afterSkip) {
      const lostS = (seg.time - lastEnd) / (seg.durationTicks / seg.durationS || 1);
      this.deps.onEvent({ kind: "skipped-segments", atMs: this.deps.now(), detail: `${lostS.toFixed(2)} s of segments left the time-shift window before they were fetched` });
    }
    const requestedAtMs = this.deps.now();
    const fetched = this.fetchMedia(seg, requestedAtMs);
    this.last = { time: seg.time, end: seg.time + seg.durationTicks, number: seg.number, endS: seg.startS + seg.durationS, durationS: seg.durationS };
    if (this.delivery) this.nextDueMs = this.dueAfter(seg);
    // What the segment belongs to, as it was when asked for: a refresh may move on to the next period before it is in.
    const place: SegmentPlace = {
      discontinuity: this.pendingDiscontinuity,
      periodIndex: this.periodIndex,
      periodStartS: this.period.startS,
      atoMs: this.atoMs(),
    };
    this.pendingDiscontinuity = false;
    // The next segment is asked for when it is due, while this one may still be arriving (low latency) or be asked
    // for again (a 404 from a server not done writing it): waiting for this one would stamp the next one late.
    await this.pipe.add(fetched, (got) => {
      if (afterSkip) this.lostBefore = true;
      return this.handOver(seg, place, got, requestedAtMs, onMedia);
    });
  }

  private async handOver(
    seg: SegmentRef,
    place: SegmentPlace,
    got: Awaited<ReturnType<DashSource["fetchMedia"]>>,
    requestedAtMs: number,
    onMedia: (m: MediaUnit) => Promise<void>,
  ): Promise<void> {
    if ("reason" in got) {
      // Outages are the MPD's, as the HLS source's are the playlist's: a segment that cannot be had is missing.
      const detail = `segment ${seg.number} (${seg.url})${got.unreadable ? " cannot be read" : ""}: ${got.reason}`;
      this.deps.onEvent({ kind: got.tooLarge ? "limit" : "segment-missing", atMs: got.unreadable ? this.deps.now() : requestedAtMs, detail });
      this.carriedDiscontinuity ||= place.discontinuity;
      this.lostBefore = true;
      return;
    }
    const { media, arrivedAtMs } = got;
    // Its advertised availability as a whole: its end on the wall clock (server clock).
    this.delivery?.part(requestedAtMs, arrivedAtMs, seg.availableFromMs + place.atoMs);
    const fetchMs = arrivedAtMs - requestedAtMs;
    // A segment read while it is written takes as long as it plays: only one slower than that is a risk.
    if (fetchMs > seg.durationS * 1000 * (this.delivery ? 1.5 : 1)) {
      this.deps.onEvent({
        kind: "slow-segment", atMs: arrivedAtMs, durationMs: fetchMs,
        detail: `segment ${seg.number} took ${(fetchMs / 1000).toFixed(2)} s to fetch and plays ${seg.durationS.toFixed(2)} s: rebuffer risk`,
      });
    }
    const discontinuity = place.discontinuity || this.carriedDiscontinuity;
    this.carriedDiscontinuity = false;
    const afterGap = this.lostBefore;
    this.lostBefore = false;
    const startWallMs = this.mpd.availabilityStartTimeMs === null ? null : this.mpd.availabilityStartTimeMs + (place.periodStartS + seg.startS) * 1000;
    await onMedia({
      sequence: seg.number,
      arrivedAtMs,
      bytes: media.bytes,
      deliveredBytes: media.deliveredBytes,
      frames: media.frames,
      ...(afterGap ? { afterGap } : {}),
      ...(media.frameArrivalsMs ? { frameArrivalsMs: media.frameArrivalsMs } : {}),
      firstFrameEnd: media.firstFrameEnd,
      frameEnds: media.frameEnds,
      framePtsMs: media.framePtsMs,
      discontinuity,
      discontinuitySequence: place.periodIndex,
      programDateTimeMs: startWallMs,
      ptsOffsetsMs: media.ptsOffsetsMs,
      durationS: seg.durationS,
    });
  }

  /** When the segment after `seg` becomes available (server clock), as the MPD has it now; null if it lists none. */
  private dueAfter(seg: SegmentRef): number | null {
    const ahead = this.serverNow() + 2 * seg.durationS * 1000 + 1000;
    return listAvailableSegments(this.mpd, this.period, this.rep, ahead).find((s) => s.time > seg.time)?.availableFromMs ?? null;
  }

  private atoMs(): number {
    const a = this.rep.addressing;
    const ato = a && a.kind !== "base" ? a.availabilityTimeOffsetS : 0;
    return Number.isFinite(ato) ? ato * 1000 : 0;
  }

  /**
   * A segment's bytes as the decoder's input: read whole, or (low latency) as its chunks stream in, each frame stamped
   * when its own bytes arrive. A segment due by the clock may still be on its way to the server's disk: asked again.
   */
  private async fetchMedia(seg: SegmentRef, requestedAtMs: number) {
    const limits = { timeoutMs: REQUEST_TIMEOUT_MS, maxBytes: this.s.maxSegmentBytes };
    for (;;) {
      let failure: Extract<Fetched<Uint8Array>, { ok: false }>;
      if (this.delivery) {
        const r = await fetchStreamed(this.deps.fetch, seg.url, limits, this.track, this.deps.now);
        if (r.ok) return { media: r.media, arrivedAtMs: r.media.arrivedAtMs };
        if ("unreadable" in r) return { reason: r.unreadable, unreadable: true, tooLarge: false };
        failure = r.fetched;
      } else {
        const b = await fetchBytes(this.deps.fetch, seg.url, limits);
        if (b.ok) {
          const arrivedAtMs = this.deps.now();
          try {
            return { media: { ...this.track.media(b.value), frameArrivalsMs: undefined, deliveredBytes: b.value.length }, arrivedAtMs };
          } catch (err) {
            if (!(err instanceof Mp4Error)) throw err;
            return { reason: err.message, unreadable: true, tooLarge: false };
          }
        }
        failure = b;
      }
      if (failure.tooLarge || failure.refused || this.deps.now() - requestedAtMs >= LATE_SEGMENT_MS) return { reason: failure.reason, unreadable: false, tooLarge: !!failure.tooLarge };
      await this.deps.sleep(this.s.pollMs);
    }
  }
}

/** After a period's end, how long its last segments may still be asked for before the next period is read. */
const PERIOD_GRACE_MS = 2000;

/** The same period of two reads of an MPD: by id, else (periods without ids) by start. */
function samePeriod(a: Period, b: Period): boolean {
  return a.id !== null || b.id !== null ? a.id === b.id : a.startS === b.startS;
}
