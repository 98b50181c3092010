import { resolveRemoteUri, type MediaInit, type MediaPlaylist, type PlaylistPart } from "../hls/playlist.ts";
import { DeliveryLog } from "./delivery.ts";
import type { SourceEvent } from "./events.ts";
import type { Fmp4Track } from "./fmp4-track.ts";
import {
  DEFAULT_MAX_PLAYLIST_BYTES, DEFAULT_MAX_SEGMENT_BYTES, fetchMediaPlaylist, type HlsSourceOptions, type SegmentArrival, type SourceOutcome,
} from "./hls-source.ts";
import { edgeInit, InitSections } from "./init-sections.ts";
import { isAfter, joinPart, lastListedPart, partAfter, partAvailableAtMs, partStep, reached, reloadUrl, type PartAddress } from "./ll-hls-plan.ts";
import { OrderedPipeline } from "./ordered-pipeline.ts";
import { OutageTracker } from "./outage.ts";
import { fetchStreamed, type StreamedResult } from "./streamed-body.ts";

/** A blocking reload may be held by the server up to three target durations (RFC 8216bis 6.2.5.2); then it failed. */
const BLOCKING_TARGETS = 3;
/** Parts whose requests may be open at once (the hinted one, and listed ones still arriving behind a slow body). */
const MAX_PARTS_IN_FLIGHT = 8;
/** Asked again after an answer that came early, so that a server that never blocks is polled, not hammered. */
const EARLY_PAUSE_PARTS = 0.25;

/**
 * LL-HLS (RFC 8216bis): after the HLS source connected to a playlist with parts and fMP4 (client/hls-source.ts),
 * follows the live edge part by part. Each part is asked for the moment the playlist hints it (its request is open
 * while the server writes it) together with the blocking reload that will list it; each frame is stamped when its
 * own bytes arrive. A server that answers blocking reloads early is noted (DeliveryLog.earlyReloads, one event) and
 * polled; its figures stay right, since parts are still stamped as their bytes come.
 */
export class LlHlsSource {
  readonly delivery = new DeliveryLog();
  private readonly outage: OutageTracker;
  private last: PartAddress | null = null;
  private pendingDiscontinuity = false;
  /** A part was lost since the last one handed on (MediaUnit.afterGap). */
  private lostBefore = false;
  private earlyReported = false;
  private joined = false;
  /** Rejoins after an outage: a wait for a part of the stream before is given up. */
  private joins = 0;
  /** The newest part the playlist joined on listed: it and the parts before it were whole at the join. */
  private joinEdge: PartAddress | null = null;
  private fatalEvent: SourceEvent | null = null;
  /** The init sections parts name (a new one after an encoder restart or a splice), each opened once. */
  private readonly inits: InitSections;
  /** The track the last part handed on was read with: a part read with another starts the decoder over. */
  private handedTrack: Fmp4Track;

  constructor(
    private playlistUrl: string,
    private playlist: MediaPlaylist,
    track: Fmp4Track,
    private readonly o: HlsSourceOptions,
    /** Values of a playlist that were mended: reported as the HLS source reports them (once per kind). */
    private readonly noteWarnings: (w: MediaPlaylist["warnings"]) => void,
    /** The bytes `track` was opened from: an init section fetched again after a discontinuity is compared with them. */
    initBytes: Uint8Array | null = null,
  ) {
    this.outage = new OutageTracker(o.maxOutageMs, (e) => (e.fatal ? this.fail(e) : o.onEvent(e)));
    this.delivery.partDurationS = playlist.partTargetS;
    const holdBackS = playlist.serverControl?.partHoldBackS;
    this.delivery.advertisedLatencyMs = holdBackS != null ? holdBackS * 1000 : null;
    this.inits = new InitSections({ ...o, maxBytes: o.maxPlaylistBytes ?? DEFAULT_MAX_PLAYLIST_BYTES });
    const init = edgeInit(playlist);
    if (init) this.inits.adopt(init, playlistUrl, track, initBytes);
    this.handedTrack = track;
  }

