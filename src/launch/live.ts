import { failed, interrupted } from "../errors.ts";

export interface LiveWait {
  timeoutMs: number;
  cancelled: () => string | null;
  /** Why the server can no longer come up (its process ended), if so. */
  dead?: () => string | null;
  onWaiting: (reason: string, elapsedMs: number) => void;
}

/** Polls a vat server's /health until it says the stream is live: bounded, visible, interruptible, no fixed sleeps. */
export async function waitUntilLive(url: string, o: LiveWait): Promise<void> {
  const started = performance.now();
  for (;;) {
    const sig = o.cancelled();
    if (sig) throw interrupted(sig, `stopped by ${sig} while waiting for the server`);
    const dead = o.dead?.();
    if (dead) throw failed(dead);
    let reason = "not answering yet";
    try {
      const r = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
      if (r.status === 200) return;
      reason = ((await r.json()) as { reason?: string }).reason ?? `HTTP ${r.status}`;
    } catch {
      // not listening yet
    }
    const elapsed = performance.now() - started;
    if (elapsed > o.timeoutMs) throw failed(`the server was not live after ${Math.round(o.timeoutMs / 1000)} s (${reason})`);
    o.onWaiting(reason, elapsed);
    await Bun.sleep(200);
  }
}
