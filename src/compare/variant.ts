import type { VariantChoice } from "./providers.ts";

/**
 * The rendition of a provider's multivariant HLS playlist to measure, as its providers-file entry asks. Pure: playlist
 * text and the choice in, the chosen variant (or why none fits) out. The client itself follows the first variant.
 */
export interface HlsVariant {
  uri: string;
  bandwidth: number | null;
  width: number | null;
  height: number | null;
}

/** A master playlist's variants in their order; empty for a media playlist. */
export function parseVariants(text: string): HlsVariant[] {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  const out: HlsVariant[] = [];
  lines.forEach((line, i) => {
    if (!line.startsWith("#EXT-X-STREAM-INF:")) return;
    const uri = lines.slice(i + 1).find((l) => l !== "" && !l.startsWith("#"));
    if (uri === undefined) return;
    const attrs = line.slice("#EXT-X-STREAM-INF:".length);
    const bandwidth = /(?:^|,)BANDWIDTH=(\d+)/.exec(attrs);
    const resolution = /(?:^|,)RESOLUTION=(\d+)x(\d+)/.exec(attrs);
    out.push({
      uri,
      bandwidth: bandwidth ? Number(bandwidth[1]) : null,
      width: resolution ? Number(resolution[1]) : null,
      height: resolution ? Number(resolution[2]) : null,
    });
  });
  return out;
}

export type VariantPick = { ok: true; variant: HlsVariant } | { ok: false; reason: string };

export function chooseVariant(variants: readonly HlsVariant[], choice: VariantChoice): VariantPick {
  if (variants.length === 0) return { ok: false, reason: "the playlist lists no variant" };
  const ladder = variants.map(describeVariant).join(", ");
  const none = (what: string): VariantPick => ({ ok: false, reason: `no variant is ${what}: the playlist has ${ladder}` });
  const byBandwidth = (pick: (a: number, b: number) => boolean) => {
    const known = variants.filter((v) => v.bandwidth !== null);
    if (known.length === 0) return null;
    return known.reduce((best, v) => (pick(v.bandwidth!, best.bandwidth!) ? v : best));
  };
  switch (choice.kind) {
    case "highest":
    case "lowest": {
      const v = byBandwidth(choice.kind === "highest" ? (a, b) => a > b : (a, b) => a < b);
      return v ? { ok: true, variant: v } : none("marked with its BANDWIDTH");
    }
    case "bandwidth": {
      const known = variants.filter((v) => v.bandwidth !== null);
      if (known.length === 0) return none("marked with its BANDWIDTH");
      const target = choice.bitsPerS;
      return { ok: true, variant: known.reduce((best, v) => (Math.abs(v.bandwidth! - target) < Math.abs(best.bandwidth! - target) ? v : best)) };
    }
    case "resolution": {
      const v = variants.find((x) => x.height === choice.height && (choice.width === null || x.width === choice.width));
      return v ? { ok: true, variant: v } : none(choice.width === null ? `${choice.height}p` : `${choice.width}x${choice.height}`);
    }
    case "index": {
      const v = variants[choice.index];
      return v ? { ok: true, variant: v } : none(`number ${choice.index} (counted from 0)`);
    }
  }
}

function describeVariant(v: HlsVariant): string {
  const size = v.height !== null ? `${v.width}x${v.height}` : "?x?";
  return v.bandwidth !== null ? `${size} at ${Math.round(v.bandwidth / 1000)} kbps` : size;
}