  private get partTargetMs(): number {
    return (this.playlist.partTargetS ?? 0.2) * 1000;
  }

  async run(onPart: (s: SegmentArrival) => Promise<void>, shouldStop: () => boolean): Promise<SourceOutcome> {
    // The playlist connect() read is as old as the session's start-up (clock, code reader): join on a fresh one.
    if (!(await this.reload(null))) return "failed";
    const pipe = new OrderedPipeline(MAX_PARTS_IN_FLIGHT);
    const queue = (part: PlaylistPart, track: Fmp4Track, body: Promise<StreamedResult>) => {
      const atJoin = this.joinEdge !== null && !isAfter({ msn: part.msn, part: part.index }, this.joinEdge);
      return pipe.add(body, (b) => this.deliver(part, track, b, onPart, atJoin));
    };
    // A gap in its turn among the parts still arriving: it is the next part handed on that follows it.
    const gap = (part: PlaylistPart) => pipe.add(Promise.resolve(), async () => this.skipped(part));
    try {
      while (!shouldStop()) {
        if (this.fatalEvent) return "failed";
        const want = this.wanted();
        const step = partStep(this.playlist, want);
        if (step.kind === "reload") {
          if (!(await this.reload(want))) return "failed";
          continue;
        }
        if (step.kind === "listed") {
          this.last = want;
          if (step.part.gap) {
            this.o.onEvent({ kind: "segment-missing", atMs: this.o.now(), detail: `part ${want.msn}.${want.part} is a gap (GAP=YES)` });
            await gap(step.part);
            continue;
          }
          const track = await this.trackFor(step.part.map, step.part.discontinuity || this.pendingDiscontinuity);
          if (!track) return "failed";
          await queue(step.part, track, this.fetchPart(step.part.uri, step.part.byteRange ?? null, track));
          continue;
        }
        // Hinted: the part's request is open while the server writes it; the reload that lists it runs alongside. It
        // belongs to the segment being written, whose init section is the one in force at the end of the playlist.
        const hintTrack = await this.trackFor(this.playlist.map);
        if (!hintTrack) return "failed";
        const body = this.fetchPart(step.uri, step.range, hintTrack);
        const joins = this.joins;
        if (!(await this.reload(want))) return "failed";
        const part = await this.listedPart(want, () => shouldStop() || this.joins !== joins);
        // Back from an outage on a stream that started over: the part of the old one is not waited for.
        if (this.joins !== joins) continue;
        this.last = want;
        if (part?.gap) await gap(part);
        else if (part) {
          const track = await this.trackFor(part.map, part.discontinuity || this.pendingDiscontinuity);
          if (!track) return "failed";
          // A server that would not stream the hinted part (or listed it under another init section than the one it
          // was read with): it is fetched now that it is whole.
          const again = () => this.fetchPart(part.uri, part.byteRange ?? null, track);
          await queue(part, track, track === hintTrack ? body.then(async (b) => (b.ok ? b : await again())) : again());
        }
        if (this.playlist.endList && partStep(this.playlist, partAfter(this.playlist, want)).kind === "reload") return "ended";
      }
      return "stopped";
    } finally {
      await pipe.flush();
    }
  }

  /** The next part to have: after the last one, or where to join (asked again of each playlist until one is had). */
  private wanted(): PartAddress {
    if (this.last !== null) return partAfter(this.playlist, this.last);
    this.joinEdge = lastListedPart(this.playlist);
    const join = joinPart(this.playlist);
    return join.kind === "wait" ? join.want : { msn: join.part.msn, part: join.part.index };
  }

  private describe(): string {
    const sc = this.playlist.serverControl;
    return `parts of ${this.partTargetMs} ms, PART-HOLD-BACK ${sc?.partHoldBackS ?? "-"} s, blocking reload ${sc?.canBlockReload ? "yes" : "no"}` +
      `, delta updates ${sc?.canSkipUntilS ? "yes" : "no"}`;
  }

