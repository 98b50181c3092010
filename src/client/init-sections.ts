import { resolveRemoteUri, type MediaInit, type MediaPlaylist } from "../hls/playlist.ts";
import type { SourceEvent } from "./events.ts";
import { Fmp4Track } from "./fmp4-track.ts";
import { fetchBytes, type Fetch } from "./http.ts";

export interface InitSectionOptions {
  fetch: Fetch;
  now: () => number;
  requestTimeoutMs: number;
  /** An init section larger than this cannot be fetched. */
  maxBytes: number;
  onEvent: (e: SourceEvent) => void;
}

/** What open() found: the track in force (and whether it is a new one), or why the stream cannot be measured. */
export type InitOpened = { track: Fmp4Track; changed: boolean } | { unmeasurable: string };

/** The init section the newest media of a playlist needs: its last segment's, or (only parts so far) the one in force. */
export function edgeInit(p: MediaPlaylist): MediaInit | undefined {
  return p.segments.length ? p.segments.at(-1)!.init : p.parts.length ? p.map : undefined;
}

/**
 * The fMP4 init sections (EXT-X-MAP) a stream's segments or parts name: each distinct one fetched and opened once,
 * when the first media that needs it comes, so that media after a change is read with its own track. After a
 * discontinuity the one named is fetched again even under the same name: a packager that starts over (ffmpeg's hls
 * muxer with append_list) rewrites its init section in place, for a new size or codec settings.
 */
export class InitSections {
  private current: { key: string; track: Fmp4Track; bytes: Uint8Array | null } | null = null;

  constructor(private readonly o: InitSectionOptions) {}

  get track(): Fmp4Track | null {
    return this.current?.track ?? null;
  }

  /** The bytes the track in force was opened from (null when adopted without them). */
  get bytes(): Uint8Array | null {
    return this.current?.bytes ?? null;
  }

  /** A track already opened from `init` (its bytes, when known) elsewhere: taken as the one in force, not fetched again. */
  adopt(init: MediaInit, baseUrl: string, track: Fmp4Track, bytes: Uint8Array | null = null): void {
    const target = resolveRemoteUri(init.uri, baseUrl);
    if (target.ok) this.current = { key: initKey(target.url, init), track, bytes };
  }

  /** The track `init` describes; `afterDiscontinuity`: fetched again even when it is the one in force. */
  async open(init: MediaInit, baseUrl: string, afterDiscontinuity = false): Promise<InitOpened> {
    const target = resolveRemoteUri(init.uri, baseUrl);
    if (!target.ok) return { unmeasurable: `its init section '${init.uri}' is refused: ${target.reason}` };
    const key = initKey(target.url, init);
    if (this.current?.key === key && !afterDiscontinuity) return { track: this.current.track, changed: false };
    const b = await fetchBytes(this.o.fetch, target.url, {
      timeoutMs: this.o.requestTimeoutMs,
      maxBytes: this.o.maxBytes,
      ...(init.byteRange ? { range: init.byteRange } : {}),
    });
    if (!b.ok) return { unmeasurable: `its init section ${target.url} cannot be fetched: ${b.reason}` };
    // The same bytes under the same name: the same track.
    if (this.current?.key === key && this.current.bytes !== null && sameBytes(this.current.bytes, b.value)) return { track: this.current.track, changed: false };
    const track = Fmp4Track.open(b.value);
    if ("unmeasurable" in track) return track;
    const format = this.current?.track.format;
    this.current = { key, track, bytes: Uint8Array.from(b.value) };
    // The decoder reads one elementary stream format for the whole run.
    if (format && format !== track.format) return { unmeasurable: `the video codec changed from ${format} to ${track.format}` };
    this.o.onEvent({ kind: "stream-info", atMs: this.o.now(), detail: `HLS with fMP4 segments: ${track.description}` });
    return { track, changed: true };
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function initKey(url: string, init: MediaInit): string {
  return `${url}#${init.byteRange ? `${init.byteRange.offsetBytes}-${init.byteRange.lengthBytes}` : ""}`;
}
