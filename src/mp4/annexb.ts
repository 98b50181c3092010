/**
 * fMP4 video → an Annex B elementary stream (H.264 or HEVC) for a decoder on a pipe. An fMP4 fragment cannot be fed
 * to a long-lived decoder piece by piece and flushed, but an elementary stream can, the way MPEG-TS is: each frame's
 * length-prefixed NAL units get start codes, and a keyframe gets the parameter sets (from avcC/hvcC) before it, so a
 * copy of a segment's first frame decodes on its own. The samples' own access unit delimiters are left out; one of
 * vat's goes between each two frames (see accessUnitDelimiter), and where each frame ends is said (the feeder gives
 * the decoder a block a frame). Pure.
 */
import { BoxReader, childBoxes, findChild, findPath, Mp4Error, type Box } from "./boxes.ts";
import { concat } from "./fragment-splitter.ts";
import type { VideoFrame } from "./video-frames.ts";

export type ElementaryFormat = "h264" | "hevc";

export interface DecoderConfig {
  format: ElementaryFormat;
  /** Bytes of each NAL unit's length prefix in samples (1, 2 or 4). */
  lengthSize: number;
  /** VPS/SPS/PPS as Annex B (each with a start code): what a keyframe is prefixed with. */
  parameterSets: Uint8Array;
}

const START = new Uint8Array([0, 0, 0, 1]);
const FORMATS: Record<string, ElementaryFormat> = { avc1: "h264", avc3: "h264", hvc1: "hevc", hev1: "hevc" };

/** The video track's decoder configuration from an init segment; null for a codec vat cannot pipe (AV1, VP9…). */
export function decoderConfig(init: Uint8Array, trackId?: number): DecoderConfig | null {
  const moov = findChild(childBoxes(init), "moov");
  if (!moov) throw new Mp4Error("no 'moov' box: not an initialization segment");
  for (const trak of childBoxes(moov.body).filter((b) => b.type === "trak")) {
    if (trackId !== undefined && trackIdOf(trak) !== trackId) continue;
    const hdlr = findPath(trak, ["mdia", "hdlr"]);
    if (!hdlr || handlerOf(hdlr) !== "vide") continue;
    const stsd = findPath(trak, ["mdia", "minf", "stbl", "stsd"]);
    if (!stsd) return null;
    const entry = childBoxes(stsd.body, 8)[0];
    const format = entry ? FORMATS[entry.type] : undefined;
    if (!entry || !format) return null;
    // A visual sample entry has 78 bytes of fields before its child boxes.
    const config = findChild(childBoxes(entry.body, 78), format === "h264" ? "avcC" : "hvcC");
    if (!config) throw new Mp4Error(`'${entry.type}' sample entry without its ${format === "h264" ? "avcC" : "hvcC"}`);
    return format === "h264" ? readAvcC(config) : readHvcC(config);
  }
  return null;
}

function handlerOf(hdlr: Box): string {
  const r = new BoxReader(hdlr.body, "hdlr");
  r.skip(8); // version, flags, pre_defined
  return r.fourCc();
}

function trackIdOf(trak: Box): number | null {
  const tkhd = findPath(trak, ["tkhd"]);
  if (!tkhd) return null;
  const r = new BoxReader(tkhd.body, "tkhd");
  const { version } = r.fullBox();
  r.skip(version === 1 ? 16 : 8);
  return r.u32();
}

function readAvcC(box: Box): DecoderConfig {
  const r = new BoxReader(box.body, "avcC");
  r.skip(4); // version, profile, compatibility, level
  const lengthSize = (r.u8() & 3) + 1;
  const sets: Uint8Array[] = [];
  const sps = r.u8() & 31;
  for (let i = 0; i < sps; i++) sets.push(r.bytes(r.u16()));
  const pps = r.u8();
  for (let i = 0; i < pps; i++) sets.push(r.bytes(r.u16()));
  return { format: "h264", lengthSize, parameterSets: withStartCodes(sets) };
}

function readHvcC(box: Box): DecoderConfig {
  const r = new BoxReader(box.body, "hvcC");
  r.skip(21);
  const lengthSize = (r.u8() & 3) + 1;
  const arrays = r.u8();
  const sets: Uint8Array[] = [];
  for (let a = 0; a < arrays; a++) {
    r.u8(); // completeness and NAL unit type
    const n = r.u16();
    for (let i = 0; i < n; i++) sets.push(r.bytes(r.u16()));
  }
  return { format: "hevc", lengthSize, parameterSets: withStartCodes(sets) };
}

function withStartCodes(units: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(units.reduce((n, u) => n + 4 + u.length, 0));
  let at = 0;
  for (const u of units) {
    out.set(START, at);
    out.set(u, at + 4);
    at += 4 + u.length;
  }
  return out;
}

/**
 * An access unit delimiter: it starts an access unit at once, so a raw H.264/HEVC reader (ffmpeg's parser) lets the
 * frame before it go, and each frame of an elementary stream is one picture to it whatever its NAL units' headers say.
 * vat puts one between each two frames of the streams it builds (their own are left out: two in a row make an access
 * unit with no picture, which ffmpeg logs).
 */
export function accessUnitDelimiter(format: ElementaryFormat): Uint8Array {
  // H.264: nal_unit_type 9, primary_pic_type 7 (any slice types). HEVC: nal_unit_type 35, temporal id 1, pic_type 2.
  return new Uint8Array(format === "h264" ? [0, 0, 0, 1, 0x09, 0xf0] : [0, 0, 0, 1, 0x46, 0x01, 0x50]);
}

