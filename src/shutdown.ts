import { exitCodeForSignal } from "./errors.ts";

/** SIGINT/SIGTERM as a promise: commands wait on it and finish their work instead of dying mid-write. */
export interface Shutdown {
  /** Resolves with the signal's name when the first one arrives. */
  requested: Promise<NodeJS.Signals>;
  /** The signal received so far, if any. */
  readonly signal: NodeJS.Signals | null;
  dispose(): void;
}

/**
 * A repeat within this time is the same request delivered twice, not a second one: a terminal signals the whole
 * process group, and Slurm's scancel signals every process of a job while its wrapper script forwards the signal too.
 */
export const REPEAT_WINDOW_MS = 2000;

export function listenForShutdown(now: () => number = () => performance.now()): Shutdown {
  let received: NodeJS.Signals | null = null;
  let receivedAt = 0;
  let resolve!: (s: NodeJS.Signals) => void;
  const requested = new Promise<NodeJS.Signals>((r) => (resolve = r));
  const handlers = new Map<NodeJS.Signals, () => void>();
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    const h = () => {
      if (received) {
        if (now() - receivedAt < REPEAT_WINDOW_MS) return;
        // A second signal means "now": leave without finishing.
        process.exit(exitCodeForSignal(sig));
      }
      received = sig;
      receivedAt = now();
      resolve(sig);
    };
    handlers.set(sig, h);
    process.on(sig, h);
  }
  return {
    requested,
    get signal() {
      return received;
    },
    dispose() {
      for (const [sig, h] of handlers) process.off(sig, h);
    },
  };
}
