/**
 * The low-latency origin's media, in memory: the encoder's fMP4 output split into fragments (src/mp4/fragment-splitter.ts),
 * packaged into parts and segments (ll-packager.ts), and served from there: the LL-HLS playlist with blocking reload
 * and delta updates, or the LL-DASH MPD; parts and segments whole, or streamed fragment by fragment while they are
 * written. What to answer is decided in ll-requests.ts; this class only waits, counts and writes responses.
 */
import { renderLlMpd, type LlMpd, type MpdPeriod } from "../dash/mpd-writer.ts";
import { renderLlPlaylist, type LlPlaylist, type PlaylistSegment } from "../hls/ll-playlist.ts";
import { videoCodecString } from "../mp4/codec-string.ts";
import { FragmentSplitter } from "../mp4/fragment-splitter.ts";
import { CORS, NO_CACHE } from "./http.ts";
import { LlPackager, partBytes, segmentBytes, type LlPeriod, type LlSegment, type PackagerChange, type PartRef } from "./ll-packager.ts";
import {
  decideMedia,
  decideReload,
  initName,
  LL_MPD,
  LL_PLAYLIST,
  parseLlName,
  parseReloadQuery,
  partName,
  segmentName,
  type Presence,
  type ReloadState,
} from "./ll-requests.ts";

export type LlFormat = "ll-hls" | "ll-dash";

export interface LlSettings {
  format: LlFormat;
  partS: number;
  fps: number;
  /** The GOP, in frames: one segment. */
  framesPerSegment: number;
  /** Whole segments listed. */
  listSize: number;
  width: number;
  height: number;
  /** The declared bandwidth (DASH needs one). */
  bandwidthBps: number;
  /** The origin's clock for DASH UTCTiming. */
  utcTimingPath: string;
}

/** Requests waiting at once (blocking reloads, parts and segments not yet whole): past this, 503 at once. */
export const MAX_WAITING = 256;

/** Parts are listed for this many of the newest segments (the open one included). */
const SEGMENTS_WITH_PARTS = 3;


/** Frames per part for a part length: whole frames, at least one. Pure. */
export function framesPerPart(partS: number, fps: number): number {
  return Math.max(1, Math.floor(partS * fps + 1e-6));
}

export class LlStream {
  readonly packager: LlPackager;
  readonly manifest: string;
  readonly segmentS: number;
  readonly targetDurationS: number;
  private splitter: FragmentSplitter | null = null;
  /** When each frame handed to this run's encoder was made, in order: x264 without B-frames gives one fragment per frame, in that order. */
  private frameTimesMs: number[] = [];
  /** Where the next fragment falls in time if its frame's time is missing: the last one's end. */
  private nextFragmentMs: number | null = null;
  private changed: { promise: Promise<void>; resolve: () => void };
  private waiting = 0;
  readonly stats = { blockingReloads: 0, streamedResponses: 0, refusedBusy: 0 };

  constructor(readonly settings: LlSettings) {
    this.packager = new LlPackager({
      framesPerPart: framesPerPart(settings.partS, settings.fps),
      framesPerSegment: settings.framesPerSegment,
      // One whole segment more than listed: a player that read the playlist just before it moved still finds it.
      keepSegments: settings.listSize + 1,
      // Up to a part late is jitter, and harmless: a request for the next segment before it begins waits for it.
      periodSlackMs: (framesPerPart(settings.partS, settings.fps) * 1000) / settings.fps,
    });
    this.manifest = settings.format === "ll-hls" ? LL_PLAYLIST : LL_MPD;
    this.segmentS = settings.framesPerSegment / settings.fps;
    this.targetDurationS = Math.max(1, Math.ceil(this.segmentS - 1e-9));
    this.changed = this.newChange();
  }

  /** The longest a request waits for what it asked (3 target durations, 8216bis), in ms. */
  get maxWaitMs(): number {
    return 3000 * this.targetDurationS;
  }

  /** Three parts behind the live edge (8216bis: at least two, three recommended). */
  get partHoldBackS(): number {
    return Number((3 * this.settings.partS).toFixed(6));
  }

  /** An encoder run begins: its output goes to write(). */
  beginRun(): void {
    this.splitter = new FragmentSplitter();
    this.frameTimesMs = [];
    this.nextFragmentMs = null;
  }

