import { findManifest, DEFAULT_MANIFEST_PATH, type ClockReading } from "./server-info.ts";
import { periodAt } from "../dash/addressing.ts";
import { parseMpd } from "../dash/mpd.ts";
import { parseMultivariantPlaylist, variantRenditions } from "../hls/playlist.ts";
import { failed, unavailable } from "../errors.ts";
import { DashSource, videoRepresentations } from "./dash-source.ts";
import { HlsSource, type HlsSourceOptions, type SegmentArrival } from "./hls-source.ts";
import type { StreamEvent } from "./events.ts";
import type { DecoderInput, PipeFormat } from "./decoder.ts";
import { byBandwidth, type Rendition, type VariantChoice } from "./variants.ts";
import { fetchText, type Fetch } from "./http.ts";
import type { DeliveryLog } from "./delivery.ts";
import { LlHlsSource } from "./ll-hls-source.ts";

/**
 * A piece of media as it arrived, with what the timeline needs to place its frames. Sources differ in how they get
 * media (HLS segments, fMP4 fragments after an init section, LL-HLS parts, DASH segments and chunks, RTP packets);
 * everything after the source sees only this.
 */
export interface MediaUnit {
  /** The source's own numbering (HLS media sequence, DASH segment number). */
  sequence: number;
  /** Client clock when the unit's last byte arrived. */
  arrivedAtMs: number;
  /** Per-frame arrival, client clock, in decode order, when the source saw each frame's bytes arrive (chunked bodies). */
  frameArrivalsMs?: number[];
  /** Bytes for the decoder: what its input format reads (MPEG-TS, or the video as an H.264/HEVC elementary stream). */
  bytes: Uint8Array;
  /** The unit's size as delivered (the segment's, part's or chunked segment's body, audio and boxes included): its bitrate. */
  deliveredBytes: number;
  /**
   * What the bytes are, when not the source's input format: an MPEG-TS segment handed over as its video's elementary
   * stream (known only once a segment has been read). The decoder starts over when it changes.
   */
  format?: PipeFormat;
  /** Video frames in the unit, counted by the source's own parser; 0 when it cannot tell. */
  frames: number;
  /**
   * An elementary stream's (format h264 or hevc): where each of its `frames` frames ends in `bytes`, decode order
   * (the decoder is given a block a frame: client/feeder.ts).
   */
  frameEnds?: number[];
  /**
   * An elementary stream's: each frame's presentation time on the stream's own clock (ms; PTS, or the fMP4 track's
   * times), decode order; absent when a frame has none. The decoder is given each frame timed so (client/feeder.ts).
   */
  framePtsMs?: number[];
  /** Bytes of the unit's head holding its tables and first (key) frame: decoder filler (client/feeder.ts). */
  firstFrameEnd: number;
  /**
   * The next unit may go on with this one's group of pictures (an LL-HLS part): no filler follows it when it is read as
   * MPEG-TS, since copies of its first frame would stand where the next frame's references are (client/feeder.ts).
   */
  continuesGroup?: boolean;
  /** The stream started over (new instance, back after an outage, the source says so): decoding starts clean. */
  discontinuity: boolean;
  /**
   * Media just before this unit was lost (a segment or part the source could not get, or one that left the playlist
   * before it was fetched): frames that refer to the lost ones cannot be decoded as they were sent, so decoding
   * starts over at the next unit that begins with a keyframe (client/decoding.ts).
   */
  afterGap?: boolean;
  /** The source's discontinuity number of the unit (a prerecorded stream's loop). */
  discontinuitySequence: number;
  /** Wall-clock time of the unit's first frame, when the source gives it (EXT-X-PROGRAM-DATE-TIME). */
  programDateTimeMs: number | null;
  /** Frame presentation times after the unit's earliest, in decode order (empty when unknown). */
  ptsOffsetsMs: number[];
  /** How long the unit plays. */
  durationS: number;
  /**
   * The unit was already whole when the stream was joined, and the source says so (an LL-HLS part the playlist it
   * joined on listed, fetched at once to catch up): its frames arrived at the moment of joining, not when delivered.
   * Other sources leave it unset; a run's join segment is known from its stamps (client/comparison.ts joinMarks).
   */
  atJoin?: boolean;
}

export type SourceOutcome = "stopped" | "ended" | "failed";

/** The stream's format, as its source found it when it connected: stored with the run. */
export interface StreamFacts {
  /** hls, dash, or the scheme of a URL ffmpeg reads (rtmp, srt, file…). */
  protocol: string | null;
  /** mpegts or fmp4; null when ffmpeg reads the URL itself. */
  container: string | null;
  /** As the manifest declares them (CODECS, @codecs), else the init segment's sample entry. */
  codecs: string | null;
  /** The rendition measured, as WxH. */
  rendition: string | null;
  declaredBandwidthBps: number | null;
  /** The target duration (HLS) or the segment duration (DASH). */
  segmentDurationS: number | null;
}

