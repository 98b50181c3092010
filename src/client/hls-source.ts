import { badInput, failed, interrupted } from "../errors.ts";
import { firstVariantUri, parseMediaPlaylist, PlaylistError, type MediaPlaylist } from "../hls/playlist.ts";
import { scanSegment } from "../hls/ts-frames.ts";
import type { SourceEvent } from "./events.ts";
import { fetchBytes, fetchText, type Fetch } from "./http.ts";

export type { SourceEvent } from "./events.ts";

export interface SegmentArrival {
  sequence: number;
  uri: string;
  bytes: Uint8Array;
  /** Client clock when the request for the segment left and when its last byte arrived. */
  requestedAtMs: number;
  arrivedAtMs: number;
  durationS: number;
  /** Video frames in the segment, counted from its MPEG-TS packets. */
  frames: number;
  /** Bytes of the segment's head holding its tables and first (key) frame. */
  firstFrameEnd: number;
  /** The stream started over (new media sequence, back after an outage, or the playlist says so): reset decoding. */
  discontinuity: boolean;
  /** The playlist's discontinuity number of this segment (a prerecorded stream's loop). */
  discontinuitySequence: number;
  /** EXT-X-PROGRAM-DATE-TIME: wall-clock time of the segment's first frame, when the playlist gives it. */
  programDateTimeMs: number | null;
  /** Frame presentation times after the segment's first, in output order (empty when unknown). */
  ptsOffsetsMs: number[];
}

const SEGMENT_ATTEMPTS = 3;

export interface HlsSourceOptions {
  fetch: Fetch;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  pollMs: number;
  requestTimeoutMs: number;
  /** How long the first connection may take before the URL is declared dead. */
  connectTimeoutMs: number;
  /** How long an outage may last before the run gives up. */
  maxOutageMs: number;
  onEvent: (e: SourceEvent) => void;
  /** A stop request (Ctrl-C, SIGTERM) while still connecting: its signal name. */
  cancelled: () => string | null;
}

/**
 * Pulls a live HLS media playlist and its segments itself, so each segment's arrival is stamped when its last byte
 * came in. Starts at the live edge, fetches every new segment in order, and survives outages.
 */
export class HlsSource {
  private lastSequence: number | null = null;
  private lastNewAtMs: number | null = null;
  private staleReported = false;
  private outageSinceMs: number | null = null;
  private outageReason = "";
  private pendingDiscontinuity = false;
  private playlistUrl: string;

  constructor(
    url: string,
    private readonly o: HlsSourceOptions,
  ) {
    this.playlistUrl = url;
  }

  get url(): string {
    return this.playlistUrl;
  }

  /** First contact: retries until connectTimeoutMs; follows a master playlist to its first variant. */
  async connect(): Promise<MediaPlaylist> {
    const started = this.o.now();
    let lastReason = "";
    for (;;) {
      const stop = this.o.cancelled();
      if (stop) throw interrupted(stop, `stopped by ${stop} before ${this.playlistUrl} answered`);
      const r = await fetchText(this.o.fetch, this.playlistUrl, this.o.requestTimeoutMs);
      if (r.ok) {
        const variant = firstVariantUri(r.value);
        if (variant) {
          this.playlistUrl = new URL(variant, this.playlistUrl).href;
          continue;
        }
        try {
          return parseMediaPlaylist(r.value);
        } catch (err) {
          if (err instanceof PlaylistError) {
            throw badInput(`${this.playlistUrl} answers but is not a stream: ${err.message}`);
          }
          throw err;
        }
      }
      lastReason = r.reason;
      if (this.o.now() - started >= this.o.connectTimeoutMs) {
        const answered = r.status !== undefined;
        throw badInput(
          answered
            ? `${this.playlistUrl} answers but has no stream (${lastReason} for ${Math.round(this.o.connectTimeoutMs / 1000)} s): ` +
                "give a server root (http://host:5000) or a playlist URL"
            : `no stream at ${this.playlistUrl}: ${lastReason} for ${Math.round(this.o.connectTimeoutMs / 1000)} s ` +
                "(is the server up? raise --connect-timeout to wait longer)",
        );
      }
      await this.o.sleep(Math.min(1000, this.o.pollMs * 4));
    }
  }

