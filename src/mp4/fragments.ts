/**
 * fMP4/CMAF media segments: `styp`, `sidx`, `prft`, `emsg`, then `moof` + `mdat` pairs. Reads each movie fragment's
 * track runs into samples with their decode/presentation times and byte ranges, without touching the media data.
 * Pure: bytes in, typed result out.
 */
import { boxAt, BoxReader, childBoxes, Mp4Error, readBoxHeader, type Box } from "./boxes.ts";
import { parseFileType, type FileType, type TrackDefaults } from "./init-segment.ts";

/** tfhd flags (ISO/IEC 14496-12 8.8.7). */
export const TFHD = {
  baseDataOffset: 0x000001,
  sampleDescriptionIndex: 0x000002,
  defaultSampleDuration: 0x000008,
  defaultSampleSize: 0x000010,
  defaultSampleFlags: 0x000020,
  durationIsEmpty: 0x010000,
  defaultBaseIsMoof: 0x020000,
} as const;

/** trun flags (8.8.8). */
export const TRUN = {
  dataOffset: 0x000001,
  firstSampleFlags: 0x000004,
  sampleDuration: 0x000100,
  sampleSize: 0x000200,
  sampleFlags: 0x000400,
  sampleCompositionTimeOffset: 0x000800,
} as const;

/** sample_is_non_sync_sample in the sample flags: set on every frame that is not a random access point. */
const NON_SYNC = 0x10000;
/**
 * Samples one movie fragment may describe, all its runs together. A run that carries no per-sample fields costs no
 * bytes per sample, so its count is bounded here, or a 50-byte moof could ask for billions of samples.
 */
export const MAX_SAMPLES_PER_FRAGMENT = 1 << 20;

export interface Sample {
  /** Decode and presentation time in track ticks. */
  decodeTime: number;
  presentationTime: number;
  duration: number;
  /** Offset of the sample's first byte in the buffer parsed, and its length. */
  offset: number;
  size: number;
  flags: number;
  keyframe: boolean;
}

export interface TrackFragment {
  trackId: number;
  /** tfdt, in track ticks; null when the fragment has none (its times then continue the previous fragment's). */
  baseMediaDecodeTime: number | null;
  samples: Sample[];
  /** `senc` or `saiz`/`saio` present: the samples are encrypted (Common Encryption). */
  encrypted: boolean;
}

export interface MovieFragment {
  /** Offset of the `moof` box in the buffer parsed. */
  start: number;
  sequenceNumber: number;
  trackFragments: TrackFragment[];
}

export interface SegmentIndex {
  referenceId: number;
  timescale: number;
  earliestPresentationTime: number;
  firstOffset: number;
  references: { referenceType: number; referencedSize: number; subsegmentDuration: number; startsWithSap: boolean; sapType: number }[];
}

export interface ProducerReference {
  referenceTrackId: number;
  /** The NTP timestamp as Unix ms: when the producer made (or wrote) the sample at mediaTime. */
  wallClockMs: number;
  mediaTime: number;
  /** prft flags: 0 encoder input, 8 encoder output, 24 written to the output (ISO/IEC 23009-1 / 14496-12 8.16.5). */
  flags: number;
}

export interface EventMessage {
  schemeIdUri: string;
  value: string;
  timescale: number;
  /** v0 carries a delta to the segment's earliest presentation time; v1 an absolute time. */
  presentationTimeDelta: number | null;
  presentationTime: number | null;
  eventDuration: number;
  id: number;
  /** A copy: the bytes it was read from may be a streamed body's pieces, which their reader may reuse. */
  messageData: Uint8Array;
}

export interface MediaSegment {
  segmentType: FileType | null;
  segmentIndexes: SegmentIndex[];
  producerReferences: ProducerReference[];
  eventMessages: EventMessage[];
  fragments: MovieFragment[];
  /** The bytes ended inside a box: a segment cut short, or one still arriving. */
  truncated: boolean;
}

/** The defaults each track's fragments fall back on, by track id (from the init segment's trex). */
export type DefaultsByTrack = ReadonlyMap<number, TrackDefaults>;

/**
 * Parses one `moof` box. `moof` is the whole box (header included) and `moofStart` its offset in the buffer the
 * byte ranges refer to. `decodeTimeFallback` gives, per track, where times continue when a traf has no tfdt.
 */
