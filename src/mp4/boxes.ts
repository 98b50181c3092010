/**
 * ISO BMFF (ISO/IEC 14496-12) box walking: headers, full-box version/flags and a bounds-checked reader. Pure: bytes
 * in, typed values out. Every read is checked against the box it belongs to, so a hostile size can neither loop nor
 * make the walker allocate: it only ever takes subarray views of the bytes it was given.
 */

/** Structure that is not ISO BMFF, or that contradicts itself (a child larger than its parent, a field past the end). */
export class Mp4Error extends Error {}

export interface BoxHeader {
  /** Four-character type, e.g. "moof"; "uuid" boxes also carry `userType`. */
  type: string;
  /** Offset of the box's first byte in the buffer walked. */
  start: number;
  /** Header length: 8, 16 with a 64-bit largesize, plus 16 for a uuid. */
  headerSize: number;
  /** Whole box length as declared (header included); for size 0 ("to the end") the rest of the buffer. */
  size: number;
  /** The 16-byte extended type of a `uuid` box, as hex. */
  userType: string | null;
}

export interface Box extends BoxHeader {
  /** The box's payload (after the header), a view on the walked bytes. */
  body: Uint8Array;
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/**
 * Reads the header of the box starting at `start`, or null when fewer bytes than a header remain (truncation, not an
 * error: the caller decides). `end` bounds the container the box lives in.
 */
export function readBoxHeader(bytes: Uint8Array, start: number, end = bytes.length): BoxHeader | null {
  end = Math.min(end, bytes.length);
  if (start + 8 > end) return null;
  let size = u32At(bytes, start);
  const type = fourCc(bytes, start + 4);
  let headerSize = 8;
  if (size === 1) {
    if (start + 16 > end) return null;
    const large = viewOf(bytes).getBigUint64(start + 8);
    if (large > BigInt(MAX_SAFE)) throw new Mp4Error(`box '${printable(type)}' at ${start} declares ${large} bytes`);
    size = Number(large);
    headerSize = 16;
  } else if (size === 0) {
    size = end - start;
  }
  let userType: string | null = null;
  if (type === "uuid") {
    if (start + headerSize + 16 > end) return null;
    userType = hex(bytes.subarray(start + headerSize, start + headerSize + 16));
    headerSize += 16;
  }
  if (size < headerSize) throw new Mp4Error(`box '${printable(type)}' at ${start} declares ${size} bytes, less than its header`);
  return { type, start, headerSize, size, userType };
}

/**
 * The boxes inside [start, end). Strict: a box that runs past the end of its container is an error, because inside a
 * complete parent that can only mean corrupt data. For the top level of a segment still arriving, use readBoxHeader.
 */
export function childBoxes(bytes: Uint8Array, start = 0, end = bytes.length): Box[] {
  const out: Box[] = [];
  let pos = start;
  while (pos < end) {
    const h = readBoxHeader(bytes, pos, end);
    if (!h) throw new Mp4Error(`${end - pos} stray bytes at ${pos}, too few for a box header`);
    if (pos + h.size > end) {
      throw new Mp4Error(`box '${printable(h.type)}' at ${pos} (${h.size} bytes) runs past its container's end at ${end}`);
    }
    out.push(boxAt(h, bytes));
    pos += h.size; // size >= headerSize >= 8: always advances
  }
  return out;
}

/**
 * The box a header describes, its body a view of `bytes`, in which the header sits at `at`; `start` is where the box
 * is in the whole stream, for a walker that keeps only part of it (mp4/frame-arrivals.ts).
 */
export function boxAt(h: BoxHeader, bytes: Uint8Array, at = h.start, start = h.start): Box {
  return { type: h.type, start, headerSize: h.headerSize, size: h.size, userType: h.userType, body: bytes.subarray(at + h.headerSize, at + h.size) };
}

/** The first child of the given type, or null. */
export function findChild(boxes: Box[], type: string): Box | null {
  return boxes.find((b) => b.type === type) ?? null;
}

/** Follows a path of box types, taking the first match at each level (e.g. ["mdia", "minf", "stbl", "stsd"]). */
export function findPath(box: Box, path: string[]): Box | null {
  let cur: Box | null = box;
  for (const type of path) {
    if (!cur) return null;
    cur = findChild(childBoxes(cur.body), type);
  }
  return cur;
}

/**
 * A cursor over one box's body that refuses to read past it. Fields are read from the bytes themselves: a fragment
 * per frame makes a few of these a frame, and a DataView for each cost more than the reads.
 */
export class BoxReader {
  pos = 0;
  constructor(
    readonly body: Uint8Array,
    private readonly what: string,
  ) {}
  get remaining(): number {
    return this.body.length - this.pos;
  }
  private need(n: number): number {
    if (this.pos + n > this.body.length) {
      throw new Mp4Error(`'${this.what}' is too short: needs ${this.pos + n} bytes, has ${this.body.length}`);
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }
  u8(): number {
    return this.body[this.need(1)]!;
  }
  u16(): number {
    const at = this.need(2);
    return (this.body[at]! << 8) | this.body[at + 1]!;
  }
  u24(): number {
    const at = this.need(3);
    return (this.body[at]! << 16) | (this.body[at + 1]! << 8) | this.body[at + 2]!;
  }
  u32(): number {
    return u32At(this.body, this.need(4));
  }
  i32(): number {
    return u32At(this.body, this.need(4)) | 0;
  }
  /** A 64-bit unsigned value; media times past 2^53 are not representable as numbers and are refused. */
  u64(): number {
    const at = this.need(8);
    const high = u32At(this.body, at);
    const low = u32At(this.body, at + 4);
    // 2^53 - 1 has 21 bits above the low word: anything more is no exact number.
    if (high >= 0x200000) {
      const v = viewOf(this.body).getBigUint64(at);
      throw new Mp4Error(`'${this.what}' holds a 64-bit value too large to use: ${v}`);
    }
    return high * 0x100000000 + low;
  }
  fourCc(): string {
    return fourCc(this.body, this.need(4));
  }
  skip(n: number): void {
    this.need(n);
  }
  bytes(n: number): Uint8Array {
    const at = this.need(n);
    return this.body.subarray(at, at + n);
  }
  /** A NUL-terminated UTF-8 string (or the rest of the body when it has no NUL). */
  cString(): string {
    const start = this.pos;
    let end = this.body.indexOf(0, start);
    if (end < 0) end = this.body.length;
    this.pos = Math.min(end + 1, this.body.length);
    return new TextDecoder().decode(this.body.subarray(start, end));
  }
  rest(): Uint8Array {
    const out = this.body.subarray(this.pos);
    this.pos = this.body.length;
    return out;
  }
  /** A full box's version and flags. */
  fullBox(): { version: number; flags: number } {
    const version = this.u8();
    return { version, flags: this.u24() };
  }
}

export function fourCc(bytes: Uint8Array, at: number): string {
  return String.fromCharCode(bytes[at]!, bytes[at + 1]!, bytes[at + 2]!, bytes[at + 3]!);
}

/** The big-endian unsigned 32-bit value at `at` (the caller has checked that its four bytes are there). */
export function u32At(bytes: Uint8Array, at: number): number {
  return bytes[at]! * 0x1000000 + ((bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!);
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A type for an error message: binary garbage shown as hex rather than as control characters. */
function printable(type: string): string {
  return /^[\x20-\x7e]{4}$/.test(type) ? type : `0x${hex(new Uint8Array(Array.from(type, (c) => c.charCodeAt(0))))}`;
}