  /** A frame made at wallMs (its payload's time) is handed to the current run's encoder, before the encoder has it. */
  frameWritten(wallMs: number): void {
    if (this.splitter) this.frameTimesMs.push(wallMs);
  }

  /** The encoder's output, in whatever chunks the pipe gives. Throws Mp4Error on bytes that are not fMP4. */
  write(chunk: Uint8Array): void {
    if (!this.splitter) return;
    const changes: PackagerChange[] = [];
    for (const piece of this.splitter.push(chunk)) {
      if (piece.kind === "init") changes.push(...this.packager.beginRun(piece.bytes, piece.timescale));
      else if (this.packager.run) changes.push(...this.packager.add(piece, this.fragmentTimeMs(piece.frames, piece.durationTicks / this.packager.run.timescale)));
    }
    if (changes.length) this.notify();
  }

  /** When the next fragment's first frame (of `frames`, lasting durationS) was made. */
  private fragmentTimeMs(frames: number, durationS: number): number {
    const times = this.frameTimesMs.splice(0, frames);
    const atMs = times[0] ?? this.nextFragmentMs ?? Date.now();
    this.nextFragmentMs = atMs + durationS * 1000;
    return atMs;
  }

  /** The encoder stopped: what it was writing is closed as it stands. */
  endRun(): void {
    this.splitter = null;
    if (this.packager.endRun().length) this.notify();
  }

  newestSequence(): number | null {
    return this.packager.newestComplete();
  }

  counters(): Record<string, number> {
    return { ...this.stats, waitingRequests: this.waiting };
  }

  /** Answers a request for a name under /video/. */
  async respond(name: string, query: URLSearchParams, head: boolean): Promise<Response> {
    const what = parseLlName(name, this.manifest);
    if (!what) return text(404, "not found");
    switch (what.kind) {
      case "manifest":
        return this.settings.format === "ll-hls" ? this.playlistResponse(query) : this.mpdResponse();
      case "init": {
        const run = this.packager.listedRuns().find((r) => r.id === what.run) ?? (this.packager.run?.id === what.run ? this.packager.run : null);
        return run ? media(run.init, head) : text(404, "not found");
      }
      case "segment":
        return this.mediaResponse({ msn: what.msn, part: null }, head);
      case "part":
        return this.settings.format === "ll-hls" ? this.mediaResponse(what.ref, head) : text(404, "not found");
    }
  }

  private async playlistResponse(query: URLSearchParams): Promise<Response> {
    const q = parseReloadQuery(query);
    if (q.kind === "bad") return text(400, q.reason);
    if (q.kind === "block") this.stats.blockingReloads++;
    const ready = () => {
      if (q.kind === "plain") return this.packager.newestComplete() !== null || this.newestPart() !== null ? "now" : "wait";
      const d = decideReload(q, this.reloadState());
      return d.kind === "bad" ? d : d.kind;
    };
    const outcome = await this.waitFor(ready);
    if (outcome === "busy") return busy();
    if (outcome === "timeout") return text(503, "the asked part did not appear in time", { "retry-after": "1" });
    if (typeof outcome === "object") return text(400, outcome.reason);
    return new Response(renderLlPlaylist(this.playlist(), q.skip), {
      headers: { "content-type": "application/vnd.apple.mpegurl", ...NO_CACHE, ...CORS },
    });
  }

  private mpdResponse(): Response {
    const mpd = this.mpd();
    if (!mpd) return text(503, "starting: no segment yet", { "retry-after": "1" });
    return new Response(mpd, { headers: { "content-type": "application/dash+xml", ...NO_CACHE, ...CORS } });
  }

  /** A part (target.part set) or a segment: whole, streamed while written, or waited for when it is next. */
  private async mediaResponse(target: { msn: number; part: number | null }, head: boolean): Promise<Response> {
    const decide = () => decideMedia(target, this.presence(target), this.packager.nextPart());
    const outcome = await this.waitFor(() => {
      const d = decide().kind;
      return d === "wait" ? "wait" : "now";
    });
    if (outcome === "busy") return busy();
    if (outcome === "timeout") return text(503, "not written in time", { "retry-after": "1" });
    const d = decide();
    if (d.kind === "absent" || d.kind === "wait") return text(404, "not found");
    const seg = this.packager.segment(target.msn)!;
    if (d.kind === "whole") {
      const part = target.part === null ? null : seg.parts[target.part]!;
      return media(part ? partBytes(part) : segmentBytes(seg), head);
    }
    if (head) return new Response(null, { headers: { "content-type": "video/mp4", ...NO_CACHE, ...CORS } });
    return this.streamResponse(seg, target.part);
  }

