import { describe, expect, test } from "bun:test";
import {
  costToHls,
  fallsBehind,
  loopedFileInput,
  parseProcStat,
  processTree,
  ratio,
  readFps,
  streamsThatFit,
  treeRssPages,
  treeTicks,
  withinFormatMargin,
  type ProcStat,
} from "../../bench/figures.ts";
import { parseBenchOptions } from "../../bench/options.ts";
import { VatError } from "../../src/errors.ts";
import { hlsEncoderArgs } from "../../src/serve/encoder.ts";

/** A /proc/<pid>/stat line as Linux writes it, with the fields the benchmark reads set to known values. */
function statLine(pid: number, comm: string, f: { ppid: number; utime: number; stime: number; cutime: number; cstime: number; rss: number }): string {
  return (
    `${pid} (${comm}) S ${f.ppid} ${pid} 31658 0 -1 4194304 100 0 0 0 ${f.utime} ${f.stime} ${f.cutime} ${f.cstime} 20 0 3 0 ` +
    `154513 3133440 ${f.rss} 18446744073709551615 93865839796224 93865839816105 140734664998320 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n`
  );
}

describe("/proc stat lines", () => {
  test("fields are counted from the last ')', so a command name with spaces and parentheses does not shift them", () => {
    const s = parseProcStat(42, statLine(42, "vat (client) x", { ppid: 7, utime: 120, stime: 30, cutime: 55, cstime: 5, rss: 2048 }));
    expect(s).toEqual({ pid: 42, ppid: 7, ownTicks: 150, reapedChildTicks: 60, rssPages: 2048 });
  });

  test("a line that is not a stat line is refused", () => {
    expect(() => parseProcStat(1, "garbage")).toThrow("not a /proc stat line");
    expect(() => parseProcStat(1, "1 (x) S 0 1")).toThrow("no field");
  });
});

const p = (pid: number, ppid: number, ownTicks: number, reapedChildTicks = 0, rssPages = 0): ProcStat => ({ pid, ppid, ownTicks, reapedChildTicks, rssPages });

describe("process trees", () => {
  const stats = [p(1, 0, 1000), p(10, 1, 100, 7, 50), p(11, 10, 20, 0, 30), p(12, 10, 5, 0, 20), p(13, 11, 3, 0, 10), p(20, 1, 999, 0, 999)];

  test("the root and its live descendants at every depth, nothing else", () => {
    expect(processTree(10, stats).map((s) => s.pid).sort()).toEqual([10, 11, 12, 13]);
    expect(treeTicks(processTree(10, stats))).toBe(100 + 7 + 20 + 5 + 3);
    expect(treeRssPages(processTree(10, stats))).toBe(110);
  });

  test("a root that is gone has no tree", () => {
    expect(processTree(99, stats)).toEqual([]);
    expect(treeTicks([])).toBe(0);
  });

  test("a child that ends and is reaped moves its time into its parent's: the tree's total does not change", () => {
    const live = [p(10, 1, 100, 7), p(11, 10, 20), p(13, 11, 3)];
    // 13 exits and 11 waits for it; then 11 exits and 10 waits for it (cutime includes the grandchild's time).
    const reapedOnce = [p(10, 1, 100, 7), p(11, 10, 20, 3)];
    const reapedTwice = [p(10, 1, 100, 7 + 20 + 3)];
    expect(treeTicks(processTree(10, live))).toBe(130);
    expect(treeTicks(processTree(10, reapedOnce))).toBe(130);
    expect(treeTicks(processTree(10, reapedTwice))).toBe(130);
  });
});

describe("figures", () => {
  test("a ratio needs both figures and a positive divisor", () => {
    expect(ratio(0.3, 0.1)).toBeCloseTo(3, 10);
    expect(ratio(null, 0.1)).toBeNull();
    expect(ratio(0.3, null)).toBeNull();
    expect(ratio(0.3, 0)).toBeNull();
  });

  test("a client falls behind on a drop, on a p95 delay over 100 ms, on no frames, or by ending early", () => {
    const ok = { streams: 1, dropped: 0, delayP95Ms: 100, failed: false };
    expect(fallsBehind(ok)).toBe(false);
    expect(fallsBehind({ ...ok, delayP95Ms: 100.5 })).toBe(true);
    expect(fallsBehind({ ...ok, dropped: 1 })).toBe(true);
    expect(fallsBehind({ ...ok, delayP95Ms: null })).toBe(true);
    expect(fallsBehind({ ...ok, failed: true })).toBe(true);
  });

  test("the streams that fit are those before the first load that fell behind", () => {
    const load = (streams: number, delayP95Ms: number, dropped = 0) => ({ streams, delayP95Ms, dropped, failed: false });
    expect(streamsThatFit([load(1, 40), load(2, 60), load(4, 90), load(8, 140)])).toBe(4);
    expect(streamsThatFit([load(1, 40), load(2, 60, 3), load(4, 50)])).toBe(1);
    expect(streamsThatFit([load(1, 120)])).toBe(0);
    expect(streamsThatFit([load(1, 40), load(2, 50)])).toBe(2);
    expect(streamsThatFit([])).toBe(0);
  });
});

