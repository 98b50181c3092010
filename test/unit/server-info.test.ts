import { describe, expect, test } from "bun:test";
import type { Fetch } from "../../src/client/http.ts";
import { describeParams, findManifest, readClock, readServerInfo, syncClock } from "../../src/client/server-info.ts";

/** What `vat serve` answers on /params (abridged). */
const VAT_PARAMS = {
  ID: "abc",
  FPS: 30,
  IMAGE_SIZE: 2,
  CPU: 1024,
  MEMORY: "2048",
  VIDEO_TYPE: "LIVE",
  vat: { version: "0.1.0", streamId: "abc", fps: 30, size: "720p", width: 1280, height: 720, segmentS: 1, listSize: 6, layout: { qrPx: 300, modulePx: 8 }, push: [] },
};

describe("/params", () => {
  test("vat's own answer is kept whole, with no warning", () => {
    const info = describeParams(structuredClone(VAT_PARAMS));
    expect(info.params).toEqual(VAT_PARAMS);
    expect(info).toMatchObject({ streamId: "abc", nominalFps: 30, imageSize: 2, sizeName: "720p", warnings: [] });
  });

  test.each<[string, Record<string, unknown>, string]>([
    ["a size no one knows", { vat: { ...VAT_PARAMS.vat, size: "99999p" } }, "/params vat size '99999p' is not one of 240p, 480p, 720p, 1080p: ignored"],
    ["an object for the stream id", { vat: { ...VAT_PARAMS.vat, streamId: { $gt: "" } } }, "/params vat streamId (an object) is not a string: ignored"],
    ["fps 1e300", { vat: { ...VAT_PARAMS.vat, fps: 1e300 } }, "/params vat fps 1e+300 is not from 1 to 60: ignored"],
    ["a negative segment length", { vat: { ...VAT_PARAMS.vat, segmentS: -1 } }, "/params vat segmentS -1 is not from 0.05 to 3600: ignored"],
    ["a list for FPS", { FPS: [30] }, "/params FPS (a list) is not a number: ignored"],
    ["an image size index out of range", { IMAGE_SIZE: 7 }, "/params IMAGE_SIZE 7 is not from 0 to 3: ignored"],
    ["a half image size", { IMAGE_SIZE: 1.5 }, "/params IMAGE_SIZE 1.5 is not a whole number: ignored"],
    ["vat that is a string", { vat: "yes" }, "/params vat is not an object: ignored"],
    ["an unknown key nested too deep", { extra: { a: { b: { c: { d: 1 } } } } }, "/params extra (an object) is nested deeper than 4 levels: ignored"],
    ["an unknown key far too long", { note: "x".repeat(5000) }, `/params note 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…' is longer than 1000 characters: ignored`],
  ])("%s is dropped with a warning, the rest kept", (_name, change, warning) => {
    const info = describeParams({ ...structuredClone(VAT_PARAMS), ...change });
    expect(info.warnings).toEqual([warning]);
    const key = warning.split(" ")[1] === "vat" && !warning.startsWith("/params vat is") ? warning.split(" ")[2]! : warning.split(" ")[1]!;
    const where = warning.startsWith("/params vat ") && !warning.startsWith("/params vat is") ? info.vat : info.params;
    expect(where).not.toHaveProperty(key);
    expect(info.params?.ID).toBe("abc");
  });

  test("what the session reads falls back when vat's keys were dropped", () => {
    const info = describeParams({ ...VAT_PARAMS, vat: { ...VAT_PARAMS.vat, size: "99999p", fps: "many", streamId: 5 } });
    expect(info).toMatchObject({ sizeName: "720p", nominalFps: 30, streamId: "abc" });
    expect(info.warnings).toHaveLength(3);
  });

  test("not an object at all", () => {
    for (const answer of [42, "text", [1, 2], true]) {
      const info = describeParams(answer);
      expect(info.params).toBeNull();
      expect(info.warnings).toEqual(["/params is not an object: ignored"]);
    }
    expect(describeParams(null)).toMatchObject({ params: null, warnings: [] });
  });

  test("an answer nested 200,000 levels deep: dropped, and what is kept can be stored", async () => {
    const deep = `{"ID":"abc","extra":${"[".repeat(200_000)}${"]".repeat(200_000)}}`;
    const info = await readServerInfo(serving({ "/params": () => new Response(deep) }), "http://origin/");
    expect(info.params).toEqual({ ID: "abc" });
    expect(info.warnings).toEqual(["/params extra (a list) is nested deeper than 4 levels: ignored"]);
    expect(JSON.stringify(info.params)).toBe('{"ID":"abc"}');
  });

  test("an answer that is not JSON, or too large, is a warning; none at all (404) is not", async () => {
    expect((await readServerInfo(serving({ "/params": () => new Response("<html>") }), "http://origin/")).warnings).toEqual([
      "/params ignored: answer is not JSON",
    ]);
    const big = await readServerInfo(serving({ "/params": () => new Response(`"${"x".repeat(2 * 1024 * 1024)}"`) }), "http://origin/");
    expect(big.warnings).toEqual(["/params ignored: answer over the limit of 1 MB"]);
    const none = await readServerInfo(serving({}), "http://origin/");
    expect(none).toMatchObject({ params: null, warnings: [] });
  });
});

