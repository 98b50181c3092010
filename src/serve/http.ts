import { join } from "node:path";
import hlsJsPath from "hls.js/dist/hls.min.js" with { type: "file" };
import { PLAYLIST_NAME } from "./encoder.ts";
import type { HealthVerdict } from "./health.ts";
import { playerPage } from "./player-page.ts";

export interface OriginView {
  dir: string;
  params(): Record<string, unknown>;
  health(): HealthVerdict & Record<string, unknown>;
}

const CORS = {
  "access-control-allow-origin": "*",
  "access-control-allow-methods": "GET, HEAD, OPTIONS",
  "access-control-allow-headers": "*",
};
const NO_CACHE = { "cache-control": "no-cache, no-store, must-revalidate" };
/** Only names ffmpeg writes: no separators, no dots but the extension's, so nothing outside the folder is named. */
const SEGMENT_NAME = /^[A-Za-z0-9_-]{1,64}\.(ts|m3u8|m4s|mp4)$/;

const TYPES: Record<string, string> = {
  m3u8: "application/vnd.apple.mpegurl",
  ts: "video/mp2t",
  m4s: "video/iso.segment",
  mp4: "video/mp4",
};

function json(body: unknown, status = 200, extra: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...CORS, ...NO_CACHE, ...extra },
  });
}

function notFound(): Response {
  return new Response("not found\n", { status: 404, headers: { "content-type": "text/plain", ...CORS } });
}

/** The origin's routes. A plain function of the request, so tests can call it without a socket. */
export function createHandler(view: OriginView): (req: Request) => Promise<Response> {
  return async (req) => {
    if (req.method === "OPTIONS") return new Response(null, { status: 204, headers: CORS });
    if (req.method !== "GET" && req.method !== "HEAD") {
      return new Response("method not allowed\n", { status: 405, headers: { allow: "GET, HEAD, OPTIONS", ...CORS } });
    }
    const path = new URL(req.url).pathname;
    switch (path) {
      case "/":
      case "/index.html":
        return new Response(playerPage(), { headers: { "content-type": "text/html; charset=utf-8", ...CORS } });
      case "/hls.min.js":
        return new Response(Bun.file(hlsJsPath), {
          headers: { "content-type": "text/javascript", "cache-control": "max-age=86400", ...CORS },
        });
      case "/params":
      case "/get_params":
        return json(view.params());
      case "/health":
      case "/ping": {
        const h = view.health();
        return json(h, h.healthy ? 200 : 503);
      }
      case "/time":
        return json({ nowMs: Date.now() });
    }
    if (!path.startsWith("/video/")) return notFound();
    let name: string;
    try {
      name = decodeURIComponent(path.slice("/video/".length));
    } catch {
      return notFound();
    }
    const m = SEGMENT_NAME.exec(name);
    if (!m) return notFound();
    const file = Bun.file(join(view.dir, name));
    if (!(await file.exists())) return notFound();
    const isPlaylist = name === PLAYLIST_NAME || m[1] === "m3u8";
    let body: ArrayBuffer;
    try {
      body = await file.arrayBuffer(); // read at once: ffmpeg may delete the segment a moment later
    } catch {
      return notFound();
    }
    return new Response(req.method === "HEAD" ? null : body, {
      headers: {
        "content-type": TYPES[m[1]!]!,
        "content-length": String(body.byteLength),
        ...(isPlaylist ? NO_CACHE : { "cache-control": "max-age=60" }),
        ...CORS,
      },
    });
  };
}
