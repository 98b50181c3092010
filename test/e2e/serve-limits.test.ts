import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, readdirSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { connect, createServer, type AddressInfo, type Socket } from "node:net";
import { join } from "node:path";
import { exchange, parseAnswer } from "../helpers/raw-http.ts";
import { childPids, eventually, health, serve, tempDir, vat, type Served } from "../helpers/vat.ts";

afterAll(() => {
  for (const s of held) s.destroy();
});

const held: Socket[] = [];
let endedByServer = 0;

/** Opens n keep-alive connections that each send one request and then sit idle. */
async function holdConnections(port: number, n: number): Promise<void> {
  await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<void>((resolve) => {
          const s = connect(port, "127.0.0.1", () => {
            s.write("GET /time HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
            resolve();
          });
          s.on("error", () => resolve());
          s.on("end", () => endedByServer++);
          s.resume(); // read the answer, so that the server's closing is seen
          held.push(s);
        }),
    ),
  );
}

function releaseConnections(): void {
  for (const s of held.splice(0)) s.destroy();
}

const openFds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;

/** Limits a live serve to 256 fds and fills its table with 300 idle keep-alive connections. */
async function fillFdTable(server: Served): Promise<void> {
  await server.waitLive();
  expect(Bun.spawnSync(["prlimit", `--pid=${server.proc.pid}`, "--nofile=256:256"]).exitCode).toBe(0);
  await holdConnections(server.port, 300);
  // Ground truth that the scenario happened: serve's fd table is full.
  await eventually(async () => openFds(server.proc.pid), (n) => n >= 250, 5000);
}

test(
  "fd exhaustion: serve keeps retrying a restart that fails for lack of fds, and is live again once they are back",
  async () => {
    const server = serve(["--size", "240p", "--fps", "10"]);
    try {
      await fillFdTable(server);
      const pid = server.proc.pid;
      // The encoder dies while no fd is free: its restart cannot create pipes.
      const [ff] = childPids(pid);
      process.kill(ff!, "SIGKILL");
      await eventually(async () => server.stderr(), (t) => /could not start .*EMFILE/.test(t), 8000);
      await Bun.sleep(3000); // several failed attempts, each retried
      releaseConnections();
      const back = await eventually(() => freshHealth(server.port), (h) => h.status === 200, 20_000, 250);
      await eventually(() => freshHealth(server.port), (h) => h.body.sequence >= back.body.sequence + 2, 8000, 250);
      expect(back.body.encoderRestarts).toBeGreaterThanOrEqual(1);
      expect(server.stderr()).not.toMatch(/TypeError|unexpected error/);
      expect(childPids(pid).length).toBe(1);
    } finally {
      releaseConnections();
      await server.stop();
    }
  },
  60_000,
);

test(
  "idle keep-alive connections that fill the fd table are closed by serve itself, which then answers again",
  async () => {
    const server = serve(["--size", "240p", "--fps", "10"]);
    try {
      endedByServer = 0;
      await fillFdTable(server);
      // Nothing is released by this side: serve has to drop the idle connections on its own (its idle timeout).
      expect((await freshHealth(server.port)).status).toBe(0); // no fd left to accept a new connection
      // Within serve's idle timeout (10 s) and a margin: the connections are dropped by it, not by this side.
      const back = await eventually(() => freshHealth(server.port), (h) => h.status === 200, 25_000, 500);
      expect(back.body.reason).toBe("live");
      expect(endedByServer).toBeGreaterThan(100);
      expect(back.body.encoderRestarts).toBe(0); // the encoder was never touched
    } finally {
      releaseConnections();
      await server.stop();
    }
  },
  60_000,
);

test(
  "ffmpeg gone from disk: /health says the restart keeps failing and is retried; once it is back, so is the stream",
  async () => {
    const bin = tempDir("vat-ffmpeg-link-");
    const link = join(bin.path, "ffmpeg");
    const real = Bun.which("ffmpeg")!;
    symlinkSync(real, link);
    const server = serve(["--size", "240p", "--fps", "10"], { env: { VAT_FFMPEG: link } });
    try {
      await server.waitLive();
      unlinkSync(link);
      process.kill(childPids(server.proc.pid)[0]!, "SIGKILL");
      const sick = await eventually(
        () => health(server.url),
        (h) => h.status === 503 && h.body.supervisor.failedStarts >= 3,
        20_000,
        250,
      );
      expect(sick.body.reason).toMatch(/encoder could not start \(ENOENT.*\); next start in \d+\.\d s \(attempt \d+, retried until it works\)/);
      expect(sick.body.supervisor.phase).toMatch(/waiting|starting/);
      symlinkSync(real, link);
      const back = await eventually(() => health(server.url), (h) => h.status === 200, 10_000, 250);
      expect(back.body.encoderRestarts).toBe(1);
      expect(back.body.reason).toBe("live");
      expect(server.stderr()).not.toMatch(/TypeError|unexpected error/);
    } finally {
      await server.stop();
      bin.cleanup();
    }
  },
  60_000,
);