export function parseMovieFragment(
  moof: Box,
  defaults: DefaultsByTrack,
  decodeTimeFallback: ReadonlyMap<number, number> = new Map(),
): MovieFragment {
  if (moof.type !== "moof") throw new Mp4Error(`expected 'moof', got '${moof.type}'`);
  let sequenceNumber = 0;
  const trackFragments: TrackFragment[] = [];
  // Without an explicit base, the first traf's data starts at the moof and each later one's where the previous ended.
  let implicitBase = moof.start;
  const budget = { samples: MAX_SAMPLES_PER_FRAGMENT };
  for (const child of childBoxes(moof.body)) {
    if (child.type === "mfhd") {
      const r = new BoxReader(child.body, "mfhd");
      r.fullBox();
      sequenceNumber = r.u32();
    } else if (child.type === "traf") {
      const traf = parseTrackFragment(child, moof.start, implicitBase, defaults, decodeTimeFallback, budget);
      trackFragments.push(traf.fragment);
      implicitBase = traf.dataEnd;
    }
  }
  return { start: moof.start, sequenceNumber, trackFragments };
}

function parseTrackFragment(
  traf: Box,
  moofStart: number,
  implicitBase: number,
  defaults: DefaultsByTrack,
  decodeTimeFallback: ReadonlyMap<number, number>,
  budget: { samples: number },
): { fragment: TrackFragment; dataEnd: number } {
  const children = childBoxes(traf.body);
  const tfhdBox = children.find((b) => b.type === "tfhd");
  if (!tfhdBox) throw new Mp4Error("a 'traf' without 'tfhd'");
  const h = new BoxReader(tfhdBox.body, "tfhd");
  const { flags } = h.fullBox();
  const trackId = h.u32();
  const trex = defaults.get(trackId);
  const base =
    flags & TFHD.baseDataOffset ? h.u64() : flags & TFHD.defaultBaseIsMoof ? moofStart : implicitBase;
  if (flags & TFHD.sampleDescriptionIndex) h.u32();
  const defaultDuration = flags & TFHD.defaultSampleDuration ? h.u32() : (trex?.sampleDuration ?? 0);
  const defaultSize = flags & TFHD.defaultSampleSize ? h.u32() : (trex?.sampleSize ?? 0);
  const defaultFlags = flags & TFHD.defaultSampleFlags ? h.u32() : (trex?.sampleFlags ?? 0);

  let baseMediaDecodeTime: number | null = null;
  const tfdt = children.find((b) => b.type === "tfdt");
  if (tfdt) {
    const r = new BoxReader(tfdt.body, "tfdt");
    baseMediaDecodeTime = r.fullBox().version === 1 ? r.u64() : r.u32();
  }
  let decodeTime = baseMediaDecodeTime ?? decodeTimeFallback.get(trackId) ?? 0;
  const samples: Sample[] = [];
  let dataPos = base;
  for (const trun of children) {
    if (trun.type !== "trun") continue;
    const r = new BoxReader(trun.body, "trun");
    const { version, flags: tf } = r.fullBox();
    const count = r.u32();
    // A run without its own data offset continues where the previous run's data ended.
    if (tf & TRUN.dataOffset) dataPos = base + r.i32();
    const firstFlags = tf & TRUN.firstSampleFlags ? r.u32() : null;
    // Bytes a sample's own fields take: 4 for each of the duration, size, flags and composition offset flags (0x100-0x800).
    const perSample = 4 * (((tf >> 8) & 1) + ((tf >> 9) & 1) + ((tf >> 10) & 1) + ((tf >> 11) & 1));
    if (count * perSample > r.remaining) {
      throw new Mp4Error(`'trun' of track ${trackId} declares ${count} samples, more than its ${r.remaining} bytes describe`);
    }
    if (count > budget.samples) {
      throw new Mp4Error(`'trun' of track ${trackId} declares ${count} samples, past the ${MAX_SAMPLES_PER_FRAGMENT} a fragment may hold`);
    }
    budget.samples -= count;
    for (let i = 0; i < count; i++) {
      const duration = tf & TRUN.sampleDuration ? r.u32() : defaultDuration;
      const size = tf & TRUN.sampleSize ? r.u32() : defaultSize;
      const sampleFlags = tf & TRUN.sampleFlags ? r.u32() : i === 0 && firstFlags !== null ? firstFlags : defaultFlags;
      const cto = tf & TRUN.sampleCompositionTimeOffset ? (version === 0 ? r.u32() : r.i32()) : 0;
      if (dataPos < 0) throw new Mp4Error(`'trun' of track ${trackId} points before the start of the data (${dataPos})`);
      samples.push({
        decodeTime,
        presentationTime: decodeTime + cto,
        duration,
        offset: dataPos,
        size,
        flags: sampleFlags,
        keyframe: (sampleFlags & NON_SYNC) === 0,
      });
      decodeTime += duration;
      dataPos += size;
    }
  }
  const encrypted = children.some((b) => b.type === "senc" || b.type === "saiz" || b.type === "saio");
  return { fragment: { trackId, baseMediaDecodeTime, samples, encrypted }, dataEnd: dataPos };
}