  /** The fragments of an open part or segment: those written at once, the rest as they come (chunked transfer). */
  private streamResponse(seg: LlSegment, partIndex: number | null): Response {
    this.stats.streamedResponses++;
    const fragmentAt = (i: number): Uint8Array | null => {
      if (partIndex !== null) return seg.parts[partIndex]?.fragments[i] ?? null;
      let n = i;
      for (const p of seg.parts) {
        if (n < p.fragments.length) return p.fragments[n]!;
        n -= p.fragments.length;
      }
      return null;
    };
    const done = () => (partIndex !== null ? seg.parts[partIndex]!.complete : seg.complete);
    let sent = 0;
    this.waiting++;
    let released = false;
    const release = () => {
      if (!released) this.waiting--;
      released = true;
    };
    const deadline = performance.now() + this.maxWaitMs + 1000 * this.segmentS;
    const body = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        for (;;) {
          const next = fragmentAt(sent);
          if (next) {
            sent++;
            controller.enqueue(next);
            return;
          }
          if (done()) {
            release();
            controller.close();
            return;
          }
          const left = deadline - performance.now();
          if (left <= 0 || !(await this.nextChange(left))) {
            release();
            controller.error(new Error("the encoder stopped writing this part"));
            return;
          }
        }
      },
      cancel: release,
    });
    return new Response(body, { headers: { "content-type": "video/mp4", ...NO_CACHE, ...CORS } });
  }

  /**
   * Waits (bounded by maxWaitMs and by MAX_WAITING requests at once) until check() says "now" or gives a verdict.
   */
  private async waitFor<T extends object>(check: () => "now" | "wait" | T): Promise<"now" | "busy" | "timeout" | T> {
    let d = check();
    if (d !== "wait") return d;
    if (this.waiting >= MAX_WAITING) {
      this.stats.refusedBusy++;
      return "busy";
    }
    this.waiting++;
    try {
      const deadline = performance.now() + this.maxWaitMs;
      for (;;) {
        const left = deadline - performance.now();
        if (left <= 0 || !(await this.nextChange(left))) return "timeout";
        d = check();
        if (d !== "wait") return d;
      }
    } finally {
      this.waiting--;
    }
  }

  /** Resolves true at the packager's next change, false after timeoutMs without one. */
  private nextChange(timeoutMs: number): Promise<boolean> {
    let timer: Timer | undefined;
    return Promise.race([
      this.changed.promise.then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
  }

  private notify(): void {
    const { resolve } = this.changed;
    this.changed = this.newChange();
    resolve();
  }

  private newChange(): { promise: Promise<void>; resolve: () => void } {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => {
      resolve = r;
    });
    return { promise, resolve };
  }

  private presence(target: { msn: number; part: number | null }): Presence {
    const seg = this.packager.segment(target.msn);
    if (!seg) return "absent";
    if (target.part === null) return seg.complete ? "complete" : "open";
    const part = seg.parts[target.part];
    return !part ? "absent" : part.complete ? "complete" : "open";
  }

  private newestPart(): PartRef | null {
    const segs = this.packager.segments;
    for (let i = segs.length - 1; i >= 0; i--) {
      const s = segs[i]!;
      for (let j = s.parts.length - 1; j >= 0; j--) if (s.parts[j]!.complete) return { msn: s.msn, part: j };
    }
    return null;
  }

  private reloadState(): ReloadState {
    return {
      newestSegment: this.packager.newestComplete(),
      newestPart: this.newestPart(),
      partsOf: (msn) => {
        const s = this.packager.segment(msn);
        return s?.complete ? s.parts.length : null;
      },
      partsPerSegment: Math.ceil(this.settings.framesPerSegment / this.packager.settings.framesPerPart),
      partTargetS: this.settings.partS,
    };
  }

  /** The playlist's view of the window: the last listSize whole segments and the open one. */
  playlist(): LlPlaylist {
    const all = this.packager.segments;
    const whole = all.filter((s) => s.complete);
    // The open segment is listed once it has a whole part.
    const shown = all.filter((s) => s.complete || s.parts.some((p) => p.complete));
    const listed = shown.slice(shown.indexOf(whole[Math.max(0, whole.length - this.settings.listSize)] ?? shown[0]!));
    const firstListed = listed[0];
    const before = firstListed ? all.slice(0, all.indexOf(firstListed)).filter((s) => s.discontinuity).length : 0;
    const segments: PlaylistSegment[] = listed.map((s, i) => ({
      msn: s.msn,
      durationS: s.durationTicks / s.run.timescale,
      uri: segmentName(s.msn),
      complete: s.complete,
      parts:
        i >= listed.length - SEGMENTS_WITH_PARTS
          ? s.parts.filter((p) => p.complete).map((p) => ({ durationS: p.durationTicks / s.run.timescale, uri: partName({ msn: s.msn, part: p.index }), independent: p.independent }))
          : null,
      programDateTimeMs: s.startWallMs,
      discontinuity: s.discontinuity,
      mapUri: initName(s.run.id),
    }));
    return {
      partTargetS: this.settings.partS,
      partHoldBackS: this.partHoldBackS,
      canSkipUntilS: 6 * this.targetDurationS,
      discontinuitySequence: this.packager.droppedDiscontinuities + before,
      segments,
      preloadHintUri: partName(this.packager.nextPart()),
      minTargetDurationS: this.segmentS,
    };
  }

  /**
   * The MPD: the packager's periods still in the window (one per encoder run, and one after frames were skipped),
   * each starting when its first segment's first frame was made; null before the first segment.
   */
  mpd(nowMs = Date.now()): string | null {
    const origin = this.packager.originWallMs;
    const current = this.packager.run;
    if (origin === null || !current) return null;
    return renderLlMpd({ ...this.mpdFrame(origin, current.init, nowMs), periods: mpdPeriods(this.packager.listedPeriods(), origin, this.segmentS) });
  }

  /** The MPD's stream-wide attributes. */
  private mpdFrame(origin: number, init: Uint8Array, nowMs: number): Omit<LlMpd, "periods"> {
    return {
      availabilityStartMs: origin,
      publishMs: nowMs,
      timeShiftBufferS: this.settings.listSize * this.segmentS,
      minimumUpdatePeriodS: this.segmentS,
      segmentDurationS: this.segmentS,
      chunkDurationS: 1 / this.settings.fps,
      latencyTargetMs: this.dashLatencyTargetMs,
      utcTimingUrl: this.settings.utcTimingPath,
      width: this.settings.width,
      height: this.settings.height,
      fps: this.settings.fps,
      codecs: videoCodecString(init) ?? "avc1.42c01e",
      bandwidthBps: this.settings.bandwidthBps,
    };
  }

  /** What LL-DASH players aim for: four parts' worth (800 ms at 200 ms parts), at least 500 ms. */
  get dashLatencyTargetMs(): number {
    return Math.max(500, 4000 * this.settings.partS);
  }
}

