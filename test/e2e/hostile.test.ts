import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import {
  DeclaringServer,
  HostileServer,
  makeSegments,
  mediaPlaylist,
  segmentResponse,
  type TestSegments,
} from "../helpers/hostile-server.ts";
import { client, killStragglers, openDb, tempDir } from "../helpers/vat.ts";

/**
 * The compiled client against servers that misbehave on purpose: what a remote stream sends is input, and the
 * client must stay bounded, local-file-free and sane whatever it is.
 */
const tmp = tempDir("vat-hostile-");
let segs: TestSegments;
const servers: { stop(): void }[] = [];
beforeAll(() => {
  segs = makeSegments(tmp.path, 8);
});
afterAll(() => {
  killStragglers();
  for (const s of servers) s.stop();
  tmp.cleanup();
});

function hostile(routes: ConstructorParameters<typeof HostileServer>[0]): HostileServer {
  const s = new HostileServer(routes);
  servers.push(s);
  return s;
}

function events(db: string): { kind: string; detail: string }[] {
  const d = openDb(db);
  try {
    return d.query("SELECT kind, detail FROM events ORDER BY id").all() as { kind: string; detail: string }[];
  } finally {
    d.close();
  }
}

const serveSegment = (i: number) => () => segmentResponse(segs.bytes[i]!);

test("segments named on the local disk or inline are never read; one declaring 500 MB is skipped unread", async () => {
  const big = await new DeclaringServer(500 * 1024 * 1024).start();
  servers.push(big);
  const inline = `data:video/mp2t;base64,${Buffer.from(segs.bytes[2]!).toString("base64")}`;
  const playlist = mediaPlaylist([
    [1, "seg_0.ts"],
    [1, `file://${segs.files[1]}`],
    [1, inline],
    [1, `${big.url}/big.ts`],
    [1, "seg_4.ts"],
  ]);
  const s = hostile({ "/live/index.m3u8": () => new Response(playlist), "/live/seg_0.ts": serveSegment(0), "/live/seg_4.ts": serveSegment(4) });
  const db = join(tmp.path, "uris.db");
  const r = await client(["--url", `${s.url}/live/index.m3u8`, "--db", db, "--json", "--no-clock-sync", "--duration", "15s"], { timeoutMs: 30_000 });
  expect(r.exitCode).toBe(0);
  // Only the two http segments were decoded: the file and the inline copy, real video both, were not opened.
  expect(r.json!.summary.framesDecoded).toBe(segs.frames[0]! + segs.frames[4]!);
  const e = events(db);
  expect(e.filter((x) => x.kind === "segment-missing").map((x) => x.detail)).toEqual([
    `segment 1 (file://${segs.files[1]}): refused: a playlist may only name http(s) URIs, not file:`,
    `segment 2 (${inline}): refused: a playlist may only name http(s) URIs, not data:`,
  ]);
  expect(e.filter((x) => x.kind === "limit").map((x) => x.detail)).toEqual([
    `segment 3 (${big.url}/big.ts) skipped: Content-Length 500 MB, over the limit of 256 MB`,
  ]);
  // Asked once, hung up on at once: what was sent before the hang-up is a few chunks at most, not the 500 MB.
  expect(big.hungUp).toBe(1);
  expect(big.sentBytes).toBeLessThan(1024 * 1024);
}, 40_000);