/**
 * Parses a media segment (or a whole fragmented file after its moov). Byte ranges are offsets in `bytes`. A segment
 * cut short is not an error: what was complete is returned with `truncated` set.
 */
export function parseMediaSegment(bytes: Uint8Array, defaults: DefaultsByTrack): MediaSegment {
  const out = emptyMediaSegment();
  const nextDecodeTime = new Map<number, number>();
  for (let pos = 0; pos < bytes.length; ) {
    const h = readBoxHeader(bytes, pos);
    // A box cut short ends the walk: an unfinished mdat's samples are still ranged by the moof before it.
    if (!h || pos + h.size > bytes.length) {
      out.truncated = true;
      break;
    }
    readTopLevelBox(boxAt(h, bytes), defaults, nextDecodeTime, out);
    pos += h.size;
  }
  return out;
}

export function emptyMediaSegment(): MediaSegment {
  return { segmentType: null, segmentIndexes: [], producerReferences: [], eventMessages: [], fragments: [], truncated: false };
}

/** Adds one complete top-level box of a media segment to `out`; `nextDecodeTime` carries times across fragments. */
export function readTopLevelBox(box: Box, defaults: DefaultsByTrack, nextDecodeTime: Map<number, number>, out: MediaSegment): void {
  switch (box.type) {
    case "styp":
      out.segmentType = parseFileType(box);
      break;
    case "sidx":
      out.segmentIndexes.push(parseSegmentIndex(box));
      break;
    case "prft":
      out.producerReferences.push(parseProducerReference(box));
      break;
    case "emsg":
      out.eventMessages.push(parseEventMessage(box));
      break;
    case "moof": {
      const fragment = parseMovieFragment(box, defaults, nextDecodeTime);
      for (const traf of fragment.trackFragments) {
        const last = traf.samples.at(-1);
        if (last) nextDecodeTime.set(traf.trackId, last.decodeTime + last.duration);
      }
      out.fragments.push(fragment);
      break;
    }
  }
}

export function parseSegmentIndex(box: Box): SegmentIndex {
  const r = new BoxReader(box.body, "sidx");
  const { version } = r.fullBox();
  const referenceId = r.u32();
  const timescale = r.u32();
  const earliestPresentationTime = version === 0 ? r.u32() : r.u64();
  const firstOffset = version === 0 ? r.u32() : r.u64();
  r.skip(2);
  const count = r.u16();
  if (count * 12 > r.remaining) throw new Mp4Error(`'sidx' declares ${count} references in ${r.remaining} bytes`);
  const references: SegmentIndex["references"] = [];
  for (let i = 0; i < count; i++) {
    const a = r.u32();
    const subsegmentDuration = r.u32();
    const c = r.u32();
    references.push({
      referenceType: a >>> 31,
      referencedSize: a & 0x7fffffff,
      subsegmentDuration,
      startsWithSap: c >>> 31 === 1,
      sapType: (c >>> 28) & 0x7,
    });
  }
  return { referenceId, timescale, earliestPresentationTime, firstOffset, references };
}

/** Seconds between the NTP epoch (1900) and the Unix epoch (1970). */
const NTP_UNIX_OFFSET_S = 2208988800;

export function parseProducerReference(box: Box): ProducerReference {
  const r = new BoxReader(box.body, "prft");
  const { version, flags } = r.fullBox();
  const referenceTrackId = r.u32();
  const ntpSeconds = r.u32();
  const ntpFraction = r.u32();
  const mediaTime = version === 0 ? r.u32() : r.u64();
  const wallClockMs = (ntpSeconds - NTP_UNIX_OFFSET_S) * 1000 + (ntpFraction / 2 ** 32) * 1000;
  return { referenceTrackId, wallClockMs, mediaTime, flags };
}

export function parseEventMessage(box: Box): EventMessage {
  const r = new BoxReader(box.body, "emsg");
  const { version } = r.fullBox();
  if (version === 0) {
    const schemeIdUri = r.cString();
    const value = r.cString();
    const timescale = r.u32();
    const presentationTimeDelta = r.u32();
    const eventDuration = r.u32();
    const id = r.u32();
    return { schemeIdUri, value, timescale, presentationTimeDelta, presentationTime: null, eventDuration, id, messageData: r.rest().slice() };
  }
  const timescale = r.u32();
  const presentationTime = r.u64();
  const eventDuration = r.u32();
  const id = r.u32();
  const schemeIdUri = r.cString();
  const value = r.cString();
  return { schemeIdUri, value, timescale, presentationTimeDelta: null, presentationTime, eventDuration, id, messageData: r.rest().slice() };
}
