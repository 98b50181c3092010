import { mkdirSync } from "node:fs";
import { extname, join, normalize } from "node:path";
import { stopProcess, track, waitForUdpPort } from "./processes.ts";
import { freePort, tempDir } from "./vat.ts";

/**
 * A second provider, over SRT: ffmpeg listening for SRT, repackaging what it receives to HLS without transcoding,
 * and a small Bun.serve publishing that folder. SRT's receive latency holds every packet back by a set amount
 * (the larger of the two ends' latencies), which is the delay this provider adds by design.
 */
export interface SrtProvider {
  /** ffmpeg's PID. */
  pid: number;
  /** Where to publish: srt://127.0.0.1:PORT (caller). */
  ingestUrl: string;
  hlsUrl: string;
  latencyMs: number;
  fragmentS: number;
  /** ffmpeg's stderr so far. */
  log(): string;
  /** Stops ffmpeg (SIGTERM, SIGKILL after 2 s) and the HTTP server, waits for both, removes the folder. */
  stop(): Promise<void>;
}

export interface SrtProviderOptions {
  /** SRT receive latency; ffmpeg's default is 120 ms. */
  latencyMs?: number;
  fragmentS?: number;
}

const TYPES: Record<string, string> = { ".m3u8": "application/vnd.apple.mpegurl", ".ts": "video/mp2t" };

export async function startSrtProvider(opts: SrtProviderOptions = {}): Promise<SrtProvider> {
  const latencyMs = opts.latencyMs ?? 120;
  const fragmentS = opts.fragmentS ?? 1;
  const dir = tempDir("vat-srt-");
  const hlsDir = join(dir.path, "hls");
  mkdirSync(hlsDir);
  const port = freePort();
  const proc = track(Bun.spawn([
    "ffmpeg", "-hide_banner", "-nostats", "-loglevel", "error",
    // ffmpeg's SRT latency is in microseconds.
    "-i", `srt://127.0.0.1:${port}?mode=listener&latency=${latencyMs * 1000}`,
    "-c", "copy", "-f", "hls", "-hls_time", String(fragmentS), "-hls_list_size", "6",
    "-hls_flags", "delete_segments+temp_file+independent_segments", join(hlsDir, "stream.m3u8"),
  ], { stdin: "ignore", stdout: "ignore", stderr: "pipe" }));
  let stderr = "";
  void (async () => {
    const dec = new TextDecoder();
    for await (const chunk of proc.stderr) stderr += dec.decode(chunk);
  })();
  const http = serveFolder(hlsDir);
  const stop = async () => {
    await stopProcess(proc);
    http.stop(true);
    dir.cleanup();
  };
  try {
    await waitForUdpPort(port, 5000, () => (proc.exitCode !== null ? `ffmpeg's SRT listener exited (${proc.exitCode}): ${stderr}` : null));
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    pid: proc.pid,
    ingestUrl: `srt://127.0.0.1:${port}`,
    hlsUrl: `http://127.0.0.1:${http.port}/stream.m3u8`,
    latencyMs,
    fragmentS,
    log: () => stderr,
    stop,
  };
}

/** GET of the files in one folder, nothing above it; 404 for anything else. */
export function serveFolder(folder: string): ReturnType<typeof Bun.serve> {
  return Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const path = normalize(decodeURIComponent(new URL(req.url).pathname));
      if (req.method !== "GET" || path.includes("..")) return new Response("not found", { status: 404 });
      const file = Bun.file(join(folder, path));
      if (!(await file.exists())) return new Response("not found", { status: 404 });
      return new Response(await file.arrayBuffer(), {
        headers: { "content-type": TYPES[extname(path)] ?? "application/octet-stream", "cache-control": "no-cache" },
      });
    },
  });
}
