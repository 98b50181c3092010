import { describe, expect, test } from "bun:test";
import { parseVariantChoice, type VariantChoice } from "../../src/compare/providers.ts";
import { chooseVariant, parseVariants } from "../../src/compare/variant.ts";

const MASTER = `#EXTM3U
#EXT-X-VERSION:6
#EXT-X-STREAM-INF:BANDWIDTH=800000,AVERAGE-BANDWIDTH=700000,RESOLUTION=854x480,CODECS="avc1.64001f"
480p/index.m3u8

#EXT-X-STREAM-INF:RESOLUTION=1920x1080,BANDWIDTH=6000000
1080p/index.m3u8?sig=abc
#EXT-X-STREAM-INF:BANDWIDTH=2500000,RESOLUTION=1280x720
720p/index.m3u8
`;

const choice = (text: string | number) => parseVariantChoice(text) as VariantChoice;

describe("parseVariants", () => {
  test("every variant with its URI, BANDWIDTH (not AVERAGE-BANDWIDTH) and RESOLUTION, in order", () => {
    expect(parseVariants(MASTER)).toEqual([
      { uri: "480p/index.m3u8", bandwidth: 800000, width: 854, height: 480 },
      { uri: "1080p/index.m3u8?sig=abc", bandwidth: 6000000, width: 1920, height: 1080 },
      { uri: "720p/index.m3u8", bandwidth: 2500000, width: 1280, height: 720 },
    ]);
  });
  test("a media playlist has none; attributes may be missing", () => {
    expect(parseVariants("#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nseg_1.ts\n")).toEqual([]);
    expect(parseVariants("#EXTM3U\n#EXT-X-STREAM-INF:CODECS=\"avc1\"\nv.m3u8\n")).toEqual([{ uri: "v.m3u8", bandwidth: null, width: null, height: null }]);
  });
});

describe("chooseVariant", () => {
  const variants = parseVariants(MASTER);
  const cases: [string | number, string][] = [
    ["highest", "1080p/index.m3u8?sig=abc"],
    ["lowest", "480p/index.m3u8"],
    ["2Mbps", "720p/index.m3u8"],
    ["900kbps", "480p/index.m3u8"],
    ["720p", "720p/index.m3u8"],
    ["1920x1080", "1080p/index.m3u8?sig=abc"],
    [0, "480p/index.m3u8"],
    ["2", "720p/index.m3u8"],
  ];
  for (const [given, uri] of cases) {
    test(`${given} → ${uri}`, () => {
      const pick = chooseVariant(variants, choice(given));
      expect(pick.ok && pick.variant.uri).toBe(uri);
    });
  }
  test("nothing fits: the ladder is named", () => {
    expect(chooseVariant(variants, choice("360p"))).toEqual({
      ok: false,
      reason: "no variant is 360p: the playlist has 854x480 at 800 kbps, 1920x1080 at 6000 kbps, 1280x720 at 2500 kbps",
    });
    expect(chooseVariant(variants, choice(3))).toMatchObject({ ok: false, reason: expect.stringContaining("no variant is number 3 (counted from 0)") });
    const unmarked = parseVariants("#EXTM3U\n#EXT-X-STREAM-INF:RESOLUTION=640x360\nv.m3u8\n");
    expect(chooseVariant(unmarked, choice("highest"))).toEqual({ ok: false, reason: "no variant is marked with its BANDWIDTH: the playlist has 640x360" });
    expect(chooseVariant([], choice("highest"))).toEqual({ ok: false, reason: "the playlist lists no variant" });
  });
});
