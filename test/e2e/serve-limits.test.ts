import { afterAll, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { childPids, eventually, health, serve } from "../helpers/vat.ts";

afterAll(() => {
  for (const s of held) s.destroy();
});

const held: Socket[] = [];

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
          held.push(s);
        }),
    ),
  );
}

function releaseConnections(): void {
  for (const s of held.splice(0)) s.destroy();
}

const openFds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;

test(
  "fd exhaustion: serve keeps retrying a restart that fails for lack of fds, and is live again once they are back",
  async () => {
    const server = serve(["--size", "240p", "--fps", "10"]);
    try {
      await server.waitLive();
      const pid = server.proc.pid;
      const limited = Bun.spawnSync(["prlimit", `--pid=${pid}`, "--nofile=256:256"]);
      expect(limited.exitCode).toBe(0);
      await holdConnections(server.port, 300);
      // Ground truth that the scenario happened: serve's fd table is full.
      await eventually(async () => openFds(pid), (n) => n >= 250, 5000);
      // The encoder dies while no fd is free: its restart cannot create pipes.
      const [ff] = childPids(pid);
      process.kill(ff!, "SIGKILL");
      await eventually(async () => server.stderr(), (t) => /could not start .*EMFILE/.test(t), 8000);
      await Bun.sleep(3000); // several failed attempts, each retried
      releaseConnections();
      const back = await eventually(() => health(server.url), (h) => h.status === 200, 20_000, 250);
      await eventually(() => health(server.url), (h) => h.body.sequence >= back.body.sequence + 2, 8000, 250);
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
