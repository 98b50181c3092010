import { expect, test } from "bun:test";
import type { Fetch } from "../../src/client/http.ts";
import { parseUtcAnswer, pickUtcTiming, sampleUtcTiming } from "../../src/client/utc-timing.ts";

const at = { sentMs: 0, receivedMs: 0 };

test("http-iso and http-xsdate answers name a time; anything else names none", () => {
  expect(parseUtcAnswer("2026-12-01T10:00:00.250Z")).toBe(Date.UTC(2026, 11, 1, 10, 0, 0, 250));
  expect(parseUtcAnswer(" 2026-12-01T10:00:00+01:00\n")).toBe(Date.UTC(2026, 11, 1, 9, 0, 0));
  expect(parseUtcAnswer("2026-12-01T10:00:00")).toBe(Date.UTC(2026, 11, 1, 10, 0, 0));
  for (const bad of ["", "now", "1e300", "2026-13-45T99:99:99Z"]) expect(parseUtcAnswer(bad)).toBeNull();
});

test("the schemes vat reads, best first", () => {
  const head = { schemeIdUri: "urn:mpeg:dash:utc:http-head:2014", value: "http://a/" };
  const iso = { schemeIdUri: "urn:mpeg:dash:utc:http-iso:2014", value: "http://b/" };
  expect(pickUtcTiming([head, iso])).toEqual(iso);
  expect(pickUtcTiming([{ schemeIdUri: "urn:mpeg:dash:utc:ntp:2014", value: "x" }])).toBeNull();
});

test("an MPD's UTCTiming naming a local file is not read: no clock", async () => {
  const asked: string[] = [];
  const fetchFn: Fetch = async (url) => {
    asked.push(url);
    return new Response("2026-12-01T10:00:00Z");
  };
  const r = await sampleUtcTiming({ schemeIdUri: "urn:mpeg:dash:utc:http-iso:2014", value: "file:///etc/hostname" }, { fetch: fetchFn, now: () => 0 }, at);
  expect(r.clock).toBeNull();
  expect(asked).toEqual([]);
});

test("http-head: a Date header counts whole seconds, so its time is taken half-way into the second it names", async () => {
  const server = Date.UTC(2026, 11, 1, 10, 0, 0);
  const start = server - 3000; // the client's clock 3 s (and a half) behind
  let t = start;
  const fetchFn: Fetch = async (_url, init) => {
    expect(init?.method).toBe("HEAD");
    t += 20;
    return new Response(null, { headers: { date: new Date(server).toUTCString() } });
  };
  const r = await sampleUtcTiming({ schemeIdUri: "urn:mpeg:dash:utc:http-head:2014", value: "http://clock/" }, { fetch: fetchFn, now: () => t }, at);
  expect(r.clock!.offsetMs).toBeCloseTo(server + 500 - (start + 10), 6);
  expect(r.clock!.uncertaintyMs).toBeCloseTo(510, 6);
});
