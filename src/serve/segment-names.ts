import type { StreamFormat } from "./stream-format.ts";

/**
 * The names the origin's segment folder holds: ffmpeg's HLS and DASH muxers and the prerecorded publisher write exactly
 * these, and only these are served.
 *   hls:  stream.m3u8, seg_<n>.ts                      ladder: stream.m3u8 (multivariant), stream_<v>.m3u8, seg_<v>_<n>.ts
 *   cmaf: stream.m3u8, init.mp4, seg_<n>.m4s          ladder: stream.m3u8, stream_<v>.m3u8, init_<v>.mp4, seg_<v>_<n>.m4s
 *   dash: stream.mpd, init_<v>.m4s, seg_<v>_<n>.m4s   (one representation or several: the same names)
 * ll-hls and ll-dash keep nothing in the folder: their names are in ll-requests.ts, served from memory.
 */
export const PLAYLIST_NAME = "stream.m3u8";
export const MPD_NAME = "stream.mpd";

export function segmentFileName(sequence: number): string {
  return `seg_${sequence}.ts`;
}

const NUMBER = "(?:0|[1-9]\\d{0,15})";

export interface SegmentNames {
  /** The name players open: the (multivariant) playlist or the MPD. */
  readonly manifest: string;
  /** The file whose existence says that segment `sequence` of the top rendition is whole. */
  segmentFile(sequence: number): string;
  isServed(name: string): boolean;
  contentType(name: string): string;
  /** Manifests change in place: never cached. */
  isManifest(name: string): boolean;
}

/** The names for a format with this many renditions (1 without a ladder). Pure. */
export function segmentNames(format: StreamFormat, renditions = 1): SegmentNames {
  const ladder = renditions > 1;
  // A rendition index as ffmpeg writes it (%v, $RepresentationID$): 0 .. renditions-1.
  const v = `(?:${Array.from({ length: renditions }, (_, i) => i).join("|")})`;
  const served =
    format === "ll-hls" || format === "ll-dash"
      ? /^(?!)/
      : format === "dash"
      ? new RegExp(`^(?:stream\\.mpd|init_${v}\\.m4s|seg_${v}_${NUMBER}\\.m4s)$`)
      : format === "cmaf"
        ? ladder
          ? new RegExp(`^(?:stream(?:_${v})?\\.m3u8|init_${v}\\.mp4|seg_${v}_${NUMBER}\\.m4s)$`)
          : new RegExp(`^(?:stream\\.m3u8|init\\.mp4|seg_${NUMBER}\\.m4s)$`)
        : ladder
          ? new RegExp(`^(?:stream(?:_${v})?\\.m3u8|seg_${v}_${NUMBER}\\.ts)$`)
          : new RegExp(`^(?:stream\\.m3u8|seg_${NUMBER}\\.ts)$`);
  const ext = format === "hls" ? "ts" : "m4s";
  return {
    manifest: format === "dash" || format === "ll-dash" ? MPD_NAME : PLAYLIST_NAME,
    segmentFile: (n) => (format === "dash" || ladder ? `seg_0_${n}.${ext}` : `seg_${n}.${ext}`),
    isServed: (name) => served.test(name),
    isManifest: (name) => name.endsWith(".m3u8") || name.endsWith(".mpd"),
    contentType: (name) =>
      name.endsWith(".m3u8")
        ? "application/vnd.apple.mpegurl"
        : name.endsWith(".mpd")
          ? "application/dash+xml"
          : name.endsWith(".ts")
            ? "video/mp2t"
            : "video/mp4",
  };
}

const HLS = segmentNames("hls");

/** Names served by the default origin (MPEG-TS HLS, no ladder). */
export function isServedName(name: string): boolean {
  return HLS.isServed(name);
}

/** What an earlier run of any format may have left: those names, and their temporary versions (temp_file, .tmp). */
const WRITTEN_NAME = /^(?:stream(?:_\d+)?\.m3u8|stream\.mpd|seg_(?:\d+_)?\d+\.(?:ts|m4s)|init(?:_\d+)?\.(?:mp4|m4s))(?:\.tmp)?$/;

export function isWrittenName(name: string): boolean {
  return WRITTEN_NAME.test(name);
}
