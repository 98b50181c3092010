/**
 * The decoder's input for an H.264 or HEVC elementary stream: a live Matroska stream, one block per frame, each block
 * at a time of its own (client/feeder.ts: the frame's presentation time). ffmpeg's Matroska reader takes each block as
 * one packet as it is (no parser joins or splits them, whatever broken NAL headers say), and a decoded frame keeps its
 * packet's time, which the decoder prints beside it (client/decoder.ts): so every frame out of the decoder says which
 * frame in went into it, and one the decoder drops, with or without a word, cannot shift another onto its stamp.
 * Pure: bytes out, no I/O.
 *
 * The blocks carry Annex B bytes and the track no CodecPrivate: ffmpeg's H.264 and HEVC decoders then read start
 * codes, as from a raw stream. Sizes of the Segment and of each Cluster are "unknown" (a live stream).
 */
import type { ElementaryFormat } from "../mp4/annexb.ts";

/** A Cluster spans at most this much time: block times are int16 offsets (ms, below) from the Cluster's time. */
export const CLUSTER_SPAN_MS = 30000;

const CODEC_ID: Record<ElementaryFormat, string> = { h264: "V_MPEG4/ISO/AVC", hevc: "V_MPEGH/ISO/HEVC" };

/** An EBML size field of the fewest bytes (1–8) that hold n (all ones is reserved for "unknown"). */
function size(n: number): number[] {
  for (let len = 1; len <= 8; len++) {
    if (n < 2 ** (7 * len) - 1) {
      const out: number[] = [];
      let v = n;
      for (let i = 0; i < len; i++) {
        out.unshift(v % 256);
        v = Math.floor(v / 256);
      }
      out[0]! |= 0x80 >> (len - 1);
      return out;
    }
  }
  throw new RangeError(`an EBML element of ${n} bytes is too large`);
}

function uint(n: number): number[] {
  const out: number[] = [];
  do {
    out.unshift(n % 256);
    n = Math.floor(n / 256);
  } while (n > 0);
  return out;
}

function element(id: number[], payload: number[]): number[] {
  return [...id, ...size(payload.length), ...payload];
}

const UNKNOWN_SIZE = [0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));

/** The EBML header, the Segment's opening, its Info (times in ms) and its one video track. */
export function matroskaHeader(format: ElementaryFormat): Uint8Array {
  const ebml = element([0x1a, 0x45, 0xdf, 0xa3], [
    ...element([0x42, 0x86], uint(1)), // EBMLVersion
    ...element([0x42, 0xf7], uint(1)), // EBMLReadVersion
    ...element([0x42, 0xf2], uint(4)), // EBMLMaxIDLength
    ...element([0x42, 0xf3], uint(8)), // EBMLMaxSizeLength
    ...element([0x42, 0x82], ascii("matroska")), // DocType
    ...element([0x42, 0x87], uint(4)), // DocTypeVersion
    ...element([0x42, 0x85], uint(2)), // DocTypeReadVersion
  ]);
  const info = element([0x15, 0x49, 0xa9, 0x66], element([0x2a, 0xd7, 0xb1], uint(1_000_000))); // TimestampScale: 1 ms
  const track = element([0xae], [
    ...element([0xd7], uint(1)), // TrackNumber
    ...element([0x73, 0xc5], uint(1)), // TrackUID
    ...element([0x83], uint(1)), // TrackType: video
    ...element([0x86], ascii(CODEC_ID[format])), // CodecID
  ]);
  const tracks = element([0x16, 0x54, 0xae, 0x6b], track);
  return Uint8Array.from([...ebml, 0x18, 0x53, 0x80, 0x67, ...UNKNOWN_SIZE, ...info, ...tracks]);
}

/**
 * The blocks of a live stream, one per frame, each at a time in ms (whole, 0 or more): frame i is bytes[ends[i-1]
 * (0 for the first) .. ends[i]) at times[i]. A Cluster opens before the first block and before any block more than
 * CLUSTER_SPAN_MS from the open Cluster's time (either way: B-frames come before frames shown earlier). Each call
 * gives one buffer, the frames' bytes copied once.
 */
export class MatroskaBlocks {
  private clusterMs: number | null = null;

  blocks(bytes: Uint8Array, ends: readonly number[], times: readonly number[]): Uint8Array {
    const heads: number[][] = [];
    let total = 0;
    let start = 0;
    for (const [i, end] of ends.entries()) {
      const t = times[i]!;
      const head: number[] = [];
      if (this.clusterMs === null || Math.abs(t - this.clusterMs) > CLUSTER_SPAN_MS) {
        this.clusterMs = t;
        head.push(0x1f, 0x43, 0xb6, 0x75, ...UNKNOWN_SIZE, ...element([0xe7], uint(t))); // Cluster, its Timestamp
      }
      const relative = t - this.clusterMs;
      // SimpleBlock: track 1, the time relative to the Cluster's (int16, big-endian), flags (keyframe: ffmpeg's decoder
      // does not need to know), then the frame.
      head.push(0xa3, ...size(4 + (end - start)), 0x81, (relative >> 8) & 0xff, relative & 0xff, 0x80);
      heads.push(head);
      total += head.length + (end - start);
      start = end;
    }
    const out = new Uint8Array(total);
    let w = 0;
    start = 0;
    for (const [i, end] of ends.entries()) {
      out.set(heads[i]!, w);
      w += heads[i]!.length;
      out.set(bytes.subarray(start, end), w);
      w += end - start;
      start = end;
    }
    return out;
  }
}
