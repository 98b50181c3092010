/**
 * The client's HTTP: every request has a timeout and a byte limit, only http(s) is ever fetched (redirects included),
 * and failures come back as values with a reason.
 */
export type Fetch = (url: string, init?: RequestInit) => Promise<Response>;

export type Fetched<T> =
  | {
      ok: true;
      value: T;
      status: number;
      /** After redirects: what relative URIs in the answer resolve against. */
      url: string;
      /** The answer's Date header (RFC 9110), as the server sent it. */
      date?: string | null;
      /** The answer may have come from a cache (see mayBeCached). */
      mayBeCached?: boolean;
    }
  | {
      ok: false;
      reason: string;
      status?: number;
      /** The answer was larger than allowed: asking again would not help. */
      tooLarge?: boolean;
      /** The URL (or a redirect) was not http(s): asking again would not help. */
      refused?: boolean;
    };

export interface FetchLimits {
  timeoutMs: number;
  maxBytes: number;
  /** Only these bytes of the resource (EXT-X-BYTERANGE); a server that ignores Range is cut down to them. */
  range?: { lengthBytes: number; offsetBytes: number };
  /** HEAD: only the answer's headers are wanted (DASH's http-head clock). */
  method?: "GET" | "HEAD";
  /**
   * Each piece of the body as it arrives (a part or chunk still being written): LL-HLS and LL-DASH stamp frames by
   * it. Pieces of a range answer come cut to the range, as the whole value does.
   */
  onChunk?: (chunk: Uint8Array) => void;
}

/**
 * What a caller that gives only a timeout gets: the segment bound of the HLS source, far above any real answer.
 * Every caller should say its own limit; this keeps a bare timeout bounded too.
 */
export const DEFAULT_MAX_BYTES = 256 * 1024 * 1024;

/** A bare number is a timeout in ms, with DEFAULT_MAX_BYTES. */
function toLimits(limits: number | FetchLimits): FetchLimits {
  return typeof limits === "number" ? { timeoutMs: limits, maxBytes: DEFAULT_MAX_BYTES } : limits;
}

/** Redirects followed per request, as browsers cap them (Fetch Standard: 20); a loop ends here. */
const MAX_REDIRECTS = 10;

