/**
 * Where a parser that names no position (Bun's TOML and JSON parsers say what is wrong, never where) first fails. Pure.
 * The parser itself is the judge: the place is the shortest prefix that fails with the same message whatever follows
 * it, so the error lies inside that prefix and not at its end. When no prefix does, the text ended too early.
 */
export interface SyntaxPosition {
  /** 1-based. */
  line: number;
  /** 1-based, in characters. */
  column: number;
}

/** Text a prefix ends on that no grammar of the two continues the same way: a control character, an opening quote, closers. */
const CONTINUATIONS = ["\u0001", '"', "]", "}"];

/** Past this a search over every prefix costs more than the position is worth (a providers file is a few KB). */
const MAX_SEARCHED_CHARS = 32 * 1024;

export function findSyntaxPosition(text: string, parse: (text: string) => unknown): SyntaxPosition | null {
  const message = errorMessageOf(parse, text);
  if (message === null || text.length > MAX_SEARCHED_CHARS) return null;
  for (let end = 1; end <= text.length; end++) {
    const prefix = text.slice(0, end);
    if (CONTINUATIONS.every((c) => errorMessageOf(parse, prefix + c) === message)) return positionAt(text, end - 1);
  }
  return positionAt(text, text.trimEnd().length);
}

/** Line and column of a character offset (an offset past the end is the place just after the last character). */
export function positionAt(text: string, offset: number): SyntaxPosition {
  const before = text.slice(0, offset);
  const lineStart = before.lastIndexOf("\n") + 1;
  return { line: before.split("\n").length, column: offset - lineStart + 1 };
}

function errorMessageOf(parse: (text: string) => unknown, text: string): string | null {
  try {
    parse(text);
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}
