import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CHROMA_MAP, LUMA_MAP } from "../../src/client/full-range.ts";
import { comparePlane, frameQuality, qualityKernels, referencePlane, ssimPlane } from "../../src/client/quality.ts";
import { encodePayload } from "../../src/signal/payload.ts";
import { parseSize } from "../../src/signal/profiles.ts";
import { FrameRenderer, planLayout } from "../../src/signal/render.ts";

/** Per-frame figures from ffmpeg's own psnr and ssim filters on the same two raw files. */
function ffmpegFigures(dist: string, ref: string, w: number, h: number, dir: string, plainC: boolean) {
  const raw = ["-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", `${w}x${h}`];
  const r = spawnSync("ffmpeg", [
    "-v", "error", ...(plainC ? ["-cpuflags", "0"] : []), ...raw, "-i", dist, ...raw, "-i", ref, "-lavfi",
    `[0:v]split[a][b];[1:v]split[c][d];[a][c]psnr=stats_file=${dir}/psnr.log;[b][d]ssim=stats_file=${dir}/ssim.log`,
    "-f", "null", "-",
  ]);
  expect(r.status).toBe(0);
  const field = (line: string, k: string) => Number(new RegExp(`(?:^|\\s)${k}:(\\S+)`).exec(line)![1]);
  const psnr = readFileSync(`${dir}/psnr.log`, "utf8").trim().split("\n").map((l) => ({ y: field(l, "psnr_y"), all: field(l, "psnr_avg") }));
  const ssim = readFileSync(`${dir}/ssim.log`, "utf8").trim().split("\n").map((l) => ({ y: field(l, "Y"), all: field(l, "All") }));
  return psnr.map((p, i) => ({ psnrY: p.y, psnrAll: p.all, ssimY: ssim[i]!.y, ssimAll: ssim[i]!.all }));
}

