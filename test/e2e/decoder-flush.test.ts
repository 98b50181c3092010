/**
 * The decoder stage on real ffmpeg: units fed the way the client feeds them (an elementary stream, a delimiter after
 * each) come out whole before the next unit is written, every frame once, in order, with its unit's stamp. Segments are encoded here by ffmpeg (x264 as vat serve runs it, x265), 240p.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CODE_OUTPUT, decoderArgs, FrameDecoder, type DecoderOutput } from "../../src/client/decoder.ts";
import { Feeder } from "../../src/client/feeder.ts";
import { Decoding, ffmpegDecoders, type Undecoded } from "../../src/client/decoding.ts";
import { Fmp4Track } from "../../src/client/fmp4-track.ts";
import type { MediaUnit } from "../../src/client/source.ts";
import { segmentElementaryStream } from "../../src/hls/ts-frames.ts";
import { tempDir } from "../helpers/vat.ts";

const SEGMENTS = 4;
const FPS = 25;
const dir = tempDir("vat-flush-");

const ENCODERS = {
  h264: ["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-crf", "23"],
  hevc: ["-c:v", "libx265", "-preset", "ultrafast", "-tune", "zerolatency", "-x265-params", "log-level=error"],
} as const;

/** 1 s segments of 426x240 at 25 fps, a keyframe at each: MPEG-TS or fMP4 (CMAF) HLS as ffmpeg's muxer writes it. */
function encode(codec: keyof typeof ENCODERS, container: "ts" | "fmp4"): string {
  const out = join(dir.path, `${codec}-${container}`);
  mkdirSync(out, { recursive: true });
  const made = spawnSync("ffmpeg", [
    "-v", "error", "-f", "lavfi", "-i", `testsrc2=size=426x240:rate=${FPS}`, "-t", String(SEGMENTS), ...ENCODERS[codec],
    "-g", String(FPS), "-pix_fmt", "yuv420p", ...(codec === "hevc" && container === "fmp4" ? ["-tag:v", "hvc1"] : []),
    "-f", "hls", "-hls_time", "1", "-hls_list_size", "0", "-hls_segment_type", container === "ts" ? "mpegts" : "fmp4",
    "-hls_segment_filename", join(out, container === "ts" ? "seg_%d.ts" : "seg_%d.m4s"), join(out, "stream.m3u8"),
  ]);
  if (made.status !== 0) throw new Error(`ffmpeg: ${made.stderr}`);
  return out;
}

const base = { discontinuity: false, discontinuitySequence: 0, programDateTimeMs: null, ptsOffsetsMs: [], durationS: 1 };

/** The segments as the HLS source hands them over: MPEG-TS as its elementary stream, fMP4 through its track. */
function units(folder: string): { units: MediaUnit[]; format: "mpegts" | "h264" | "hevc" } {
  const files = readdirSync(folder).filter((f) => /^seg_\d+\./.test(f)).sort((a, b) => parseInt(a.slice(4)) - parseInt(b.slice(4)));
  const init = join(folder, "init.mp4");
  const track = files[0]!.endsWith(".m4s") ? Fmp4Track.open(new Uint8Array(readFileSync(init))) : null;
  if (track && "unmeasurable" in track) throw new Error(track.unmeasurable);
  const list = files.map((f, i): MediaUnit => {
    const bytes = new Uint8Array(readFileSync(join(folder, f)));
    const at = { ...base, sequence: i, arrivedAtMs: i * 1000, deliveredBytes: bytes.length };
    if (track) {
      const m = track.media(bytes);
      return { ...at, bytes: m.bytes, frames: m.frames, firstFrameEnd: m.firstFrameEnd, frameEnds: m.frameEnds, framePtsMs: m.framePtsMs };
    }
    const { scan, es } = segmentElementaryStream(bytes);
    if (!es) throw new Error(`${f}: no elementary stream`);
    return { ...at, bytes: es.bytes, frames: es.frames, firstFrameEnd: es.firstFrameEnd, frameEnds: es.frameEnds, ...(es.framePtsMs ? { framePtsMs: es.framePtsMs } : {}), format: es.format };
  });
  return { units: list, format: track ? track.format : "mpegts" };
}