test(
  "prerecorded: a segment that cannot be published (the disk is full) stops the publisher, which is retried until it works",
  async () => {
    const disk = tempDir("vat-full-");
    expect(Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=24k", "tmpfs", disk.path]).exitCode).toBe(0);
    const server = serve(["--video-type", "prerecorded", "--source-duration", "4s", "--size", "240p", "--fps", "15", "--dir", disk.path]);
    try {
      const sick = await eventually(
        () => health(server.url),
        (h) => h.status === 503 && /publisher stopped \(could not publish seg_\d+\.ts\)/.test(h.body.reason),
        30_000,
        250,
      );
      expect(sick.body.reason).toMatch(/next start in \d+\.\d s \(attempt \d+, retried until it works\)|starting it again/);
      expect(server.stderr()).toMatch(/publisher stopped \(could not publish seg_\d+\.ts\): .*ENOSPC.*; restarting in \d+ ms/);
      expect(Bun.spawnSync(["mount", "-o", "remount,size=16m", disk.path]).exitCode).toBe(0);
      const back = await eventually(() => health(server.url), (h) => h.status === 200, 15_000, 250);
      expect(back.body.publisherRestarts).toBeGreaterThanOrEqual(1);
      await eventually(() => health(server.url), (h) => h.body.sequence >= back.body.sequence + 2, 10_000, 250);
    } finally {
      await server.stop();
      Bun.spawnSync(["umount", disk.path]);
      disk.cleanup();
    }
  },
  60_000,
);

describe("a port in use is refused at once, naming it, exit 1", () => {
  test("taken by a plain listener", async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const port = (taken.address() as AddressInfo).port;
    try {
      const r = await vat(["serve", "--host", "127.0.0.1", "--port", String(port), "--size", "240p"]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr.trim().split("\n")).toEqual([`vat: cannot listen on 127.0.0.1:${port}: port ${port} is in use; stop what listens there or choose another --port`]);
    } finally {
      taken.close();
    }
  });

  test("taken by a first vat serve, which goes on serving", async () => {
    const first = serve(["--size", "240p", "--fps", "5", "--id", "first"]);
    try {
      await first.waitLive();
      const r = await vat(["serve", "--host", "127.0.0.1", "--port", String(first.port), "--size", "240p", "--id", "second"]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toContain(`port ${first.port} is in use`);
      for (let i = 0; i < 5; i++) {
        const p = (await (await fetch(`${first.url}/params`)).json()) as { ID: string };
        expect(p.ID).toBe("first");
      }
    } finally {
      await first.stop();
    }
  }, 30_000);
});

/** A folder nothing may be written to, even by root: a read-only mount when permissions alone do not stop us. */
function readOnlyFolder(): { path: string; cleanup(): void } {
  const dir = tempDir("vat-ro-");
  chmodSync(dir.path, 0o555);
  if (!canWrite(dir.path)) return { path: dir.path, cleanup: () => (chmodSync(dir.path, 0o755), dir.cleanup()) };
  const mounted = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", dir.path]);
  if (mounted.exitCode !== 0 || canWrite(dir.path)) throw new Error(`cannot make a read-only folder here: ${mounted.stderr}`);
  return {
    path: dir.path,
    cleanup: () => {
      Bun.spawnSync(["umount", dir.path]);
      chmodSync(dir.path, 0o755);
      dir.cleanup();
    },
  };
}

function canWrite(dir: string): boolean {
  try {
    writeFileSync(join(dir, "probe"), "");
    unlinkSync(join(dir, "probe"));
    return true;
  } catch {
    return false;
  }
}

describe("a --dir that cannot be written is refused at start: one line, exit 2, nothing left", () => {
  const ro = readOnlyFolder();
  afterAll(() => ro.cleanup());

  test.each([
    ["a read-only folder", () => ro.path],
    ["a folder to be made inside a read-only one", () => join(ro.path, "segs")],
    ["/proc/1", () => "/proc/1"],
  ])("%s", async (_name, dir) => {
    const before = readdirSync(ro.path);
    const r = await vat(["serve", "--host", "127.0.0.1", "--port", "0", "--size", "240p", "--dir", dir()]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^vat: cannot write segments to '.*' \(.*\): give --dir a folder vat can write to\n$/);
    expect(readdirSync(ro.path)).toEqual(before);
  });

  test("folders made for the segments are removed again when the last one cannot be made", async () => {
    const base = tempDir("vat-dir-made-");
    try {
      const r = await vat(["serve", "--host", "127.0.0.1", "--port", "0", "--dir", join(base.path, "new", "x".repeat(300))]);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toMatch(/^vat: cannot write segments to '.*' \(ENAMETOOLONG.*\)/);
      expect(readdirSync(base.path)).toEqual([]);
    } finally {
      base.cleanup();
    }
  });
});

describe("HTTP edge cases and what the segment folder holds", () => {
  const dir = tempDir("vat-dir-");
  let server: Served;
  beforeAll(async () => {
    writeFileSync(join(dir.path, "private.mp4"), "private");
    writeFileSync(join(dir.path, "notes.m3u8"), "#EXTM3U\n# private\n");
    writeFileSync(join(dir.path, "seg_abc.ts"), "x");
    server = serve(["--size", "240p", "--fps", "10", "--dir", dir.path]);
    await server.waitLive();
  }, 20_000);
  afterAll(async () => {
    await server.stop();
    dir.cleanup();
  });

  test("only the playlist and the segments it names are served, no other file in the folder", async () => {
    const playlist = await fetch(`${server.url}/video/stream.m3u8`);
    expect(playlist.status).toBe(200);
    const seg = (await playlist.text()).split("\n").find((l) => /^seg_\d+\.ts$/.test(l))!;
    expect((await fetch(`${server.url}/video/${seg}`)).status).toBe(200);
    const n = Number(/\d+/.exec(seg)![0]);
    for (const name of ["private.mp4", "notes.m3u8", "seg_abc.ts", `seg_0${n}.ts`, `${seg}.tmp`, "stream.m3u8.tmp"]) {
      const r = await fetch(`${server.url}/video/${name}`);
      expect(`${name} ${r.status}`).toBe(`${name} 404`);
    }
    expect(readdirSync(dir.path)).toContain("private.mp4"); // other files are left alone
  });

  test.each([
    ["HTTP/1.0 without Host", "GET /time HTTP/1.0\r\n\r\n"],
    ["HTTP/1.1 with an empty Host", "GET /time HTTP/1.1\r\nHost: \r\nConnection: close\r\n\r\n"],
    ["a Host with a space", "GET /time HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n"],
    ["a Host that is half an IPv6 address", "GET /time HTTP/1.1\r\nHost: [::1\r\nConnection: close\r\n\r\n"],
  ])("%s is served, and not logged", async (_name, request) => {
    const before = server.stderr().length;
    for (let i = 0; i < 20; i++) {
      const r = parseAnswer(await exchange(server.port, request));
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body).nowMs).toBeGreaterThan(0);
    }
    const playlist = parseAnswer(await exchange(server.port, "GET /video/stream.m3u8 HTTP/1.0\r\n\r\n"));
    expect(playlist.status).toBe(200);
    expect(playlist.body.startsWith("#EXTM3U")).toBe(true);
    expect(server.stderr().slice(before)).not.toContain("http:");
  });
});

