import { badInput } from "../errors.ts";
import { parseSize, type SizeProfile } from "../signal/profiles.ts";

/**
 * What the origin serves: MPEG-TS HLS (the default), HLS with fMP4/CMAF segments, DASH with fMP4 segments, or the
 * low-latency forms packaged in memory by vat itself: LL-HLS (partial segments, blocking reload) and LL-DASH (CMAF
 * chunks over chunked transfer).
 */
export const STREAM_FORMATS = ["hls", "cmaf", "dash", "ll-hls", "ll-dash"] as const;
export type StreamFormat = (typeof STREAM_FORMATS)[number];
export type LowLatencyFormat = Extract<StreamFormat, "ll-hls" | "ll-dash">;

export function isLowLatency(format: StreamFormat): format is LowLatencyFormat {
  return format === "ll-hls" || format === "ll-dash";
}

export function parseFormat(input: string): StreamFormat {
  const f = input.trim().toLowerCase();
  const found = STREAM_FORMATS.find((s) => s === f);
  if (!found) throw badInput(`unknown format '${input}': use one of ${STREAM_FORMATS.join(", ")}`);
  return found;
}

/** One rendition of a ladder: its picture size and the bit rate declared for it (x264's VBV cap). */
export interface Rendition {
  width: number;
  height: number;
  maxrateKbps: number;
}

/**
 * Bits per pixel and frame the VBV cap allows: generous enough that the cap (which the playlist declares as
 * BANDWIDTH) does not change the picture of the CRF encode of a QR code, yet a real upper bound.
 */
const CAP_BITS_PER_PIXEL = 0.15;

export function renditionCapKbps(width: number, height: number, fps: number): number {
  return Math.ceil((width * height * fps * CAP_BITS_PER_PIXEL) / 1000);
}

const LADDER_RULE = "a comma-separated list of sizes such as 1080p,720p,360p or 1280x720,640x360 (even dimensions, 16 px to the signal size)";

/** One ladder entry: "720p" / "360p" (16:9 by its height) or "WxH". Pure. */
function parseRungSize(text: string): { width: number; height: number } {
  const t = text.trim().toLowerCase();
  const p = /^(\d{2,4})p$/.exec(t);
  if (p) {
    const height = Number(p[1]);
    return { width: 2 * Math.round((height * 16) / 9 / 2), height };
  }
  const wh = /^(\d{2,4})x(\d{2,4})$/.exec(t);
  if (wh) return { width: Number(wh[1]), height: Number(wh[2]) };
  throw badInput(`ladder size '${text}' is not valid: use ${LADDER_RULE}`);
}

/**
 * A --ladder: its top size is the signal size (one of vat's sizes, rendered once), the rest are scaled from it and
 * must be smaller; renditions come out largest first, without repeats. Pure.
 */
export function parseLadder(input: string, fps: number): { top: SizeProfile; renditions: Rendition[] } {
  const sizes = input.split(",").filter((s) => s.trim() !== "").map(parseRungSize);
  if (sizes.length < 2) throw badInput(`ladder '${input}' has fewer than two sizes: use ${LADDER_RULE}`);
  sizes.sort((a, b) => b.height - a.height || b.width - a.width);
  const first = sizes[0]!;
  let top: SizeProfile;
  try {
    top = parseSize(`${first.width}x${first.height}`);
  } catch {
    throw badInput(`ladder '${input}': its largest size ${first.width}x${first.height} must be a signal size (240p, 480p, 720p or 1080p)`);
  }
  const seen = new Set<string>();
  for (const s of sizes) {
    const key = `${s.width}x${s.height}`;
    if (seen.has(key)) throw badInput(`ladder '${input}' lists ${key} twice: give each size once`);
    seen.add(key);
    if (s.width % 2 || s.height % 2 || s.width < 16 || s.height < 16 || s.width > top.width || s.height > top.height) {
      throw badInput(`ladder size ${key} is not valid: use ${LADDER_RULE}`);
    }
  }
  return { top, renditions: sizes.map((s) => ({ ...s, maxrateKbps: renditionCapKbps(s.width, s.height, fps) })) };
}