/**
 * The MPD's periods, oldest first. Each starts when its first segment's first frame was made (never before the one
 * before it ends), and one followed by another lasts exactly its segments (Period@duration): its media stops there,
 * and the template must not address the next period's segments under its own timing. Pure.
 */
export function mpdPeriods(periods: readonly LlPeriod[], originMs: number, segmentS: number): MpdPeriod[] {
  const out: MpdPeriod[] = [];
  periods.forEach((p, i) => {
    const prev = out.at(-1);
    const next = periods[i + 1];
    out.push({
      id: `p${p.id}`,
      startS: Math.max((p.firstWallMs - originMs) / 1000, prev ? prev.startS + prev.durationS! : -Infinity),
      durationS: next ? (next.firstMsn - p.firstMsn) * segmentS : null,
      startNumber: p.firstMsn,
      presentationTimeOffset: p.firstDecodeTime,
      timescale: p.run.timescale,
      segmentTicks: Math.round(segmentS * p.run.timescale),
      initUri: initName(p.run.id),
      mediaTemplate: "seg_$Number$.m4s",
    });
  });
  return out;
}

function media(bytes: Uint8Array, head: boolean): Response {
  return new Response(head ? null : bytes, {
    headers: { "content-type": "video/mp4", "content-length": String(bytes.byteLength), "cache-control": "max-age=60", ...CORS },
  });
}

function text(status: number, body: string, extra: Record<string, string> = {}): Response {
  return new Response(`${body}\n`, { status, headers: { "content-type": "text/plain", ...NO_CACHE, ...CORS, ...extra } });
}

function busy(): Response {
  return text(503, "too many requests waiting", { "retry-after": "1" });
}
