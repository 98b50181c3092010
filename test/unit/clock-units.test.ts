import { describe, expect, test } from "bun:test";
import { estimateOffset, judgeClock } from "../../src/client/clock.ts";
import { isDecodeTrouble, parseInputVideo, parseRawOutputFullRange, parseRawOutputSize } from "../../src/client/ffmpeg-output.ts";
import { percentile } from "../../src/client/stats.ts";
import { toCsv } from "../../src/client/store.ts";
import { parseDurationMs } from "../../src/units.ts";

describe("clock offset", () => {
  test("the sample with the smallest round trip wins; uncertainty is half of it", () => {
    // True offset +250 ms (server ahead). Asymmetric delays distort the slow samples, not the fast one.
    const samples = [
      { sentMs: 0, serverMs: 250 + 90, receivedMs: 100 },
      { sentMs: 200, serverMs: 200 + 250 + 2, receivedMs: 204 },
      { sentMs: 400, serverMs: 400 + 250 + 10, receivedMs: 480 },
    ];
    expect(estimateOffset(samples)).toEqual({ offsetMs: 250, uncertaintyMs: 2, samples: 3 });
  });
  test("no usable sample", () => {
    expect(estimateOffset([])).toBeNull();
    expect(estimateOffset([{ sentMs: 10, serverMs: 0, receivedMs: 5 }])).toBeNull();
  });
});

describe("a server clock from the network", () => {
  const NOW = Date.parse("2026-12-01T10:00:00Z");
  const at = (serverMs: unknown, sentMs = NOW, rttMs = 4) => ({ sentMs, serverMs, receivedMs: sentMs + rttMs });

  test.each<[string, unknown, RegExp]>([
    ["1e300", 1e300, /years off, more than a day/],
    ["Infinity (1e309)", Number.POSITIVE_INFINITY, /answered Infinity, not a time/],
    ["-1e300", -1e300, /years off/],
    ["0", 0, /years off/],
    ["100 years ahead", NOW + 100 * 365.25 * 86_400_000, /100 years off/],
    ["25 h behind", NOW - 25 * 3_600_000, /25.0 h off/],
    ["NaN", Number.NaN, /answered NaN/],
    ["a string", "1733047200000", /answered '1733047200000', not a time/],
    ["an object", { ms: 1 }, /answered an object/],
  ])("%s is refused, with why", (_name, serverMs, why) => {
    const r = judgeClock([at(serverMs), at(serverMs, NOW + 100)]);
    expect(r.clock).toBeNull();
    expect(r.warning).toMatch(why);
    expect(r.warning).toContain("latency assumes both clocks agree");
  });

  test("a clock a few hours off is believed", () => {
    const off = 5 * 3_600_000 + 250;
    const r = judgeClock([at(NOW + off + 2), at(NOW + 100 + off + 2, NOW + 100)]);
    expect(r).toEqual({ clock: { offsetMs: off, uncertaintyMs: 2, samples: 2 }, warning: null });
  });

  test("answers that jump (one sample two hours off the others) are refused", () => {
    const r = judgeClock([at(NOW + 2), at(NOW + 100 + 2, NOW + 100), at(NOW + 200 + 2 + 7_200_000, NOW + 200)]);
    expect(r.clock).toBeNull();
    expect(r.warning).toMatch(/answers disagree by 2.0 h/);
  });

  test("samples that differ by their round trips agree", () => {
    const r = judgeClock([at(NOW + 2), at(NOW + 100 + 300, NOW + 100, 600)]);
    expect(r.clock?.offsetMs).toBe(0);
  });

  test("no samples: nothing to refuse", () => {
    expect(judgeClock([])).toEqual({ clock: null, warning: null });
  });
});

describe("durations", () => {
  test.each([
    ["20s", 20_000], ["1.5m", 90_000], ["2h", 7_200_000], ["250ms", 250], ["45", 45_000], [30, 30_000], ["5min", 300_000],
  ])("%s", (input, ms) => expect(parseDurationMs(input, "duration")).toBe(ms));
  test.each(["", "abc", "-5s", "0", "10 days", "1e3"])("'%s' is refused", (input) => {
    expect(() => parseDurationMs(input, "duration")).toThrow(/duration/);
  });
});

