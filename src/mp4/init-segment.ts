/**
 * An fMP4/CMAF initialization segment (`ftyp` + `moov`): what each track is and the sample defaults its fragments
 * fall back on. Pure: bytes in, typed result out.
 */
import { BoxReader, childBoxes, findChild, findPath, Mp4Error, type Box } from "./boxes.ts";

export interface FileType {
  majorBrand: string;
  minorVersion: number;
  compatibleBrands: string[];
}

/** `trex`: what a fragment's samples are when neither tfhd nor trun says otherwise. */
export interface TrackDefaults {
  sampleDescriptionIndex: number;
  sampleDuration: number;
  sampleSize: number;
  sampleFlags: number;
}

export interface Encryption {
  /** The codec under the protection (`frma`), e.g. "avc1". */
  originalFormat: string | null;
  /** The protection scheme (`schm`), e.g. "cenc", "cbcs". */
  scheme: string | null;
  schemeVersion: number | null;
}

export interface TrackInfo {
  trackId: number;
  /** `hdlr` handler type: "vide", "soun", "subt", "text", "meta"… */
  handler: string;
  /** Media ticks per second (`mdhd`): every time in this track's fragments is in these units. */
  timescale: number;
  /** Presentation size from `tkhd` (16.16 fixed point, rounded down); 0 for audio. */
  width: number;
  height: number;
  /** The sample entry's type: "avc1", "hvc1", "av01", "mp4a"… or for protected tracks the original format. */
  codec: string | null;
  /** The sample entry as written: "encv"/"enca" when the track is protected. */
  sampleEntry: string | null;
  encryption: Encryption | null;
  defaults: TrackDefaults | null;
}

export interface InitSegment {
  fileType: FileType | null;
  /** Movie-level timescale (`mvhd`). */
  movieTimescale: number | null;
  tracks: TrackInfo[];
  /** mvex is present: the file is fragmented. */
  fragmented: boolean;
}

const PROTECTED_ENTRIES = new Set(["encv", "enca", "enct", "encs"]);

export function parseFileType(box: Box): FileType {
  const r = new BoxReader(box.body, box.type);
  const majorBrand = r.fourCc();
  const minorVersion = r.u32();
  const compatibleBrands: string[] = [];
  while (r.remaining >= 4) compatibleBrands.push(r.fourCc());
  return { majorBrand, minorVersion, compatibleBrands };
}

/** Parses an init segment (or any buffer holding a `moov` at its top level). */
export function parseInitSegment(bytes: Uint8Array): InitSegment {
  const top = childBoxes(bytes);
  const ftyp = findChild(top, "ftyp");
  const moov = findChild(top, "moov");
  if (!moov) throw new Mp4Error(`no 'moov' box: not an initialization segment (top-level boxes: ${top.map((b) => b.type).join(", ")})`);
  const inMoov = childBoxes(moov.body);
  const mvhd = findChild(inMoov, "mvhd");
  const mvex = findChild(inMoov, "mvex");
  const trex = new Map<number, TrackDefaults>();
  if (mvex) {
    for (const b of childBoxes(mvex.body)) {
      if (b.type !== "trex") continue;
      const r = new BoxReader(b.body, "trex");
      r.fullBox();
      const trackId = r.u32();
      trex.set(trackId, { sampleDescriptionIndex: r.u32(), sampleDuration: r.u32(), sampleSize: r.u32(), sampleFlags: r.u32() });
    }
  }
  const tracks = inMoov.filter((b) => b.type === "trak").map((t) => parseTrack(t, trex));
  return {
    fileType: ftyp ? parseFileType(ftyp) : null,
    movieTimescale: mvhd ? readMovieTimescale(mvhd) : null,
    tracks,
    fragmented: mvex !== null,
  };
}

/** The first video track, which is what vat measures. */
export function videoTrack(init: InitSegment): TrackInfo | null {
  return init.tracks.find((t) => t.handler === "vide") ?? null;
}

function readMovieTimescale(mvhd: Box): number {
  const r = new BoxReader(mvhd.body, "mvhd");
  const { version } = r.fullBox();
  r.skip(version === 1 ? 16 : 8);
  return r.u32();
}

