import { Mp4Error } from "../mp4/boxes.ts";
import { ChunkStamps } from "./chunk-stamps.ts";
import type { Fmp4Media, Fmp4Track } from "./fmp4-track.ts";
import { fetchBytes, type Fetch, type FetchLimits, type Fetched } from "./http.ts";

/** An fMP4 body read as it streamed in: the decoder's input, and each frame's arrival. */
export interface StreamedMedia extends Fmp4Media {
  requestedAtMs: number;
  /** Client clock when the first and the last byte came. */
  firstByteAtMs: number;
  arrivedAtMs: number;
  /** Per frame, decode order: when its own last byte arrived. */
  frameArrivalsMs: number[];
  /** The body's size as delivered. */
  deliveredBytes: number;
}

export type StreamedResult =
  | { ok: true; media: StreamedMedia }
  | { ok: false; fetched: Extract<Fetched<Uint8Array>, { ok: false }>; requestedAtMs: number }
  | { ok: false; unreadable: string; requestedAtMs: number };

/**
 * Fetches an fMP4 part or segment that may still be being written (LL-HLS parts from a preload hint, LL-DASH
 * segments at availability − availabilityTimeOffset), stamping each frame as the piece holding its last byte comes,
 * not when the body ends.
 */
export async function fetchStreamed(
  fetchFn: Fetch,
  url: string,
  limits: Omit<FetchLimits, "onChunk">,
  track: Fmp4Track,
  now: () => number,
): Promise<StreamedResult> {
  const stamps = new ChunkStamps(track.init, track.track.trackId);
  const requestedAtMs = now();
  const b = await fetchBytes(fetchFn, url, { ...limits, onChunk: (chunk) => stamps.push(chunk, now()) });
  if (!b.ok) return { ok: false, fetched: b, requestedAtMs };
  const arrivedAtMs = now();
  let media: Fmp4Media;
  try {
    // The boxes were read as the body came: the frames are taken from them, the bytes not walked again.
    media = track.media(b.value, stamps.segment ?? undefined);
  } catch (err) {
    if (!(err instanceof Mp4Error)) throw err;
    return { ok: false, unreadable: err.message, requestedAtMs };
  }
  return {
    ok: true,
    media: {
      ...media,
      requestedAtMs,
      firstByteAtMs: stamps.firstByteAtMs ?? arrivedAtMs,
      arrivedAtMs,
      frameArrivalsMs: stamps.frameArrivalsMs(media.frames, arrivedAtMs),
      deliveredBytes: b.value.length,
    },
  };
}
