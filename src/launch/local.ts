import type { Subprocess } from "bun";
import { StderrTail } from "../ffmpeg.ts";
import { Readable } from "node:stream";
import { waitUntilLive } from "./live.ts";

export interface LocalOrigin {
  url: string;
  pid: number;
  /** Stops the server (SIGTERM, SIGKILL after a grace period); safe to call more than once. */
  stop(reason?: string): Promise<void>;
}

export interface LocalOptions {
  /** How to run this same vat: the executable (and the script, when run from source). */
  self: string[];
  env: Record<string, string>;
  /** More `vat serve` options (size, fps, id). */
  serveArgs?: readonly string[];
  /** Ingests to push the one encode to: passed in VAT_PUSH, so they stay out of serve's command line. */
  pushUrls?: readonly string[];
  startTimeoutMs: number;
  cancelled: () => string | null;
  onServerLine: (line: string) => void;
  onWaiting: (reason: string, elapsedMs: number) => void;
}

/** How this process was started, so a child can run the same vat. */
export function selfCommand(): string[] {
  return /\.(ts|js)$/.test(Bun.main) ? [process.execPath, Bun.main] : [process.execPath];
}

function freePort(): number {
  const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = s.port!;
  s.stop(true);
  return port;
}

/** Starts `vat serve` on a free loopback port and waits until its /health says the stream is live. */
export async function startLocalOrigin(o: LocalOptions): Promise<LocalOrigin> {
  const port = freePort();
  const child: Subprocess<"ignore", "ignore", "pipe"> = Bun.spawn(
    [...o.self, "serve", "--host", "127.0.0.1", "--port", String(port), ...(o.serveArgs ?? [])],
    {
      stdin: "ignore",
      stdout: "ignore",
      stderr: "pipe",
      env: { ...process.env, ...o.env, ...(o.pushUrls?.length ? { VAT_PUSH: o.pushUrls.join("\n") } : {}) },
    },
  );
  const tail = new StderrTail(Readable.fromWeb(child.stderr as never), 20, o.onServerLine);
  let stopped = false;
  const origin: LocalOrigin = {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid,
    async stop() {
      const graceMs = 3000;
      if (stopped) return;
      stopped = true;
      if (child.exitCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await child.exited;
      clearTimeout(timer);
    },
  };
  try {
    await waitUntilLive(origin.url, {
      timeoutMs: o.startTimeoutMs,
      cancelled: o.cancelled,
      dead: () =>
        child.exitCode !== null
          ? `vat serve exited (code ${child.exitCode}) before the stream was live: ${tail.last || "no message"}`
          : null,
      onWaiting: o.onWaiting,
    });
    return origin;
  } catch (err) {
    await origin.stop();
    throw err;
  }
}