/** A loopback-free server: path → answer; everything else 404. */
function serving(routes: Record<string, () => Response>): Fetch {
  return async (url) => {
    const route = routes[new URL(url).pathname];
    return (route ? route() : new Response("no", { status: 404 })) as Awaited<ReturnType<Fetch>>;
  };
}

describe("/time", () => {
  const clientClock = () => {
    let t = Date.parse("2026-12-01T10:00:00Z");
    return () => (t += 2);
  };

  test.each<[string, string, RegExp]>([
    ["1e300", '{"nowMs":1e300}', /years off/],
    ["1e309 (Infinity once parsed)", '{"nowMs":1e309}', /answered Infinity/],
    ["-1e300", '{"nowMs":-1e300}', /years off/],
    ["0", '{"nowMs":0}', /years off/],
    ["a string", '{"nowMs":"soon"}', /answered 'soon'/],
  ])("%s: no clock, and a warning the session reports", async (_name, body, why) => {
    const deps = { fetch: serving({ "/time": () => new Response(body) }), now: clientClock() };
    const r = await readClock(deps, "http://origin/");
    expect(r.clock).toBeNull();
    expect(r.warning).toMatch(why);
    expect(await syncClock(deps, "http://origin/")).toBeNull();
  });

  test("a server clock 100 years ahead is refused", async () => {
    const now = clientClock();
    const fetchFn = serving({ "/time": () => Response.json({ nowMs: Date.now() + 100 * 365.25 * 86_400_000 }) });
    const r = await readClock({ fetch: fetchFn, now }, "http://origin/");
    expect(r.clock).toBeNull();
    expect(r.warning).toMatch(/years off/);
  });

  test("a sane server clock is measured", async () => {
    let t = 1_000_000;
    const now = () => (t += 2);
    const r = await readClock({ fetch: serving({ "/time": () => Response.json({ nowMs: t + 1 + 500 }) }), now }, "http://origin/");
    expect(r.warning).toBeNull();
    expect(r.clock).toEqual({ offsetMs: 500, uncertaintyMs: 1, samples: 8 });
  });

  test("no /time: no clock and nothing to warn of", async () => {
    expect(await readClock({ fetch: serving({}), now: clientClock() }, "http://origin/")).toEqual({ clock: null, warning: null });
  });
});

describe("the stream at a server root", () => {
  const params = (vat: Record<string, unknown>) => () => Response.json({ ...VAT_PARAMS, vat: { ...VAT_PARAMS.vat, ...vat } });

  test("is the manifest /params names: an MPD for a DASH server, an LL-HLS playlist", async () => {
    expect(await findManifest(serving({ "/params": params({ manifestPath: "/video/stream.mpd" }) }), "http://origin:8080/")).toBe(
      "http://origin:8080/video/stream.mpd",
    );
    expect(await findManifest(serving({ "/params": params({ manifestPath: "/video/stream.m3u8" }) }), "http://origin/")).toBe(
      "http://origin/video/stream.m3u8",
    );
  });

  test("is vat's HLS playlist when /params names none, is not vat's, names a place outside /video/, or nothing answers", async () => {
    const down: Fetch = async () => {
      throw Object.assign(new Error("Unable to connect"), { code: "ConnectionRefused" });
    };
    for (const fetchFn of [
      serving({ "/params": params({}) }),
      serving({}),
      serving({ "/params": () => new Response("<html>") }),
      serving({ "/params": params({ manifestPath: "http://elsewhere.example/video/stream.mpd" }) }),
      serving({ "/params": params({ manifestPath: "/video/../params.mpd" }) }),
      serving({ "/params": params({ manifestPath: "/secret/stream.mpd" }) }),
      down,
    ]) {
      expect(await findManifest(fetchFn, "http://origin/")).toBe("http://origin/video/stream.m3u8");
    }
  });
});
