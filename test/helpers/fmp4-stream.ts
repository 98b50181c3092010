/**
 * A tiny fragmented MP4 stream written by hand, shaped like ffmpeg's `-movflags empty_moov+default_base_moof+
 * frag_every_frame` output: ftyp + moov (one H.264 video track, its avcC) and then one moof + mdat per frame. Literal
 * data for the pure packaging tests.
 */
const enc = new TextEncoder();

function be(bytes: number, v: number): number[] {
  return Array.from({ length: bytes }, (_, i) => Math.floor(v / 256 ** (bytes - 1 - i)) % 256);
}

function join(parts: (Uint8Array | number[])[]): Uint8Array {
  const flat = parts.flatMap((p) => Array.from(p));
  return new Uint8Array(flat);
}

function mp4Box(type: string, ...body: (Uint8Array | number[])[]): Uint8Array {
  const payload = join(body);
  return join([be(4, 8 + payload.length), enc.encode(type), payload]);
}

/** version 0 and the given flags */
function full(type: string, flags: number, ...body: (Uint8Array | number[])[]): Uint8Array {
  return mp4Box(type, [0, ...be(3, flags)], ...body);
}

export const TIMESCALE = 15360;
export const FRAME_TICKS = 512; // 30 fps

/** ftyp + moov: track 1, video, 15360 ticks/s, avc1 with an avcC for High profile level 3.0 (avc1.64001e). */
export function initSegment(): Uint8Array {
  const tkhd = full("tkhd", 3, be(4, 0), be(4, 0), be(4, 1), be(4, 0), be(4, 0), new Array(8).fill(0), new Array(8).fill(0), new Array(36).fill(0), be(4, 426 * 65536), be(4, 240 * 65536));
  const mdhd = full("mdhd", 0, be(4, 0), be(4, 0), be(4, TIMESCALE), be(4, 0), be(4, 0));
  const hdlr = full("hdlr", 0, be(4, 0), enc.encode("vide"), new Array(12).fill(0), enc.encode("v\0"));
  const avcC = mp4Box("avcC", [1, 0x64, 0x00, 0x1e, 0xff, 0xe0, 0x00]);
  const avc1 = mp4Box("avc1", new Array(6).fill(0), be(2, 1), new Array(16).fill(0), be(2, 426), be(2, 240), new Array(50).fill(0), avcC);
  const stsd = full("stsd", 0, be(4, 1), avc1);
  const trak = mp4Box("trak", tkhd, mp4Box("mdia", mdhd, hdlr, mp4Box("minf", mp4Box("stbl", stsd))));
  const mvex = mp4Box("mvex", full("trex", 0, be(4, 1), be(4, 1), be(4, FRAME_TICKS), be(4, 0), be(4, 0x10000)));
  return join([mp4Box("ftyp", enc.encode("iso6"), be(4, 0), enc.encode("iso6cmfc")), mp4Box("moov", trak, mvex)]);
}

/** One frame's moof + mdat: decode time n * FRAME_TICKS, a keyframe or not, `size` bytes of data (all n & 255). */
export function frameFragment(n: number, keyframe: boolean, size = 10): Uint8Array {
  const trunFlags = 0x000001 | 0x000004 | 0x000200; // data offset, first sample flags, sample sizes
  const build = (dataOffset: number) =>
    mp4Box(
      "moof",
      full("mfhd", 0, be(4, n + 1)),
      mp4Box("traf", full("tfhd", 0x020000, be(4, 1)), full("tfdt", 0, be(4, n * FRAME_TICKS)), full("trun", trunFlags, be(4, 1), be(4, dataOffset), be(4, keyframe ? 0x2000000 : 0x10000), be(4, size))),
    );
  const moofSize = build(0).length;
  return join([build(moofSize + 8), mp4Box("mdat", new Array(size).fill(n & 255))]);
}

/** The stream of `frames` frames with a keyframe every `gop`. */
export function fmp4Stream(frames: number, gop: number): Uint8Array {
  return join([initSegment(), ...Array.from({ length: frames }, (_, n) => frameFragment(n, n % gop === 0))]);
}

/** The bytes with the 32-bit track ID that follows `offset` bytes after each `type` box's type set to `id`. */
export function withTrackId(bytes: Uint8Array, type: string, offset: number, id: number): Uint8Array {
  const out = bytes.slice();
  const tag = new TextEncoder().encode(type);
  for (let i = 0; i + 4 <= out.length; i++) {
    if (tag.every((b, k) => out[i + k] === b)) new DataView(out.buffer).setUint32(i + 4 + offset, id);
  }
  return out;
}
