import { describe, expect, test } from "bun:test";
import { encoderArgs, type EncoderSettings } from "../../src/serve/encoder.ts";
import { isWrittenName, segmentNames } from "../../src/serve/segment-names.ts";
import { parseFormat, parseLadder } from "../../src/serve/stream-format.ts";

const BASE: EncoderSettings = {
  ffmpeg: "ffmpeg", width: 854, height: 480, fps: 25, segmentS: 1, listSize: 6, preset: "ultrafast", crf: 23, dir: "/d",
  format: "hls", renditions: [],
};

describe("formats and ladders as given", () => {
  test("formats: hls, cmaf, dash in any case; others refused naming the valid ones", () => {
    expect(parseFormat("CMAF")).toBe("cmaf");
    expect(() => parseFormat("webm")).toThrow("use one of hls, cmaf, dash");
  });

  test("a ladder: largest first, its top a signal size, 360p as 16:9, WxH as given, caps by pixels", () => {
    const { top, renditions } = parseLadder("360p,1080p,1280x720", 30);
    expect(top.name).toBe("1080p");
    expect(renditions.map((r) => `${r.width}x${r.height}`)).toEqual(["1920x1080", "1280x720", "640x360"]);
    expect(renditions[0]!.maxrateKbps).toBe(Math.ceil((1920 * 1080 * 30 * 0.15) / 1000));
    expect(renditions[0]!.maxrateKbps).toBeGreaterThan(renditions[1]!.maxrateKbps);
  });

  test.each([
    ["720p", "fewer than two"],
    ["1000p,480p", "must be a signal size"],
    ["480p,480p", "twice"],
    ["480p,241x135", "not valid"],
    ["480p,abc", "not valid"],
  ])("ladder %p refused (%s)", (text, message) => {
    expect(() => parseLadder(text, 25)).toThrow(message);
  });
});

describe("names served per format", () => {
  test.each([
    ["hls", 1, ["stream.m3u8", "seg_0.ts", "seg_12.ts"], ["init.mp4", "seg_1.m4s", "stream.mpd", "seg_0_1.ts", "seg_01.ts"]],
    ["cmaf", 1, ["stream.m3u8", "init.mp4", "seg_3.m4s"], ["seg_3.ts", "init_0.mp4", "stream.mpd", "seg_3.m4s.tmp"]],
    ["dash", 1, ["stream.mpd", "init_0.m4s", "seg_0_1.m4s"], ["stream.m3u8", "init_1.m4s", "seg_1_1.m4s", "stream.mpd.tmp", "init.mp4"]],
    ["hls", 2, ["stream.m3u8", "stream_0.m3u8", "stream_1.m3u8", "seg_1_4.ts"], ["stream_2.m3u8", "seg_2_4.ts", "seg_4.ts"]],
    ["cmaf", 2, ["init_1.mp4", "seg_0_4.m4s", "stream_1.m3u8"], ["init.mp4", "init_2.mp4", "seg_4.m4s"]],
    ["dash", 3, ["init_2.m4s", "seg_2_7.m4s"], ["init_3.m4s", "seg_3_7.m4s", "../stream.mpd"]],
  ] as const)("%s with %d rendition(s)", (format, n, ok, bad) => {
    const names = segmentNames(format, n);
    for (const f of ok) expect(names.isServed(f), f).toBe(true);
    for (const f of bad) expect(names.isServed(f), f).toBe(false);
  });

  test("the file that says a segment is whole, and content types", () => {
    expect(segmentNames("hls").segmentFile(4)).toBe("seg_4.ts");
    expect(segmentNames("cmaf").segmentFile(4)).toBe("seg_4.m4s");
    expect(segmentNames("cmaf", 2).segmentFile(4)).toBe("seg_0_4.m4s");
    expect(segmentNames("dash").segmentFile(4)).toBe("seg_0_4.m4s");
    const d = segmentNames("dash");
    expect([d.contentType("stream.mpd"), d.contentType("seg_0_1.m4s"), d.manifest]).toEqual(["application/dash+xml", "video/mp4", "stream.mpd"]);
  });

  test("every format's leftovers are cleared at start, nothing else", () => {
    expect(["stream.mpd", "stream.mpd.tmp", "init_0.m4s", "init.mp4", "seg_0_3.m4s.tmp", "stream_1.m3u8"].every(isWrittenName)).toBe(true);
    expect(["notes.mpd", "init.mov", "segment.m4s"].some(isWrittenName)).toBe(false);
  });
});

describe("encoder arguments", () => {
  const value = (args: string[], flag: string) => args[args.lastIndexOf(flag) + 1];

  test("cmaf: fMP4 segments with an init section", () => {
    const a = encoderArgs({ ...BASE, format: "cmaf" }, 5);
    expect([value(a, "-hls_segment_type"), value(a, "-hls_fmp4_init_filename"), value(a, "-hls_segment_filename"), a.at(-1)]).toEqual(["fmp4", "init.mp4", "/d/seg_%d.m4s", "/d/stream.m3u8"]);
    expect(value(a, "-hls_flags")).toContain("discont_start");
  });

  test("dash: numbered segments, the origin's clock, a live window", () => {
    const a = encoderArgs({ ...BASE, format: "dash" }, 0);
    expect(value(a, "-f")).toBe("dash");
    expect([value(a, "-utc_timing_url"), value(a, "-window_size"), value(a, "-use_timeline"), a.at(-1)]).toEqual(["/time/iso", "6", "0", "/d/stream.mpd"]);
  });

  test("a ladder: split once, lower renditions scaled, each capped; a multivariant playlist", () => {
    const { renditions } = parseLadder("480p,240p", 25);
    const a = encoderArgs({ ...BASE, renditions }, 0);
    expect(value(a, "-filter_complex")).toBe("[0:v]split=2[s0][s1];[s0]setdar=16/9[v0];[s1]scale=426:240:flags=area,setdar=16/9[v1]");
    expect([value(a, "-maxrate:v:1"), value(a, "-master_pl_name"), value(a, "-var_stream_map"), a.at(-1)]).toEqual([`${renditions[1]!.maxrateKbps}k`, "stream.m3u8", "v:0 v:1", "/d/stream_%v.m3u8"]);
  });

  test("push through tee: the origin's options escaped for both levels, the ingest gets the top rendition", () => {
    const { renditions } = parseLadder("480p,240p", 25);
    const a = encoderArgs({ ...BASE, format: "cmaf", renditions, push: ["udp://127.0.0.1:9"] }, 0);
    const tee = a.at(-1)!;
    expect(value(a, "-f")).toBe("tee");
    expect(tee).toContain("var_stream_map=v\\\\:0 v\\\\:1");
    expect(tee.endsWith("|[f=mpegts:select=0:onfail=ignore]udp://127.0.0.1:9")).toBe(true);
  });
});
