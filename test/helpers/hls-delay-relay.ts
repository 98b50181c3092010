import { parseMediaPlaylist } from "../../src/hls/playlist.ts";

/**
 * An HLS relay in front of any live media playlist (a provider's, not only vat's): each segment appears in the relayed
 * playlist exactly delayMs after the relay first saw it upstream (it polls every 10 ms to know that moment), numbered
 * as upstream numbers it. Every other path is passed through to the upstream server. The delay is the ground truth.
 */
export class HlsDelayRelay {
  private readonly server: ReturnType<typeof Bun.serve>;
  private readonly timer: Timer;
  private readonly firstSeen = new Map<number, number>();
  private latest = "";
  private readonly upstream: URL;

  constructor(playlistUrl: string, private readonly delayMs: number) {
    this.upstream = new URL(playlistUrl);
    this.timer = setInterval(() => void this.poll(), 10);
    this.server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (req) => this.handle(req) });
  }

  /** The relayed playlist: the upstream's path on the relay's port. */
  get url(): string {
    return `http://127.0.0.1:${this.server.port}${this.upstream.pathname}`;
  }

  stop(): void {
    clearInterval(this.timer);
    this.server.stop(true);
  }

  private async poll(): Promise<void> {
    try {
      const r = await fetch(this.upstream, { signal: AbortSignal.timeout(1000) });
      if (!r.ok) return;
      const text = await r.text();
      const now = performance.now();
      for (const s of parseMediaPlaylist(text).segments) if (!this.firstSeen.has(s.sequence)) this.firstSeen.set(s.sequence, now);
      this.latest = text;
    } catch {
      // upstream not publishing yet
    }
  }

  private async handle(req: Request): Promise<Response> {
    const path = new URL(req.url).pathname;
    if (path === this.upstream.pathname) {
      if (!this.latest) return new Response("not yet", { status: 404 });
      return new Response(this.rewrite(this.latest), { headers: { "content-type": "application/vnd.apple.mpegurl" } });
    }
    const r = await fetch(new URL(path, this.upstream));
    return new Response(await r.arrayBuffer(), { status: r.status, headers: { "content-type": r.headers.get("content-type") ?? "" } });
  }

  private rewrite(text: string): string {
    const p = parseMediaPlaylist(text);
    const now = performance.now();
    const due = [];
    for (const s of p.segments) {
      const seen = this.firstSeen.get(s.sequence);
      if (seen === undefined || now - seen < this.delayMs) break; // in order: nothing after one still held back
      due.push(s);
    }
    const lines = ["#EXTM3U", "#EXT-X-VERSION:3", `#EXT-X-TARGETDURATION:${p.targetDurationS}`];
    lines.push(`#EXT-X-MEDIA-SEQUENCE:${due[0]?.sequence ?? p.mediaSequence}`);
    for (const s of due) {
      if (s.discontinuity) lines.push("#EXT-X-DISCONTINUITY");
      lines.push(`#EXTINF:${s.durationS.toFixed(6)},`, s.uri);
    }
    return `${lines.join("\n")}\n`;
  }
}
