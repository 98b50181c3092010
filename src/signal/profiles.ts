import { badInput } from "../errors.ts";

/** A picture size of the test signal. 16:9, even dimensions (needed for 4:2:0 chroma). */
export interface SizeProfile {
  readonly name: SizeName;
  readonly width: number;
  readonly height: number;
}

export const SIZE_NAMES = ["240p", "480p", "720p", "1080p"] as const;
export type SizeName = (typeof SIZE_NAMES)[number];

const SIZES: Record<SizeName, SizeProfile> = {
  "240p": { name: "240p", width: 426, height: 240 },
  "480p": { name: "480p", width: 854, height: 480 },
  "720p": { name: "720p", width: 1280, height: 720 },
  "1080p": { name: "1080p", width: 1920, height: 1080 },
};

export const FPS_MIN = 1;
export const FPS_MAX = 60;

/** The signal size with these dimensions, or null for any other picture size. */
export function sizeOf(width: number, height: number): SizeProfile | null {
  return Object.values(SIZES).find((s) => s.width === width && s.height === height) ?? null;
}

/** Accepts "720p", "720", "1280x720" or the prototype's indices "0".."3" (240p..1080p). */
export function parseSize(input: string | number): SizeProfile {
  const text = String(input).trim().toLowerCase();
  if (/^[0-3]$/.test(text)) return SIZES[SIZE_NAMES[Number(text)]!];
  const byName = SIZE_NAMES.find((n) => n === text || n === `${text}p`);
  if (byName) return SIZES[byName];
  const m = /^(\d+)x(\d+)$/.exec(text);
  const found = m ? sizeOf(Number(m[1]), Number(m[2])) : null;
  if (found) return found;
  throw badInput(
    `unknown image size '${input}': use one of ${SIZE_NAMES.join(", ")} (or the indices 0-3)`,
  );
}

export function parseFps(input: string | number): number {
  const fps = Number(input);
  if (!Number.isInteger(fps) || fps < FPS_MIN || fps > FPS_MAX) {
    throw badInput(`fps '${input}' is out of range: use a whole number from ${FPS_MIN} to ${FPS_MAX}`);
  }
  return fps;
}

/** Everything that defines the picture: the client re-renders reference frames from it. */
export interface SignalProfile {
  readonly size: SizeProfile;
  readonly fps: number;
  readonly streamId: string;
}

const STREAM_ID = /^[A-Za-z0-9._-]{1,32}$/;

export function parseStreamId(input: string): string {
  if (!STREAM_ID.test(input)) {
    throw badInput(
      `stream id '${input}' is not valid: use 1-32 characters of letters, digits, '.', '_' or '-'`,
    );
  }
  return input;
}
