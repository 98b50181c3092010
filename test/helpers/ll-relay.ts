/**
 * A low-latency relay written for the tests: it sits between `vat serve --format ll-hls|ll-dash` and `vat client` and
 * changes what the client sees in a known way, the ground truth the client's figures are checked against.
 * - holdMs: every media body (parts, segments; not playlists, MPDs, init sections) is a delay line: each piece of it
 *   goes on to the client exactly holdMs after it came from the origin, so every frame arrives holdMs later.
 * - withhold: a part (LL-HLS, by msn and index) is held this much longer than that, and every media body asked for
 *   after it waits behind it, as a stalled packager's would.
 * - earlyReloads: blocking playlist reloads are answered at once with the origin's current playlist (the _HLS_
 *   parameters dropped), as a server or CDN that does not block would.
 * Everything else (/params, /time, /health) passes through unchanged.
 */
export interface LlRelayOptions {
  origin: string;
  holdMs?: number;
  withhold?: { msn: number; part: number; ms: number };
  earlyReloads?: boolean;
}

const PART = /part_(\d+)_(\d+)\.m4s$/;

export class LlRelay {
  readonly server: ReturnType<typeof Bun.serve>;
  /** Blocking reloads the relay answered without blocking. */
  earlyAnswers = 0;
  /** performance.now() when the withheld part's hold ended, once it has. */
  releasedAt: number | null = null;
  /** A withheld part's release: bodies asked for after it wait for it. */
  private gate: Promise<void> | null = null;

  constructor(private readonly o: LlRelayOptions) {
    this.server = Bun.serve({ port: 0, hostname: "127.0.0.1", idleTimeout: 30, fetch: (req) => this.handle(req) });
  }

  get url(): string {
    return `http://127.0.0.1:${this.server.port}`;
  }

  stop(): void {
    this.server.stop(true);
  }

  private async handle(req: Request): Promise<Response> {
    const incoming = new URL(req.url);
    const target = new URL(incoming.pathname + incoming.search, this.o.origin);
    const blocking = target.searchParams.has("_HLS_msn");
    if (this.o.earlyReloads && blocking) {
      for (const k of ["_HLS_msn", "_HLS_part", "_HLS_skip"]) target.searchParams.delete(k);
      this.earlyAnswers++;
    }
    const media = /\.m4s$/.test(incoming.pathname);
    const gate = this.gate;
    const m = PART.exec(incoming.pathname);
    const w = this.o.withhold;
    const withheld = m && w && Number(m[1]) === w.msn && Number(m[2]) === w.part;
    const extraMs = withheld ? w.ms : 0;
    let release = () => {};
    if (withheld) {
      this.gate = new Promise((r) => (release = r));
    }
    const headers0: Record<string, string> = {};
    for (const k of ["range", "cache-control"]) {
      const v = req.headers.get(k);
      if (v !== null) headers0[k] = v;
    }
    const res = await fetch(target, { headers: headers0, signal: req.signal }).catch(() => null);
    if (!res) return new Response("origin unreachable", { status: 502 });
    const headers = new Headers(res.headers);
    headers.delete("content-length");
    headers.delete("content-encoding");
    const holdMs = media ? (this.o.holdMs ?? 0) + extraMs : 0;
    if (!media || !res.body || (holdMs === 0 && !gate)) return new Response(res.body, { status: res.status, headers });
    return new Response(this.delayLine(res.body, holdMs, media && !withheld ? gate : null, () => {
      if (withheld) {
        this.releasedAt = performance.now();
        release();
      }
    }), { status: res.status, headers });
  }

  /**
   * Each piece of the body goes on holdMs after it came (and not before `gate` opened); done() once the hold of the
   * first piece is over.
   */
  private delayLine(body: ReadableStream<Uint8Array>, holdMs: number, gate: Promise<void> | null, done: () => void): ReadableStream<Uint8Array> {
    let chain: Promise<void> = Promise.resolve();
    let first = true;
    return new ReadableStream<Uint8Array>({
      async start(controller) {
        const reader = body.getReader();
        for (;;) {
          const { done: end, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
          const due = performance.now() + holdMs;
          const isFirst = first;
          first = false;
          chain = chain.then(async () => {
            if (gate) await gate;
            const wait = due - performance.now();
            if (wait > 0) await Bun.sleep(wait);
            if (isFirst) done();
            if (end) controller.close();
            else controller.enqueue(value!);
          });
          if (end) break;
        }
        await chain;
      },
    });
  }
}
