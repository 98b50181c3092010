/** Log lines on stderr with a UTC timestamp: what long-running commands print when no one watches a terminal. */
export function logLine(line: string): void {
  process.stderr.write(`${new Date().toISOString()} ${line}\n`);
}

export const isTerminal = (): boolean => Boolean(process.stderr.isTTY);
