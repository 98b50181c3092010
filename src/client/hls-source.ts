import { badInput, failed, interrupted } from "../errors.ts";
import { Mp4Error } from "../mp4/boxes.ts";
import {
  chooseVariant,
  parseMediaPlaylist,
  parseMultivariantPlaylist,
  PlaylistError,
  resolveRemoteUri,
  type MediaPlaylist,
  type MultivariantPlaylist,
  type PlaylistSegment,
  type PlaylistWarning,
  type Variant,
} from "../hls/playlist.ts";
import { segmentElementaryStream } from "../hls/ts-frames.ts";
import type { SourceEvent } from "./events.ts";
import type { Fmp4Track } from "./fmp4-track.ts";
import { edgeInit, InitSections } from "./init-sections.ts";
import { OrderedPipeline } from "./ordered-pipeline.ts";
import { OutageTracker } from "./outage.ts";
import { PollSchedule } from "./poll-schedule.ts";
import type { MediaUnit, SourceInput, StreamFacts } from "./source.ts";
import { DEFAULT_MAX_BYTES, fetchBytes, fetchText, type Fetch, type Fetched, type FetchLimits } from "./http.ts";
import { describeRendition, VARIANT_RULE, type VariantChoice } from "./variants.ts";

export type { SourceEvent } from "./events.ts";

/** A segment as it arrived: the media unit (client/source.ts) and where and when it was asked for. */
export interface SegmentArrival extends MediaUnit {
  uri: string;
  /** Client clock when the request for the segment left. */
  requestedAtMs: number;
}

const SEGMENT_ATTEMPTS = 3;
/** Segment fetches open at once; a body stalled longer holds back the requests behind it (and the polls). */
const SEGMENTS_IN_FLIGHT = 4;
/** A pause between polls (poll-schedule.ts) still looks this often whether the run should stop. */
const STOP_CHECK_MS = 250;

/**
 * Far above any real stream (a 10 s 4K segment at 25 Mbit/s is ~31 MB, a VOD playlist of a day of 1 s segments ~5 MB),
 * far below a machine's RAM.
 */
export const DEFAULT_MAX_PLAYLIST_BYTES = 16 * 1024 * 1024;
export const DEFAULT_MAX_SEGMENT_BYTES = DEFAULT_MAX_BYTES;

export interface HlsSourceOptions {
  fetch: Fetch;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** Poll cadence of the playlist while a new segment can be due (poll-schedule.ts pauses it between segments). */
  pollMs: number;
  requestTimeoutMs: number;
  /** How long the first connection may take before the URL is declared dead. */
  connectTimeoutMs: number;
  /** How long an outage may last before the run gives up. */
  maxOutageMs: number;
  onEvent: (e: SourceEvent) => void;
  /** A stop request (Ctrl-C, SIGTERM) while still connecting: its signal name. */
  cancelled: () => string | null;
  /** A playlist answer larger than this is a failed poll (default DEFAULT_MAX_PLAYLIST_BYTES). */
  maxPlaylistBytes?: number;
  /** A segment larger than this is skipped, its frames then count as dropped (default DEFAULT_MAX_SEGMENT_BYTES). */
  maxSegmentBytes?: number;
  /** Which variant of a multivariant playlist to measure (default: the highest bandwidth). */
  variant?: VariantChoice;
}

/** How run() ended: asked to stop, the stream ended (EXT-X-ENDLIST), or a fatal event (see HlsSource.failure). */
export type SourceOutcome = "stopped" | "ended" | "failed";

/** A segment as it was asked for: what the playlist and the stream's state said of it then. */
interface RequestedSegment {
  seg: PlaylistSegment;
  baseUrl: string;
  requestedAtMs: number;
  discontinuity: boolean;
  /** Segments before it were skipped (they left the playlist unfetched) or lost. */
  afterGap: boolean;
  targetDurationS: number;
}

/**
 * Pulls a live HLS media playlist and its segments itself, so each segment's arrival is stamped when its last byte
 * came in. Starts at the live edge, asks for every new segment as soon as it is listed (a few at once), hands them on
 * in order, and survives outages.
 */
