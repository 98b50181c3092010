import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rawGet, serve, type Served } from "../helpers/vat.ts";

let server: Served;
beforeAll(async () => {
  server = serve(["--size", "240p", "--fps", "10", "--id", "http1", "--cpu", "512", "--memory", "1024"]);
  await server.waitLive();
}, 20_000);
afterAll(async () => {
  await server.stop();
});

describe("nothing outside the segment folder can be reached", () => {
  test.each([
    "/video/../../../../etc/passwd",
    "/video/..%2f..%2f..%2fetc%2fpasswd",
    "/video/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/video/%252e%252e%252fetc%252fpasswd",
    "/video//etc/passwd",
    "/video/%2fetc%2fpasswd",
    "/video/..\\..\\etc\\passwd",
    "/video/stream.m3u8%00.ts",
    "/video/./stream.m3u8/../../x",
    "/../../etc/passwd",
    "/etc/passwd",
    "/video/",
    "/video/seg_999999.ts",
    "/video/%ZZ",
  ])("GET %s → 404", async (path) => {
    const r = await rawGet(server.port, path);
    expect(r.status === 404 || r.status === 400).toBe(true);
    expect(r.body).not.toContain("root:");
  });
});

describe("routes", () => {
  test("playlist: HLS type, never cached, CORS; segments: MPEG-TS", async () => {
    const r = await fetch(`${server.url}/video/stream.m3u8`);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/vnd.apple.mpegurl");
    expect(r.headers.get("cache-control")).toContain("no-cache");
    expect(r.headers.get("access-control-allow-origin")).toBe("*");
    const text = await r.text();
    expect(text.startsWith("#EXTM3U")).toBe(true);
    const seg = text.split("\n").find((l) => l.endsWith(".ts"))!;
    const s = await fetch(`${server.url}/video/${seg}`);
    expect(s.status).toBe(200);
    expect(s.headers.get("content-type")).toBe("video/mp2t");
    const bytes = new Uint8Array(await s.arrayBuffer());
    expect(bytes[0]).toBe(0x47); // MPEG-TS sync byte
    const pre = await fetch(`${server.url}/video/stream.m3u8`, { method: "OPTIONS" });
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe("*");
  });

  test("/params and /get_params: the prototype's keys and vat's signal profile", async () => {
    for (const path of ["/params", "/get_params"]) {
      const p = (await (await fetch(`${server.url}${path}`)).json()) as Record<string, any>;
      expect(p).toMatchObject({ ID: "http1", FPS: 10, IMAGE_SIZE: 0, CPU: 512, MEMORY: 1024, VIDEO_TYPE: "LIVE" });
      expect(p.vat).toMatchObject({ streamId: "http1", fps: 10, size: "240p", width: 426, height: 240, segmentS: 1 });
      expect(p.vat.layout.modulePx).toBeGreaterThanOrEqual(3);
    }
  });

  test("/time is the server clock", async () => {
    const before = Date.now();
    const t = (await (await fetch(`${server.url}/time`)).json()) as { nowMs: number };
    expect(t.nowMs).toBeGreaterThanOrEqual(before);
    expect(t.nowMs).toBeLessThanOrEqual(Date.now());
  });

  test("/health and /ping while live", async () => {
    for (const path of ["/health", "/ping"]) {
      const r = await fetch(`${server.url}${path}`);
      expect(r.status).toBe(200);
      expect(await r.json()).toMatchObject({ healthy: true, reason: "live", framesSkipped: 0 });
    }
  });

  test("/ plays the stream with hls.js served by the origin itself", async () => {
    const page = await (await fetch(`${server.url}/`)).text();
    expect(page).toContain('<script src="/hls.min.js"></script>');
    expect(page).toContain("/video/stream.m3u8");
    expect(page).not.toMatch(/https?:\/\//); // no CDN: works offline
    const js = await fetch(`${server.url}/hls.min.js`);
    expect(js.status).toBe(200);
    expect((await js.text()).length).toBeGreaterThan(100_000);
  });

  test("other methods are refused", async () => {
    const r = await fetch(`${server.url}/video/stream.m3u8`, { method: "DELETE" });
    expect(r.status).toBe(405);
  });
});
