/**
 * A small, strict XML reader for the subset MPDs use: elements, attributes, text, comments, CDATA, the XML
 * declaration and processing instructions, the five predefined entities and character references. No DTDs (a
 * DOCTYPE is refused: MPDs have none, and entity expansion is where XML parsers get attacked). Pure: text in, tree out.
 */

export class XmlError extends Error {}

export interface XmlElement {
  /** Qualified name as written, e.g. "cenc:pssh". */
  name: string;
  /** Name without its namespace prefix, e.g. "pssh". */
  localName: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** The element's own character data (CDATA included), entities resolved, untrimmed. */
  text: string;
}

/** Nesting deeper than any MPD needs is refused rather than followed. */
const MAX_DEPTH = 64;
const NAME = /[A-Za-z_][\w.\-:]*/y;
const ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

export function parseXml(text: string): XmlElement {
  let pos = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const stack: XmlElement[] = [];
  let root: XmlElement | null = null;

  const fail = (what: string): never => {
    const line = text.slice(0, pos).split("\n").length;
    throw new XmlError(`${what} at line ${line}`);
  };
  const readName = (): string => {
    NAME.lastIndex = pos;
    const m = NAME.exec(text);
    if (!m) return fail("expected a name");
    pos += m[0].length;
    return m[0];
  };
  const skipSpace = () => {
    while (pos < text.length && /\s/.test(text[pos]!)) pos++;
  };
  const expectClose = (end: string, what: string) => {
    const at = text.indexOf(end, pos);
    if (at < 0) fail(`unterminated ${what}`);
    const body = text.slice(pos, at);
    pos = at + end.length;
    return body;
  };

  while (pos < text.length) {
    const lt = text.indexOf("<", pos);
    const chunk = text.slice(pos, lt < 0 ? text.length : lt);
    if (chunk) {
      const top = stack.at(-1);
      if (top) top.text += decodeEntities(chunk, fail);
      else if (chunk.trim()) fail("text outside the root element");
    }
    if (lt < 0) break;
    pos = lt;
    if (text.startsWith("<!--", pos)) {
      pos += 4;
      expectClose("-->", "comment");
    } else if (text.startsWith("<![CDATA[", pos)) {
      pos += 9;
      const data = expectClose("]]>", "CDATA section");
      const top = stack.at(-1);
      if (!top) fail("CDATA outside the root element");
      else top.text += data;
    } else if (text.startsWith("<?", pos)) {
      pos += 2;
      expectClose("?>", "processing instruction");
    } else if (text.startsWith("<!", pos)) {
      fail("a DOCTYPE or declaration, which MPDs do not use");
    } else if (text.startsWith("</", pos)) {
      pos += 2;
      const name = readName();
      skipSpace();
      if (text[pos] !== ">") fail(`malformed closing tag </${name}`);
      pos++;
      const open = stack.pop();
      if (!open || open.name !== name) fail(`</${name}> does not close <${open?.name ?? "nothing"}>`);
    } else {
      pos++;
      const name = readName();
      const el: XmlElement = { name, localName: name.slice(name.indexOf(":") + 1), attributes: {}, children: [], text: "" };
      for (;;) {
        const before = pos;
        skipSpace();
        if (text.startsWith("/>", pos) || text[pos] === ">") break;
        if (pos === before) fail(`expected a space before the attribute in <${name}>`);
        const attr = readName();
        skipSpace();
        if (text[pos] !== "=") fail(`attribute ${attr} of <${name}> has no value`);
        pos++;
        skipSpace();
        const quote = text[pos];
        if (quote !== '"' && quote !== "'") return fail(`attribute ${attr} of <${name}> is not quoted`);
        pos++;
        const raw = expectClose(quote, `attribute ${attr}`);
        if (raw.includes("<")) fail(`'<' inside attribute ${attr}`);
        if (attr in el.attributes) fail(`attribute ${attr} repeated in <${name}>`);
        el.attributes[attr] = decodeEntities(raw, fail);
      }
      const selfClosing = text[pos] === "/";
      pos += selfClosing ? 2 : 1;
      const parent = stack.at(-1);
      if (parent) parent.children.push(el);
      else if (root) fail("a second root element");
      else root = el;
      if (!selfClosing) {
        stack.push(el);
        if (stack.length > MAX_DEPTH) fail(`elements nested deeper than ${MAX_DEPTH}`);
      }
    }
  }
  if (stack.length > 0) fail(`<${stack.at(-1)!.name}> is never closed`);
  if (!root) throw new XmlError("no root element");
  return root;
}

function decodeEntities(s: string, fail: (what: string) => never): string {
  if (!s.includes("&")) return s;
  return s.replace(/&([^;&\s]*);?/g, (whole, ref: string) => {
    if (!whole.endsWith(";")) return fail(`unterminated entity '&${ref}'`);
    if (ref in ENTITIES) return ENTITIES[ref]!;
    const code = ref.startsWith("#x") ? parseInt(ref.slice(2), 16) : ref.startsWith("#") ? parseInt(ref.slice(1), 10) : NaN;
    if (!Number.isInteger(code) || code < 1 || code > 0x10ffff || !/^#(x[0-9a-fA-F]+|\d+)$/.test(ref)) return fail(`unknown entity '&${ref};'`);
    return String.fromCodePoint(code);
  });
}

/** Children with the given local name (namespace prefixes ignored). */
export function childrenNamed(el: XmlElement, localName: string): XmlElement[] {
  return el.children.filter((c) => c.localName === localName);
}

export function firstChild(el: XmlElement, localName: string): XmlElement | null {
  return el.children.find((c) => c.localName === localName) ?? null;
}