export class HlsSource {
  private lastSequence: number | null = null;
  private lastNewAtMs: number | null = null;
  private staleReported = false;
  private readonly outage: OutageTracker;
  /** The variant chosen from a multivariant playlist, and the media playlist's target duration: the run's facts. */
  private variant: Variant | null = null;
  private targetDurationS: number | null = null;
  /** fMP4 segments (EXT-X-MAP): the init sections opened, and the track of the one in force. */
  private readonly inits: InitSections;
  private pendingDiscontinuity = false;
  /** A segment was lost since the last one handed on (MediaUnit.afterGap). */
  private lostBefore = false;
  /** A segment asked for was lost (not had, or unreadable): the next one handed on is after a gap. */
  private deliveredGap = false;
  /** A lost segment's discontinuity: the next one handed on carries it. */
  private carriedDiscontinuity = false;
  private playlistUrl: string;
  /** Sequence → URI and date of the last playlist taken: an older copy of it lists the same. */
  private listed = new Map<number, { uri: string; programDateTimeMs: number | undefined }>();
  /** The first playlist after an outage: the server may have restarted, and reused its names. */
  private backFromOutage = false;
  private listedDiscontinuitySequence = 0;
  private olderCopies = 0;
  private playlistLimitReported = false;
  private warned = new Set<PlaylistWarning["code"]>();
  private fatalEvent: SourceEvent | null = null;
  private emptyReported = false;
  private readonly parses = new PlaylistParses();
  private readonly schedule: PollSchedule;
  /** The last answer was an older copy of the playlist, set aside. */
  private answeredOlderCopy = false;

  constructor(
    url: string,
    private readonly o: HlsSourceOptions,
  ) {
    this.playlistUrl = url;
    this.outage = new OutageTracker(o.maxOutageMs, (e) => (e.fatal ? this.fail(e) : o.onEvent(e)));
    this.inits = new InitSections({ ...o, maxBytes: this.maxPlaylistBytes });
    this.schedule = new PollSchedule(o.pollMs);
  }

  get facts(): StreamFacts {
    const v = this.variant;
    const track = this.inits.track?.track;
    return {
      protocol: "hls",
      container: this.inits.track ? "fmp4" : "mpegts",
      codecs: v?.codecs?.join(",") ?? track?.codec ?? null,
      rendition: v?.resolution ? `${v.resolution.width}x${v.resolution.height}` : track ? `${track.width}x${track.height}` : null,
      declaredBandwidthBps: v?.bandwidth ?? null,
      segmentDurationS: this.targetDurationS,
    };
  }

  /** The fMP4 track of the init section, once connect() has opened it; null for MPEG-TS. */
  get fmp4Track(): Fmp4Track | null {
    return this.inits.track;
  }

  /** The bytes of that init section (null for MPEG-TS). */
  get fmp4InitBytes(): Uint8Array | null {
    return this.inits.bytes;
  }

  /**
   * What the decoder reads: the video's elementary stream (fMP4 segments through their track; MPEG-TS segments of
   * H.264 or HEVC), else MPEG-TS as it is. Before the first MPEG-TS segment the codec is what the variant declares,
   * else H.264 (as good as every MPEG-TS HLS stream), so that the decoder can start before it comes: each segment
   * says what its bytes are (MediaUnit.format), and the decoder starts over in the rare stream where that differs.
   */
  get input(): SourceInput {
    if (this.inits.track) return { kind: "pipe", format: this.inits.track.format };
    const hevc = this.variant?.codecs?.some((c) => /^(hvc1|hev1)/i.test(c));
    return { kind: "pipe", format: hevc ? "hevc" : "h264" };
  }

  get url(): string {
    return this.playlistUrl;
  }

  /** The fatal event run() ended on ("failed"): what the run should be stored as failed with. */
  get failure(): SourceEvent | null {
    return this.fatalEvent;
  }

  /** Older copies of the playlist that were ignored (a CDN serving stale copies), reported once as stale-playlist. */
  get olderPlaylists(): number {
    return this.olderCopies;
  }

  private get maxPlaylistBytes(): number {
    return this.o.maxPlaylistBytes ?? DEFAULT_MAX_PLAYLIST_BYTES;
  }

