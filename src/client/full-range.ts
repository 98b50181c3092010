/**
 * Limited ("tv", 16–235 luma, 16–240 chroma) to full-range 8-bit values, exactly as ffmpeg 5.1's swscale maps them
 * for `scale=out_range=full` at an unchanged size and pixel format. Pure.
 *
 * swscale widens each 8-bit value to 15 bits (v << 7: its horizontal filter at an unchanged width is the identity),
 * maps the range there (lumRangeToJpeg: (min(v, 30189) · 19077 − 39057361) >> 14; chrRangeToJpeg:
 * (min(v, 30775) · 4663 − 9289992) >> 12) and rounds back to 8 bits ((v + 64) >> 7, clipped: its vertical filter is
 * the identity too, with no dither for 8-bit input). Each output value is therefore a function of one input value,
 * so a table of 256 does it; the SIMD kernel (src/client/quality.wat) computes it in 16-bit lanes instead (Q15Step,
 * below). test/unit/full-range.test.ts checks both tables against ffmpeg on every value, and whole random frames at
 * every signal size, and the 16-bit step against the tables on every value.
 *
 * The client asks its decoder for planes as decoded and maps them here (when they are limited range) instead of
 * having swscale do it: swscale's general path cost 4–5 ms of a 1080p frame, about twice the decode.
 */

/** One range step: v (8 bits) → clip(((min(v << 7, clampAt) · mul − sub) >> shift + 64) >> 7). */
interface RangeStep {
  clampAt: number;
  mul: number;
  sub: number;
  shift: number;
}

const LUMA_STEP: RangeStep = { clampAt: 30189, mul: 19077, sub: 39057361, shift: 14 };
const CHROMA_STEP: RangeStep = { clampAt: 30775, mul: 4663, sub: 9289992, shift: 12 };

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

/**
 * The same mapping in 16-bit lanes, as the SIMD kernel computes it: v → clip((q15(v << 7, mul) + add) >> shift, 0,
 * 255), where q15(x, m) = (x · m + 2^14) >> 15 is WebAssembly's i16x8.q15mulr_sat_s (on v << 7 it is (v · mul + 128)
 * >> 8, within 16 bits). Not derived from swscale's step but found for it: the parameters were searched for and are
 * equal to the tables above on all 256 values (test/unit/full-range.test.ts), which is all an 8-bit plane can hold.
 * mul 256, add 0, shift 0 is the identity.
 */
export interface Q15Step {
  mul: number;
  add: number;
  shift: number;
}

export const Q15_LUMA: Q15Step = { mul: 19077, add: -1161, shift: 6 };
export const Q15_CHROMA: Q15Step = { mul: 4663, add: -276, shift: 4 };
export const Q15_IDENTITY: Q15Step = { mul: 256, add: 0, shift: 0 };

/** One value through a Q15Step, as the kernel computes it lane by lane (saturating to 16 bits where it does). */
export function q15Map(v: number, s: Q15Step): number {
  const sat = (x: number) => Math.max(-32768, Math.min(32767, x));
  const q = sat(((v << 7) * s.mul + 0x4000) >> 15);
  return Math.max(0, Math.min(255, sat(q + s.add) >> s.shift));
}

/** A range mapping both ways it is computed: as a table (JavaScript) and as its 16-bit step (the SIMD kernel). */
export interface FullRangeMap {
  table: Uint8Array;
  q15: Q15Step;
}

export const LUMA_MAP: FullRangeMap = { table: LUMA_TO_FULL, q15: Q15_LUMA };
export const CHROMA_MAP: FullRangeMap = { table: CHROMA_TO_FULL, q15: Q15_CHROMA };

/** Writes src mapped through the table into dst (which may be src itself). */
export function mapPlane(src: Uint8Array, dst: Uint8Array, t: Uint8Array): void {
  for (let i = 0; i < src.length; i++) dst[i] = t[src[i]!]!;
}
