import { decoderConfig, toAnnexB, type DecoderConfig } from "../mp4/annexb.ts";
import { Mp4Error } from "../mp4/boxes.ts";
import { parseInitSegment, videoTrack, type InitSegment, type TrackInfo } from "../mp4/init-segment.ts";
import type { MediaSegment } from "../mp4/fragments.ts";
import { scanFragmentedSegment } from "../mp4/video-frames.ts";
import type { PipeFormat } from "./decoder.ts";

/** What a source hands the feeder for one fMP4 media segment (or fragment). */
export interface Fmp4Media {
  /** The video as an Annex B elementary stream (what the decoder reads on its pipe). */
  bytes: Uint8Array;
  frames: number;
  firstFrameEnd: number;
  /** Where each frame ends in `bytes` (MediaUnit.frameEnds). */
  frameEnds: number[];
  /** Each frame's presentation time, ms, decode order (MediaUnit.framePtsMs). */
  framePtsMs: number[];
  ptsOffsetsMs: number[];
  /** Frames the segment describes whose bytes are missing. */
  missingFrames: number;
}

/**
 * The video track of an fMP4/CMAF stream (HLS with EXT-X-MAP, DASH), from its init segment: turns each media segment
 * into decoder input and the facts the timeline needs. Pure. A stream vat cannot measure is said so by name (why).
 */
export class Fmp4Track {
  private constructor(
    readonly init: InitSegment,
    readonly track: TrackInfo,
    private readonly config: DecoderConfig,
  ) {}

  get format(): PipeFormat {
    return this.config.format;
  }

  /** Codec and size, as the run's facts. */
  get description(): string {
    return `${this.track.codec ?? "video"} ${this.track.width}x${this.track.height} (fMP4, ${this.config.format})`;
  }

  /** The track, or why it cannot be measured (no video, encrypted, a codec vat cannot pipe to its decoder). */
  static open(initBytes: Uint8Array): Fmp4Track | { unmeasurable: string } {
    let init: InitSegment;
    try {
      init = parseInitSegment(initBytes);
    } catch (err) {
      return { unmeasurable: `the init segment is not fMP4: ${(err as Error).message}` };
    }
    const track = videoTrack(init);
    if (!track) return { unmeasurable: `no video track (tracks: ${init.tracks.map((t) => t.handler).join(", ") || "none"})` };
    if (track.encryption) {
      const e = track.encryption;
      return { unmeasurable: `the video is encrypted (${e.scheme ?? "protected"}${e.originalFormat ? `, ${e.originalFormat}` : ""}): vat measures clear streams only` };
    }
    let config: DecoderConfig | null;
    try {
      config = decoderConfig(initBytes, track.trackId);
    } catch (err) {
      return { unmeasurable: `the video's decoder configuration cannot be read: ${(err as Error).message}` };
    }
    if (!config) return { unmeasurable: `the video codec '${track.codec ?? "unknown"}' is not one vat decodes from fMP4 (H.264, HEVC)` };
    return new Fmp4Track(init, track, config);
  }

  /**
   * One media segment (or fragment): throws Mp4Error when its boxes are broken, with the reason. `parsed`: its boxes
   * as already read while it streamed in (client/chunk-stamps.ts), so that they are not read twice.
   */
  media(segment: Uint8Array, parsed?: MediaSegment): Fmp4Media {
    const scan = scanFragmentedSegment(segment, this.init, this.track.trackId, parsed);
    if (scan.encrypted) throw new Mp4Error("the segment's samples are encrypted");
    const es = toAnnexB(segment, scan.frameList, this.config);
    return { bytes: es.bytes, frames: scan.frames, firstFrameEnd: es.firstFrameEnd, frameEnds: es.frameEnds, framePtsMs: scan.frameList.map((f) => f.presentationMs), ptsOffsetsMs: scan.ptsOffsetsMs, missingFrames: scan.missingFrames };
  }
}
