import { readFileSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { join } from "node:path";
import { ffprobeFrames, VAT } from "./vat.ts";

/**
 * HLS servers written for the tests that misbehave in a known way: the ground truth the client is checked against.
 * Every path answers from a route (with how many times it was asked, from 1); every request is counted.
 */
export class HostileServer {
  readonly server: ReturnType<typeof Bun.serve>;
  readonly requests = new Map<string, number>();

  constructor(routes: Record<string, (n: number) => Response | Promise<Response>>) {
    this.server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: (req) => {
        const path = new URL(req.url).pathname;
        const n = (this.requests.get(path) ?? 0) + 1;
        this.requests.set(path, n);
        const route = routes[path];
        return route ? route(n) : new Response("not here", { status: 404 });
      },
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.server.port}`;
  }

  asked(path: string): number {
    return this.requests.get(path) ?? 0;
  }

  stop(): void {
    this.server.stop(true);
  }
}

/**
 * A raw HTTP server whose every answer declares `declaredBytes` in Content-Length and then sends zeros slowly (as a
 * huge file would arrive), until the client hangs up: it counts what it sent. Bun.serve cannot lie about a length.
 */
export class DeclaringServer {
  private readonly server = createServer((socket) => this.answer(socket));
  private readonly sockets = new Set<Socket>();
  sentBytes = 0;
  hungUp = 0;
  port = 0;

  constructor(private readonly declaredBytes: number) {}

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private answer(socket: Socket): void {
    this.sockets.add(socket);
    let timer: Timer | null = null;
    socket.once("data", () => {
      socket.write(`HTTP/1.1 200 OK\r\nContent-Type: video/mp2t\r\nContent-Length: ${this.declaredBytes}\r\n\r\n`);
      const chunk = new Uint8Array(16 * 1024);
      timer = setInterval(() => {
        if (socket.destroyed || this.sentBytes >= this.declaredBytes) return;
        socket.write(chunk);
        this.sentBytes += chunk.length;
      }, 20);
    });
    const done = () => {
      if (timer) clearInterval(timer);
      if (this.sockets.delete(socket)) this.hungUp++;
    };
    socket.on("close", done);
    socket.on("error", done);
  }

  stop(): void {
    for (const s of this.sockets) s.destroy();
    this.server.close();
  }
}

export interface TestSegments {
  files: string[];
  bytes: Uint8Array[];
  /** Frames in each, as ffprobe counts them. */
  frames: number[];
}

/**
 * `count` one-second MPEG-TS segments of one continuous 240p vat test signal (`vat generate video`, cut by real
 * ffmpeg without re-encoding), in `dir`: every frame carries its vat code, as a measured stream's must.
 */
export function makeSegments(dir: string, count: number, fps = 10): TestSegments {
  const video = join(dir, "signal.ts");
  const generated = Bun.spawnSync([
    VAT, "generate", "video", "--size", "240p", "--fps", String(fps), "--duration", `${count}s`, "--keyframe-interval", "1", "-o", video,
  ]);
  if (generated.exitCode !== 0) throw new Error(`vat generate failed: ${generated.stderr.toString()}`);
  const cut = Bun.spawnSync([
    "ffmpeg", "-v", "error", "-i", video, "-c", "copy", "-f", "hls", "-hls_time", "1", "-hls_list_size", "0",
    "-hls_segment_filename", join(dir, "seg_%d.ts"), join(dir, "made.m3u8"),
  ]);
  if (cut.exitCode !== 0) throw new Error(`ffmpeg could not cut test segments: ${cut.stderr.toString()}`);
  const files = Array.from({ length: count }, (_, i) => join(dir, `seg_${i}.ts`));
  return { files, bytes: files.map((f) => new Uint8Array(readFileSync(f))), frames: files.map((f) => ffprobeFrames(f)) };
}

/** A media playlist of these entries (`[duration, uri]`), optionally live (no end). */
export function mediaPlaylist(entries: [string | number, string][], o: { sequence?: number; end?: boolean; head?: string } = {}): string {
  let text = `#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:${o.sequence ?? 0}\n${o.head ?? ""}`;
  for (const [d, uri] of entries) text += `#EXTINF:${d},\n${uri}\n`;
  return o.end === false ? text : `${text}#EXT-X-ENDLIST\n`;
}

export const segmentResponse = (bytes: Uint8Array) => new Response(bytes, { headers: { "content-type": "video/mp2t" } });
