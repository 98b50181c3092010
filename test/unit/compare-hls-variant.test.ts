import { describe, expect, test } from "bun:test";
import { parseVariantChoice, type VariantChoice } from "../../src/client/variants.ts";
import { parseHlsVariants, pickHlsVariant } from "../../src/compare/hls-variant.ts";

const MASTER = `#EXTM3U
#EXT-X-VERSION:6
#EXT-X-STREAM-INF:AVERAGE-BANDWIDTH=700000,BANDWIDTH=800000,RESOLUTION=854x480,CODECS="avc1.64001f"
480p/index.m3u8

#EXT-X-STREAM-INF:RESOLUTION=1920x1080,BANDWIDTH=6000000
https://other.example/1080p/index.m3u8?sig=abc
#EXT-X-STREAM-INF:BANDWIDTH=2500000,RESOLUTION=1280x720
720p/index.m3u8
#EXT-X-STREAM-INF:RESOLUTION=640x360
no-bandwidth.m3u8
`;

const choice = (text: string | number) => parseVariantChoice(text) as VariantChoice;

describe("parseHlsVariants", () => {
  test("every variant with its URI, BANDWIDTH (not AVERAGE-BANDWIDTH) and RESOLUTION, in order; none without BANDWIDTH", () => {
    expect(parseHlsVariants(MASTER)).toEqual([
      { uri: "480p/index.m3u8", bandwidth: 800000, width: 854, height: 480 },
      { uri: "https://other.example/1080p/index.m3u8?sig=abc", bandwidth: 6000000, width: 1920, height: 1080 },
      { uri: "720p/index.m3u8", bandwidth: 2500000, width: 1280, height: 720 },
    ]);
  });
  test("a media playlist has none; RESOLUTION may be missing", () => {
    expect(parseHlsVariants("#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nseg_1.ts\n")).toEqual([]);
    expect(parseHlsVariants("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1000\nv.m3u8\n")).toEqual([{ uri: "v.m3u8", bandwidth: 1000, width: null, height: null }]);
  });
});

describe("pickHlsVariant", () => {
  const variants = parseHlsVariants(MASTER);
  const cases: [string | number, string][] = [
    ["highest", "https://other.example/1080p/index.m3u8?sig=abc"],
    ["lowest", "480p/index.m3u8"],
    ["3Mbps", "720p/index.m3u8"],
    ["720p", "720p/index.m3u8"],
    ["1920x1080", "https://other.example/1080p/index.m3u8?sig=abc"],
    // Indexes count from the lowest bandwidth, as the client's own choice does.
    [1, "720p/index.m3u8"],
  ];
  for (const [given, uri] of cases) {
    test(`${given} → ${uri}`, () => {
      expect(pickHlsVariant(variants, choice(given))).toEqual({ ok: true, uri });
    });
  }
  test("nothing fits: the ladder is named", () => {
    expect(pickHlsVariant(variants, choice("360p"))).toEqual({
      ok: false,
      reason: "no variant fits 360p: the playlist has 854x480 at 800 kbit/s, 1920x1080 at 6000 kbit/s, 1280x720 at 2500 kbit/s",
    });
    expect(pickHlsVariant(variants, choice(3))).toMatchObject({ ok: false, reason: expect.stringContaining("no variant fits index 3 (from the lowest bandwidth)") });
    expect(pickHlsVariant([], choice("highest"))).toEqual({ ok: false, reason: "the multivariant playlist lists no variant with its BANDWIDTH" });
  });
});