/** Feeds each unit, waits until its frames are out (or 3 s pass), and notes how many were still held back. */
async function feedAll(list: MediaUnit[], format: "mpegts" | "h264" | "hevc") {
  const stamps: (number | null)[] = [];
  const pixels: string[] = [];
  const decoding = new Decoding({ kind: "pipe", format }, CODE_OUTPUT, ffmpegDecoders("ffmpeg", Date.now), (f, stamp) => {
    stamps.push(stamp?.segment ?? null);
    pixels.push(Bun.hash(f.gray).toString(16));
  });
  const held: number[] = [];
  let fed = 0;
  for (const u of list) {
    await decoding.take(u);
    fed += u.frames;
    const deadline = Date.now() + 3000;
    while (stamps.length < fed && Date.now() < deadline) await Bun.sleep(20);
    held.push(fed - stamps.length);
  }
  const code = await decoding.finish();
  return { stamps, pixels, held, code, fed };
}

/** The same stream decoded by ffmpeg from a file in one go, with the client's own output arguments: the truth. */
function decodeWhole(list: MediaUnit[], format: "h264" | "hevc"): string[] {
  const file = join(dir.path, `whole.${format}`);
  writeFileSync(file, Buffer.concat(list.map((u) => u.bytes)));
  const args = decoderArgs({ kind: "url", url: file }, CODE_OUTPUT).map((a) => (a === "info" ? "error" : a));
  args.splice(args.indexOf("-i"), 0, "-f", format);
  const r = spawnSync("ffmpeg", args, { maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`ffmpeg: ${r.stderr}`);
  const size = 192 * 192; // the code region of a 240p frame: 0.8 of its height, square
  const out: string[] = [];
  for (let at = 0; at + size <= r.stdout.length; at += size) out.push(Bun.hash(r.stdout.subarray(at, at + size)).toString(16));
  return out;
}

afterAll(() => dir.cleanup());

describe.each([
  ["h264", "ts"],
  ["h264", "fmp4"],
  ["hevc", "ts"],
  ["hevc", "fmp4"],
] as const)("%s in %s segments", (codec, container) => {
  test("each segment's frames leave the decoder before the next is written: each once, in order, unfiltered", async () => {
    const { units: list, format } = units(encode(codec, container));
    expect(list.map((u) => u.frames)).toEqual(Array(SEGMENTS).fill(FPS));
    const r = await feedAll(list, format);
    expect(r.code).toBe(0);
    expect(r.held).toEqual(Array(SEGMENTS).fill(0));
    expect(r.stamps).toEqual(list.flatMap((u) => Array(u.frames).fill(u.sequence)));
    // Every frame is the picture the stream holds at its place: no filler copy taken for a real frame.
    expect(r.pixels).toEqual(decodeWhole(list, codec));
  }, 60_000);
});

test("LL-HLS parts (each going on with the last one's pictures): each part's frames out at once, every one as decoded whole", async () => {
  const { units: list } = units(encode("h264", "ts"));
  // Parts of 5 frames, cut where a frame's first NAL unit starts (as an LL-HLS part holds whole frames).
  const parts: MediaUnit[] = [];
  for (const u of list) {
    const starts = frameStarts(u.bytes);
    expect(starts).toHaveLength(u.frames);
    for (let k = 0; k < u.frames; k += 5) {
      const end = k + 5 < u.frames ? starts[k + 5]! : u.bytes.length;
      const frames = Math.min(5, u.frames - k);
      const frameEnds = Array.from({ length: frames }, (_, i) => (k + i + 1 < u.frames ? starts[k + i + 1]! : u.bytes.length) - starts[k]!);
      parts.push({ ...u, bytes: u.bytes.subarray(starts[k]!, end), frames, frameEnds, firstFrameEnd: 0, continuesGroup: true });
    }
  }
  const r = await feedAll(parts, "h264");
  expect(r.code).toBe(0);
  expect(r.stamps).toEqual(list.flatMap((u) => Array(u.frames).fill(u.sequence)));
  expect(r.pixels).toEqual(decodeWhole(list, "h264"));
  // Each part's frames out before the next part is written: no frame waits for the next one.
  expect(r.held).toEqual(parts.map(() => 0));
}, 90_000);

test("a burst of decoded frames is handed over one per turn of the event loop, so other work (a fetch being stamped) gets in between", async () => {
  const { units: list, format } = units(encode("h264", "ts"));
  // A ticker that runs once a turn of the event loop; each frame notes the turn it was handed over in.
  let turn = 0;
  let ticking = true;
  const tick = () => {
    turn++;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  const turns: number[] = [];
  const pixels: string[] = [];
  const decoding = new Decoding({ kind: "pipe", format }, CODE_OUTPUT, ffmpegDecoders("ffmpeg", Date.now), (f) => {
    turns.push(turn);
    pixels.push(Bun.hash(f.gray).toString(16));
  });
  try {
    // All four segments at once, and the event loop held while ffmpeg decodes them (as reading another stream's codes
    // holds it): their frames wait in the pipe and come in several a read.
    for (const u of list) {
      await decoding.take(u);
      const until = performance.now() + 100;
      while (performance.now() < until);
    }
    expect(await decoding.finish()).toBe(0);
  } finally {
    ticking = false;
  }
  expect(pixels).toEqual(decodeWhole(list, "h264"));
  const sameTurn = turns.slice(1).filter((t, i) => t === turns[i]!).length;
  expect(sameTurn).toBe(0);
}, 60_000);

test("a consumer slower than the decoder pauses it: the frames waiting stay bounded, and every one comes out, in order", async () => {
  // 12 s of 240p H.264 (300 frames), decoded to whole 4:2:0 frames (150 KiB each, 45 MiB in all) as --quality asks.
  const file = join(dir.path, "slow.h264");
  const made = spawnSync("ffmpeg", [
    "-v", "error", "-f", "lavfi", "-i", `testsrc2=size=426x240:rate=${FPS}`, "-t", "12", ...ENCODERS.h264, "-g", String(FPS),
    "-pix_fmt", "yuv420p", "-f", "h264", file,
  ]);
  expect(made.status).toBe(0);
  const output: DecoderOutput = { pixFmt: "yuv420p", scale: null };
  const truth = spawnSync("ffmpeg", decoderArgs({ kind: "url", url: file }, output).map((a) => (a === "info" ? "error" : a)), { maxBuffer: 1 << 27 });
  expect(truth.status).toBe(0);
  const frameBytes = (426 * 240 * 3) / 2;
  const expected: string[] = [];
  for (let at = 0; at + frameBytes <= truth.stdout.length; at += frameBytes) expected.push(Bun.hash(truth.stdout.subarray(at, at + frameBytes)).toString(16));
  expect(expected).toHaveLength(300);
  const got: string[] = [];
  // ffmpeg decodes 240p many times faster than this consumer takes it (5 ms a frame). Paused past 1 MiB here (16 MiB
  // in use), so that a slow consumer reaches it for certain: without the pause several MiB wait at once.
  const PAUSE_AT = 1024 * 1024;
  const decoder = new FrameDecoder("ffmpeg", { kind: "pipe", format: "h264" }, (f) => {
    got.push(Bun.hash(new Uint8Array(f.gray.buffer, f.gray.byteOffset, frameBytes)).toString(16));
    const until = performance.now() + 5;
    while (performance.now() < until);
  }, Date.now, output, PAUSE_AT);
  // Given as the feeder gives an elementary stream: a block a frame.
  const es = new Uint8Array(readFileSync(file));
  const starts = frameStarts(es);
  const frameEnds = [...starts.slice(1), es.length];
  const unit: MediaUnit = { ...base, sequence: 0, arrivedAtMs: 0, bytes: es, deliveredBytes: es.length, frames: starts.length, frameEnds, firstFrameEnd: 0 };
  for (const w of new Feeder().feed(unit, "h264")) await decoder.write(w);
  await decoder.finish(20_000);
  expect(got).toEqual(expected);
  expect(decoder.peakBacklogBytes).toBeGreaterThan(PAUSE_AT);
  // At most one read past the mark (reads of a pipe bring up to 256 KiB).
  expect(decoder.peakBacklogBytes).toBeLessThanOrEqual(PAUSE_AT + 512 * 1024);
}, 60_000);

/** Where each H.264 frame starts in an Annex B stream without delimiters: its parameter sets, else its first slice. */
function frameStarts(es: Uint8Array): number[] {
  const starts: number[] = [];
  let pending = -1;
  for (let i = 0; i + 4 < es.length; i++) {
    if (es[i] !== 0 || es[i + 1] !== 0 || es[i + 2] !== 1) continue;
    const at = i > 0 && es[i - 1] === 0 ? i - 1 : i;
    const type = es[i + 3]! & 31;
    if (type === 7 || type === 8 || type === 6) {
      if (pending < 0) pending = at;
    } else if ((type === 1 || type === 5) && (es[i + 4]! & 0x80) !== 0) {
      starts.push(pending >= 0 ? pending : at);
      pending = -1;
    } else {
      pending = -1;
    }
    i += 2;
  }
  return starts;
}

/** A decoding stage on real ffmpeg noting each frame's segment and picture, and what it said was not decoded. */
function noting(format: "mpegts" | "h264" | "hevc") {
  const stamps: (number | null)[] = [];
  const pixels: string[] = [];
  const lost: Undecoded[] = [];
  const decoding = new Decoding({ kind: "pipe", format }, CODE_OUTPUT, ffmpegDecoders("ffmpeg", Date.now), (f, stamp) => {
    stamps.push(stamp?.segment ?? null);
    pixels.push(Bun.hash(f.gray).toString(16));
  }, (u) => void lost.push(u));
  return { decoding, stamps, pixels, lost };
}

describe.each([
  ["h264", "ts"],
  ["hevc", "fmp4"],
] as const)("%s in %s segments, one of them broken", (codec, container) => {
  test("the decoder drops frames it cannot decode; the frames after them keep their own stamps, and the loss is said", async () => {
    const { units: list, format } = units(encode(codec, container));
    const truth = decodeWhole(list, codec);
    // Segment 1's middle scrambled (start codes kept, so that its NAL units stay where they were): ffmpeg cannot
    // decode some of its frames and gives out fewer than it was given.
    const broken = list.map((u) => ({ ...u, bytes: u.bytes.slice() }));
    const b = broken[1]!.bytes;
    for (let i = Math.floor(b.length * 0.3); i < Math.floor(b.length * 0.7); i++) if (b[i]! > 1) b[i] = (i * 31) & 0xff;
    const { decoding, stamps, pixels, lost } = noting(format);
    for (const u of broken) {
      await decoding.take(u);
      // Segments some time apart, as a live stream's come: the decoder is done with one before the next.
      await Bun.sleep(300);
    }
    expect(await decoding.finish()).toBe(0);
    const of = (s: number) => pixels.filter((_, i) => stamps[i] === s);
    const given = of(1).length;
    expect(given).toBeLessThan(FPS); // the test's premise: frames were dropped
    // Before and after the broken segment, every frame is the picture at its place, with its own segment's stamp.
    expect(of(0)).toEqual(truth.slice(0, FPS));
    expect(of(2)).toEqual(truth.slice(2 * FPS, 3 * FPS));
    expect(of(3)).toEqual(truth.slice(3 * FPS, 4 * FPS));
    expect(stamps.filter((s) => s === null)).toEqual([]);
    expect(lost).toEqual([{ cause: "decoder", lost: FPS - given, extra: 0, from: 1, until: 1, message: expect.stringMatching(/^(\w+: |Error while decoding)/) }]);
  }, 60_000);
});

test("frames the decoder drops without a word (a slice's NAL type broken into filler) do not move any other frame's stamp", async () => {
  const { units: list, format } = units(encode("h264", "ts"));
  const truth = decodeWhole(list, "h264");
  // In each of segments 1 and 2, one frame's slices are made filler data (NAL type 12): ffmpeg's decoder then has no
  // picture in that frame and gives out one frame fewer, printing nothing about it.
  const broken = list.map((u) => ({ ...u, bytes: u.bytes.slice() }));
  const spoil = (u: MediaUnit, frame: number) => {
    const from = frame === 0 ? 0 : u.frameEnds![frame - 1]!;
    for (let i = from; i + 3 < u.frameEnds![frame]!; i++) {
      if (u.bytes[i] === 0 && u.bytes[i + 1] === 0 && u.bytes[i + 2] === 1 && [1, 5].includes(u.bytes[i + 3]! & 31)) u.bytes[i + 3] = (u.bytes[i + 3]! & 0xe0) | 12;
    }
  };
  spoil(broken[1]!, 10);
  spoil(broken[2]!, FPS - 1);
  const { decoding, stamps, pixels, lost } = noting(format);
  for (const u of broken) await decoding.take(u);
  expect(await decoding.finish()).toBe(0);
  // One frame fewer in each of segments 1 and 2, and every frame out with its own segment's stamp: segment 2's first
  // frame is not taken for segment 1's last, nor segment 3's for segment 2's.
  expect(stamps).toEqual([0, 1, 2, 3].flatMap((s) => Array(s === 1 || s === 2 ? FPS - 1 : FPS).fill(s)));
  const of = (s: number) => pixels.filter((_, i) => stamps[i] === s);
  expect(of(0)).toEqual(truth.slice(0, FPS));
  // The frames before the spoiled one are the pictures at their places, and segment 3 (a keyframe first) too.
  expect(of(1).slice(0, 10)).toEqual(truth.slice(FPS, FPS + 10));
  expect(of(2).slice(0, FPS - 1)).toEqual(truth.slice(2 * FPS, 3 * FPS - 1));
  expect(of(3)).toEqual(truth.slice(3 * FPS, 4 * FPS));
  // Each frame not decoded is said, in its segment.
  expect(lost.reduce((n, u) => n + u.lost, 0)).toBe(2);
  expect(lost.every((u) => u.cause === "decoder" && u.from >= 1 && u.until <= 2)).toBe(true);
}, 60_000);

test("B-frames (shown in another order than sent): each frame out takes the arrival of its own bytes, not of the frame sent in its place", async () => {
  // x264 veryfast with B-frames, a keyframe a second, MPEG-TS segments as a provider's transcoder writes them.
  const out = join(dir.path, "bframes");
  mkdirSync(out, { recursive: true });
  const made = spawnSync("ffmpeg", [
    "-v", "error", "-f", "lavfi", "-i", `testsrc2=size=426x240:rate=${FPS}`, "-t", String(SEGMENTS), "-c:v", "libx264", "-preset", "veryfast",
    "-bf", "3", "-force_key_frames", "expr:gte(t,n_forced*1)", "-sc_threshold", "0", "-pix_fmt", "yuv420p",
    "-f", "hls", "-hls_time", "1", "-hls_list_size", "0", "-hls_segment_filename", join(out, "seg_%d.ts"), join(out, "stream.m3u8"),
  ]);
  expect(made.status).toBe(0);
  const { units: list, format } = units(out);
  // Each frame's bytes arrive at a time of their own (as a streamed body stamps them): segment s, n-th frame sent.
  const timed = list.map((u) => ({ ...u, frameArrivalsMs: Array.from({ length: u.frames }, (_, n) => u.sequence * 1000 + n) }));
  const arrivals: number[] = [];
  const decoding = new Decoding({ kind: "pipe", format }, CODE_OUTPUT, ffmpegDecoders("ffmpeg", Date.now), (_f, stamp) => void arrivals.push(stamp!.arrivedAtMs));
  for (const u of timed) await decoding.take(u);
  expect(await decoding.finish()).toBe(0);
  // The truth, from ffprobe: each segment's packets in the order sent, with their presentation times; frames are shown
  // (and leave the decoder) in presentation order, so the k-th shown is the packet with the k-th smallest time.
  const expected: number[] = [];
  for (const u of list) {
    const probe = spawnSync("ffprobe", ["-v", "error", "-show_entries", "packet=pts", "-of", "csv=p=0", join(out, `seg_${u.sequence}.ts`)]);
    const pts = probe.stdout.toString().split("\n").map((l) => l.replace(/,$/, "").trim()).filter(Boolean).map(Number);
    expect(pts).toHaveLength(u.frames);
    const shown = pts.map((t, sent) => ({ t, sent })).sort((a, b) => a.t - b.t);
    expect(shown.some((s, k) => s.sent !== k)).toBe(true); // the premise: some frames are shown out of the order sent
    expected.push(...shown.map((s) => u.sequence * 1000 + s.sent));
  }
  expect(arrivals).toEqual(expected);
}, 60_000);
