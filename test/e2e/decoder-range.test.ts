/**
 * The planes --quality measures, through the client's real decoder: handed over as decoded, and once mapped by vat
 * (client/full-range.ts) byte for byte what ffmpeg's `scale=W:H:flags=bicubic:out_range=full` gives, the filter the
 * client ran before; a full-range (yuvj420p) stream is handed over as it is, flagged full range.
 */
import { afterAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { FrameDecoder, type DecodedFrame, type DecoderOutput } from "../../src/client/decoder.ts";
import { CHROMA_TO_FULL, LUMA_TO_FULL, mapPlane } from "../../src/client/full-range.ts";
import { tempDir } from "../helpers/vat.ts";

const dir = tempDir("vat-range-");
afterAll(() => dir.cleanup());

const W = 640;
const H = 360;

function encode(name: string, pixFmt: "yuv420p" | "yuvj420p"): string {
  const file = join(dir.path, `${name}.h264`);
  const made = spawnSync("ffmpeg", [
    "-v", "error", "-f", "lavfi", "-i", `testsrc2=size=${W}x${H}:rate=25`, "-t", "1", "-c:v", "libx264", "-preset", "ultrafast",
    "-crf", "30", "-pix_fmt", pixFmt, "-f", "h264", file,
  ]);
  expect(made.status).toBe(0);
  return file;
}

/** Whole frames as ffmpeg writes them with the given filter (the truth), back to back. */
function ffmpegFrames(file: string, filter: string): Uint8Array {
  const r = spawnSync("ffmpeg", ["-v", "error", "-i", file, "-vf", filter, "-f", "rawvideo", "-pix_fmt", "yuv420p", "pipe:1"], { maxBuffer: 1 << 27 });
  expect(r.status).toBe(0);
  return new Uint8Array(r.stdout);
}

async function decode(file: string): Promise<DecodedFrame[]> {
  const frames: DecodedFrame[] = [];
  const output: DecoderOutput = { pixFmt: "yuv420p", scale: { width: W, height: H } };
  const decoder = new FrameDecoder("ffmpeg", { kind: "url", url: file }, (f) => {
    frames.push({ ...f, gray: Uint8Array.from(f.gray), u: Uint8Array.from(f.u!), v: Uint8Array.from(f.v!) });
  }, Date.now, output);
  await decoder.finish(20_000);
  return frames;
}

function joined(frames: DecodedFrame[], map: boolean): Uint8Array {
  const n = W * H;
  const out = new Uint8Array(frames.length * n * 1.5);
  frames.forEach((f, i) => {
    const at = i * n * 1.5;
    const planes: [Uint8Array, Uint8Array, Uint8Array][] = [[f.gray, out.subarray(at, at + n), LUMA_TO_FULL], [f.u!, out.subarray(at + n, at + n * 1.25), CHROMA_TO_FULL], [f.v!, out.subarray(at + n * 1.25, at + n * 1.5), CHROMA_TO_FULL]];
    for (const [src, dst, table] of planes) {
      if (map) mapPlane(src, dst, table);
      else dst.set(src);
    }
  });
  return out;
}

test("a limited-range stream: planes as decoded, flagged limited; mapped, the bytes of ffmpeg's out_range=full", async () => {
  const file = encode("tv", "yuv420p");
  const frames = await decode(file);
  expect(frames).toHaveLength(25);
  expect(frames.every((f) => f.limitedRange === true && f.width === W && f.height === H)).toBe(true);
  expect(joined(frames, false)).toEqual(ffmpegFrames(file, "null"));
  const full = ffmpegFrames(file, `scale=${W}:${H}:flags=bicubic:out_range=full`);
  expect(joined(frames, false)).not.toEqual(full);
  expect(joined(frames, true)).toEqual(full);
}, 60_000);

test("a full-range (yuvj420p) stream: handed over as it is, flagged full range, the bytes of ffmpeg's out_range=full", async () => {
  const file = encode("pc", "yuvj420p");
  const frames = await decode(file);
  expect(frames).toHaveLength(25);
  expect(frames.every((f) => f.limitedRange === false)).toBe(true);
  expect(joined(frames, false)).toEqual(ffmpegFrames(file, `scale=${W}:${H}:flags=bicubic:out_range=full`));
}, 60_000);