describe("frames read per second of video", () => {
  const f = (run: number, frameNumber: number | null, kind = "new") => ({ run, frameNumber, kind });
  const range = (run: number, from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => f(run, from + i));

  test("every frame from the first to the last read gives the full rate, wherever the span cut", () => {
    expect(readFps(range(1, 17, 316), 30)).toBeCloseTo(30, 10);
  });

  test("frames missing between the first and last lower it by their share", () => {
    const frames = range(1, 0, 299).filter((x) => x.frameNumber! % 10 !== 5);
    expect(readFps(frames, 30)).toBeCloseTo(27, 10);
  });

  test("duplicates, late frames, unreadable frames and frames without a number are not frames read", () => {
    const frames = [...range(1, 0, 59), f(1, 59, "duplicate"), f(1, 58, "late"), f(1, null, "unreadable"), f(1, null)];
    expect(readFps(frames, 30)).toBeCloseTo(30, 10);
  });

  test("several streams (runs) give the rate per stream", () => {
    const frames = [...range(1, 100, 399), ...range(2, 5000, 5299).filter((x) => x.frameNumber! < 5100 || x.frameNumber! >= 5250)];
    expect(readFps(frames, 30)).toBeCloseTo(22.5, 10);
  });

  test("nothing read, no rate", () => {
    expect(readFps([], 30)).toBeNull();
    expect(readFps([f(1, null, "unreadable")], 30)).toBeNull();
  });
});

describe("formats beside MPEG-TS HLS", () => {
  const client = (r: { clientCpu: number | null }) => r.clientCpu;

  test("each format's client cost is divided by HLS's at the same size, whatever the order", () => {
    const rows = [
      { size: "240p", format: "cmaf", clientCpu: 0.088 },
      { size: "240p", format: "hls", clientCpu: 0.08 },
      { size: "1080p", format: "hls", clientCpu: 0.2 },
      { size: "240p", format: "dash", clientCpu: 0.1 },
      { size: "1080p", format: "dash", clientCpu: 0.19 },
      { size: "1080p", format: "ll-hls", clientCpu: 0.23 },
      { size: "240p", format: "ll-dash", clientCpu: 0.072 },
    ] as const;
    const r = costToHls(rows, client);
    expect(r.map((v) => Number(v!.toFixed(6)))).toEqual([1.1, 1, 1, 1.25, 0.95, 1.15, 0.9]);
  });

  test("the server's cost is divided the same way by whichever figure is asked for", () => {
    const rows = [
      { size: "1080p", format: "ll-hls", alone: 0.6, read: 0.66 },
      { size: "1080p", format: "hls", alone: 0.5, read: 0.55 },
      { size: "240p", format: "ll-dash", alone: 0.09, read: null },
      { size: "240p", format: "hls", alone: 0.1, read: 0.11 },
    ] as const;
    expect(costToHls(rows, (r) => r.alone).map((v) => Number(v!.toFixed(6)))).toEqual([1.2, 1, 0.9, 1]);
    expect(costToHls(rows, (r) => r.read).map((v) => (v === null ? null : Number(v.toFixed(6))))).toEqual([1.2, 1, null, 1]);
  });

  test("no ratio without HLS at that size or without the format's own figure", () => {
    const r = costToHls(
      [
        { size: "480p", format: "dash", clientCpu: 0.1 },
        { size: "240p", format: "hls", clientCpu: null },
        { size: "240p", format: "cmaf", clientCpu: 0.1 },
        { size: "1080p", format: "hls", clientCpu: 0.2 },
        { size: "1080p", format: "cmaf", clientCpu: null },
      ],
      client,
    );
    expect(r).toEqual([null, null, null, 1, null]);
  });

  test("cmaf and dash keep within up to 10 % dearer than HLS, not beyond", () => {
    for (const format of ["cmaf", "dash"] as const) {
      expect(withinFormatMargin(format, 0.8)).toBe(true);
      expect(withinFormatMargin(format, 1.1)).toBe(true);
      expect(withinFormatMargin(format, 1.1001)).toBe(false);
      expect(withinFormatMargin(format, 1.14)).toBe(false);
    }
  });

  test("ll-hls and ll-dash keep within up to 15 % dearer than HLS, not beyond", () => {
    for (const format of ["ll-hls", "ll-dash"] as const) {
      expect(withinFormatMargin(format, 1.14)).toBe(true);
      expect(withinFormatMargin(format, 1.15)).toBe(true);
      expect(withinFormatMargin(format, 1.1501)).toBe(false);
    }
    expect(withinFormatMargin("hls", 1)).toBe(true);
  });

  test("nothing to judge without a ratio", () => {
    expect(withinFormatMargin("cmaf", null)).toBeNull();
    expect(withinFormatMargin("ll-hls", null)).toBeNull();
  });
});

