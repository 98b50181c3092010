import type { Subprocess } from "bun";
import { Readable } from "node:stream";
import { StderrTail } from "../ffmpeg.ts";
import { waitUntilLive } from "../launch/live.ts";
import type { LocalOrigin } from "../launch/local.ts";

/**
 * `vat serve` on a free loopback port pushing its one encode to every provider's ingest, live once its /health says
 * so. launch's startLocalOrigin takes no serve arguments, hence this sibling; both wait and stop the same way.
 */
export interface PushingOriginOptions {
  self: string[];
  /** serve's own options: size, fps, id. */
  serveArgs: string[];
  /** Revealed ingest URLs, in the providers' order. */
  pushUrls: readonly string[];
  startTimeoutMs: number;
  cancelled: () => string | null;
  onServerLine: (line: string) => void;
  onWaiting: (reason: string, elapsedMs: number) => void;
}

const STOP_GRACE_MS = 3000;

export async function startPushingOrigin(o: PushingOriginOptions): Promise<LocalOrigin> {
  const port = unusedPort();
  const child: Subprocess<"ignore", "ignore", "pipe"> = Bun.spawn(
    [...o.self, "serve", "--host", "127.0.0.1", "--port", String(port), ...o.serveArgs, ...o.pushUrls.flatMap((u) => ["--push", u])],
    { stdin: "ignore", stdout: "ignore", stderr: "pipe", env: process.env },
  );
  const tail = new StderrTail(Readable.fromWeb(child.stderr as never), 20, o.onServerLine);
  let stopping: Promise<void> | null = null;
  const origin: LocalOrigin = {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid,
    stop() {
      stopping ??= (async () => {
        if (child.exitCode === null) child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
        await child.exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
  try {
    await waitUntilLive(origin.url, {
      timeoutMs: o.startTimeoutMs,
      cancelled: o.cancelled,
      dead: () => (child.exitCode !== null ? `vat serve exited (code ${child.exitCode}) before the stream was live: ${tail.last || "no message"}` : null),
      onWaiting: o.onWaiting,
    });
    return origin;
  } catch (err) {
    await origin.stop();
    throw err;
  }
}

/** A port the kernel just handed out and took back: free unless something grabs it in the next instant. */
function unusedPort(): number {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return port;
}