  /**
   * Asks for the playlist that lists `want` (blocking, where the server offers it); false when the stream is given
   * up (a fatal outage). A failure is an outage poll; an answer that came early is noted, and a pause follows it.
   */
  private async reload(want: PartAddress | null): Promise<boolean> {
    const sentMs = this.o.now();
    // During an outage the playlist is asked for as it is: the part wanted may never come (a server that started over
    // numbers anew, and blocks or refuses a request for a part so far ahead).
    const ask = this.outage.open ? null : want;
    const url = ask ? reloadUrl(this.playlistUrl, this.playlist, ask) : this.playlistUrl;
    const blocking = ask !== null && this.playlist.serverControl?.canBlockReload === true;
    const { playlist: p, reason } = await fetchMediaPlaylist(this.o.fetch, url, {
      timeoutMs: Math.max(this.o.requestTimeoutMs, BLOCKING_TARGETS * this.playlist.targetDurationS * 1000),
      maxBytes: this.o.maxPlaylistBytes ?? DEFAULT_MAX_PLAYLIST_BYTES,
    });
    if (!p) {
      if (this.outage.failure(reason, this.o.now())) return false;
      await this.o.sleep(Math.min(1000, 2 * this.partTargetMs));
      return true;
    }
    if (this.outage.success(this.o.now()) && !this.continues(p)) {
      // Back after an outage, the next part gone (or the stream started over): join again, on a clean decoder.
      this.pendingDiscontinuity = true;
      this.last = null;
      this.joins++;
    }
    const early = ask !== null && !reached(p, ask);
    if (blocking) this.delivery.reload(this.o.now() - sentMs, early);
    // A delta update (EXT-X-SKIP) leaves out only segments older than any still wanted: it is taken as it is.
    this.playlist = p;
    this.noteWarnings(p.warnings);
    if (early) {
      this.noteEarly(ask!);
      await this.o.sleep(EARLY_PAUSE_PARTS * this.partTargetMs);
    }
    return true;
  }

  /** The playlist still lists or is about to write the part after the last one had: the stream goes on where it was. */
  private continues(p: MediaPlaylist): boolean {
    if (this.last === null) return true;
    const next = partAfter(p, this.last);
    const first = p.parts[0];
    const newest = p.parts.at(-1);
    // A stream whose numbering went back started over.
    if (!first || !newest || newest.msn < this.last.msn) return false;
    return (first.msn < next.msn || (first.msn === next.msn && first.index <= next.part)) && (partStep(p, next).kind !== "reload" || !reached(p, next));
  }

  private noteEarly(want: PartAddress): void {
    if (this.earlyReported || !this.playlist.serverControl?.canBlockReload) return;
    this.earlyReported = true;
    this.o.onEvent({
      kind: "early-reload",
      atMs: this.o.now(),
      detail: `the server answered a blocking reload for part ${want.msn}.${want.part} before it existed (it does not block): ` +
        "the playlist is polled instead; parts are still stamped as their bytes arrive",
    });
  }

  /**
   * The part as the playlist lists it once it is whole: asked again while answers come early, for as long as a
   * blocking reload may take. Null when the segment closed without it, or the stream is gone.
   */
  private async listedPart(want: PartAddress, shouldStop: () => boolean): Promise<PlaylistPart | null> {
    const deadline = this.o.now() + BLOCKING_TARGETS * this.playlist.targetDurationS * 1000;
    for (;;) {
      const step = partStep(this.playlist, want);
      if (step.kind === "listed") return step.part;
      if (reached(this.playlist, want) || shouldStop() || this.o.now() > deadline) return null;
      if (!(await this.reload(want))) return null;
    }
  }

