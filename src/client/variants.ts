/**
 * Which rendition of a ladder (an HLS multivariant playlist, a DASH adaptation set) to measure. Pure. The default is
 * the highest: what a player on a good network settles on.
 */
export type VariantChoice =
  | { kind: "highest" }
  | { kind: "lowest" }
  | { kind: "bandwidth"; bitsPerS: number }
  | { kind: "resolution"; width: number | null; height: number }
  | { kind: "index"; index: number };

export const VARIANT_RULE = "highest, lowest, a bandwidth like 2500kbps or 2.5Mbps, a resolution like 1280x720 or 720p, or an index like 0";

/** "highest", "lowest", "2500kbps", "2.5Mbps", "1280x720", "720p", 0 or "0" → a choice; anything else → null. */
export function parseVariantChoice(value: unknown): VariantChoice | null {
  if (typeof value === "number") return Number.isInteger(value) && value >= 0 ? { kind: "index", index: value } : null;
  if (typeof value !== "string") return null;
  const text = value.trim().toLowerCase();
  if (text === "highest" || text === "lowest") return { kind: text };
  if (/^\d+$/.test(text)) return { kind: "index", index: Number(text) };
  const wxh = /^(\d+)x(\d+)$/.exec(text);
  if (wxh) return Number(wxh[1]) > 0 && Number(wxh[2]) > 0 ? { kind: "resolution", width: Number(wxh[1]), height: Number(wxh[2]) } : null;
  const p = /^(\d+)p$/.exec(text);
  if (p) return Number(p[1]) > 0 ? { kind: "resolution", width: null, height: Number(p[1]) } : null;
  const bw = /^(\d+(?:\.\d+)?)\s*(bps|kbps|mbps)$/.exec(text);
  if (bw) {
    const bitsPerS = Math.round(Number(bw[1]) * { bps: 1, kbps: 1e3, mbps: 1e6 }[bw[2] as "bps" | "kbps" | "mbps"]);
    return bitsPerS > 0 ? { kind: "bandwidth", bitsPerS } : null;
  }
  return null;
}

export interface Rendition {
  bandwidth: number;
  width: number | null;
  height: number | null;
}

/**
 * The rendition a choice names among `list` (any order): by bandwidth the highest at or below the one named (else the
 * lowest), by resolution an exact match, by index in ascending bandwidth order. Null when nothing matches.
 */
export function chooseRendition<T extends Rendition>(list: readonly T[], choice: VariantChoice): T | null {
  const sorted = byBandwidth(list);
  if (sorted.length === 0) return null;
  switch (choice.kind) {
    case "highest":
      return sorted.at(-1)!;
    case "lowest":
      return sorted[0]!;
    case "index":
      return sorted[choice.index] ?? null;
    case "bandwidth":
      return sorted.filter((r) => r.bandwidth <= choice.bitsPerS).at(-1) ?? sorted[0]!;
    case "resolution":
      return sorted.filter((r) => r.height === choice.height && (choice.width === null || r.width === choice.width)).at(-1) ?? null;
  }
}

/** Renditions in the order indices count them: lowest bandwidth first (then smallest picture). */
export function byBandwidth<T extends Rendition>(list: readonly T[]): T[] {
  return [...list].sort((a, b) => a.bandwidth - b.bandwidth || (a.height ?? 0) - (b.height ?? 0));
}

/** How a rendition reads in a line: "1280x720 at 2500 kbit/s". */
export function describeRendition(r: Rendition): string {
  const size = r.width && r.height ? `${r.width}x${r.height}` : r.height ? `${r.height}p` : "size unknown";
  return `${size} at ${Math.round(r.bandwidth / 1000)} kbit/s`;
}
