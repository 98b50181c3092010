/**
 * The video track of an fMP4/CMAF segment as vat measures it: frames, their times in ms and their byte ranges, the
 * counterpart of hls/ts-frames.ts for MPEG-TS. Pure: bytes in, numbers out.
 */
import type { SegmentScan } from "../hls/ts-frames.ts";
import { Mp4Error } from "./boxes.ts";
import { parseMediaSegment, type DefaultsByTrack, type MediaSegment, type MovieFragment } from "./fragments.ts";
import { videoTrack, type InitSegment, type TrackDefaults, type TrackInfo } from "./init-segment.ts";

export interface VideoFrame {
  /** Index in decode order within the segment. */
  index: number;
  decodeMs: number;
  presentationMs: number;
  durationMs: number;
  /** Byte range [offset, end) of the frame's data in the segment. */
  offset: number;
  size: number;
  end: number;
  keyframe: boolean;
}

export interface FragmentedScan extends SegmentScan {
  trackId: number;
  timescale: number;
  /** Complete frames, in decode order. */
  frameList: VideoFrame[];
  /** Frames the segment's fragments describe whose bytes are not (all) there: a segment cut short. */
  missingFrames: number;
  encrypted: boolean;
  truncated: boolean;
  segment: MediaSegment;
}

/** The track to measure: the one asked for, else the first video track. */
export function selectTrack(init: InitSegment, trackId?: number): TrackInfo {
  const track = trackId === undefined ? videoTrack(init) : init.tracks.find((t) => t.trackId === trackId);
  if (!track) {
    const have = init.tracks.map((t) => `${t.trackId} (${t.handler})`).join(", ") || "none";
    throw new Mp4Error(trackId === undefined ? `no video track in the init segment (tracks: ${have})` : `no track ${trackId} (tracks: ${have})`);
  }
  return track;
}

export function defaultsOf(init: InitSegment): DefaultsByTrack {
  const out = new Map<number, TrackDefaults>();
  for (const t of init.tracks) if (t.defaults) out.set(t.trackId, t.defaults);
  return out;
}

/** One fragment's frames of a track, numbered on from `firstIndex`. */
export function framesOf(fragment: MovieFragment, track: TrackInfo, firstIndex: number): VideoFrame[] {
  const toMs = (ticks: number) => (ticks * 1000) / track.timescale;
  const out: VideoFrame[] = [];
  for (const traf of fragment.trackFragments) {
    if (traf.trackId !== track.trackId) continue;
    for (const s of traf.samples) {
      out.push({
        index: firstIndex + out.length,
        decodeMs: toMs(s.decodeTime),
        presentationMs: toMs(s.presentationTime),
        durationMs: toMs(s.duration),
        offset: s.offset,
        size: s.size,
        end: s.offset + s.size,
        keyframe: s.keyframe,
      });
    }
  }
  return out;
}

/**
 * Scans a media segment (`bytes`) of the stream `init` describes. `parsed` is its boxes when they were already read
 * (mp4/frame-arrivals.ts reads them as the bytes stream in): the same result as parsing `bytes` again.
 */
export function scanFragmentedSegment(bytes: Uint8Array, init: InitSegment, trackId?: number, parsed?: MediaSegment): FragmentedScan {
  const track = selectTrack(init, trackId);
  const segment = parsed ?? parseMediaSegment(bytes, defaultsOf(init));
  const described: VideoFrame[] = [];
  for (const f of segment.fragments) for (const frame of framesOf(f, track, described.length)) described.push(frame);
  const frameList = described.filter((f) => f.end <= bytes.length);
  const encrypted =
    track.encryption !== null || segment.fragments.some((f) => f.trackFragments.some((t) => t.trackId === track.trackId && t.encrypted));
  return {
    trackId: track.trackId,
    timescale: track.timescale,
    frames: frameList.length,
    firstFrameEnd: frameList[0]?.end ?? bytes.length,
    ptsOffsetsMs: presentationOffsetsMs(frameList),
    frameList,
    missingFrames: described.length - frameList.length,
    encrypted,
    truncated: segment.truncated,
    segment,
  };
}

/** Presentation times after the earliest, in decode order (as ts-frames reports them). */
export function presentationOffsetsMs(frames: VideoFrame[]): number[] {
  if (frames.length === 0) return [];
  const first = frames.reduce((m, f) => Math.min(m, f.presentationMs), Infinity);
  return frames.map((f) => f.presentationMs - first);
}