  /**
   * First contact: retries until connectTimeoutMs, which bounds the whole chain. Follows a multivariant playlist to
   * the chosen variant, one level only (master → media): a master naming a master, itself included, is no stream.
   */
  async connect(): Promise<MediaPlaylist> {
    const deadline = this.o.now() + this.o.connectTimeoutMs;
    let url = this.playlistUrl;
    let master: string | null = null;
    let last: Fetched<string> | null = null;
    for (;;) {
      const stop = this.o.cancelled();
      if (stop) throw interrupted(stop, `stopped by ${stop} before ${url} answered`);
      const remainingMs = deadline - this.o.now();
      if (last && remainingMs <= 0) throw this.noStream(url, last);
      const r = await fetchText(this.o.fetch, url, {
        timeoutMs: Math.max(1, Math.min(this.o.requestTimeoutMs, remainingMs)),
        maxBytes: this.maxPlaylistBytes,
      });
      last = r;
      if (!r.ok) {
        if (r.tooLarge || r.refused) throw badInput(`${url} answers but is not a stream: ${r.reason}`);
        if (this.o.now() >= deadline) throw this.noStream(url, r);
        await this.o.sleep(Math.min(1000, this.o.pollMs * 4, Math.max(0, deadline - this.o.now())));
        continue;
      }
      try {
        const variants = parseMultivariantPlaylist(r.value);
        if (variants) {
          if (master) {
            throw badInput(
              `${r.url} is a multivariant playlist named by another (${master}): vat follows one level (master → media)`,
            );
          }
          master = r.url;
          url = this.pickVariant(r.url, variants);
          continue;
        }
        const playlist = parseMediaPlaylist(r.value);
        this.playlistUrl = r.url;
        this.targetDurationS = playlist.targetDurationS || null;
        // fMP4 segments: the decoder's input is known from the init section before the first segment is fetched.
        // A low-latency stream that has only parts so far names its init section all the same.
        const init = edgeInit(playlist);
        if (init && !playlist.segments.at(-1)?.encryption) {
          const unmeasurable = await this.openInit({ init }, r.url);
          if (unmeasurable) throw failed(`${r.url}: ${unmeasurable}`);
        }
        return playlist;
      } catch (err) {
        if (err instanceof PlaylistError) throw badInput(`${r.url} answers but is not a stream: ${err.message}`);
        throw err;
      }
    }
  }

  private pickVariant(masterUrl: string, m: MultivariantPlaylist): string {
    this.noteWarnings(m.warnings);
    const choice = this.o.variant ?? { kind: "highest" };
    const picked = chooseVariant(m.variants, choice);
    if (!picked) {
      const have = m.variants.map((v) => describeRendition({ bandwidth: v.bandwidth ?? 0, width: v.resolution?.width ?? null, height: v.resolution?.height ?? null }));
      throw badInput(`${masterUrl}: no variant matches --variant (it has ${have.join(", ") || "none"}); use ${VARIANT_RULE}`);
    }
    this.variant = picked.variant;
    const target = resolveRemoteUri(picked.variant.uri, masterUrl);
    if (!target.ok) throw badInput(`${masterUrl} names its variant '${picked.variant.uri}': ${target.reason}`);
    if (target.url === masterUrl) throw badInput(`${masterUrl} is a multivariant playlist naming itself as its variant`);
    this.o.onEvent({
      kind: "stream-info",
      atMs: this.o.now(),
      detail: `variant ${describeRendition(picked)} (${picked.index + 1} of ${m.variants.length} in the playlist): ${target.url}`,
    });
    return target.url;
  }

  private noStream(url: string, r: Fetched<string>) {
    const reason = r.ok ? "no media playlist in time" : r.reason;
    const s = Math.round(this.o.connectTimeoutMs / 1000);
    return badInput(
      r.ok || r.status !== undefined
        ? `${url} answers but has no stream (${reason} for ${s} s): give a server root (http://host:5000) or a playlist URL`
        : `no stream at ${url}: ${reason} for ${s} s (is the server up? raise --connect-timeout to wait longer)`,
    );
  }

