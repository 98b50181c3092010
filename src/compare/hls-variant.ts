import { chooseRendition, describeRendition, type Rendition, type VariantChoice } from "../client/variants.ts";

/**
 * The variant of a provider's multivariant HLS playlist that its providers-file entry (or --variant) names: the
 * client's HLS reader follows the first variant, so the comparison hands it the chosen media playlist instead. Pure:
 * playlist text and the choice in, the variant's URI (or why none fits) out, by the client's own rules of choice.
 */
export interface HlsVariant extends Rendition {
  uri: string;
}

/** A multivariant playlist's variants in their order; empty for a media playlist. BANDWIDTH is required by RFC 8216. */
export function parseHlsVariants(text: string): HlsVariant[] {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  const out: HlsVariant[] = [];
  lines.forEach((line, i) => {
    if (!line.startsWith("#EXT-X-STREAM-INF:")) return;
    const uri = lines.slice(i + 1).find((l) => l !== "" && !l.startsWith("#"));
    const attrs = line.slice("#EXT-X-STREAM-INF:".length);
    const bandwidth = /(?:^|,)BANDWIDTH=(\d+)/.exec(attrs);
    if (uri === undefined || !bandwidth) return;
    const resolution = /(?:^|,)RESOLUTION=(\d+)x(\d+)/.exec(attrs);
    out.push({
      uri,
      bandwidth: Number(bandwidth[1]),
      width: resolution ? Number(resolution[1]) : null,
      height: resolution ? Number(resolution[2]) : null,
    });
  });
  return out;
}

export type VariantPick = { ok: true; uri: string } | { ok: false; reason: string };

export function pickHlsVariant(variants: readonly HlsVariant[], choice: VariantChoice): VariantPick {
  const v = chooseRendition(variants, choice);
  if (v) return { ok: true, uri: v.uri };
  if (variants.length === 0) return { ok: false, reason: "the multivariant playlist lists no variant with its BANDWIDTH" };
  return { ok: false, reason: `no variant fits ${describeChoice(choice)}: the playlist has ${variants.map(describeRendition).join(", ")}` };
}

function describeChoice(c: VariantChoice): string {
  switch (c.kind) {
    case "highest":
    case "lowest":
      return c.kind;
    case "bandwidth":
      return `${Math.round(c.bitsPerS / 1000)} kbit/s`;
    case "resolution":
      return c.width === null ? `${c.height}p` : `${c.width}x${c.height}`;
    case "index":
      return `index ${c.index} (from the lowest bandwidth)`;
  }
}
