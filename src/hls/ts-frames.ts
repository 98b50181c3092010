/**
 * Reads an MPEG-TS segment's structure without decoding it: each video frame starts a new PES packet on the video
 * PID (payload_unit_start_indicator set). Pure: bytes in, numbers out.
 */
import { accessUnitDelimiter, delimiterLength, type ElementaryFormat } from "../mp4/annexb.ts";

const PACKET = 188;
const VIDEO_STREAM_TYPES = new Set([0x01, 0x02, 0x10, 0x1b, 0x24, 0x42, 0xd1, 0xea]);

export interface SegmentScan {
  /** Video frames (access units) in the segment. */
  frames: number;
  /** Byte length of the segment's head up to the second frame: tables plus the whole first frame. */
  firstFrameEnd: number;
  /**
   * Each frame's presentation time in ms after the segment's earliest one, in decode order (the order of its PES
   * packets); empty when a frame carries no PTS.
   */
  ptsOffsetsMs: number[];
}

export function countVideoFrames(ts: Uint8Array): number {
  return scanSegment(ts).frames;
}

export function scanSegment(ts: Uint8Array): SegmentScan {
  return scanVideo(ts).scan;
}

/** The segment's video as an elementary stream, for a decoder reading H.264 or HEVC on a pipe (client/feeder.ts). */
export interface SegmentElementaryStream {
  format: ElementaryFormat;
  /**
   * Every video PES payload in order, their own access unit delimiters left out: one of vat's between each two frames.
   */
  bytes: Uint8Array;
  /** End of the first frame's bytes in `bytes`. */
  firstFrameEnd: number;
  /**
   * Frames in `bytes`: the PES packets kept. A PES whose header is broken is left out, so this can be fewer than the
   * segment's scan counts, and the decoder is given exactly these.
   */
  frames: number;
  /** Where each frame's bytes end in `bytes` (the delimiter between two frames goes with the second). */
  frameEnds: number[];
  /** Each frame's presentation time (its PES's PTS, ms, unwrapped against the first), decode order; null when one has none. */
  framePtsMs: number[] | null;
}

const ELEMENTARY_STREAM_TYPES: Record<number, ElementaryFormat> = { 0x1b: "h264", 0x24: "hevc" };

/**
 * The segment's scan and, for H.264 and HEVC video, its elementary stream: an MPEG-TS demuxer holds the last frame
 * of its input (a video PES has no length: it ends when the next starts), a raw H.264/HEVC reader does not. Null
 * stream for other codecs, or a segment without a whole first PES. Each PES is one frame (scanVideo counts them so),
 * so a delimiter can only open one: it is looked for there. The payloads are copied once, into the stream.
 */
