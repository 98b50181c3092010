/** The client's HTTP: every request has a timeout, and failures come back as values with a reason. */
export type Fetch = (url: string, init?: RequestInit) => Promise<Response>;

export type Fetched<T> = { ok: true; value: T; status: number } | { ok: false; reason: string; status?: number };

export async function fetchBytes(fetchFn: Fetch, url: string, timeoutMs: number): Promise<Fetched<Uint8Array>> {
  try {
    const res = await fetchFn(url, { signal: AbortSignal.timeout(timeoutMs), headers: { "cache-control": "no-cache" } });
    if (!res.ok) {
      await res.body?.cancel();
      return { ok: false, reason: `HTTP ${res.status}`, status: res.status };
    }
    return { ok: true, value: new Uint8Array(await res.arrayBuffer()), status: res.status };
  } catch (err) {
    return { ok: false, reason: describeFetchError(err) };
  }
}

export async function fetchText(fetchFn: Fetch, url: string, timeoutMs: number): Promise<Fetched<string>> {
  const r = await fetchBytes(fetchFn, url, timeoutMs);
  return r.ok ? { ok: true, value: new TextDecoder().decode(r.value), status: r.status } : r;
}

export async function fetchJson(fetchFn: Fetch, url: string, timeoutMs: number): Promise<Fetched<unknown>> {
  const r = await fetchText(fetchFn, url, timeoutMs);
  if (!r.ok) return r;
  try {
    return { ok: true, value: JSON.parse(r.value), status: r.status };
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
