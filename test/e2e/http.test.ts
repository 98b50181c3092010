import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { exchange } from "../helpers/raw-http.ts";
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
    "/video/..%5c..%5cetc%5cpasswd",
    "/video/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
    "/video/seg_0.ts/../../../etc/passwd",
    "/video/....//....//etc/passwd",
    "/video/%2e%2e/%2e%2e/etc/passwd",
    "/video/..;/..;/etc/passwd",
    "/video/.%2e/.%2e/etc/passwd",
    "/video/%u002e%u002e/etc/passwd",
    "/video/seg_1.ts%2f..%2f..%2fetc%2fpasswd",
    "/video/..%00/etc/passwd",
    "/video/..%252f..%252fetc%252fpasswd",
    "/video/proc/self/environ",
    "/video/%2fproc%2fself%2fenviron",
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

describe("hostile clients do not stop the origin serving", () => {
  async function stillServing(): Promise<void> {
    const r = await fetch(`${server.url}/video/stream.m3u8`);
    expect(r.status).toBe(200);
    expect((await r.text()).startsWith("#EXTM3U")).toBe(true);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  }

  test("a 1 MB header is refused, not served", async () => {
    const answer = await exchange(server.port, `GET /video/stream.m3u8 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${"a".repeat(1 << 20)}\r\nConnection: close\r\n\r\n`);
    expect(answer).not.toMatch(/^HTTP\/1\.1 200/);
    await stillServing();
  });

  test("request smuggling (Content-Length with Transfer-Encoding) does not get a hidden request answered", async () => {
    const hidden = "GET /video/../../../etc/passwd HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    const answer = await exchange(
      server.port,
      `GET /time HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${4 + hidden.length}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${hidden}`,
    );
    expect(answer).not.toContain("root:");
    expect((answer.match(/HTTP\/1\.1 200/g) ?? []).length).toBeLessThanOrEqual(1);
    await stillServing();
  });

  test("500 connections asking for the playlist at once are all answered", async () => {
    const statuses = await Promise.all(
      Array.from({ length: 500 }, () => exchange(server.port, "GET /video/stream.m3u8 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", 15_000)),
    );
    const ok = statuses.filter((a) => a.startsWith("HTTP/1.1 200") && a.includes("#EXTM3U")).length;
    expect(ok).toBe(500);
    await stillServing();
  }, 30_000);

  test("slowloris: connections that dribble their headers do not hold up anyone else", async () => {
    const slow = Array.from({ length: 100 }, () => connect(server.port, "127.0.0.1"));
    for (const s of slow) s.on("error", () => {});
    try {
      const text = "GET /video/stream.m3u8 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: ";
      for (let i = 0; i < text.length && i < 12; i++) {
        for (const s of slow) s.write(text[i]!);
        await stillServing();
        await Bun.sleep(100);
      }
    } finally {
      for (const s of slow) s.destroy();
    }
    await stillServing();
  }, 30_000);
});