export function segmentElementaryStream(ts: Uint8Array): { scan: SegmentScan; es: SegmentElementaryStream | null } {
  const { scan, streamType, payloads } = scanVideo(ts);
  const format = streamType === null ? undefined : ELEMENTARY_STREAM_TYPES[streamType];
  if (!format || payloads.length === 0) return { scan, es: null };
  // Each PES's bytes as [from, to) pairs of ts, its header included: the header and a delimiter can run on into the
  // next packet, so they are dropped from the PES's bytes, not from one packet's.
  const ranges: number[] = [];
  const pesAt: number[] = [];
  for (const { from, to, start } of payloads) {
    if (start) pesAt.push(ranges.length);
    if (to > from) ranges.push(from, to);
  }
  pesAt.push(ranges.length);
  const pesPtsOf: (number | null)[] = [];
  for (let p = 0; p + 1 < pesAt.length; p++) {
    const pes = new PesBytes(ts, ranges, pesAt[p]!, pesAt[p + 1]!);
    // PES header: start code, stream id, length (6 bytes), flags (2), header data length (1), header data.
    const head = pes.head(14);
    pesPtsOf.push(null);
    if (head.length < 9 || head[0] !== 0 || head[1] !== 0 || head[2] !== 1) {
      pes.drop(Infinity);
      continue;
    }
    pesPtsOf[p] = pesPts(head, 0, head.length);
    pes.drop(9 + head[8]!);
    pes.drop(delimiterLength(pes.head(8), format));
  }
  let total = 0;
  let frames = 0;
  const framePts: (number | null)[] = [];
  for (let p = 0; p + 1 < pesAt.length; p++) {
    const before = total;
    for (let i = pesAt[p]!; i < pesAt[p + 1]!; i += 2) total += ranges[i + 1]! - ranges[i]!;
    if (total > before) {
      frames++;
      framePts.push(pesPtsOf[p]!);
    }
  }
  // A delimiter of vat's own between frames: each frame is an access unit of its own, whatever its NAL units' headers
  // say (broken ones could join two into one).
  const aud = accessUnitDelimiter(format);
  const bytes = new Uint8Array(total + Math.max(0, frames - 1) * aud.length);
  // The first frame ends where the second PES with bytes left begins.
  let firstFrameEnd = -1;
  const frameEnds: number[] = [];
  let w = 0;
  for (let p = 0; p + 1 < pesAt.length; p++) {
    let started = false;
    for (let i = pesAt[p]!; i < pesAt[p + 1]!; i += 2) {
      if (ranges[i + 1]! <= ranges[i]!) continue;
      if (!started && w > 0) {
        if (firstFrameEnd < 0) firstFrameEnd = w;
        frameEnds.push(w);
        bytes.set(aud, w);
        w += aud.length;
      }
      started = true;
      bytes.set(ts.subarray(ranges[i]!, ranges[i + 1]!), w);
      w += ranges[i + 1]! - ranges[i]!;
    }
  }
  if (frames > 0) frameEnds.push(w);
  return { scan, es: { format, bytes, firstFrameEnd: firstFrameEnd < 0 ? w : firstFrameEnd, frames, frameEnds, framePtsMs: unwrappedMs(framePts) } };
}

/** 90 kHz PTS values as ms, each unwrapped (33 bits) against the first; null when one is missing. */
function unwrappedMs(pts: (number | null)[]): number[] | null {
  if (pts.length === 0 || pts.some((t) => t === null)) return null;
  const base = pts[0]!;
  return pts.map((t) => (t! - base < -(2 ** 32) ? t! + 2 ** 33 : t! - base > 2 ** 32 ? t! - 2 ** 33 : t!) / 90);
}

/** One PES's bytes: pairs [first, end) of `ranges`, whose front can be read and dropped (ranges emptied in place). */
class PesBytes {
  constructor(
    private readonly ts: Uint8Array,
    private readonly ranges: number[],
    private first: number,
    private readonly end: number,
  ) {}

  /** Its first n bytes (fewer when it has fewer). */
  head(n: number): Uint8Array {
    const out: number[] = [];
    for (let i = this.first; i < this.end && out.length < n; i += 2) {
      for (let at = this.ranges[i]!; at < this.ranges[i + 1]! && out.length < n; at++) out.push(this.ts[at]!);
    }
    return Uint8Array.from(out);
  }

  /** Drops its first n bytes (all it has, when fewer). */
  drop(n: number): void {
    for (let left = n; left > 0 && this.first < this.end; ) {
      const take = Math.min(left, this.ranges[this.first + 1]! - this.ranges[this.first]!);
      this.ranges[this.first] = this.ranges[this.first]! + take;
      left -= take;
      if (this.ranges[this.first] === this.ranges[this.first + 1]) this.first += 2;
    }
  }
}

interface VideoPayload {
  from: number;
  to: number;
  /** The packet starts a PES (payload_unit_start_indicator). */
  start: boolean;
}