  /**
   * Delivers segments until shouldStop() is true ("stopped"), the stream ends ("ended") or it cannot be measured
   * further ("failed", after a fatal event: see failure).
   */
  async run(onSegment: (s: SegmentArrival) => Promise<void>, shouldStop: () => boolean): Promise<SourceOutcome> {
    // Each segment is asked for the moment a poll lists it, while the polls go on: a slow body then delays only its
    // own frames, not the request for the next segment (fetched one after another, a body held 900 ms made the
    // segments after it arrive up to 630 ms later than their server let them).
    const pipe = new OrderedPipeline(SEGMENTS_IN_FLIGHT);
    const end = async (outcome: SourceOutcome) => {
      await pipe.flush();
      return this.fatalEvent ? "failed" : outcome;
    };
    let backoffMs = this.o.pollMs;
    while (!shouldStop() && !this.fatalEvent) {
      const polledAt = this.o.now();
      const { fetched: r, playlist, reason } = await fetchMediaPlaylist(this.o.fetch, this.playlistUrl, {
        timeoutMs: this.o.requestTimeoutMs,
        maxBytes: this.maxPlaylistBytes,
      }, this.parses);
      if (!r.ok && r.tooLarge && !this.playlistLimitReported) {
        this.playlistLimitReported = true;
        this.o.onEvent({ kind: "limit", atMs: this.o.now(), detail: `playlist ${this.playlistUrl}: ${r.reason}` });
      }
      if (!playlist) {
        this.schedule.failed();
        if (this.noteFailure(reason)) return end("failed");
        await this.o.sleep(backoffMs);
        backoffMs = Math.min(2000, backoffMs * 2);
        continue;
      }
      const baseUrl = r.ok ? r.url : this.playlistUrl;
      backoffMs = this.o.pollMs;
      this.noteSuccess();
      this.noteWarnings(playlist.warnings);
      const fresh = this.newSegments(playlist);
      this.schedulePolls(polledAt, r.ok && r.mayBeCached === true, playlist);
      for (const seg of fresh) {
        if (shouldStop() || this.fatalEvent) return end("stopped");
        if (seg.encryption) {
          this.fail({
            kind: "unmeasurable",
            atMs: this.o.now(),
            detail: `encrypted (METHOD=${seg.encryption}): segment ${seg.sequence} cannot be decoded without its key`,
          });
          return end("failed");
        }
        // What is known when it is asked for: the numbering moves on now (the next poll must not ask again), the
        // playlist is not stale (it listed something new), and a gap or discontinuity noted so far goes with it.
        this.lastSequence = seg.sequence;
        this.lastNewAtMs = this.o.now();
        this.staleReported = false;
        const requested: RequestedSegment = {
          seg,
          baseUrl,
          requestedAtMs: this.o.now(),
          discontinuity: this.pendingDiscontinuity || seg.discontinuity,
          afterGap: this.lostBefore,
          targetDurationS: playlist.targetDurationS,
        };
        this.pendingDiscontinuity = false;
        this.lostBefore = false;
        const fetched = this.fetchSegment(seg, baseUrl).then((b) => ({ b, arrivedAtMs: this.o.now() }));
        await pipe.add(fetched, ({ b, arrivedAtMs }) => this.deliver(requested, b, arrivedAtMs, onSegment));
      }
      if (playlist.endList && this.lastSequence === playlist.segments.at(-1)?.sequence) return end("ended");
      this.checkStale(playlist);
      await this.waitUntil(this.schedule.nextPollAtMs(polledAt, this.o.now()), shouldStop);
    }
    return end("stopped");
  }

