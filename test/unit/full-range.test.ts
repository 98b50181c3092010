import { expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { CHROMA_TO_FULL, LUMA_TO_FULL, mapPlane, Q15_CHROMA, Q15_IDENTITY, Q15_LUMA, q15Map } from "../../src/client/full-range.ts";
import { parseSize } from "../../src/signal/profiles.ts";
import { seededRandom } from "../helpers/random.ts";

/** ffmpeg's own `scale=out_range=full` (and the client's old decoder filter, with the size named) on one raw frame. */
function ffmpegFullRange(frame: Uint8Array, w: number, h: number, withSize: boolean): Uint8Array {
  const r = spawnSync("ffmpeg", [
    "-v", "error", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", `${w}x${h}`, "-i", "pipe:0",
    "-vf", `scale=${withSize ? `${w}:${h}:flags=bicubic:` : ""}out_range=full`, "-f", "rawvideo", "-pix_fmt", "yuv420p", "pipe:1",
  ], { input: frame, maxBuffer: 1 << 26 });
  expect(r.status).toBe(0);
  return new Uint8Array(r.stdout);
}

function mapped(frame: Uint8Array, w: number, h: number): Uint8Array {
  const n = w * h;
  const out = new Uint8Array(frame.length);
  mapPlane(frame.subarray(0, n), out.subarray(0, n), LUMA_TO_FULL);
  mapPlane(frame.subarray(n), out.subarray(n), CHROMA_TO_FULL);
  return out;
}

test("every limited-range value maps as ffmpeg's scale=out_range=full maps it, luma and chroma", () => {
  // 64×32: the luma plane holds each value 8 times, each chroma plane each value twice (in another order in Cr).
  const w = 64, h = 32, n = w * h;
  const frame = new Uint8Array(n * 1.5);
  for (let i = 0; i < n; i++) frame[i] = i & 255;
  for (let i = 0; i < n / 4; i++) {
    frame[n + i] = i & 255;
    frame[n * 1.25 + i] = (i * 7) & 255;
  }
  const want = ffmpegFullRange(frame, w, h, false);
  expect(want).toHaveLength(frame.length);
  expect(mapped(frame, w, h)).toEqual(want);
  // Not the identity: black and white move to 0 and 255, and values outside the range clip.
  expect([LUMA_TO_FULL[16], LUMA_TO_FULL[235], LUMA_TO_FULL[0], LUMA_TO_FULL[255]]).toEqual([0, 255, 0, 255]);
  expect([CHROMA_TO_FULL[16], CHROMA_TO_FULL[128], CHROMA_TO_FULL[240]]).toEqual([0, 128, 255]);
});

test.each(["240p", "480p", "720p", "1080p"])("a random %s frame: the same bytes as ffmpeg's, with the size named or not", (name) => {
  const { width: w, height: h } = parseSize(name);
  const random = seededRandom(w);
  const frame = new Uint8Array(w * h * 1.5).map(() => Math.floor(random() * 256));
  const ours = mapped(frame, w, h);
  expect(ours).toEqual(ffmpegFullRange(frame, w, h, true));
  expect(ours).toEqual(ffmpegFullRange(frame, w, h, false));
});

test("the 16-bit step (the SIMD kernel's form, computed here in JavaScript) is each table, value for value", () => {
  for (const [step, t] of [[Q15_LUMA, LUMA_TO_FULL], [Q15_CHROMA, CHROMA_TO_FULL]] as const) {
    for (let v = 0; v < 256; v++) expect(q15Map(v, step)).toBe(t[v]!);
  }
  for (let v = 0; v < 256; v++) expect(q15Map(v, Q15_IDENTITY)).toBe(v);
});