  /**
   * The track a part's init section describes, fetched and opened the first time it is named (and again for the first
   * part after a discontinuity); null when the stream cannot be measured on (the run fails with why). A part without
   * EXT-X-MAP is read as the one before it.
   */
  private async trackFor(map: MediaInit | undefined, afterDiscontinuity = false): Promise<Fmp4Track | null> {
    if (!map) return this.inits.track;
    const opened = await this.inits.open(map, this.playlistUrl, afterDiscontinuity);
    if ("track" in opened) return opened.track;
    this.fail({ kind: "unmeasurable", atMs: this.o.now(), detail: opened.unmeasurable });
    return null;
  }

  /** A part not handed on: a discontinuity it began is the next one's, and the next one follows a gap. */
  private skipped(part: PlaylistPart): void {
    if (part.discontinuity) this.pendingDiscontinuity = true;
    this.lostBefore = true;
  }

  private async fetchPart(uri: string, range: { offsetBytes: number; lengthBytes: number } | null, track: Fmp4Track): Promise<StreamedResult> {
    const target = resolveRemoteUri(uri, this.playlistUrl);
    if (!target.ok) return { ok: false, fetched: { ok: false, reason: target.reason, refused: true }, requestedAtMs: this.o.now() };
    return await fetchStreamed(
      this.o.fetch,
      target.url,
      {
        // A hinted part is written while it is fetched: its request may wait up to a part target and then some.
        timeoutMs: Math.max(this.o.requestTimeoutMs, BLOCKING_TARGETS * this.playlist.targetDurationS * 1000),
        maxBytes: this.o.maxSegmentBytes ?? DEFAULT_MAX_SEGMENT_BYTES,
        ...(range ? { range } : {}),
      },
      track,
      this.o.now,
    );
  }

  private async deliver(
    part: PlaylistPart,
    track: Fmp4Track,
    body: StreamedResult,
    onPart: (s: SegmentArrival) => Promise<void>,
    atJoin: boolean,
  ): Promise<void> {
    const name = `part ${part.msn}.${part.index} (${part.uri})`;
    if (!body.ok) {
      const why = "unreadable" in body ? `cannot be read: ${body.unreadable}` : body.fetched.reason;
      const limit = !("unreadable" in body) && body.fetched.tooLarge;
      this.o.onEvent({ kind: limit ? "limit" : "segment-missing", atMs: body.requestedAtMs, detail: `${name}: ${why}` });
      this.skipped(part);
      return;
    }
    const m = body.media;
    if (!this.joined) {
      this.joined = true;
      this.o.onEvent({ kind: "stream-info", atMs: m.requestedAtMs, detail: `LL-HLS: joined at part ${part.msn}.${part.index} (${this.describe()})` });
    }
    this.delivery.part(m.requestedAtMs, m.arrivedAtMs, partAvailableAtMs(part));
    // A discontinuity in the playlist, a new init section (its parameter sets), or a rejoin: the decoder starts over.
    const discontinuity = this.pendingDiscontinuity || part.discontinuity || track !== this.handedTrack;
    this.pendingDiscontinuity = false;
    const afterGap = this.lostBefore;
    this.lostBefore = false;
    this.handedTrack = track;
    await onPart({
      sequence: part.msn,
      uri: part.uri,
      requestedAtMs: m.requestedAtMs,
      arrivedAtMs: m.arrivedAtMs,
      frameArrivalsMs: m.frameArrivalsMs,
      bytes: m.bytes,
      deliveredBytes: m.deliveredBytes,
      ...(afterGap ? { afterGap } : {}),
      frames: m.frames,
      firstFrameEnd: m.firstFrameEnd,
      frameEnds: m.frameEnds,
      framePtsMs: m.framePtsMs,
      continuesGroup: true,
      discontinuity,
      discontinuitySequence: part.discontinuitySequence,
      programDateTimeMs: part.programDateTimeMs ?? null,
      ptsOffsetsMs: m.ptsOffsetsMs,
      durationS: part.durationS,
      atJoin,
    });
  }

  private fail(e: SourceEvent): void {
    this.fatalEvent = { ...e, fatal: true };
    this.o.onEvent(this.fatalEvent);
  }
}