export const UNKNOWN_FACTS: StreamFacts = {
  protocol: null, container: null, codecs: null, rendition: null, declaredBandwidthBps: null, segmentDurationS: null,
};

/** Where the decoder reads from: media the source hands over on a pipe, or a URL the decoder opens itself. */
export type SourceInput = DecoderInput;

export interface Source {
  /** What is measured (a playlist after a master was followed, or the URL itself). */
  readonly url: string;
  /** A vat server root that may answer /params and /time; null when the source is not HTTP. */
  readonly root: string | null;
  /** Known after connect(): what the decoder reads. */
  readonly input: SourceInput;
  /**
   * The server clock's offset, when the source measured it itself while connecting (DASH: UTCTiming); undefined when
   * the session should ask the server root's /time.
   */
  readonly clock?: ClockReading;
  /** First contact: throws a VatError when the stream cannot be had at all. */
  connect(): Promise<void>;
  /** Known after connect(). */
  readonly facts: StreamFacts;
  /** A low-latency stream's delivery (parts, blocking reloads), known after connect(); none for other streams. */
  readonly delivery?: DeliveryLog | null;
  /** Hands over media in arrival order until shouldStop() or the end of the stream. */
  run(onMedia: (m: MediaUnit) => Promise<void>, shouldStop: () => boolean): Promise<SourceOutcome>;
}

export interface SourceDeps {
  fetch: Fetch;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  onEvent: (e: StreamEvent) => void;
  cancelled: () => string | null;
}

export interface SourceSettings {
  pollMs: number;
  clockSync: boolean;
  variant: VariantChoice;
  /** A playlist or MPD larger than this is a failed poll; a segment larger than this is skipped (a limit event). */
  maxPlaylistBytes: number;
  maxSegmentBytes: number;
  connectTimeoutMs: number;
  maxOutageMs: number;
}

/**
 * Which URLs the client reads as HLS itself: a server root (vat's playlist path) or a .m3u8 playlist. Everything else
 * (files, rtmp://, srt://, http URLs of other media) goes to ffmpeg. Returns the playlist URL, or null. Pure.
 */
