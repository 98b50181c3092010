/**
 * Limited ("tv", 16–235 luma, 16–240 chroma) to full-range 8-bit values, exactly as ffmpeg 5.1's swscale maps them
 * for `scale=out_range=full` at an unchanged size and pixel format. Pure.
 *
 * swscale widens each 8-bit value to 15 bits (v << 7: its horizontal filter at an unchanged width is the identity),
 * maps the range there (lumRangeToJpeg: (min(v, 30189) · 19077 − 39057361) >> 14; chrRangeToJpeg:
 * (min(v, 30775) · 4663 − 9289992) >> 12) and rounds back to 8 bits ((v + 64) >> 7, clipped: its vertical filter is
 * the identity too, with no dither for 8-bit input). Each output value is therefore a function of one input value,
 * so a table of 256 does it (the SIMD kernel computes the same step in place, src/client/quality.wat);
 * test/unit/full-range.test.ts checks both tables against ffmpeg on every value, and whole random frames at every
 * signal size.
 *
 * The client asks its decoder for planes as decoded and maps them here (when they are limited range) instead of
 * having swscale do it: swscale's general path cost 4–5 ms of a 1080p frame, about twice the decode.
 */

/** One range step: v (8 bits) → clip(((min(v << 7, clampAt) · mul − sub) >> shift + 64) >> 7). */
export interface RangeStep {
  clampAt: number;
  mul: number;
  sub: number;
  shift: number;
}

export const LUMA_STEP: RangeStep = { clampAt: 30189, mul: 19077, sub: 39057361, shift: 14 };
export const CHROMA_STEP: RangeStep = { clampAt: 30775, mul: 4663, sub: 9289992, shift: 12 };

/**
 * The same step as one multiply-add and one shift: ((x >> s) + 64) >> 7 = (x + (64 << s)) >> (s + 7) for integers
 * (floor division twice), which is what the SIMD kernel computes.
 */
export function fusedStep(r: RangeStep): { clampAt: number; mul: number; add: number; shift: number } {
  return { clampAt: r.clampAt, mul: r.mul, add: -r.sub + (64 << r.shift), shift: r.shift + 7 };
}

function table(r: RangeStep): Uint8Array {
  const t = new Uint8Array(256);
  for (let v = 0; v < 256; v++) {
    const mapped = (Math.min(v << 7, r.clampAt) * r.mul - r.sub) >> r.shift;
    t[v] = Math.max(0, Math.min(255, (mapped + 64) >> 7));
  }
  return t;
}

/** Luma: limited-range value → swscale's full-range value. */
export const LUMA_TO_FULL: Uint8Array = table(LUMA_STEP);
/** Chroma (Cb and Cr alike): limited-range value → swscale's full-range value. */
export const CHROMA_TO_FULL: Uint8Array = table(CHROMA_STEP);

/** A range mapping both ways it is computed: as a table (JavaScript) and as its step (the SIMD kernel). */
export interface FullRangeMap {
  table: Uint8Array;
  step: RangeStep;
}

export const LUMA_MAP: FullRangeMap = { table: LUMA_TO_FULL, step: LUMA_STEP };
export const CHROMA_MAP: FullRangeMap = { table: CHROMA_TO_FULL, step: CHROMA_STEP };

/** Writes src mapped through the table into dst (which may be src itself). */
export function mapPlane(src: Uint8Array, dst: Uint8Array, t: Uint8Array): void {
  for (let i = 0; i < src.length; i++) dst[i] = t[src[i]!]!;
}
