/**
 * A fragmented MP4 byte stream (what ffmpeg's mp4 muxer writes to a pipe with empty_moov and a fragment per frame),
 * cut into its init segment (ftyp + moov) and its movie fragments (moof + mdat, each with its frames' count, times and
 * keyframe flag), whatever the chunking it arrives in. Pure: chunks in, pieces out; it keeps only the bytes of the box
 * not yet whole.
 */
import { childBoxes, findChild, Mp4Error, readBoxHeader } from "./boxes.ts";
import { parseMovieFragment } from "./fragments.ts";
import { parseInitSegment, type InitSegment } from "./init-segment.ts";
import { defaultsOf, selectTrack } from "./video-frames.ts";

export interface InitPiece {
  kind: "init";
  /** ftyp + moov as written. */
  bytes: Uint8Array;
  init: InitSegment;
  /** The video track's ticks per second. */
  timescale: number;
}

export interface FragmentPiece {
  kind: "fragment";
  /** moof + mdat as written (with its moof-relative data offsets it stands alone). */
  bytes: Uint8Array;
  /** The first frame's decode time and the fragment's whole duration, in track ticks. */
  decodeTime: number;
  durationTicks: number;
  frames: number;
  /** Its first frame is a random access point. */
  keyframe: boolean;
}

export type Piece = InitPiece | FragmentPiece;

/** A box larger than this is not one ffmpeg wrote for a live frame: refuse it rather than buffer without bound. */
const MAX_BOX_BYTES = 64 * 1024 * 1024;

export class FragmentSplitter {
  private buffer: Uint8Array = new Uint8Array(0);
  private head: Uint8Array[] = [];
  private init: InitSegment | null = null;
  private moof: Uint8Array | null = null;

  /** Takes the next chunk; returns the pieces it completed, in order. Throws Mp4Error on bytes that are not fMP4. */
  push(chunk: Uint8Array): Piece[] {
    this.buffer = this.buffer.length ? concat([this.buffer, chunk]) : chunk.slice();
    const out: Piece[] = [];
    let pos = 0;
    for (;;) {
      const h = readBoxHeader(this.buffer, pos);
      if (!h) break;
      if (h.size > MAX_BOX_BYTES) throw new Mp4Error(`'${h.type}' box of ${h.size} bytes in the encoder's output`);
      if (pos + h.size > this.buffer.length) break;
      const box = this.buffer.subarray(pos, pos + h.size);
      pos += h.size;
      const piece = this.take(h.type, box);
      if (piece) out.push(piece);
    }
    this.buffer = this.buffer.subarray(pos);
    return out;
  }

  private take(type: string, box: Uint8Array): Piece | null {
    if (!this.init) {
      if (type === "ftyp") this.head = [box.slice()];
      else if (type === "moov") {
        const bytes = concat([...this.head, box]);
        this.init = parseInitSegment(bytes);
        const track = selectTrack(this.init);
        return { kind: "init", bytes, init: this.init, timescale: track.timescale };
      }
      return null;
    }
    if (type === "moof") {
      this.moof = box.slice();
      return null;
    }
    if (type !== "mdat" || !this.moof) return null; // mfra at the end, free, or an mdat without its moof
    const bytes = concat([this.moof, box]);
    this.moof = null;
    return describeFragment(bytes, this.init);
  }
}

/** One moof + mdat's video samples, summed. */
function describeFragment(bytes: Uint8Array, init: InitSegment): FragmentPiece {
  const moof = findChild(childBoxes(bytes), "moof");
  if (!moof) throw new Mp4Error("a fragment without its 'moof'");
  const track = selectTrack(init);
  const samples = parseMovieFragment(moof, defaultsOf(init))
    .trackFragments.filter((t) => t.trackId === track.trackId)
    .flatMap((t) => t.samples);
  const first = samples[0];
  if (!first) throw new Mp4Error("a movie fragment without video frames");
  return {
    kind: "fragment",
    bytes,
    decodeTime: first.decodeTime,
    durationTicks: samples.reduce((sum, s) => sum + s.duration, 0),
    frames: samples.length,
    keyframe: first.keyframe,
  };
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