export function playlistUrlFor(url: string): string | null {
  if (!/^https?:\/\//i.test(url)) return null;
  const u = new URL(url);
  if (isServerRoot(url)) return new URL(DEFAULT_MANIFEST_PATH, u).href;
  return /\.m3u8$/i.test(u.pathname) ? u.href : null;
}

/** An http(s) URL naming a server, not a stream: the stream is what its /params names. Pure. */
export function isServerRoot(url: string): boolean {
  if (!/^https?:\/\//i.test(url)) return false;
  const { pathname } = new URL(url);
  return pathname === "/" || pathname === "";
}

function isMpd(url: string): boolean {
  return /^https?:\/\//i.test(url) && /\.mpd$/i.test(new URL(url).pathname);
}

/**
 * The renditions of a ladder at `url`, lowest bandwidth first (for --variant all); null for a stream that is not a
 * ladder vat reads itself.
 */
export async function listRenditions(given: string, fetchFn: Fetch): Promise<Rendition[] | null> {
  const url = isServerRoot(given) ? await findManifest(fetchFn, given) : given;
  const playlist = playlistUrlFor(url);
  if (playlist) {
    const r = await fetchText(fetchFn, playlist, 5000);
    if (!r.ok) throw unavailable(`cannot read the ladder at ${playlist}: ${r.reason}`);
    const m = parseMultivariantPlaylist(r.value);
    return m ? byBandwidth(variantRenditions(m.variants)) : null;
  }
  if (isMpd(url)) {
    const r = await fetchText(fetchFn, url, 5000);
    if (!r.ok) throw unavailable(`cannot read the ladder at ${url}: ${r.reason}`);
    try {
      const mpd = parseMpd(r.value, url);
      return byBandwidth(videoRepresentations(periodAt(mpd, Date.now())));
    } catch (err) {
      throw failed(`${url} answers but is not a DASH stream vat can read: ${(err as Error).message}`);
    }
  }
  return null;
}

/** The source for a URL the user named. */
export function openSource(url: string, s: SourceSettings, deps: SourceDeps): Source {
  if (isServerRoot(url)) return new ServerRootSource(url, s, deps);
  return openStream(url, s, deps);
}

function openStream(url: string, s: SourceSettings, deps: SourceDeps): Source {
  if (isMpd(url)) return new DashSource(url, s, deps);
  const playlist = playlistUrlFor(url);
  return playlist ? new HlsMediaSource(playlist, s, deps) : new DecoderUrlSource(url, deps);
}

/** A server root: on connect, the stream its /params names (HLS, LL-HLS, DASH or LL-DASH), read by that stream's source. */
class ServerRootSource implements Source {
  private inner: Source | null = null;

  constructor(
    private readonly given: string,
    private readonly s: SourceSettings,
    private readonly deps: SourceDeps,
  ) {}

  private get stream(): Source {
    if (!this.inner) throw new Error("the server's stream is known only after connect()");
    return this.inner;
  }

  get url(): string {
    return this.inner?.url ?? this.given;
  }

  get root(): string {
    return new URL("/", this.given).href;
  }

  get input(): SourceInput {
    return this.stream.input;
  }

  get clock(): ClockReading | undefined {
    return this.inner?.clock;
  }

  get facts(): StreamFacts {
    return this.stream.facts;
  }

  get delivery(): DeliveryLog | null {
    return this.inner?.delivery ?? null;
  }

  async connect(): Promise<void> {
    const url = await findManifest(this.deps.fetch, this.root);
    this.inner = openStream(url, this.s, this.deps);
    await this.inner.connect();
  }

  run(onMedia: (m: MediaUnit) => Promise<void>, shouldStop: () => boolean): Promise<SourceOutcome> {
    return this.stream.run(onMedia, shouldStop);
  }
}

/**
 * HLS fetched by vat itself (client/hls-source.ts): arrival stamped per segment; a low-latency playlist (parts, fMP4)
 * is then followed part by part (client/ll-hls-source.ts), each frame stamped as its bytes arrive.
 */
class HlsMediaSource implements Source {
  private readonly hls: HlsSource;
  private readonly options: HlsSourceOptions;
  private ll: LlHlsSource | null = null;

  constructor(playlistUrl: string, s: SourceSettings, deps: SourceDeps) {
    this.options = {
      fetch: deps.fetch,
      now: deps.now,
      sleep: deps.sleep,
      pollMs: s.pollMs,
      requestTimeoutMs: 5000,
      connectTimeoutMs: s.connectTimeoutMs,
      maxOutageMs: s.maxOutageMs,
      onEvent: deps.onEvent,
      cancelled: deps.cancelled,
      variant: s.variant,
      maxPlaylistBytes: s.maxPlaylistBytes,
      maxSegmentBytes: s.maxSegmentBytes,
    };
    this.hls = new HlsSource(playlistUrl, this.options);
  }

  get url(): string {
    return this.hls.url;
  }

  get delivery(): DeliveryLog | null {
    return this.ll?.delivery ?? null;
  }

  get input(): SourceInput {
    return this.hls.input;
  }

  get facts(): StreamFacts {
    return this.ll ? { ...this.hls.facts, protocol: "ll-hls" } : this.hls.facts;
  }

  get root(): string {
    return new URL("/", this.hls.url).href;
  }

  async connect(): Promise<void> {
    const playlist = await this.hls.connect();
    const track = this.hls.fmp4Track;
    // Parts in MPEG-TS are read as plain HLS: frames of a transport stream cannot be told apart as its bytes come.
    if (playlist.partTargetS !== null && track && !playlist.endList) {
      this.ll = new LlHlsSource(this.hls.url, playlist, track, this.options, (w) => this.hls.noteWarnings(w), this.hls.fmp4InitBytes);
    }
  }

  async run(onMedia: (m: MediaUnit) => Promise<void>, shouldStop: () => boolean): Promise<SourceOutcome> {
    if (this.ll) return await this.ll.run((part: SegmentArrival) => onMedia(part), shouldStop);
    return await this.hls.run((seg: SegmentArrival) => onMedia(seg), shouldStop);
  }
}

/**
 * Anything ffmpeg reads (a file, rtmp://, srt://, other HTTP media): the decoder opens the URL itself, so frames are
 * stamped when decoded. run() only waits; the session ends it when the decoder ends.
 */
class DecoderUrlSource implements Source {
  readonly root = null;
  readonly input: SourceInput;
  readonly facts: StreamFacts;

  constructor(
    readonly url: string,
    private readonly deps: SourceDeps,
  ) {
    this.input = { kind: "url", url };
    this.facts = { ...UNKNOWN_FACTS, protocol: /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase() ?? "file" };
  }

  async connect(): Promise<void> {}

  async run(_onMedia: (m: MediaUnit) => Promise<void>, shouldStop: () => boolean): Promise<SourceOutcome> {
    while (!shouldStop()) await this.deps.sleep(50);
    return "stopped";
  }
}