/** /health over a new connection (fetch would reuse one accepted before the fd table filled up). */
async function freshHealth(port: number): Promise<{ status: number; body: Record<string, any> }> {
  const r = parseAnswer(await exchange(port, "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", 2000));
  return { status: r.status, body: r.status ? JSON.parse(r.body) : {} };
}

test.each([
  [["--host", "256.1.1.1"], /host '256\.1\.1\.1' is not an address to listen on/, {}],
  [["--host", ""], /host '' is not an address to listen on/, {}],
  [["--host", "1.2.3"], /host '1\.2\.3' is not an address to listen on/, {}],
  [["--fps", "0x10"], /fps '0x10' is not a plain decimal number: use a whole number from 1 to 60/, {}],
  [["--fps", ""], /fps '' is not a plain decimal number/, {}],
  [["--port", "0x1388"], /port '0x1388' is not a plain decimal number/, {}],
  [["--port", "1", "--port", "2"], /port is given 2 times \(1, 2\): give it once/, {}],
  [["--segment", "1e0"], /segment duration '1e0' is not a plain decimal number/, {}],
  [["--crf", " 23"], /crf ' 23' is not a plain decimal number/, {}],
  [[], /fps '0x10' is not a plain decimal number/, { FPS: "0x10" }],
])("vat serve %p → exit 2 and one line", async (args, message, env) => {
  const port = (args as string[]).includes("--port") ? [] : ["--port", "0"];
  const r = await vat(["serve", ...port, ...(args as string[])], env as Record<string, string>);
  expect(r.exitCode).toBe(2);
  expect(r.stderr.trim().split("\n")).toHaveLength(1);
  expect(r.stderr).toMatch(message as RegExp);
});