export async function fetchBytes(fetchFn: Fetch, url: string, limitsOrTimeoutMs: number | FetchLimits): Promise<Fetched<Uint8Array>> {
  const limits = toLimits(limitsOrTimeoutMs);
  // A timer of our own, cleared when the answer is in: AbortSignal.timeout's timer fires at its end whether or not
  // anything still listens, a wakeup of the event loop per request (~0.13 ms of CPU each in Bun; 8-10 requests a
  // second for a live HLS or LL-HLS client).
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(new DOMException("The operation timed out.", "TimeoutError")), limits.timeoutMs);
  const signal = timeout.signal;
  let current = url;
  try {
    for (let hop = 0; ; hop++) {
      if (!/^https?:\/\//i.test(current)) return { ok: false, reason: `refused: only http(s) is fetched, not '${clip(current)}'`, refused: true };
      // Redirects are followed here, not by fetch, so that one to file: or data: is refused like a URI in a playlist.
      const headers: Record<string, string> = { "cache-control": "no-cache" };
      const range = limits.range;
      if (range) headers.range = `bytes=${range.offsetBytes}-${range.offsetBytes + range.lengthBytes - 1}`;
      const res = await fetchFn(current, { signal, redirect: "manual", headers, method: limits.method ?? "GET" });
      const location = res.headers.get("location");
      if (res.status >= 300 && res.status < 400 && location !== null) {
        await res.body?.cancel();
        if (hop >= MAX_REDIRECTS) return { ok: false, reason: `more than ${MAX_REDIRECTS} redirects`, status: res.status };
        current = new URL(location, current).href;
        continue;
      }
      if (!res.ok) {
        await res.body?.cancel();
        return { ok: false, reason: `HTTP ${res.status}`, status: res.status };
      }
      // A server that ignores Range sends the whole resource: only the range's bytes are handed on.
      const skipBytes = range && res.status === 200 ? range.offsetBytes : 0;
      const onChunk = limits.onChunk && rangeCutter(limits.onChunk, skipBytes, range && res.status === 200 ? range.lengthBytes : Infinity);
      const body = await readLimited(res, limits.maxBytes, signal, onChunk);
      if (!body.ok) return { ...body, status: res.status };
      const value = range && res.status === 200 ? body.value.subarray(range.offsetBytes, range.offsetBytes + range.lengthBytes) : body.value;
      return { ok: true, value, status: res.status, url: current, date: res.headers.get("date"), mayBeCached: mayBeCached(res.headers) };
    }
  } catch (err) {
    return { ok: false, reason: describeFetchError(err) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A response body read as a stream and abandoned as soon as it passes maxBytes (a declared Content-Length over it
 * is refused before a byte is read), so a hostile answer costs at most maxBytes of memory.
 */
async function readLimited(
  res: Response,
  maxBytes: number,
  signal: AbortSignal,
  onChunk?: (chunk: Uint8Array) => void,
): Promise<{ ok: true; value: Uint8Array } | { ok: false; reason: string; tooLarge: true }> {
  const tooLarge = (what: string) => ({ ok: false as const, reason: `${what} over the limit of ${formatBytes(maxBytes)}`, tooLarge: true as const });
  const declared = Number(res.headers.get("content-length") ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel();
    return tooLarge(`Content-Length ${formatBytes(declared)},`);
  }
  if (!res.body) return { ok: true, value: new Uint8Array(0) };
  const reader = res.body.getReader();
  // The timeout covers the body too, whoever made the response: an endless or dripping answer ends with it. The
  // reader is cancelled, which ends a pending read as done (Streams Standard: cancelling closes the stream), and the
  // signal says why.
  const stop = () => void reader.cancel().catch(() => {});
  if (signal.aborted) stop();
  signal.addEventListener("abort", stop, { once: true });
  let read = false;
  try {
    // A declared length sizes the buffer (up to a few MB: a declaration is not a promise); then it grows by doubling.
    let buf = new Uint8Array(Number.isFinite(declared) && declared > 0 ? Math.min(declared, 8 * 1024 * 1024) : 64 * 1024);
    let filled = 0;
    for (;;) {
      const { done, value } = await reader.read();
      // A cancelled read also ends as done: a body cut short by the timeout is no body.
      if (signal.aborted) throw signal.reason;
      if (done) break;
      if (filled + value.length > maxBytes) {
        await reader.cancel();
        return tooLarge("answer");
      }
      if (filled + value.length > buf.length) {
        const grown = new Uint8Array(Math.min(maxBytes, Math.max(buf.length * 2, filled + value.length)));
        grown.set(buf.subarray(0, filled));
        buf = grown;
      }
      buf.set(value, filled);
      filled += value.length;
      onChunk?.(value);
    }
    read = true;
    return { ok: true, value: buf.subarray(0, filled) };
  } finally {
    signal.removeEventListener("abort", stop);
    // Left by a throw (onChunk's, say): the body is not read on, and the timeout that would have ended it is cleared.
    if (!read) stop();
  }
}

/**
 * An answer that may have come from a cache: it carries an Age header (RFC 9111 §5.1: caches send it), or its
 * Cache-Control gives it a positive freshness lifetime (max-age, s-maxage), so that a cache on the way may keep it.
 */
export function mayBeCached(headers: Headers): boolean {
  if (headers.has("age")) return true;
  return /(?:^|[,\s])(?:max-age|s-maxage)\s*=\s*"?0*[1-9]/i.test(headers.get("cache-control") ?? "");
}

/** Hands on only the bytes [skipBytes, skipBytes + lengthBytes) of a body that arrives in pieces. */
function rangeCutter(onChunk: (chunk: Uint8Array) => void, skipBytes: number, lengthBytes: number): (chunk: Uint8Array) => void {
  let seen = 0;
  return (chunk) => {
    const from = Math.max(0, skipBytes - seen);
    const to = Math.min(chunk.length, skipBytes + lengthBytes - seen);
    seen += chunk.length;
    if (to > from) onChunk(chunk.subarray(from, to));
  };
}

export async function fetchText(fetchFn: Fetch, url: string, limits: number | FetchLimits): Promise<Fetched<string>> {
  const r = await fetchBytes(fetchFn, url, limits);
  return r.ok ? { ...r, value: new TextDecoder().decode(r.value) } : r;
}

export async function fetchJson(fetchFn: Fetch, url: string, limits: number | FetchLimits): Promise<Fetched<unknown>> {
  const r = await fetchText(fetchFn, url, limits);
  if (!r.ok) return r;
  try {
    return { ...r, value: JSON.parse(r.value) };
  } catch {
    return { ok: false, reason: "answer is not JSON" };
  }
}

export function describeFetchError(err: unknown): string {
  const e = err as { name?: string; code?: string; message?: string };
  if (e?.name === "TimeoutError" || e?.name === "AbortError") return "timed out";
  if (e?.code === "ConnectionRefused" || /ECONNREFUSED|Unable to connect/i.test(e?.message ?? "")) return "connection refused";
  return e?.code ?? e?.message ?? String(err);
}

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${+(n / (1024 * 1024)).toFixed(1)} MB`;
  if (n >= 1024) return `${+(n / 1024).toFixed(1)} kB`;
  return `${n} B`;
}

function clip(text: string, max = 60): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