describe("x264 alone with serve's arguments", () => {
  const settings = { ffmpeg: "ffmpeg", width: 854, height: 480, fps: 30, segmentS: 1, listSize: 6, preset: "ultrafast", crf: 23, dir: "/tmp/x" };

  test("reads the file in a loop at its frame rate and keeps every other argument as serve gives it", () => {
    const serveArgs = hlsEncoderArgs(settings, 0);
    const args = loopedFileInput(serveArgs, "/tmp/loop.gray");
    const f = args.indexOf("-f");
    expect(args.slice(f - 3, f)).toEqual(["-re", "-stream_loop", "-1"]);
    expect(args.slice(f, f + 2)).toEqual(["-f", "rawvideo"]);
    expect(args[args.indexOf("-i") + 1]).toBe("/tmp/loop.gray");
    expect(args).not.toContain("pipe:0");
    // Removing what was added and putting stdin back gives serve's arguments exactly.
    const back = args.filter((_, i) => i < f - 3 || i >= f).map((a) => (a === "/tmp/loop.gray" ? "pipe:0" : a));
    expect(back).toEqual(serveArgs);
  });

  test("arguments that no longer read raw frames from stdin are refused rather than rewritten", () => {
    expect(() => loopedFileInput(["-f", "rawvideo", "-i", "in.yuv", "out.ts"], "f")).toThrow("no longer reads raw frames");
    expect(() => loopedFileInput(["-i", "pipe:0", "-f", "rawvideo", "out"], "f")).toThrow("no longer reads raw frames");
  });
});

describe("benchmark options", () => {
  test("defaults: every size at 30 fps, 30 s after 5 s (60 s for vat), 1-12 streams, every section", () => {
    expect(parseBenchOptions([])).toEqual({
      seconds: 30,
      warmupS: 5,
      vatWarmupS: 60,
      sizes: ["1080p", "720p", "480p", "240p"],
      fps: 30,
      streams: [1, 2, 4, 8, 12],
      only: ["client", "serve", "many", "formats"],
      json: false,
      keepGoing: false,
    });
  });

  test("a short run", () => {
    const o = parseBenchOptions(["--seconds", "10", "--vat-warmup", "5", "--sizes", "480p,240", "--streams", "1,3", "--only", "client,many", "--json", "--keep-going"]);
    expect([o.seconds, o.vatWarmupS, o.warmupS, o.sizes, o.streams, o.only, o.json, o.keepGoing]).toEqual([10, 5, 5, ["480p", "240p"], [1, 3], ["client", "many"], true, true]);
  });

  test("the formats section alone", () => {
    expect(parseBenchOptions(["--only", "formats", "--sizes", "240p,1080p"]).only).toEqual(["formats"]);
  });

  test.each([
    [["--sizes", "4k"], "unknown image size '4k'"],
    [["--sizes", ","], "--sizes is empty"],
    [["--streams", "1,4,2"], "must rise"],
    [["--streams", "0"], "stream count '0' is not valid"],
    [["--streams", "1.5"], "stream count '1.5' is not valid"],
    [["--only", "encode"], "unknown section 'encode'"],
    [["--seconds", "1"], "--seconds '1' is out of range"],
    [["--warmup=-1"], "--warmup '-1' is out of range"],
    [["--vat-warmup", "4000"], "--vat-warmup '4000' is out of range"],
    [["--fps", "0"], "fps '0' is out of range"],
    [["--frobnicate"], "usage: bun bench/serve-client.ts"],
  ])("%p is refused: %s", (argv, message) => {
    let caught: unknown;
    try {
      parseBenchOptions(argv);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(VatError);
    expect((caught as VatError).kind).toBe("bad-input");
    expect((caught as Error).message).toContain(message);
  });
});
