import { expect, test } from "bun:test";
import { mayBeCached } from "../../src/client/http.ts";

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