function isDelimiter(firstByte: number, format: ElementaryFormat): boolean {
  return format === "h264" ? (firstByte & 0x1f) === 9 : ((firstByte >> 1) & 0x3f) === 35;
}

/**
 * How many bytes of an access unit's head are its delimiter, start code included (0 when it does not open with one):
 * a delimiter is the first NAL unit of its access unit when present (H.264 7.4.1.2.3, HEVC 7.4.2.4.4), so a unit's
 * first bytes are the only place to look, and it has a fixed length (H.264: a header byte and primary_pic_type; HEVC:
 * two header bytes and pic_type). What follows is the next NAL unit's start code or nothing; anything else is not a
 * delimiter this reads. `head`: the unit's first bytes, at least 8 of them when it has that many.
 */
export function delimiterLength(head: Uint8Array, format: ElementaryFormat): number {
  if (head[0] !== 0 || head[1] !== 0) return 0;
  const code = head[2] === 1 ? 3 : head[2] === 0 && head[3] === 1 ? 4 : 0;
  if (code === 0 || head.length <= code || !isDelimiter(head[code]!, format)) return 0;
  const n = code + (format === "h264" ? 2 : 3);
  return head.length === n || (head.length > n && head[n] === 0) ? n : 0;
}

/**
 * Whether an Annex B stream begins with a frame a decoder can start from: its first slice is an IDR or an I slice
 * (H.264: an open GOP's keyframe, as ffmpeg starts from) or an IRAP picture (HEVC), parameter sets, SEI and delimiters
 * before it allowed. False for any other first slice, or none.
 */
export function startsWithKeyframe(bytes: Uint8Array, format: ElementaryFormat): boolean {
  for (let i = 0, nals = 0; i + 3 < bytes.length && nals < 64; i++) {
    if (bytes[i] !== 0 || bytes[i + 1] !== 0 || bytes[i + 2] !== 1) continue;
    nals++;
    const h = bytes[i + 3]!;
    if (format === "h264") {
      const type = h & 0x1f;
      if (type === 5) return true;
      if (type >= 1 && type <= 4) return type === 1 && isIntraSlice(bytes, i + 4);
    } else {
      const type = (h >> 1) & 0x3f;
      if (type >= 16 && type <= 21) return true;
      if (type <= 9) return false;
    }
    i += 3;
  }
  return false;
}

/** An H.264 slice header at `at` (after its NAL header byte) of slice_type I or SI: first_mb_in_slice, then slice_type. */
function isIntraSlice(bytes: Uint8Array, at: number): boolean {
  let bit = at * 8;
  const end = Math.min(bytes.length, at + 8) * 8;
  const ue = (): number | null => {
    let zeros = 0;
    while (bit < end && ((bytes[bit >> 3]! >> (7 - (bit & 7))) & 1) === 0) {
      zeros++;
      bit++;
    }
    if (bit >= end || zeros > 16) return null;
    bit++;
    let v = 0;
    for (let k = 0; k < zeros; k++, bit++) {
      if (bit >= end) return null;
      v = v * 2 + ((bytes[bit >> 3]! >> (7 - (bit & 7))) & 1);
    }
    return 2 ** zeros - 1 + v;
  };
  if (ue() === null) return false;
  const sliceType = ue();
  return sliceType !== null && (sliceType % 5 === 2 || sliceType % 5 === 4);
}

export interface ElementaryUnit {
  bytes: Uint8Array;
  /** End of the first frame's bytes (its parameter sets included): a copy of it decodes on its own. */
  firstFrameEnd: number;
  /** Where each frame's bytes end in `bytes` (the delimiter between two frames goes with the second). */
  frameEnds: number[];
}

/**
 * The frames (decode order, byte ranges in `segment`) as one Annex B stream. Each keyframe gets the parameter sets
 * before it. A NAL length that runs past its frame is an error, not a read beyond it.
 */
export function toAnnexB(segment: Uint8Array, frames: readonly VideoFrame[], config: DecoderConfig): ElementaryUnit {
  const parts: Uint8Array[] = [];
  let size = 0;
  let firstFrameEnd = 0;
  const push = (b: Uint8Array) => {
    parts.push(b);
    size += b.length;
  };
  const frameEnds: number[] = [];
  const aud = accessUnitDelimiter(config.format);
  for (const [i, f] of frames.entries()) {
    // A delimiter between frames: each frame is an access unit of its own, whatever its NAL units' headers say.
    if (i > 0) {
      frameEnds.push(size);
      push(aud);
    }
    if (f.keyframe || i === 0) push(config.parameterSets);
    let at = f.offset;
    while (at < f.end) {
      if (at + config.lengthSize > f.end) throw new Mp4Error(`frame ${f.index}: a NAL length prefix is cut short`);
      let n = 0;
      for (let k = 0; k < config.lengthSize; k++) n = n * 256 + segment[at + k]!;
      at += config.lengthSize;
      if (n === 0) continue;
      if (at + n > f.end) throw new Mp4Error(`frame ${f.index}: a NAL unit of ${n} bytes runs past the frame's end`);
      if (isDelimiter(segment[at]!, config.format)) {
        at += n;
        continue;
      }
      push(START);
      push(segment.subarray(at, at + n));
      at += n;
    }
    if (i === 0) firstFrameEnd = size;
  }
  if (frames.length > 0) frameEnds.push(size);
  return { bytes: concat(parts), firstFrameEnd, frameEnds };
}
