/** The names the origin's segment folder holds: ffmpeg's HLS muxer and the prerecorded publisher write exactly these. */
export const PLAYLIST_NAME = "stream.m3u8";

export function segmentFileName(sequence: number): string {
  return `seg_${sequence}.ts`;
}

/** Names served over HTTP: the playlist and finished segments (seg_<sequence>.ts, no leading zeros), nothing else. */
const SERVED_NAME = /^(?:stream\.m3u8|seg_(?:0|[1-9]\d{0,15})\.ts)$/;

/** What an earlier run may have left: those names, and their temporary versions (ffmpeg's temp_file). */
const WRITTEN_NAME = /^(?:stream\.m3u8|seg_\d+\.ts)(?:\.tmp)?$/;

export function isServedName(name: string): boolean {
  return SERVED_NAME.test(name);
}

export function isWrittenName(name: string): boolean {
  return WRITTEN_NAME.test(name);
}