describe("ffmpeg's stderr", () => {
  const text = `Input #0, mpegts, from 'pipe:0':
  Duration: N/A, start: 1.400000, bitrate: N/A
  Stream #0:0[0x100]: Video: h264 (Constrained Baseline) ([27][0][0][0] / 0x001B), yuv420p(progressive), 1280x720, 30 fps, 30 tbr, 90k tbn
Stream mapping:
  Stream #0:0 -> #0:0 (h264 (native) -> rawvideo (native))
Output #0, rawvideo, to 'pipe:1':
  Metadata:
    encoder         : Lavf59.27.100
  Stream #0:0: Video: rawvideo (Y800 / 0x30303859), gray(progressive), 1280x720, q=2-31, 221184 kb/s, 30 fps, 30 tbn
`;
  test("output and input video", () => {
    expect(parseRawOutputSize(text)).toEqual({ width: 1280, height: 720 });
    expect(parseInputVideo(text)).toEqual({ codec: "h264", width: 1280, height: 720 });
    expect(parseRawOutputSize(text.slice(0, text.indexOf("Output #0")))).toBeNull();
  });

  test("the output's range: limited unless a yuvj format or pc is named; nothing before the output line", () => {
    const out = (format: string) =>
      `Input #0, mpegts, from 'pipe:0':\nOutput #0, rawvideo, to 'pipe:1':\n  Stream #0:0: Video: rawvideo (I420 / 0x30323449), ${format}, 1920x1080, q=2-31, 30 fps\n`;
    expect(parseRawOutputFullRange(out("yuv420p(tv, bt709, progressive)"))).toBe(false);
    expect(parseRawOutputFullRange(out("yuv420p(progressive)"))).toBe(false);
    expect(parseRawOutputFullRange(out("yuv420p"))).toBe(false);
    expect(parseRawOutputFullRange(out("yuvj420p(pc, progressive)"))).toBe(true);
    expect(parseRawOutputFullRange(out("yuv420p(pc, bt709, progressive)"))).toBe(true);
    expect(parseRawOutputFullRange(text)).toBe(false); // gray(progressive)
    expect(parseRawOutputFullRange(text.slice(0, text.indexOf("Output #0")))).toBeNull();
  });

  test("trouble: a decoder's or parser's message, or ffmpeg's decoding error; not the streams' description or the probing note", () => {
    // Lines ffmpeg 5.1 printed decoding a corrupt segment.
    expect(isDecodeTrouble("[h264 @ 0x5631150217c0] error while decoding MB 12 8")).toBe(true);
    expect(isDecodeTrouble("[h264 @ 0x5631150217c0] concealing 226 DC, 226 AC, 226 MV errors in P frame")).toBe(true);
    expect(isDecodeTrouble("[NULL @ 0x563115011540] missing picture in access unit with size 6")).toBe(true);
    expect(isDecodeTrouble("[hevc @ 0x55f40739ec80] Invalid NAL unit 0, skipping.")).toBe(true);
    expect(isDecodeTrouble("Error while decoding stream #0:0: Invalid data found when processing input")).toBe(true);
    // Lines every decoder prints as it starts.
    for (const line of text.split("\n")) expect(isDecodeTrouble(line)).toBe(false);
    expect(isDecodeTrouble("[h264 @ 0x5562484b7c80] Stream #0: not enough frames to estimate rate; consider increasing probesize")).toBe(false);
    // What a fresh decoder says of a B-frame stream that does not declare its reordering, or of a new size.
    expect(isDecodeTrouble("[h264 @ 0x55d0c5e8a680] Increasing reorder buffer to 1")).toBe(false);
    expect(isDecodeTrouble("[h264 @ 0x55d0c5e8a680] Reinit context to 432x240, pix_fmt: yuv420p")).toBe(false);
    expect(isDecodeTrouble("pipe:0: corrupt decoded frame in stream 0")).toBe(false);
  });
});

describe("percentiles and CSV", () => {
  test("nearest rank", () => {
    const v = Array.from({ length: 100 }, (_, i) => 100 - i); // 1..100 shuffled order
    expect(percentile(v, 50)).toBe(50);
    expect(percentile(v, 95)).toBe(95);
    expect(percentile(v, 0)).toBe(1);
    expect(percentile(v, 100)).toBe(100);
    expect(percentile([], 50)).toBeNull();
  });
  test("RFC 4180 quoting", () => {
    expect(toCsv([{ a: 1, b: 'say "hi", ok' }, { a: null, b: "x\ny" }])).toBe('a,b\n1,"say ""hi"", ok"\n,"x\ny"\n');
    expect(toCsv([])).toBe("");
  });
});

test("spread agrees with percentile and mean, with one sort", async () => {
  const { spread, mean } = await import("../../src/client/stats.ts");
  const values = Array.from({ length: 997 }, (_, i) => ((i * 7919) % 1000) - 200.5);
  expect(spread(values)).toEqual({
    min: percentile(values, 0), p50: percentile(values, 50), p95: percentile(values, 95), max: percentile(values, 100), mean: mean(values),
  });
  expect(spread([])).toEqual({ min: null, p50: null, p95: null, max: null, mean: null });
});
