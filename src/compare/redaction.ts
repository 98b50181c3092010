import type { ProviderUrl } from "./providers.ts";

/**
 * Replaces the secrets of a comparison's URLs wherever they turn up in text that vat shows or stores: a child's log
 * line, an error message, a stored URL, a segment's URL that repeats a stream key. Pure. Each whole URL becomes its
 * redacted form; then each secret part on its own (what the redacted form shows as `***`) becomes `***`.
 */
export class SecretRedactor {
  private readonly pairs: [string, string][];

  constructor(urls: readonly ProviderUrl[]) {
    const whole = new Map<string, string>();
    const parts = new Set<string>();
    for (const u of urls) {
      if (u.reveal() === u.display) continue;
      whole.set(u.reveal(), u.display);
      for (const p of secretParts(u.reveal(), u.display)) if (p.length >= MIN_SECRET_CHARS) parts.add(p);
    }
    const longestFirst = (a: [string, string], b: [string, string]) => b[0].length - a[0].length;
    this.pairs = [...[...whole].sort(longestFirst), ...[...parts].map((p): [string, string] => [p, "***"]).sort(longestFirst)];
  }

  /** (secret, shown) in the order they are applied: for replacing in stored text. */
  get replacements(): readonly [string, string][] {
    return this.pairs;
  }

  redact(text: string): string {
    let out = text;
    for (const [secret, shown] of this.pairs) out = out.split(secret).join(shown);
    return out;
  }
}

/**
 * A shorter part (a stream key like "live" or "stream", redacted by rule rather than because it is random) would blank
 * out ordinary words everywhere; it is still replaced as part of its whole URL.
 */
const MIN_SECRET_CHARS = 8;

/** What stands at each `***` of the shown form in the real URL: the shown form's other pieces are found in order. */
export function secretParts(revealed: string, shown: string): string[] {
  const pieces = shown.split("***");
  const out: string[] = [];
  if (!revealed.startsWith(pieces[0]!)) return out;
  let at = pieces[0]!.length;
  for (let i = 1; i < pieces.length; i++) {
    const piece = pieces[i]!;
    const next = piece === "" && i === pieces.length - 1 ? revealed.length : revealed.indexOf(piece, at);
    if (next < 0) break;
    out.push(revealed.slice(at, next));
    at = next + piece.length;
  }
  return out.filter((p) => p !== "");
}
