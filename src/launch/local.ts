import type { Subprocess } from "bun";
import { CliError } from "../errors.ts";
import { StderrTail } from "../ffmpeg.ts";
import { Readable } from "node:stream";

export interface LocalOrigin {
  url: string;
  pid: number;
  /** Stops the server (SIGTERM, SIGKILL after graceMs); safe to call more than once. */
  stop(graceMs?: number): Promise<void>;
}

export interface LocalOptions {
  /** How to run this same vat: the executable (and the script, when run from source). */
  self: string[];
  env: Record<string, string>;
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
    [...o.self, "serve", "--host", "127.0.0.1", "--port", String(port)],
    { stdin: "ignore", stdout: "ignore", stderr: "pipe", env: { ...process.env, ...o.env } },
  );
  const tail = new StderrTail(Readable.fromWeb(child.stderr as never), 20, o.onServerLine);
  let stopped = false;
  const origin: LocalOrigin = {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid,
    async stop(graceMs = 3000) {
      if (stopped) return;
      stopped = true;
      if (child.exitCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await child.exited;
      clearTimeout(timer);
    },
  };
  const started = performance.now();
  try {
    for (;;) {
      const sig = o.cancelled();
      if (sig) throw new CliError(`stopped by ${sig} while waiting for the server`, sig === "SIGINT" ? 130 : 143);
      if (child.exitCode !== null) {
        throw new CliError(`vat serve exited (code ${child.exitCode}) before the stream was live: ${tail.last || "no message"}`, 1);
      }
      let reason = "not answering yet";
      try {
        const r = await fetch(`${origin.url}/health`, { signal: AbortSignal.timeout(1000) });
        if (r.status === 200) return origin;
        reason = ((await r.json()) as { reason?: string }).reason ?? `HTTP ${r.status}`;
      } catch {
        // not listening yet
      }
      const elapsed = performance.now() - started;
      if (elapsed > o.startTimeoutMs) {
        throw new CliError(`the server was not live after ${Math.round(o.startTimeoutMs / 1000)} s (${reason})`, 1);
      }
      o.onWaiting(reason, elapsed);
      await Bun.sleep(200);
    }
  } catch (err) {
    await origin.stop();
    throw err;
  }
}