describe("PSNR and SSIM equal ffmpeg's filters on the same frame pairs", () => {
  // 240p is 426 pixels wide: 105 SSIM windows a row. ffmpeg 5.1's x86 SIMD for the last step of its ssim filter
  // treats such an odd tail differently from its own C code (measured: 0.005 higher on these frames); its C code
  // (-cpuflags 0) and vat agree there exactly, so that size is compared with ffmpeg's C code.
  test.each([
    ["480p", 35, false],
    ["240p", 45, true],
    ["720p", 28, false],
    ["1080p", 40, false],
  ])("%s, x264 crf %d: within 0.05 dB and 0.002, every frame, luma and all planes", (sizeName, crf, plainC) => {
    const dir = mkdtempSync(join(tmpdir(), "vat-q-"));
    try {
      const size = parseSize(sizeName);
      const { width: w, height: h } = size;
      const renderer = new FrameRenderer(planLayout(size, "q"));
      const frames = 12;
      const refY: Uint8Array[] = [];
      const refYuv = new Uint8Array(frames * w * h * 1.5).fill(128);
      for (let n = 0; n < frames; n++) {
        const y = renderer.render(n, encodePayload({ streamId: "q", frameNumber: n, generatedAtMs: 1_795_000_000_000 + n * 40 }));
        refY.push(Uint8Array.from(y));
        refYuv.set(y, n * w * h * 1.5);
      }
      writeFileSync(`${dir}/ref.gray`, Buffer.concat(refY));
      writeFileSync(`${dir}/ref.yuv`, refYuv);
      // Encoded as vat serve encodes (gray in, x264), decoded back to 4:2:0.
      const enc = spawnSync("ffmpeg", [
        "-v", "error", "-f", "rawvideo", "-pix_fmt", "gray", "-s", `${w}x${h}`, "-framerate", "25", "-i", `${dir}/ref.gray`,
        "-c:v", "libx264", "-preset", "ultrafast", "-crf", String(crf), "-pix_fmt", "yuv420p", "-f", "mpegts", `${dir}/enc.ts`,
      ]);
      expect(enc.status).toBe(0);
      // Decoded back to full range, as the client does for quality.
      const dec = spawnSync("ffmpeg", [
        "-v", "error", "-i", `${dir}/enc.ts`, "-vf", "scale=out_range=full", "-f", "rawvideo", "-pix_fmt", "yuv420p", `${dir}/dist.yuv`,
      ]);
      expect(dec.status).toBe(0);
      // And as decoded (limited range), as the client's decoder now hands them over: mapped by vat, the same figures.
      const lim = spawnSync("ffmpeg", ["-v", "error", "-i", `${dir}/enc.ts`, "-f", "rawvideo", "-pix_fmt", "yuv420p", `${dir}/lim.yuv`]);
      expect(lim.status).toBe(0);
      const dist = new Uint8Array(readFileSync(`${dir}/dist.yuv`));
      const limited = new Uint8Array(readFileSync(`${dir}/lim.yuv`));
      expect(limited).toHaveLength(dist.length);
      expect(limited).not.toEqual(dist);
      const truth = ffmpegFigures(`${dir}/dist.yuv`, `${dir}/ref.yuv`, w, h, dir, plainC);
      expect(truth).toHaveLength(frames);
      const frameBytes = w * h * 1.5;
      for (let n = 0; n < frames; n++) {
        const f = dist.subarray(n * frameBytes, (n + 1) * frameBytes);
        const planes = { y: f.subarray(0, w * h), u: f.subarray(w * h, w * h * 1.25), v: f.subarray(w * h * 1.25), width: w, height: h };
        const q = frameQuality(planes, refY[n]!);
        // Every kernel gives the same figures bit for bit on the same decoded frames.
        for (const k of qualityKernels) expect(frameQuality(planes, refY[n]!, k)).toEqual(q);
        const l = limited.subarray(n * frameBytes, (n + 1) * frameBytes);
        const limitedPlanes = { y: l.subarray(0, w * h), u: l.subarray(w * h, w * h * 1.25), v: l.subarray(w * h * 1.25), width: w, height: h, limitedRange: true };
        for (const k of qualityKernels) expect(frameQuality(limitedPlanes, refY[n]!, k)).toEqual(q);
        expect(Math.abs(q.psnrY - truth[n]!.psnrY)).toBeLessThan(0.05);
        expect(Math.abs(q.psnrAll - truth[n]!.psnrAll)).toBeLessThan(0.05);
        expect(Math.abs(q.ssimY - truth[n]!.ssimY)).toBeLessThan(0.002);
        expect(Math.abs(q.ssimAll - truth[n]!.ssimAll)).toBeLessThan(0.002);
      }
      // Not a trivial agreement: the frames really are damaged, more so at a higher crf.
      expect(truth[0]!.psnrY).toBeLessThan(crf >= 45 ? 30 : 45);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  test("identical planes: SSIM 1 and PSNR at its 100 dB cap; a gray frame compares luma only", () => {
    const a = new Uint8Array(64 * 48).map((_, i) => (i * 37) % 251);
    expect(ssimPlane(a, a, 64, 48)).toBeCloseTo(1, 12);
    expect(frameQuality({ y: a, width: 64, height: 48 }, a)).toEqual({ psnrY: 100, psnrAll: 100, ssimY: 1, ssimAll: 1 });
    const b = a.map((v) => Math.min(255, v + 4));
    const q = frameQuality({ y: b, width: 64, height: 48 }, a);
    expect(q.psnrY).toBeLessThan(40);
    expect(q.psnrAll).toBe(q.psnrY);
  });
});

/** The figures straight from their definitions: every pixel's error, and each 8×8 window's sums taken afresh. */
function naivePlane(a: Uint8Array, b: Uint8Array | null, w: number, h: number, stride: number) {
  const ref = (o: number) => (b ? b[o]! : 128);
  let sse = 0;
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) sse += (a[y * stride + x]! - ref(y * stride + x)) ** 2;
  const bw = w >> 2;
  const bh = h >> 2;
  if (bw < 2 || bh < 2) return { sse, ssim: 1 };
  const c1 = Math.trunc(0.01 * 0.01 * 255 * 255 * 64 + 0.5);
  const c2 = Math.trunc(0.03 * 0.03 * 255 * 255 * 64 * 63 + 0.5);
  let total = 0;
  for (let wy = 0; wy < bh - 1; wy++) {
    for (let wx = 0; wx < bw - 1; wx++) {
      let s1 = 0, s2 = 0, ss = 0, s12 = 0;
      for (let y = wy * 4; y < wy * 4 + 8; y++) {
        for (let x = wx * 4; x < wx * 4 + 8; x++) {
          const p = a[y * stride + x]!;
          const q = ref(y * stride + x);
          s1 += p;
          s2 += q;
          ss += p * p + q * q;
          s12 += p * q;
        }
      }
      const vars = ss * 64 - s1 * s1 - s2 * s2;
      const covar = s12 * 64 - s1 * s2;
      total += ((2 * s1 * s2 + c1) * (2 * covar + c2)) / ((s1 * s1 + s2 * s2 + c1) * (vars + c2));
    }
  }
  return { sse, ssim: total / ((bh - 1) * (bw - 1)) };
}

test("one pass per plane gives exactly the error and SSIM of their definitions: any size, any stride, a neutral reference", () => {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 255;
  for (const [w, h, stride] of [[64, 48, 64], [427, 241, 427], [213, 121, 220], [7, 30, 7], [30, 5, 33], [9, 9, 9]] as const) {
    const a = new Uint8Array(stride * h).map(rnd);
    // A reference near the frame (as a decoded frame is near its source) and one far from it: both extremes of SSIM.
    for (const b of [a.map((v) => Math.max(0, Math.min(255, v + (rnd() % 9) - 4))), new Uint8Array(stride * h).map(rnd), null]) {
      const want = naivePlane(a, b, w, h, stride);
      for (const k of qualityKernels) {
        const got = comparePlane(a, b, w, h, stride, k);
        expect(got.sse).toBe(want.sse);
        expect(got.ssim).toBeCloseTo(want.ssim, 12);
        if (b) expect(ssimPlane(a, b, w, h, stride, k)).toBe(got.ssim);
      }
    }
    // Planes that start anywhere in their buffers (a decoder's frame holds all three planes in one).
    const shifted = new Uint8Array(stride * h + 1);
    shifted.set(a, 1);
    const b = a.map((v) => v ^ 5);
    for (const k of qualityKernels) expect(comparePlane(shifted.subarray(1), b, w, h, stride, k)).toEqual(naivePlane(a, b, w, h, stride));
    // A limited-range plane is compared as its values mapped to full range, edges no block covers included; the
    // plane itself is left as it was.
    const before = Uint8Array.from(a);
    for (const [map, ref] of [[LUMA_MAP, b], [CHROMA_MAP, null], [LUMA_MAP, null], [CHROMA_MAP, b]] as const) {
      const want = naivePlane(a.map((v) => map.table[v]!), ref, w, h, stride);
      for (const k of qualityKernels) {
        const got = comparePlane(a, ref, w, h, stride, k, map);
        expect(got.sse).toBe(want.sse);
        expect(got.ssim).toBeCloseTo(want.ssim, 12);
      }
    }
    expect(a).toEqual(before);
  }
});

describe("flat neutral chroma (a gray picture's encode) is read once, not summed: the same figures", () => {
  /** frameQuality's figures assembled from comparePlane, which sums every plane's blocks and windows. */
  function summed(y: Uint8Array, u: Uint8Array, v: Uint8Array, ref: Uint8Array, w: number, h: number, limited: boolean) {
    const ly = comparePlane(y, ref, w, h, w, "js", limited ? LUMA_MAP : null);
    const cu = comparePlane(u, null, w / 2, h / 2, w / 2, "js", limited ? CHROMA_MAP : null);
    const cv = comparePlane(v, null, w / 2, h / 2, w / 2, "js", limited ? CHROMA_MAP : null);
    const n = w * h;
    const c = n / 4;
    const wY = n / (n + 2 * c);
    const wC = c / (n + 2 * c);
    const psnr = (m: number) => (m <= 0 ? 100 : Math.min(100, 10 * Math.log10((255 * 255) / m)));
    return {
      psnrY: psnr(ly.sse / n),
      psnrAll: psnr(wY * (ly.sse / n) + wC * (cu.sse / c + cv.sse / c)),
      ssimY: ly.ssim,
      ssimAll: wY * ly.ssim + wC * (cu.ssim + cv.ssim),
    };
  }

  test.each([false, true])("limited range %p: flat at 128, one pixel off, flat elsewhere: each as summed", (limited) => {
    const w = 64;
    const h = 48;
    const ref = new Uint8Array(w * h).map((_, i) => (i * 37) % 251);
    const y = ref.map((v) => Math.min(235, Math.max(16, v + 3)));
    const flat = new Uint8Array((w * h) / 4).fill(128);
    const onePixel = flat.slice();
    onePixel[(w * h) / 4 - 1] = 131;
    const level = new Uint8Array((w * h) / 4).fill(140);
    for (const [u, v] of [[flat, flat], [onePixel, flat], [flat, onePixel], [level, flat]] as const) {
      const q = frameQuality({ y, u, v, width: w, height: h, limitedRange: limited }, ref);
      for (const k of qualityKernels) expect(frameQuality({ y, u, v, width: w, height: h, limitedRange: limited }, ref, k)).toEqual(q);
      expect(q).toEqual(summed(y, u, v, ref, w, h, limited));
    }
    // Flat neutral chroma has no error and an SSIM of 1 (the all-planes figures weigh luma's with it).
    const q = frameQuality({ y, u: flat, v: flat, width: w, height: h, limitedRange: limited }, ref);
    expect(q.ssimAll).toBeCloseTo((4 * q.ssimY + 2) / 6, 12);
    expect(frameQuality({ y, u: onePixel, v: flat, width: w, height: h, limitedRange: limited }, ref).ssimAll).toBeLessThan(q.ssimAll);
  });

  test("chroma planes that start at an odd byte (no aligned words) are read the same", () => {
    const w = 64;
    const h = 48;
    const ref = new Uint8Array(w * h).map((_, i) => (i * 11) % 256);
    const buf = new Uint8Array(1 + w * h * 1.5).fill(128);
    buf.set(ref.map((v) => 255 - v), 1);
    const y = buf.subarray(1, 1 + w * h);
    const u = buf.subarray(1 + w * h, 1 + w * h * 1.25);
    const v = buf.subarray(1 + w * h * 1.25);
    expect(frameQuality({ y, u, v, width: w, height: h }, ref)).toEqual(summed(y, u, v, ref, w, h, false));
    u[5] = 127;
    expect(frameQuality({ y, u, v, width: w, height: h }, ref)).toEqual(summed(y, u, v, ref, w, h, false));
  });
});

describe("the WebAssembly SIMD kernel and the JavaScript one give the same figures bit for bit", () => {
  test("this runtime has WebAssembly SIMD, so the SIMD kernel is the one used and is compared here", () => {
    expect(qualityKernels).toEqual(["simd", "js"]);
  });

  let seed = 11;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 255;
  // 426 and 854 px (240p, 480p) leave blocks that are not a whole SIMD group of four and columns no block covers;
  // 1080p is the size the kernel is for; the small ones have one group or none.
  test.each([
    [426, 240],
    [854, 480],
    [1920, 1080],
    [36, 20],
    [12, 12],
    [8, 8],
    [30, 7],
  ])("%d×%d: noise, near copies, the extremes (0 against 255), a neutral reference, any stride", (w, h) => {
    for (const stride of [w, w + 5]) {
      const a = new Uint8Array(stride * h).map(rnd);
      const refs: (Uint8Array | null)[] = [
        new Uint8Array(stride * h).map(rnd),
        a.map((v) => Math.max(0, Math.min(255, v + (rnd() % 9) - 4))),
        a,
        null,
      ];
      for (const b of refs) {
        const js = comparePlane(a, b, w, h, stride, "js");
        expect(comparePlane(a, b, w, h, stride, "simd")).toEqual(js);
      }
      // The largest sums: every pixel 255 against 0, and all 255 against a neutral reference.
      const white = new Uint8Array(stride * h).fill(255);
      const black = new Uint8Array(stride * h);
      const simdFar = comparePlane(white, black, w, h, stride, "simd");
      expect(simdFar).toEqual(comparePlane(white, black, w, h, stride, "js"));
      expect(simdFar.sse).toBe(w * h * 255 * 255);
      expect(comparePlane(white, null, w, h, stride, "simd")).toEqual(comparePlane(white, null, w, h, stride, "js"));
    }
  });

  test("whole 4:2:0 frames of the test signal, 240p and 1080p: the same FrameQuality from both", () => {
    for (const sizeName of ["240p", "1080p"]) {
      const size = parseSize(sizeName);
      const { width: w, height: h } = size;
      const renderer = new FrameRenderer(planLayout(size, "k"));
      const ref = Uint8Array.from(renderer.render(3, encodePayload({ streamId: "k", frameNumber: 3, generatedAtMs: 1_795_000_000_000 })));
      // A damaged copy: noise of a few levels on luma, chroma a little off neutral.
      const frame = new Uint8Array(w * h * 1.5);
      for (let i = 0; i < w * h; i++) frame[i] = Math.max(0, Math.min(255, ref[i]! + (rnd() % 13) - 6));
      for (let i = w * h; i < frame.length; i++) frame[i] = 128 + (rnd() % 5) - 2;
      const planes = { y: frame.subarray(0, w * h), u: frame.subarray(w * h, w * h * 1.25), v: frame.subarray(w * h * 1.25), width: w, height: h };
      const simdQ = frameQuality(planes, ref, "simd");
      expect(simdQ).toEqual(frameQuality(planes, ref, "js"));
      expect(simdQ.psnrY).toBeLessThan(40);
      expect(simdQ.ssimY).toBeLessThan(1);
    }
  });
});

test("a reference drawn in the kernel's memory is compared where it lies, and is still there after the frame's chroma", () => {
  let seed = 5;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 255;
  for (const sizeName of ["240p", "1080p", "480p"]) {
    const size = parseSize(sizeName);
    const { width: w, height: h } = size;
    const renderer = new FrameRenderer(planLayout(size, "r"));
    const text = encodePayload({ streamId: "r", frameNumber: 9, generatedAtMs: 1_795_000_000_000 });
    const copy = Uint8Array.from(renderer.render(9, text));
    const frame = new Uint8Array(w * h * 1.5).map((_, i) => (i < w * h ? Math.max(0, Math.min(255, copy[i]! + (rnd() % 11) - 5)) : 120 + (rnd() % 17)));
    const planes = { y: frame.subarray(0, w * h), u: frame.subarray(w * h, w * h * 1.25), v: frame.subarray(w * h * 1.25), width: w, height: h, limitedRange: true };
    const want = frameQuality(planes, copy, "js");
    const inPlace = referencePlane(w, h)!;
    expect(inPlace).toHaveLength(w * h);
    renderer.render(9, text, inPlace);
    expect(frameQuality(planes, inPlace, "simd")).toEqual(want);
    expect(inPlace).toEqual(copy);
    // Again with the view taken anew, as the client takes it each frame: the same place, the same figures.
    expect(referencePlane(w, h)!.byteOffset).toBe(inPlace.byteOffset);
    expect(frameQuality(planes, referencePlane(w, h)!, "simd")).toEqual(want);
  }
});

test("the kernel maps every limited-range value as the tables do, luma and chroma, as it loads it", () => {
  const zero = new Uint8Array(16 * 16);
  for (const map of [LUMA_MAP, CHROMA_MAP]) {
    for (let v = 0; v < 256; v++) {
      const plane = new Uint8Array(16 * 16).fill(v);
      // Each pixel's error against 0 is its mapped value; against the neutral reference, that value less 128.
      expect(comparePlane(plane, zero, 16, 16, 16, "simd", map).sse).toBe(256 * map.table[v]! ** 2);
      expect(comparePlane(plane, null, 16, 16, 16, "simd", map).sse).toBe(256 * (map.table[v]! - 128) ** 2);
      expect(comparePlane(plane, zero, 16, 16, 16, "simd").sse).toBe(256 * v * v);
    }
  }
});

test("a plane shorter than its size and stride say is refused, not read past", () => {
  const a = new Uint8Array(64 * 48);
  for (const k of qualityKernels) {
    expect(() => comparePlane(a.subarray(1), a, 64, 48, 64, k)).toThrow(RangeError);
    expect(() => comparePlane(a, a.subarray(0, 64 * 47), 64, 48, 64, k)).toThrow(RangeError);
    expect(() => comparePlane(a, null, 64, 48, 65, k)).toThrow(RangeError);
  }
});

test("which libvmaf an ffmpeg has, from its filter help", async () => {
  const { libvmafKind } = await import("../../src/client/vmaf.ts");
  expect(libvmafKind("Unknown filter 'libvmaf'.")).toBe("none");
  expect(libvmafKind("Filter libvmaf\n  Calculate the VMAF...\n  model_path <string> ...")).toBe("v1");
  expect(libvmafKind("Filter libvmaf\n  model <string> Set the model to be used ...\n  feature <string>")).toBe("v2");
});
