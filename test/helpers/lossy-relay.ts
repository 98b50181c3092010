/**
 * A relay written for the tests: a CDN that lost some media objects. Requests for the paths in `lost` are answered 404
 * for good; everything else passes through unchanged (bodies streamed as the origin sends them, blocking playlist
 * reloads held as long as the origin holds them), so manifests keep announcing what was lost. The relay fetches each
 * lost object from the origin itself, as soon as the origin has it, and keeps its bytes behind the init section's:
 * what ffprobe needs to count its frames (the ground truth).
 */
export interface LossyRelayOptions {
  /** The origin's base URL (http://host:port). */
  origin: string;
  /** Paths (e.g. /video/seg_0_7.m4s) that are never delivered. */
  lost: ReadonlySet<string>;
  /** The path of the init section the lost objects need. */
  init: string;
}

export class LossyRelay {
  readonly server: ReturnType<typeof Bun.serve>;
  /** Lost objects the relay has kept from the origin: init section + media bytes, by path. */
  readonly kept = new Map<string, Uint8Array>();
  /** Lost paths clients asked for (each once), in the order first asked. */
  readonly refused = new Set<string>();
  /** Every path clients asked for, in order. */
  readonly asked: string[] = [];
  private timer: Timer;
  private busy = false;

  constructor(private readonly o: LossyRelayOptions) {
    // Origins keep media only for their time-shift window: look for the lost objects often.
    this.timer = setInterval(() => void this.keepLost(), 100);
    this.server = Bun.serve({ port: 0, hostname: "127.0.0.1", idleTimeout: 30, fetch: (req) => this.handle(req) });
  }

  get url(): string {
    return `http://127.0.0.1:${this.server.port}`;
  }

  stop(): void {
    clearInterval(this.timer);
    this.server.stop(true);
  }

  private async keepLost(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      for (const path of this.o.lost) {
        if (this.kept.has(path)) continue;
        const media = await this.fetchOrigin(path);
        if (!media) continue;
        // The init section as the origin has it now, not as it was when the relay started: before the stream is
        // live the packager may still be writing it (a copy taken then made every kept object unreadable).
        const init = await this.fetchOrigin(this.o.init);
        if (init) this.kept.set(path, new Uint8Array(await new Blob([init, media]).arrayBuffer()));
      }
    } finally {
      this.busy = false;
    }
  }

  private async fetchOrigin(path: string): Promise<Uint8Array | null> {
    try {
      const r = await fetch(`${this.o.origin}${path}`);
      return r.ok ? new Uint8Array(await r.arrayBuffer()) : null;
    } catch {
      return null; // origin not up yet
    }
  }

  private async handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    this.asked.push(url.pathname);
    if (this.o.lost.has(url.pathname)) {
      this.refused.add(url.pathname);
      return new Response("lost", { status: 404 });
    }
    const r = await fetch(`${this.o.origin}${url.pathname}${url.search}`);
    return new Response(r.body, { status: r.status, headers: { "content-type": r.headers.get("content-type") ?? "" } });
  }
}
