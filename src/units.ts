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

const UNIT_BYTES: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

/** "16MB", "256MiB", "1.5GB", "4096" (bytes) → bytes. Pure. */
export function parseBytes(input: string | number, what: string): number {
  const text = String(input).trim().toLowerCase();
  const m = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|kib|mib|gib)?$/.exec(text);
  if (!m) throw badInput(`${what} '${input}' is not a size: use a number of bytes or e.g. 16MB, 256MiB, 1GB`);
  const bytes = Math.round(Number(m[1]) * UNIT_BYTES[m[2] ?? "b"]!);
  if (!(bytes > 0)) throw badInput(`${what} '${input}' must be more than zero`);
  return bytes;
}
