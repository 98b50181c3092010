/**
 * A DASH relay written for the tests, in front of `vat serve --format dash`: a CDN that lost some segments. Requests for
 * the media segments numbered in `lost` (any representation) are answered 404 for good; everything else, the MPD
 * included, passes through unchanged, so the MPD keeps announcing the lost segments. The relay fetches each lost
 * segment of representation 0 from the origin itself, as soon as the origin has it, and keeps its bytes behind the
 * init segment's: what ffprobe needs to count its frames (the ground truth).
 */
export interface DashRelayOptions {
  /** The origin's base URL (http://host:port). */
  origin: string;
  lost: ReadonlySet<number>;
}

/** vat's DASH names (src/serve/segment-names.ts): seg_<representation>_<number>.m4s. */
const MEDIA = /\/seg_(\d+)_(\d+)\.m4s$/;

export class DashRelay {
  readonly server: ReturnType<typeof Bun.serve>;
  /** Lost segments of representation 0 the relay has kept: init segment + media segment bytes. */
  readonly kept = new Map<number, Uint8Array>();
  /** Numbers of the lost segments clients asked for (each once). */
  readonly refused = new Set<number>();
  /** The first media segment number any client asked for. */
  firstAsked: number | null = null;
  private init: Uint8Array | null = null;
  private timer: Timer;
  private busy = false;

  constructor(private readonly o: DashRelayOptions) {
    // The origin keeps a segment only for its time-shift window (6 s): look for the lost ones often.
    this.timer = setInterval(() => void this.keepLost(), 100);
    this.server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (req) => this.handle(req) });
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
      this.init ??= await this.fetchOrigin("/video/init_0.m4s");
      if (!this.init) return;
      for (const n of this.o.lost) {
        if (this.kept.has(n)) continue;
        const media = await this.fetchOrigin(`/video/seg_0_${n}.m4s`);
        if (media) this.kept.set(n, new Uint8Array(await new Blob([this.init, media]).arrayBuffer()));
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
    const m = MEDIA.exec(url.pathname);
    if (m) {
      const n = Number(m[2]);
      this.firstAsked ??= n;
      if (this.o.lost.has(n)) {
        this.refused.add(n);
        return new Response("lost", { status: 404 });
      }
    }
    const r = await fetch(`${this.o.origin}${url.pathname}${url.search}`);
    return new Response(await r.arrayBuffer(), { status: r.status, headers: { "content-type": r.headers.get("content-type") ?? "" } });
  }
}