  /**
   * A fetched segment, in the order asked for: its events, its frames read, handed on. A segment lost (not had, not
   * readable) marks the next one handed on as after a gap, and carries its discontinuity to it.
   */
  private async deliver(r: RequestedSegment, b: Fetched<Uint8Array>, arrivedAtMs: number, onSegment: (s: SegmentArrival) => Promise<void>): Promise<void> {
    if (this.fatalEvent) return;
    const { seg, requestedAtMs } = r;
    const lost = () => {
      this.deliveredGap = true;
      this.carriedDiscontinuity ||= r.discontinuity;
    };
    if (!b.ok) {
      this.o.onEvent(
        b.tooLarge
          ? { kind: "limit", atMs: requestedAtMs, detail: `segment ${seg.sequence} (${seg.uri}) skipped: ${b.reason}` }
          : { kind: "segment-missing", atMs: requestedAtMs, detail: `segment ${seg.sequence} (${seg.uri}): ${b.reason}` },
      );
      lost();
      return;
    }
    const fetchMs = arrivedAtMs - requestedAtMs;
    if (fetchMs > seg.durationS * 1000) {
      // Fetching took longer than playing it will: a player would drain its buffer on this segment.
      this.o.onEvent({
        kind: "slow-segment",
        atMs: arrivedAtMs,
        durationMs: fetchMs,
        detail: `segment ${seg.sequence} took ${(fetchMs / 1000).toFixed(2)} s to fetch and plays ${seg.durationS.toFixed(2)} s: rebuffer risk`,
      });
    }
    if (r.targetDurationS > 0 && Math.round(seg.durationS) > r.targetDurationS) {
      this.o.onEvent({
        kind: "target-duration",
        atMs: arrivedAtMs,
        detail: `segment ${seg.sequence} lasts ${seg.durationS.toFixed(3)} s, over the playlist's target duration of ${r.targetDurationS} s`,
      });
    }
    // A discontinuity carried from a lost segment is this one's: its init section may have been rewritten too.
    const discontinuity = r.discontinuity || this.carriedDiscontinuity;
    const scan = await this.scan(seg, b.value, r.baseUrl, discontinuity);
    if (typeof scan === "string") {
      this.fail({ kind: "unmeasurable", atMs: arrivedAtMs, detail: scan });
      return;
    }
    if (scan === null) {
      lost();
      return;
    }
    if (scan.frames === 0 && !this.emptyReported) {
      // Said once: garbage (or a container vat does not read) on every segment would otherwise pass in silence.
      this.emptyReported = true;
      this.o.onEvent({
        kind: "bad-value",
        atMs: arrivedAtMs,
        detail: seg.init
          ? `segment ${seg.sequence} (${seg.uri}, ${b.value.length} bytes) holds no frame of the video track: not fMP4 media, or garbage`
          : `segment ${seg.sequence} (${seg.uri}, ${b.value.length} bytes) holds no MPEG-TS video frame: not a transport stream, or garbage`,
      });
    }
    const afterGap = r.afterGap || this.deliveredGap;
    this.deliveredGap = false;
    this.carriedDiscontinuity = false;
    await onSegment({
      sequence: seg.sequence,
      uri: seg.uri,
      bytes: scan.bytes,
      deliveredBytes: b.value.length,
      ...(afterGap ? { afterGap } : {}),
      requestedAtMs,
      arrivedAtMs,
      durationS: seg.durationS,
      frames: scan.frames,
      firstFrameEnd: scan.firstFrameEnd,
      ...("frameEnds" in scan ? { frameEnds: scan.frameEnds } : {}),
      ...("framePtsMs" in scan && scan.framePtsMs ? { framePtsMs: scan.framePtsMs } : {}),
      ...("format" in scan ? { format: scan.format } : {}),
      discontinuity,
      discontinuitySequence: seg.discontinuitySequence,
      programDateTimeMs: seg.programDateTimeMs ?? null,
      ptsOffsetsMs: scan.ptsOffsetsMs,
    });
  }

  /** Tells the poll schedule what the answer to the poll started at polledAt listed, and says what a pause may have delayed. */
  private schedulePolls(polledAt: number, mayBeCached: boolean, playlist: MediaPlaylist): void {
    if (mayBeCached) this.schedule.keepCadence();
    // An older copy set aside says nothing of what the origin lists now; and it shows a cache or a lagging edge in
    // the way, which a pause could make later still.
    if (this.answeredOlderCopy) {
      this.schedule.failed();
      this.schedule.keepCadence();
      return;
    }
    const early = this.schedule.listed(polledAt, playlist.segments);
    if (!early) return;
    const late = Math.round(early.lateByMs);
    this.o.onEvent({
      kind: "early-segment",
      atMs: this.o.now(),
      durationMs: early.lateByMs,
      detail: early.failedPollsToo
        ? `segment ${early.sequence} came while the playlist's polls paused or failed after the pause: it may have been seen up to ${late} ms late`
        : `segment ${early.sequence} came while the playlist's polls paused, sooner than the segments before it said: ` +
          `it may have been seen up to ${late} ms late; the polls keep --poll from now on`,
    });
  }

  /**
   * Sleeps until atMs, or until shouldStop() is true (looked at least every STOP_CHECK_MS). The clock is read again
   * after each sleep, so timers that fire late do not add up over a long pause.
   */
  private async waitUntil(atMs: number, shouldStop: () => boolean): Promise<void> {
    for (let left = atMs - this.o.now(); left > 0 && !shouldStop(); left = atMs - this.o.now()) {
      await this.o.sleep(Math.min(left, STOP_CHECK_MS));
    }
  }

