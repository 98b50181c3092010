import { describe, expect, test } from "bun:test";
import { planComparison } from "../../src/compare/plan.ts";
import { parseProvidersFile } from "../../src/compare/providers.ts";
import { VatError } from "../../src/errors.ts";

const FILE = parseProvidersFile(
  `[[provider]]
name = "two"
ingest = "rtmp://a.example/live/k"
playback = ["http://a.example/hls/k.m3u8", "http://a.example/dash/k.mpd"]
start_timeout = "15s"

[[provider]]
name = "one"
ingest = "srt://b.example:9000"
playback = "http://b.example/s.m3u8"
`,
  "p.toml",
  {},
);

function badInputOf(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    if (err instanceof VatError && err.kind === "bad-input") return err.message;
    throw err;
  }
  throw new Error("no error");
}

describe("planComparison", () => {
  test("one stream per playback, named by provider (and its place when it has several), each with its start timeout", () => {
    const plan = planComparison({ local: true, duration: "30s", startTimeout: "40s" }, FILE, "ffmpeg");
    expect(plan.streams.map((s) => [s.role, s.providerIndex, s.playback.display, s.startTimeoutMs])).toEqual([
      ["two/1", 0, "http://a.example/hls/k.m3u8", 15_000],
      ["two/2", 0, "http://a.example/dash/k.mpd", 15_000],
      ["one", 1, "http://b.example/s.m3u8", 40_000],
    ]);
    expect(plan.measure.durationMs).toBe(30_000);
    expect(plan.rank).toBe("latency");
  });

  test("defaults: 720p, 30 fps, stream id 'compare', a minute for each provider", () => {
    const plan = planComparison({ local: true }, FILE, "ffmpeg");
    expect(plan.serveArgs).toEqual(["--size", "720p", "--fps", "30", "--id", "compare"]);
    expect(plan.streamId).toBe("compare");
    expect(plan.streams.at(-1)!.startTimeoutMs).toBe(60_000);
  });

  test("the origin's options reach serve as given", () => {
    const plan = planComparison({ local: true, imageSize: "1", fps: 25, id: "p1", rank: "cost" }, FILE, "ffmpeg");
    expect(plan.serveArgs).toEqual(["--size", "480p", "--fps", "25", "--id", "p1"]);
    expect(plan.rank).toBe("cost");
  });

  test("without --local the origin is a Fargate task of the stack, sized and named as vat launch plans it", () => {
    const plan = planComparison({ cpu: "512", memory: "1GB", id: "cmp1", imageSize: "240p", fps: 25, region: "eu-west-1" }, FILE, "ffmpeg");
    expect(plan.origin).toEqual({
      backend: "fargate",
      launch: { id: "cmp1", size: expect.objectContaining({ name: "240p" }), fps: 25, cpu: 512, memoryMiB: 1024, videoType: "live" },
      stack: "streaming",
      region: "eu-west-1",
    });
    expect(plan.originStartTimeoutMs).toBe(300_000);
    expect(planComparison({ local: true }, FILE, "ffmpeg").origin).toEqual({ backend: "local" });
    // On this machine a task size is recorded by serve (a sweep's report groups by it), as vat launch --local does.
    expect(planComparison({ local: true, cpu: "512", memory: "1GB", id: "x.y" }, FILE, "ffmpeg").serveArgs).toEqual(
      ["--size", "720p", "--fps", "30", "--id", "x.y", "--cpu", "512", "--memory", "1024"],
    );
  });

  test("bad options are refused, one line each", () => {
    expect(badInputOf(() => planComparison({ local: true, cpu: "512", memory: "8GB" }, FILE, "ffmpeg"))).toContain("does not go with cpu 512");
    expect(badInputOf(() => planComparison({ cpu: "512" }, FILE, "ffmpeg"))).toContain("--cpu and --memory together");
    expect(badInputOf(() => planComparison({ cpu: "512", memory: "16GB" }, FILE, "ffmpeg"))).toContain("does not go with cpu 512");
    expect(badInputOf(() => planComparison({ id: "a.b" }, FILE, "ffmpeg"))).toContain("launch id 'a.b'");
    expect(badInputOf(() => planComparison({ stack: "" }, FILE, "ffmpeg"))).toContain("stack name '' is not valid");
    expect(badInputOf(() => planComparison({ local: true, rank: "fastest" }, FILE, "ffmpeg"))).toBe(
      "--rank 'fastest' is not valid: use latency, stalls, drops, quality, cost",
    );
    expect(badInputOf(() => planComparison({ local: true, rank: "quality" }, FILE, "ffmpeg"))).toContain("needs --quality");
    expect(badInputOf(() => planComparison({ local: true, fps: 0 }, FILE, "ffmpeg"))).toContain("fps '0' is out of range");
    expect(badInputOf(() => planComparison({ local: true, startTimeout: "later" }, FILE, "ffmpeg"))).toContain("start timeout 'later'");
    expect(badInputOf(() => planComparison({ local: true, window: "1ms" }, FILE, "ffmpeg"))).toContain("window '1ms' is out of range");
    expect(badInputOf(() => planComparison({ local: true, variant: "all" }, FILE, "ffmpeg"))).toContain("--variant all is for vat client");
  });

  test("two providers on one ingest are refused: the second publish would fight the first", () => {
    const twice = parseProvidersFile(
      `[[provider]]\nname = "a"\ningest = "rtmp://h/live/k"\nplayback = "http://h/a.m3u8"\n\n` +
        `[[provider]]\nname = "b"\ningest = "rtmp://h/live/k"\nplayback = "http://h/b.m3u8"\n`,
      "t.toml",
      {},
    );
    expect(badInputOf(() => planComparison({ local: true }, twice, "ffmpeg"))).toBe(
      "t.toml: provider 'b' has the ingest of another (rtmp://h/live/***): give each provider its own",
    );
  });
});