test("an older copy of the playlist on every other poll is ignored, noted once: no restart, no segment twice", async () => {
  const startedAt = performance.now();
  let answers = 0;
  // Live: a new segment every second; every second answer is the copy from one segment before.
  const window = (newest: number) =>
    mediaPlaylist(
      Array.from({ length: Math.min(3, newest + 1) }, (_, k): [number, string] => [1, `seg_${newest - Math.min(2, newest) + k}.ts`]),
      { sequence: Math.max(0, newest - 2), end: false },
    );
  const routes: ConstructorParameters<typeof HostileServer>[0] = {
    "/live/index.m3u8": () => {
      const newest = Math.min(segs.files.length - 1, 1 + Math.floor((performance.now() - startedAt) / 1000));
      return new Response(window(answers++ % 2 === 1 ? newest - 1 : newest));
    },
  };
  for (let i = 0; i < segs.files.length; i++) routes[`/live/seg_${i}.ts`] = serveSegment(i);
  const s = hostile(routes);
  const db = join(tmp.path, "older.db");
  const r = await client(["--url", `${s.url}/live/index.m3u8`, "--db", db, "--json", "--no-clock-sync", "--duration", "5s", "--poll", "100ms"], {
    timeoutMs: 30_000,
  });
  expect(r.exitCode).toBe(0);
  expect(answers).toBeGreaterThan(10);
  const e = events(db);
  expect(e.filter((x) => x.kind === "stream-restart")).toEqual([]);
  const older = e.filter((x) => x.kind === "stale-playlist" && x.detail.includes("older copy"));
  expect(older).toHaveLength(1);
  const fetched = [...s.requests].filter(([p]) => p.endsWith(".ts"));
  expect(fetched.length).toBeGreaterThanOrEqual(3);
  for (const [, n] of fetched) expect(n).toBe(1);
  expect(r.json!.summary.framesDecoded).toBe(fetched.reduce((sum, [p]) => sum + segs.frames[Number(/seg_(\d+)/.exec(p)![1])]!, 0));
}, 40_000);

test("broken EXTINF values are mended and said once, not 'plays -5.00 s' on every segment", async () => {
  const playlist = mediaPlaylist([
    [-5, "seg_0.ts"],
    [-5, "seg_1.ts"],
    ["NaN", "seg_2.ts"],
  ]);
  const s = hostile({ "/v.m3u8": () => new Response(playlist), "/seg_0.ts": serveSegment(0), "/seg_1.ts": serveSegment(1), "/seg_2.ts": serveSegment(2) });
  const db = join(tmp.path, "extinf.db");
  const r = await client(["--url", `${s.url}/v.m3u8`, "--db", db, "--json", "--no-clock-sync", "--duration", "15s"], { timeoutMs: 30_000 });
  expect(r.exitCode).toBe(0);
  expect(r.json!.summary.framesDecoded).toBe(segs.frames[0]! + segs.frames[1]! + segs.frames[2]!);
  const e = events(db);
  expect(e.filter((x) => x.kind === "slow-segment")).toEqual([]);
  expect(e.filter((x) => x.kind === "bad-value").map((x) => x.detail)).toEqual([
    "#EXTINF '-5' of segment 0 is not a duration from 0 to 86400 s: taken as the target duration (1 s)",
  ]);
}, 40_000);

test("master playlists that loop are no stream, after two requests", async () => {
  const self = hostile({ "/master.m3u8": () => new Response("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=100000\nmaster.m3u8\n") });
  const a = await client(["--url", `${self.url}/master.m3u8`, "--db", join(tmp.path, "loop.db"), "--connect-timeout", "3s"], { timeoutMs: 20_000 });
  expect(a.exitCode).toBe(2);
  expect(a.stderr).toContain("is a multivariant playlist naming itself");
  expect(self.asked("/master.m3u8")).toBe(1);

  const pair = hostile({
    "/a.m3u8": () => new Response("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=100000\nb.m3u8\n"),
    "/b.m3u8": () => new Response("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=100000\na.m3u8\n"),
  });
  const b = await client(["--url", `${pair.url}/a.m3u8`, "--db", join(tmp.path, "loop2.db"), "--connect-timeout", "3s"], { timeoutMs: 20_000 });
  expect(b.exitCode).toBe(2);
  expect(b.stderr).toContain(`${pair.url}/b.m3u8 is a multivariant playlist named by another`);
  expect(pair.asked("/a.m3u8") + pair.asked("/b.m3u8")).toBe(2);
}, 40_000);

test("a master whose variant never answers gives up at the connect timeout", async () => {
  const s = hostile({
    "/master.m3u8": () => new Response("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=100000\nlow.m3u8\n"),
    "/low.m3u8": () => new Response("not yet", { status: 503 }),
  });
  const r = await client(["--url", `${s.url}/master.m3u8`, "--db", join(tmp.path, "slow.db"), "--connect-timeout", "2s"], { timeoutMs: 20_000 });
  expect(r.exitCode).toBe(2);
  expect(r.stderr).toContain(`${s.url}/low.m3u8 answers but has no stream (HTTP 503 for 2 s)`);
  expect(s.asked("/master.m3u8")).toBe(1);
}, 30_000);