  /**
   * A segment's frames and its bytes for the decoder: MPEG-TS as it is; fMP4 through its init section's track (the
   * video as an elementary stream). A string says why the stream cannot be measured; null: this segment is unreadable
   * (an event says why) and its frames count as dropped.
   */
  private async scan(seg: PlaylistSegment, bytes: Uint8Array, baseUrl: string, afterDiscontinuity: boolean) {
    if (!seg.init) {
      if (this.inits.track) return "the stream changed from fMP4 to MPEG-TS segments";
      // H.264/HEVC goes to the decoder as its elementary stream: an MPEG-TS demuxer holds a segment's last frame.
      const { scan, es } = segmentElementaryStream(bytes);
      return es
        ? { ...scan, frames: es.frames, bytes: es.bytes, firstFrameEnd: es.firstFrameEnd, frameEnds: es.frameEnds, ...(es.framePtsMs ? { framePtsMs: es.framePtsMs } : {}), format: es.format }
        : { bytes, ...scan, format: "mpegts" as const };
    }
    const unmeasurable = await this.openInit(seg, baseUrl, afterDiscontinuity);
    if (unmeasurable) return unmeasurable;
    try {
      const m = this.inits.track!.media(bytes);
      return { bytes: m.bytes, frames: m.frames, firstFrameEnd: m.firstFrameEnd, frameEnds: m.frameEnds, framePtsMs: m.framePtsMs, ptsOffsetsMs: m.ptsOffsetsMs };
    } catch (err) {
      if (!(err instanceof Mp4Error)) throw err;
      this.o.onEvent({ kind: "segment-missing", atMs: this.o.now(), detail: `segment ${seg.sequence} (${seg.uri}) cannot be read: ${err.message}` });
      return null;
    }
  }

  /**
   * Fetches and opens the init section (EXT-X-MAP) a segment names, once per distinct one and again after a
   * discontinuity (client/init-sections.ts); why it cannot be measured.
   */
  private async openInit(seg: Pick<PlaylistSegment, "init">, baseUrl: string, afterDiscontinuity = false): Promise<string | null> {
    const opened = await this.inits.open(seg.init!, baseUrl, afterDiscontinuity);
    return "unmeasurable" in opened ? opened.unmeasurable : null;
  }

  /**
   * A failed fetch is tried again (a reused connection can be closed under it); only a segment that stays unavailable
   * is given up, and its frames then count as dropped. What asking again cannot change (gone, too large, a URI that
   * is refused) is not asked again.
   */
  private async fetchSegment(seg: PlaylistSegment, baseUrl: string): Promise<Fetched<Uint8Array>> {
    const target = resolveRemoteUri(seg.uri, baseUrl);
    if (!target.ok) return { ok: false, reason: target.reason, refused: true };
    const limits = {
      timeoutMs: this.o.requestTimeoutMs,
      maxBytes: this.o.maxSegmentBytes ?? DEFAULT_MAX_SEGMENT_BYTES,
      ...(seg.byteRange ? { range: seg.byteRange } : {}),
    };
    let b = await fetchBytes(this.o.fetch, target.url, limits);
    for (let attempt = 1; !b.ok && attempt < SEGMENT_ATTEMPTS && b.status !== 404 && !b.tooLarge && !b.refused; attempt++) {
      await this.o.sleep(100 * attempt);
      b = await fetchBytes(this.o.fetch, target.url, limits);
    }
    return b;
  }

  /** Segments not yet fetched: at first only the newest (the live edge), then everything after the last one. */
  private newSegments(p: MediaPlaylist): PlaylistSegment[] {
    this.answeredOlderCopy = false;
    const segs = p.segments;
    if (segs.length === 0) return [];
    const newest = segs.at(-1)!.sequence;
    const afterOutage = this.backFromOutage;
    this.backFromOutage = false;
    if (this.lastSequence !== null && newest < this.lastSequence && !afterOutage && this.isOlderCopy(p)) {
      // A server (or a CDN edge) answering with an older copy of the playlist is not a new stream: hls.js counts a
      // reload whose last sequence did not advance as a miss (LevelDetails.reloaded) and keeps the segments it has.
      // The copy is ignored; noted once, counted after that.
      this.answeredOlderCopy = true;
      if (this.olderCopies++ === 0) {
        this.o.onEvent({
          kind: "stale-playlist",
          atMs: this.o.now(),
          detail:
            `the server answered an older copy of the playlist (media sequence back from ${this.lastSequence} to ${newest}, ` +
            "same segments): ignored, as any further ones will be",
        });
      }
      return [];
    }
    this.listed = new Map(segs.map((s) => [s.sequence, { uri: withoutQuery(s.uri), programDateTimeMs: s.programDateTimeMs }]));
    this.listedDiscontinuitySequence = p.discontinuitySequence;
    if (this.lastSequence === null) return p.endList ? segs : segs.slice(-1);
    if (newest < this.lastSequence) {
      this.o.onEvent({
        kind: "stream-restart",
        atMs: this.o.now(),
        detail: `media sequence went back from ${this.lastSequence} to ${newest}`,
      });
      this.pendingDiscontinuity = true;
      return segs.slice(-1);
    }
    const fresh = segs.filter((s) => s.sequence > this.lastSequence!);
    const first = fresh[0];
    if (first && first.sequence > this.lastSequence + 1) {
      this.o.onEvent({
        kind: "skipped-segments",
        atMs: this.o.now(),
        detail: `segments ${this.lastSequence + 1}-${first.sequence - 1} left the playlist before they were fetched`,
      });
      this.lostBefore = true;
    }
    return fresh;
  }