function parseTrack(trak: Box, trex: Map<number, TrackDefaults>): TrackInfo {
  const tkhd = findPath(trak, ["tkhd"]);
  if (!tkhd) throw new Mp4Error("a 'trak' without 'tkhd'");
  const r = new BoxReader(tkhd.body, "tkhd");
  const { version } = r.fullBox();
  r.skip(version === 1 ? 16 : 8); // creation and modification times
  const trackId = r.u32();
  r.skip(4 + (version === 1 ? 8 : 4) + 8 + 8 + 36); // reserved, duration, reserved, layer..volume, matrix
  const width = Math.floor(r.u32() / 65536);
  const height = Math.floor(r.u32() / 65536);

  const mdhd = findPath(trak, ["mdia", "mdhd"]);
  if (!mdhd) throw new Mp4Error(`track ${trackId} has no 'mdhd'`);
  const m = new BoxReader(mdhd.body, "mdhd");
  m.skip(m.fullBox().version === 1 ? 16 : 8);
  const timescale = m.u32();
  if (timescale === 0) throw new Mp4Error(`track ${trackId} declares a timescale of 0`);

  const hdlr = findPath(trak, ["mdia", "hdlr"]);
  let handler = "";
  if (hdlr) {
    const h = new BoxReader(hdlr.body, "hdlr");
    h.fullBox();
    h.skip(4);
    handler = h.fourCc();
  }

  const { sampleEntry, encryption } = readSampleEntry(findPath(trak, ["mdia", "minf", "stbl", "stsd"]));
  return {
    trackId,
    handler,
    timescale,
    width,
    height,
    codec: encryption?.originalFormat ?? sampleEntry,
    sampleEntry,
    encryption,
    defaults: trex.get(trackId) ?? null,
  };
}

/**
 * Byte length of a sample entry's fixed fields before its child boxes: VisualSampleEntry is 8 + 70 bytes,
 * AudioSampleEntry (v0) 8 + 20. The kind is known from the entry type; the other length is tried when the boxes do
 * not line up, since a writer may put a visual entry under an unexpected name.
 */
function sampleEntryFieldsLength(entry: Box): number {
  const lengths = entry.type === "enca" ? [28, 78] : [78, 28];
  return lengths.find((n) => entry.body.length >= n && childBoxesOrNull(entry.body, n)) ?? entry.body.length;
}

function readSampleEntry(stsd: Box | null): { sampleEntry: string | null; encryption: Encryption | null } {
  if (!stsd) return { sampleEntry: null, encryption: null };
  const r = new BoxReader(stsd.body, "stsd");
  r.fullBox();
  const count = r.u32();
  if (count === 0) return { sampleEntry: null, encryption: null };
  const entry = childBoxes(stsd.body, r.pos)[0];
  if (!entry) return { sampleEntry: null, encryption: null };
  if (!PROTECTED_ENTRIES.has(entry.type)) return { sampleEntry: entry.type, encryption: null };
  const children = childBoxesOrNull(entry.body, sampleEntryFieldsLength(entry)) ?? [];
  const sinf = findChild(children, "sinf");
  const encryption: Encryption = { originalFormat: null, scheme: null, schemeVersion: null };
  if (sinf) {
    const inSinf = childBoxes(sinf.body);
    const frma = findChild(inSinf, "frma");
    if (frma) encryption.originalFormat = new BoxReader(frma.body, "frma").fourCc();
    const schm = findChild(inSinf, "schm");
    if (schm) {
      const s = new BoxReader(schm.body, "schm");
      s.fullBox();
      encryption.scheme = s.fourCc();
      encryption.schemeVersion = s.u32();
    }
  }
  return { sampleEntry: entry.type, encryption };
}

/** The child boxes from `start`, or null when those bytes are not a clean run of boxes. */
function childBoxesOrNull(body: Uint8Array, start: number): Box[] | null {
  try {
    return childBoxes(body, start);
  } catch (err) {
    if (err instanceof Mp4Error) return null;
    throw err;
  }
}