function scanVideo(ts: Uint8Array): { scan: SegmentScan; streamType: number | null; payloads: VideoPayload[] } {
  let firstFrameEnd = ts.length;
  let pmtPid = -1;
  let videoPid = -1;
  let streamType: number | null = null;
  let frames = 0;
  const pts: number[] = [];
  const payloads: VideoPayload[] = [];
  let ptsMissing = false;
  for (let off = syncOffset(ts); off + PACKET <= ts.length; off += PACKET) {
    if (ts[off] !== 0x47) continue;
    const pusi = (ts[off + 1]! & 0x40) !== 0;
    const pid = ((ts[off + 1]! & 0x1f) << 8) | ts[off + 2]!;
    const afc = (ts[off + 3]! >> 4) & 0x3;
    let p = off + 4;
    if (afc === 2) continue; // adaptation field only
    if (afc === 3) p += 1 + ts[p]!;
    if (p >= off + PACKET) continue;
    if (pid === 0 && pusi && pmtPid < 0) {
      p += 1 + ts[p]!; // pointer field
      const sectionLength = ((ts[p + 1]! & 0x0f) << 8) | ts[p + 2]!;
      const end = Math.min(p + 3 + sectionLength - 4, off + PACKET);
      for (let q = p + 8; q + 4 <= end; q += 4) {
        const program = (ts[q]! << 8) | ts[q + 1]!;
        if (program !== 0) {
          pmtPid = ((ts[q + 2]! & 0x1f) << 8) | ts[q + 3]!;
          break;
        }
      }
    } else if (pid === pmtPid && pusi && videoPid < 0) {
      p += 1 + ts[p]!;
      const sectionLength = ((ts[p + 1]! & 0x0f) << 8) | ts[p + 2]!;
      const end = Math.min(p + 3 + sectionLength - 4, off + PACKET);
      const programInfoLength = ((ts[p + 10]! & 0x0f) << 8) | ts[p + 11]!;
      for (let q = p + 12 + programInfoLength; q + 5 <= end; ) {
        const type = ts[q]!;
        const esPid = ((ts[q + 1]! & 0x1f) << 8) | ts[q + 2]!;
        const esInfoLength = ((ts[q + 3]! & 0x0f) << 8) | ts[q + 4]!;
        if (VIDEO_STREAM_TYPES.has(type)) {
          videoPid = esPid;
          streamType = type;
          break;
        }
        q += 5 + esInfoLength;
      }
    } else if (pid === videoPid) {
      // Payload before the first PES start is the tail of a PES from the previous segment: not this one's.
      if (pusi || payloads.length > 0) payloads.push({ from: p, to: off + PACKET, start: pusi });
      if (!pusi) continue;
      frames++;
      if (frames === 2) firstFrameEnd = off;
      const t = pesPts(ts, p, off + PACKET);
      if (t === null) ptsMissing = true;
      else pts.push(t);
    }
  }
  let ptsOffsetsMs: number[] = [];
  const unwrapped = ptsMissing ? null : unwrappedMs(pts);
  if (unwrapped) {
    // A loop, not Math.min(...): a hostile segment can hold more frames than a call takes arguments.
    const first = unwrapped.reduce((m, t) => Math.min(m, t), Infinity);
    ptsOffsetsMs = unwrapped.map((t) => t - first);
  }
  const scan = { frames, firstFrameEnd: frames >= 2 ? firstFrameEnd : ts.length, ptsOffsetsMs };
  return { scan, streamType, payloads };
}

/** The PTS (90 kHz) of the PES packet starting at p, or null without one. */
function pesPts(ts: Uint8Array, p: number, end: number): number | null {
  if (p + 14 > end || ts[p] !== 0 || ts[p + 1] !== 0 || ts[p + 2] !== 1) return null;
  if ((ts[p + 7]! & 0x80) === 0) return null;
  const b = p + 9;
  return (
    (ts[b]! & 0x0e) * 2 ** 29 + ts[b + 1]! * 2 ** 22 + (ts[b + 2]! & 0xfe) * 2 ** 14 + ts[b + 3]! * 2 ** 7 + (ts[b + 4]! >> 1)
  );
}

function syncOffset(ts: Uint8Array): number {
  for (let i = 0; i < Math.min(PACKET, ts.length); i++) {
    if (ts[i] === 0x47 && (i + PACKET >= ts.length || ts[i + PACKET] === 0x47)) return i;
  }
  return 0;
}
