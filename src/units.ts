import { badInput } from "./errors.ts";

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000 };

/** "20s", "1.5m", "2h", "250ms" or a plain number of seconds → milliseconds. Pure. */
export function parseDurationMs(input: string | number, what: string): number {
  const text = String(input).trim().toLowerCase();
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)?$/.exec(text);
  if (!m) {
    throw badInput(`${what} '${input}' is not a duration: use a number of seconds or e.g. 250ms, 20s, 5m, 2h`);
  }
  const ms = Number(m[1]) * UNIT_MS[m[2] ?? "s"]!;
  if (!(ms > 0)) throw badInput(`${what} '${input}' must be more than zero`);
  return ms;
}

export function formatMs(ms: number | null | undefined, digits = 0): string {
  return ms === null || ms === undefined ? "-" : `${ms.toFixed(digits)} ms`;
}