  /** Delivers segments until stop() resolves true or the stream ends. */
  async run(onSegment: (s: SegmentArrival) => Promise<void>, shouldStop: () => boolean): Promise<"stopped" | "ended"> {
    let backoffMs = this.o.pollMs;
    while (!shouldStop()) {
      const polledAt = this.o.now();
      const r = await fetchText(this.o.fetch, this.playlistUrl, this.o.requestTimeoutMs);
      let playlist: MediaPlaylist | null = null;
      if (r.ok) {
        try {
          playlist = parseMediaPlaylist(r.value);
        } catch {
          playlist = null;
        }
      }
      if (!playlist) {
        this.noteFailure(r.ok ? "answer is not a playlist" : r.reason);
        await this.o.sleep(backoffMs);
        backoffMs = Math.min(2000, backoffMs * 2);
        continue;
      }
      backoffMs = this.o.pollMs;
      this.noteSuccess();
      for (const seg of this.newSegments(playlist)) {
        if (shouldStop()) return "stopped";
        const requestedAtMs = this.o.now();
        const url = new URL(seg.uri, this.playlistUrl).href;
        // A failed fetch is tried again (a reused connection can be closed under it); only a segment that stays
        // unavailable is given up, and its frames then count as dropped.
        let b = await fetchBytes(this.o.fetch, url, this.o.requestTimeoutMs);
        for (let attempt = 1; !b.ok && attempt < SEGMENT_ATTEMPTS && b.status !== 404; attempt++) {
          await this.o.sleep(100 * attempt);
          b = await fetchBytes(this.o.fetch, url, this.o.requestTimeoutMs);
        }
        if (!b.ok) {
          this.o.onEvent({ kind: "segment-missing", atMs: requestedAtMs, detail: `segment ${seg.sequence} (${seg.uri}): ${b.reason}` });
          this.lastSequence = seg.sequence;
          continue;
        }
        const arrivedAtMs = this.o.now();
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
        if (playlist.targetDurationS > 0 && Math.round(seg.durationS) > playlist.targetDurationS) {
          this.o.onEvent({
            kind: "target-duration",
            atMs: arrivedAtMs,
            detail: `segment ${seg.sequence} lasts ${seg.durationS.toFixed(3)} s, over the playlist's target duration of ${playlist.targetDurationS} s`,
          });
        }
        this.lastSequence = seg.sequence;
        this.lastNewAtMs = arrivedAtMs;
        this.staleReported = false;
        const discontinuity = this.pendingDiscontinuity || seg.discontinuity;
        this.pendingDiscontinuity = false;
        const scan = scanSegment(b.value);
        await onSegment({
          sequence: seg.sequence,
          uri: seg.uri,
          bytes: b.value,
          requestedAtMs,
          arrivedAtMs,
          durationS: seg.durationS,
          frames: scan.frames,
          firstFrameEnd: scan.firstFrameEnd,
          discontinuity,
          discontinuitySequence: seg.discontinuitySequence,
          programDateTimeMs: seg.programDateTimeMs ?? null,
          ptsOffsetsMs: scan.ptsOffsetsMs,
        });
      }
      if (playlist.endList && this.lastSequence === playlist.segments.at(-1)?.sequence) return "ended";
      this.checkStale(playlist);
      const wait = this.o.pollMs - (this.o.now() - polledAt);
      if (wait > 0) await this.o.sleep(wait);
    }
    return "stopped";
  }

  /** Segments not yet fetched: at first only the newest (the live edge), then everything after the last one. */
  private newSegments(p: MediaPlaylist) {
    const segs = p.segments;
    if (segs.length === 0) return [];
    const newest = segs.at(-1)!.sequence;
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
    }
    return fresh;
  }

  private noteFailure(reason: string): void {
    const now = this.o.now();
    if (this.outageSinceMs === null) {
      this.outageSinceMs = now;
      this.outageReason = reason;
      this.o.onEvent({ kind: "outage", atMs: now, detail: `stream unreachable: ${reason}` });
    } else if (now - this.outageSinceMs > this.o.maxOutageMs) {
      throw failed(
        `the stream has been unreachable for ${Math.round((now - this.outageSinceMs) / 1000)} s (${this.outageReason}); giving up`,
      );
    }
  }

  private noteSuccess(): void {
    if (this.outageSinceMs === null) return;
    const now = this.o.now();
    this.o.onEvent({
      kind: "reconnect",
      atMs: now,
      durationMs: now - this.outageSinceMs,
      detail: `stream back after ${((now - this.outageSinceMs) / 1000).toFixed(1)} s (${this.outageReason})`,
    });
    this.outageSinceMs = null;
    this.pendingDiscontinuity = true;
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
