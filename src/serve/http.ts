import { readFile } from "node:fs/promises";
import { join } from "node:path";
import dashJsPath from "../../node_modules/dashjs/dist/modern/umd/dash.mediaplayer.min.js" with { type: "file" };
import hlsJsPath from "hls.js/dist/hls.min.js" with { type: "file" };
import type { HealthVerdict } from "./health.ts";
import { playerPage, type PlayerStream } from "./player-page.ts";
import { UTC_TIMING_PATH } from "./encoder.ts";
import type { LlStream } from "./ll-stream.ts";
import type { SegmentNames } from "./segment-names.ts";

export interface OriginView {
  dir: string;
  names: SegmentNames;
  /** The low-latency formats' media, served from memory instead of the folder. */
  ll?: LlStream | null;
  params(): Record<string, unknown>;
  health(): HealthVerdict & Record<string, unknown>;
}

export const CORS = {
  "access-control-allow-origin": "*",
  "access-control-allow-methods": "GET, HEAD, OPTIONS",
  "access-control-allow-headers": "*",
};
export const NO_CACHE = { "cache-control": "no-cache, no-store, must-revalidate" };
function json(body: unknown, status = 200, extra: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...CORS, ...NO_CACHE, ...extra },
  });
}

/**
 * The path of a request, whatever its Host header says: the origin serves one site, so a missing (HTTP/1.0) or
 * malformed Host must not turn a request into an error. Dot segments are resolved as for any URL. Pure.
 */
export function requestPath(url: string): string | null {
  const rest = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*(.*)$/is.exec(url)?.[1] ?? url;
  try {
    return new URL(`http://origin.invalid${rest.startsWith("/") ? rest : `/${rest}`}`).pathname;
  } catch {
    return null;
  }
}

/** The query of a request, whatever its Host header says (see requestPath). Pure. */
export function requestQuery(url: string): URLSearchParams {
  const q = url.indexOf("?");
  if (q < 0) return new URLSearchParams();
  const end = url.indexOf("#", q);
  return new URLSearchParams(url.slice(q + 1, end < 0 ? undefined : end));
}

/** What Bun's server lets a handler do about one request. */
export interface RequestTimeouts {
  timeout(req: Request, seconds: number): void;
}

/** A player library embedded in the binary. */
function script(path: string): Response {
  return new Response(Bun.file(path), { headers: { "content-type": "text/javascript", "cache-control": "max-age=86400", ...CORS } });
}

function notFound(): Response {
  return new Response("not found\n", { status: 404, headers: { "content-type": "text/plain", ...CORS } });
}

/** The origin's routes. A plain function of the request, so tests can call it without a socket. */
export function createHandler(view: OriginView): (req: Request, server?: RequestTimeouts) => Promise<Response> {
  return async (req, server) => {
    if (req.method === "OPTIONS") return new Response(null, { status: 204, headers: CORS });
    if (req.method !== "GET" && req.method !== "HEAD") {
      return new Response("method not allowed\n", { status: 405, headers: { allow: "GET, HEAD, OPTIONS", ...CORS } });
    }
    const path = requestPath(req.url);
    if (path === null) return new Response("bad request\n", { status: 400, headers: { "content-type": "text/plain", ...CORS } });
    switch (path) {
      case "/":
      case "/index.html":
        return new Response(playerPage(`/video/${view.names.manifest}`, view.params().vat as PlayerStream), { headers: { "content-type": "text/html; charset=utf-8", ...CORS } });
      case "/hls.min.js":
        return script(hlsJsPath);
      case "/dash.mediaplayer.min.js":
        return script(dashJsPath);
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
      case UTC_TIMING_PATH:
        // DASH UTCTiming (http-xsdate / http-iso): the origin's clock as ISO-8601 UTC text, milliseconds included.
        return new Response(new Date().toISOString(), { headers: { "content-type": "text/plain", ...CORS, ...NO_CACHE } });
    }
    if (!path.startsWith("/video/")) return notFound();
    let name: string;
    try {
      name = decodeURIComponent(path.slice("/video/".length));
    } catch {
      return notFound();
    }
    if (view.ll) {
      // A blocking reload or a part still being written may take longer than an idle connection is allowed.
      server?.timeout(req, Math.ceil((view.ll.maxWaitMs + 1000 * view.ll.segmentS) / 1000) + 5);
      return view.ll.respond(name, requestQuery(req.url), req.method === "HEAD");
    }
    // Only the names the producer writes: no other file that lives in the folder, no path outside it.
    if (!view.names.isServed(name)) return notFound();
    const isManifest = view.names.isManifest(name);
    let body: Uint8Array;
    try {
      // Read at once, through one descriptor to its end: the producer may delete a segment a moment later, and
      // replaces a playlist by renaming a new one over it. Bun.file sized its read by an earlier look at the name,
      // so a longer playlist renamed in between came out cut short (a last line of "seg_15.t").
      body = await readFile(join(view.dir, name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return notFound();
      // e.g. no file descriptor free: the file is there, try again shortly
      return new Response("temporarily unavailable\n", { status: 503, headers: { "retry-after": "1", "content-type": "text/plain", ...CORS } });
    }
    return new Response(req.method === "HEAD" ? null : body, {
      headers: {
        "content-type": view.names.contentType(name),
        "content-length": String(body.byteLength),
        ...(isManifest ? NO_CACHE : { "cache-control": "max-age=60" }),
        ...CORS,
      },
    });
  };
}
