/** Log lines on stderr with a UTC timestamp: what long-running commands print when no one watches a terminal. */
export function logLine(line: string): void {
  process.stderr.write(`${new Date().toISOString()} ${line}\n`);
}

export const isTerminal = (): boolean => Boolean(process.stderr.isTTY);

export interface ProgressOptions {
  /** Draw an updating line (a terminal) or write periodic log lines (a log file, a pipe). Default: isTerminal(). */
  terminal?: boolean;
  /** Without a terminal, the least time between two progress log lines; a line whose key changed is logged at once. */
  logEveryMs?: number;
  now?: () => number;
  write?: (text: string) => void;
}

/**
 * The one way a long command shows progress: on a terminal a single line redrawn in place, otherwise a log line every
 * logEveryMs (or when the line's key, e.g. a waiting reason, changes). info() prints a lasting line above it.
 */
export class Progress {
  private shown = false;
  /** A short task logs no progress at all: the first periodic line comes logEveryMs after the start. */
  private lastLogMs: number;
  private lastKey: string | null = null;
  private readonly terminal: boolean;
  private readonly logEveryMs: number;
  private readonly now: () => number;
  private readonly write: (text: string) => void;

  constructor(o: ProgressOptions = {}) {
    this.terminal = o.terminal ?? isTerminal();
    this.logEveryMs = o.logEveryMs ?? 10_000;
    this.now = o.now ?? (() => performance.now());
    this.write = o.write ?? ((t) => process.stderr.write(t));
    this.lastLogMs = this.now();
  }

  get onTerminal(): boolean {
    return this.terminal;
  }

  /** The current state. key: what identifies the line apart from its counters (defaults to the line itself). */
  update(line: string, opts: { key?: string; final?: boolean } = {}): void {
    if (this.terminal) {
      this.write(`\r\x1b[2K${line}`);
      this.shown = true;
      return;
    }
    const key = opts.key ?? null;
    const t = this.now();
    const changed = key !== null && key !== this.lastKey;
    if (key !== null) this.lastKey = key;
    if (changed || opts.final || (key === null && t - this.lastLogMs >= this.logEveryMs)) {
      this.lastLogMs = t;
      this.write(`${new Date().toISOString()} ${line}\n`);
    }
  }

  /** A lasting line: clears the progress line first. */
  info(line: string): void {
    this.clear();
    this.write(`${new Date().toISOString()} ${line}\n`);
  }

  /** Removes the progress line (before the command prints its result). */
  clear(): void {
    if (this.shown) this.write("\r\x1b[2K");
    this.shown = false;
  }
}
