import { expect, test } from "bun:test";
import { fetchBytes, mayBeCached } from "../../src/client/http.ts";

test("an answer may come from a cache when it carries Age or a positive max-age / s-maxage, not otherwise", () => {
  const h = (init: Record<string, string>) => new Headers(init);
  expect(mayBeCached(h({}))).toBe(false);
  expect(mayBeCached(h({ "cache-control": "no-cache, no-store, must-revalidate" }))).toBe(false);
  expect(mayBeCached(h({ "cache-control": "max-age=0" }))).toBe(false);
  expect(mayBeCached(h({ "cache-control": "public, max-age=00" }))).toBe(false);
  expect(mayBeCached(h({ "cache-control": "private, max-age=0, s-maxage=0" }))).toBe(false);
  expect(mayBeCached(h({ age: "0" }))).toBe(true);
  expect(mayBeCached(h({ age: "3", "cache-control": "no-cache" }))).toBe(true);
  expect(mayBeCached(h({ "cache-control": "max-age=1" }))).toBe(true);
  expect(mayBeCached(h({ "cache-control": "public,max-age=2" }))).toBe(true);
  expect(mayBeCached(h({ "cache-control": "s-maxage=10, max-age=0" }))).toBe(true);
  expect(mayBeCached(h({ "Cache-Control": "MAX-AGE=\"5\"" }))).toBe(true);
  expect(mayBeCached(h({ "cache-control": "max-age=05" }))).toBe(true);
});

test("the timeout ends a body whose next piece never comes (the reader is cancelled; its pending read ends)", async () => {
  const stalled = () =>
    new Response(new ReadableStream<Uint8Array>({ start: (c) => c.enqueue(new Uint8Array(10)), pull: () => new Promise<void>(() => {}) }));
  const t0 = performance.now();
  const r = await fetchBytes(async () => stalled(), "http://origin/a", { timeoutMs: 200, maxBytes: 1024 });
  expect(r).toEqual({ ok: false, reason: "timed out" });
  const streamed: number[] = [];
  const r2 = await fetchBytes(async () => stalled(), "http://origin/a", { timeoutMs: 200, maxBytes: 1024, onChunk: (c) => streamed.push(c.length) });
  expect(r2).toEqual({ ok: false, reason: "timed out" });
  expect(streamed).toEqual([10]);
  expect(performance.now() - t0).toBeLessThan(5000);
});

test("a request's timeout ends with its answer: no timer is left to fire after it (each would wake the event loop)", async () => {
  const signals: AbortSignal[] = [];
  const answer = async (_url: string, init?: RequestInit) => {
    signals.push(init!.signal!);
    return new Response("#EXTM3U\n");
  };
  const failing = async (_url: string, init?: RequestInit) => {
    signals.push(init!.signal!);
    return new Response("gone", { status: 404 });
  };
  expect((await fetchBytes(answer, "http://origin/a", { timeoutMs: 50, maxBytes: 1024 })).ok).toBe(true);
  expect(await fetchBytes(failing, "http://origin/b", { timeoutMs: 50, maxBytes: 1024 })).toEqual({ ok: false, reason: "HTTP 404", status: 404 });
  await Bun.sleep(150);
  expect(signals.map((s) => s.aborted)).toEqual([false, false]);
  // The timeout itself still ends a request that takes longer (the test above: a body that stalls).
});

test("a body left by a throw (a piece its handler could not take) is cancelled, not left open for want of a timeout", async () => {
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>({
    start: (c) => c.enqueue(new Uint8Array(10)),
    pull: () => new Promise<void>(() => {}),
    cancel: () => {
      cancelled = true;
    },
  });
  const r = await fetchBytes(async () => new Response(body), "http://origin/a", {
    timeoutMs: 60_000,
    maxBytes: 1024,
    onChunk: () => {
      throw new Error("a piece that cannot be taken");
    },
  });
  expect(r).toEqual({ ok: false, reason: "a piece that cannot be taken" });
  expect(cancelled).toBe(true);
});
