import { parseMediaPlaylist } from "../../src/hls/playlist.ts";

/**
 * An HLS relay written for the tests: it sits between `vat serve` and `vat client` and changes what the client sees
 * in a known way, the ground truth the client's figures are checked against.
 * - hide(sequence): segments for which it returns true never appear in the relayed playlist.
 * - timeShiftMs: /time answers the origin's clock plus this, as a server whose clock is off would.
 * - delayMs: each segment appears in the relayed playlist only delayMs after the relay first saw it at the origin
 *   (the relay polls the origin every 10 ms to know that moment precisely).
 * fMP4 playlists (EXT-X-MAP) keep their init section in the relayed playlist.
 */
export interface RelayOptions {
  origin: string;
  hide?: (sequence: number) => boolean;
  delayMs?: number;
  /** Added to the server clock the relay's /time reports: a known clock offset. */
  timeShiftMs?: number;
  /** Extra time this segment is withheld (later ones wait behind it, as a stalled packager's would). */
  holdMs?: (sequence: number) => number;
  /** A body to send instead of the origin's for this path (a segment broken on its way): null sends it as it is. */
  mangle?: (path: string, body: Uint8Array) => Uint8Array | null;
}

export class Relay {
  readonly server: ReturnType<typeof Bun.serve>;
  private firstSeen = new Map<number, number>();
  /** The relay's own media sequence for each segment it shows: positional numbering must stay consistent. */
  private relaySeq = new Map<number, number>();
  private nextRelaySeq = 0;
  private latest = "";
  private timer: Timer;
  /**
   * Segments the relay has withheld for good, with their bytes fetched from the origin (an fMP4 segment behind its
   * init section's: bytes ffprobe can read on their own).
   */
  readonly hidden = new Map<number, Uint8Array>();
  /** Media sequence of the first segment any client was shown. */
  firstShown: number | null = null;
  /** With holdMs: when each segment first appeared in the relayed playlist (performance.now()). */
  readonly released = new Map<number, number>();
  /** When the relay first saw each segment at the origin (performance.now()). */
  get seenAt(): ReadonlyMap<number, number> {
    return this.firstSeen;
  }

  constructor(private readonly o: RelayOptions) {
    this.timer = setInterval(() => void this.pollOrigin(), 10);
    this.server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (req) => this.handle(req) });
  }

  get url(): string {
    return `http://127.0.0.1:${this.server.port}`;
  }

  stop(): void {
    clearInterval(this.timer);
    this.server.stop(true);
  }

  private async pollOrigin(): Promise<void> {
    try {
      const r = await fetch(`${this.o.origin}/video/stream.m3u8`);
      if (!r.ok) return;
      const text = await r.text();
      const now = performance.now();
      for (const s of parseMediaPlaylist(text).segments) {
        if (!this.firstSeen.has(s.sequence)) {
          this.firstSeen.set(s.sequence, now);
          if (this.o.hide?.(s.sequence)) void this.keepHidden(s.sequence, s.uri, s.init?.uri);
          else this.relaySeq.set(s.sequence, this.nextRelaySeq++);
        }
      }
      this.latest = text;
    } catch {
      // origin not up yet
    }
  }

  private async keepHidden(sequence: number, uri: string, initUri?: string): Promise<void> {
    const parts = await Promise.all([initUri, uri].filter((u) => u !== undefined).map((u) => fetch(`${this.o.origin}/video/${u}`)));
    if (parts.every((r) => r.ok)) this.hidden.set(sequence, new Uint8Array(await new Blob(await Promise.all(parts.map((r) => r.arrayBuffer()))).arrayBuffer()));
  }

  /** Playlist requests clients made, and when each came (performance.now()). */
  playlistRequests = 0;
  readonly playlistRequestTimes: number[] = [];

  private async handle(req: Request): Promise<Response> {
    const path = new URL(req.url).pathname;
    if (path === "/video/stream.m3u8") {
      this.playlistRequests++;
      this.playlistRequestTimes.push(performance.now());
      if (!this.latest) return new Response("not yet", { status: 404 });
      return new Response(this.rewrite(this.latest), { headers: { "content-type": "application/vnd.apple.mpegurl" } });
    }
    if (path === "/time" && this.o.timeShiftMs) {
      const t = (await (await fetch(`${this.o.origin}/time`)).json()) as { nowMs: number };
      return Response.json({ nowMs: t.nowMs + this.o.timeShiftMs });
    }
    // Everything else (segments, /params, /time) passes through untouched, unless mangle changes it.
    const r = await fetch(`${this.o.origin}${path}`);
    const body = new Uint8Array(await r.arrayBuffer());
    const sent = (r.ok && this.o.mangle?.(path, body)) || body;
    return new Response(sent, { status: r.status, headers: { "content-type": r.headers.get("content-type") ?? "" } });
  }

  /** The origin's playlist less the hidden and not-yet-due segments, numbered by the relay. */
  private rewrite(text: string): string {
    const p = parseMediaPlaylist(text);
    const now = performance.now();
    const kept: typeof p.segments = [];
    for (const s of p.segments) {
      if (this.o.hide?.(s.sequence)) continue;
      const seen = this.firstSeen.get(s.sequence);
      const due = seen !== undefined && this.relaySeq.has(s.sequence) && now - seen >= (this.o.delayMs ?? 0) + (this.o.holdMs?.(s.sequence) ?? 0);
      if (!due) break; // in order: nothing appears before a segment still withheld
      kept.push(s);
      if (this.o.holdMs && !this.released.has(s.sequence)) this.released.set(s.sequence, now);
    }
    if (kept.length > 0 && this.firstShown === null) this.firstShown = kept.at(-1)!.sequence;
    const lines = ["#EXTM3U", "#EXT-X-VERSION:6", `#EXT-X-TARGETDURATION:${p.targetDurationS}`];
    lines.push(`#EXT-X-MEDIA-SEQUENCE:${kept[0] ? this.relaySeq.get(kept[0].sequence) : this.nextRelaySeq}`);
    if (p.map) lines.push(`#EXT-X-MAP:URI="${p.map.uri}"`);
    for (const s of kept) lines.push(`#EXTINF:${s.durationS.toFixed(6)},`, s.uri);
    return `${lines.join("\n")}\n`;
  }
}