  /**
   * An older copy lists, at some media sequence, the very URI the last playlist taken listed there (its query aside:
   * CDNs sign each answer anew) with the same date, and no later discontinuity. A restarted stream does not: its
   * numbering started over with new segments, or under the same names (a packager that names by number) made at
   * other times, or it says so with a new discontinuity. Going back right after an outage is taken as a restart.
   */
  private isOlderCopy(p: MediaPlaylist): boolean {
    if (p.discontinuitySequence > this.listedDiscontinuitySequence) return false;
    return p.segments.some((s) => {
      const before = this.listed.get(s.sequence);
      return before?.uri === withoutQuery(s.uri) && before.programDateTimeMs === s.programDateTimeMs;
    });
  }

  /** Each kind of mended value once per run: a broken packager repeats it on every segment and every poll. */
  noteWarnings(warnings: readonly PlaylistWarning[]): void {
    for (const w of warnings) {
      if (this.warned.has(w.code)) continue;
      this.warned.add(w.code);
      this.o.onEvent({ kind: "bad-value", atMs: this.o.now(), detail: w.detail });
    }
  }

  private fail(e: SourceEvent): void {
    this.fatalEvent = { ...e, fatal: true };
    this.o.onEvent(this.fatalEvent);
  }

  /** Notes a failed poll; true when the outage has lasted past maxOutageMs and the source gives up (a fatal event). */
  private noteFailure(reason: string): boolean {
    return this.outage.failure(reason, this.o.now());
  }

  private noteSuccess(): void {
    this.playlistLimitReported = false;
    if (!this.outage.success(this.o.now())) return;
    this.pendingDiscontinuity = true;
    this.backFromOutage = true;
  }

  private checkStale(p: MediaPlaylist): void {
    if (this.lastNewAtMs === null || this.staleReported) return;
    const limit = Math.max(3, 3 * (p.targetDurationS || 1)) * 1000;
    const age = this.o.now() - this.lastNewAtMs;
    if (age > limit) {
      this.staleReported = true;
      this.o.onEvent({ kind: "stale-playlist", atMs: this.o.now(), detail: `no new segment for ${(age / 1000).toFixed(1)} s` });
    }
  }
}

/**
 * The last playlist text a source was answered and its parse. Most polls of a live playlist bring the same text as
 * the one before (at 1 s segments and 50 ms polls, all but one in twenty), and parsing it again was most of a poll's
 * cost. The parse is only read, never changed.
 */
export class PlaylistParses {
  private text: string | null = null;
  private parsed: MediaPlaylist | null = null;

  parse(text: string): MediaPlaylist {
    if (text === this.text && this.parsed) return this.parsed;
    const parsed = parseMediaPlaylist(text);
    this.text = text;
    this.parsed = parsed;
    return parsed;
  }
}

/** A media playlist fetched and parsed: null with the reason when it could not be had or is no playlist. */
export async function fetchMediaPlaylist(
  fetchFn: Fetch,
  url: string,
  limits: FetchLimits,
  parses: PlaylistParses = new PlaylistParses(),
): Promise<{ fetched: Fetched<string>; playlist: MediaPlaylist | null; reason: string }> {
  const fetched = await fetchText(fetchFn, url, limits);
  if (!fetched.ok) return { fetched, playlist: null, reason: fetched.reason };
  try {
    return { fetched, playlist: parses.parse(fetched.value), reason: "" };
  } catch (err) {
    if (!(err instanceof PlaylistError)) throw err;
    return { fetched, playlist: null, reason: `answer is not a playlist (${err.message})` };
  }
}

function withoutQuery(uri: string): string {
  const q = uri.search(/[?#]/);
  return q < 0 ? uri : uri.slice(0, q);
}