test("a server clock of 1e300 and /params with an unknown size and 200,000 levels of nesting: measured, not believed", async () => {
  const params = `{"ID":"x1","FPS":10,"vat":{"streamId":"x1","fps":10,"size":"99999p","segmentS":1},` +
    `"deep":${"[".repeat(200_000)}${"]".repeat(200_000)}}`;
  const playlist = mediaPlaylist([
    [1, "seg_0.ts"],
    [1, "seg_1.ts"],
  ]);
  const s = hostile({
    "/video/stream.m3u8": () => new Response(playlist),
    "/video/seg_0.ts": serveSegment(0),
    "/video/seg_1.ts": serveSegment(1),
    "/time": () => new Response('{"nowMs":1e300}'),
    "/params": () => new Response(params),
  });
  const db = join(tmp.path, "server.db");
  const r = await client(["--url", s.url, "--db", db, "--json", "--duration", "15s"], { timeoutMs: 30_000 });
  expect(r.stderr).not.toContain("unknown image size");
  expect(r.exitCode).toBe(0);
  expect(r.json!.summary.framesDecoded).toBe(segs.frames[0]! + segs.frames[1]!);
  expect(r.json!.clock).toBeNull();
  expect(s.asked("/time")).toBeGreaterThan(0);
  const d = openDb(db);
  try {
    const run = d.query("SELECT clock_synced, clock_offset_ms, params_json FROM runs").get() as Record<string, any>;
    expect(run.clock_synced).toBe(0);
    expect(run.clock_offset_ms).toBe(0);
    const stored = JSON.parse(run.params_json);
    expect(stored).toEqual({ ID: "x1", FPS: 10, vat: { streamId: "x1", fps: 10, segmentS: 1 } });
  } finally {
    d.close();
  }
}, 40_000);

test("an encrypted stream is unmeasurable (exit 1, saying so): no segment nor key is fetched to be decoded as garbage", async () => {
  const playlist = mediaPlaylist([[1, "seg_0.ts"]], { head: '#EXT-X-KEY:METHOD=AES-128,URI="key.bin"\n' });
  const s = hostile({ "/e.m3u8": () => new Response(playlist), "/seg_0.ts": serveSegment(0), "/key.bin": () => new Response("0123456789abcdef") });
  const db = join(tmp.path, "encrypted.db");
  const r = await client(["--url", `${s.url}/e.m3u8`, "--db", db, "--no-clock-sync", "--duration", "10s"], { timeoutMs: 30_000 });
  expect(r.exitCode).toBe(1);
  expect(r.stderr).toContain("encrypted (METHOD=AES-128): segment 0 cannot be decoded without its key");
  expect(s.asked("/seg_0.ts")).toBe(0);
  expect(s.asked("/key.bin")).toBe(0);
}, 40_000);

test("a stream gone longer than --max-outage: a fatal outage event, the run stored as failed, exit 1", async () => {
  const startedAt = performance.now();
  const live = mediaPlaylist([[1, "seg_0.ts"], [1, "seg_1.ts"]], { end: false });
  const s = hostile({
    "/v.m3u8": () => (performance.now() - startedAt < 2500 ? new Response(live) : new Response("down", { status: 503 })),
    "/seg_1.ts": serveSegment(1),
  });
  const db = join(tmp.path, "outage.db");
  const r = await client(["--url", `${s.url}/v.m3u8`, "--db", db, "--no-clock-sync", "--duration", "30s", "--max-outage", "2s"], { timeoutMs: 40_000 });
  expect(r.exitCode).toBe(1);
  expect(r.stderr).toMatch(/the stream has been unreachable for \d+ s \(HTTP 503\); giving up/);
  const e = events(db).filter((x) => x.kind === "outage").map((x) => x.detail);
  expect(e).toHaveLength(2);
  expect(e[0]).toBe("stream unreachable: HTTP 503");
  expect(e[1]).toMatch(/giving up$/);
  const d = openDb(db);
  try {
    expect((d.query("SELECT status FROM runs").get() as { status: string }).status).toBe(`failed: ${e[1]}`);
  } finally {
    d.close();
  }
}, 40_000);
