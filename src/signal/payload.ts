/**
 * What each frame's QR code says about itself.
 *
 * Version 1 is `vat1|<streamId>|<frameNumber>|<generatedAtMs>`: short enough for a version-4 code at level M with a
 * 32-character stream id. A prerecorded video (`vat generate video`) carries `vat1v|<signalId>|<frameNumber>|
 * <msFromVideoStart>|<framesInVideo>`: its times are relative, and the serving side says when each loop started. The reader also accepts the Python prototype's payload, a dict repr such as
 * `{'frame_number': 12, 'time': 1700000000.123, 'fps': 30}` (time in seconds since the epoch).
 */
export interface Payload {
  readonly version: 0 | 1;
  readonly streamId: string;
  readonly frameNumber: number;
  /** Milliseconds since the Unix epoch, on the server's clock; for a prerecorded video, since the video's start. */
  readonly generatedAtMs: number;
  /** Present for a prerecorded video: frame numbers run 0..loopFrames-1 and start over when it loops. */
  readonly video?: { readonly loopFrames: number };
}

const PREFIX = "vat1|";
const VIDEO_PREFIX = "vat1v|";
/** The most frames a prerecorded video may hold (it keeps the payload, and so the QR version, bounded). */
export const MAX_VIDEO_FRAMES = 9_999_999;

export function encodePayload(p: Omit<Payload, "version">): string {
  return `${PREFIX}${p.streamId}|${p.frameNumber}|${Math.round(p.generatedAtMs)}`;
}

export function encodeVideoPayload(p: { streamId: string; frameNumber: number; msFromStart: number; loopFrames: number }): string {
  return `${VIDEO_PREFIX}${p.streamId}|${p.frameNumber}|${Math.round(p.msFromStart)}|${p.loopFrames}`;
}

/** The longest payload a stream (or video) with this id can carry: fixes the QR version for the whole stream. */
export function maxPayloadLength(streamId: string, kind: "live" | "video" = "live"): number {
  if (kind === "video") {
    const most = MAX_VIDEO_FRAMES;
    return encodeVideoPayload({ streamId, frameNumber: most, msFromStart: 9_999_999_999, loopFrames: most }).length;
  }
  return encodePayload({ streamId, frameNumber: 9_999_999_999, generatedAtMs: 9_999_999_999_999 }).length;
}

/** Returns null for text that is no payload of ours (another QR code, noise): that frame counts as unreadable. */
export function decodePayload(text: string): Payload | null {
  if (text.startsWith(VIDEO_PREFIX)) {
    const parts = text.split("|");
    if (parts.length !== 5) return null;
    const [, streamId, n, t, total] = parts as [string, string, string, string, string];
    if (![n, t, total].every((x) => /^\d{1,10}$/.test(x)) || streamId.length === 0) return null;
    const loopFrames = Number(total);
    if (loopFrames < 1 || Number(n) >= loopFrames) return null;
    return { version: 1, streamId, frameNumber: Number(n), generatedAtMs: Number(t), video: { loopFrames } };
  }
  if (text.startsWith(PREFIX)) {
    const parts = text.split("|");
    if (parts.length !== 4) return null;
    const [, streamId, n, t] = parts as [string, string, string, string];
    if (!/^\d{1,15}$/.test(n) || !/^\d{1,16}$/.test(t) || streamId.length === 0) return null;
    return { version: 1, streamId, frameNumber: Number(n), generatedAtMs: Number(t) };
  }
  if (text.startsWith("{")) return decodePrototypePayload(text);
  return null;
}

function decodePrototypePayload(text: string): Payload | null {
  const frame = /['"]frame_number['"]\s*:\s*(\d+)/.exec(text);
  const time = /['"]time['"]\s*:\s*(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)/.exec(text);
  if (!frame || !time) return null;
  const id = /['"](?:id|stream_id)['"]\s*:\s*['"]([^'"]*)['"]/.exec(text);
  return {
    version: 0,
    streamId: id?.[1] ?? "",
    frameNumber: Number(frame[1]),
    generatedAtMs: Number(time[1]) * 1000,
  };
}
