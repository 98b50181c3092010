import { afterAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { serve, spawnVat } from "../helpers/vat.ts";

// An origin that takes requests and never answers them: the client waits out its connect timeout meanwhile.
const silent = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Promise<Response>(() => {}) });
afterAll(() => silent.stop(true));

function environOf(pid: number): Map<string, string> {
  const m = new Map<string, string>();
  for (const kv of readFileSync(`/proc/${pid}/environ`, "utf8").split("\0")) {
    const at = kv.indexOf("=");
    if (at > 0) m.set(kv.slice(0, at), kv.slice(at + 1));
  }
  return m;
}

/**
 * The variable as the running process has it 2 s after it was started (by then it has started itself again, in the
 * same pid, and waits on the silent origin until its 3 s connect timeout), with the environment given.
 */
async function purgeSetting(env: Record<string, string>): Promise<{ value: string | undefined; code: number; stderr: string }> {
  const p = spawnVat(["client", "--url", `http://127.0.0.1:${silent.port}/video/stream.m3u8`, "--connect-timeout", "3s", "--duration", "5s"], { env });
  await Bun.sleep(2000);
  const value = environOf(p.pid).get("MIMALLOC_PURGE_DELAY");
  const code = await p.exited;
  return { value, code, stderr: await new Response(p.stderr).text() };
}

test("vat client runs with the allocator's purging off, as the same process with the same arguments", async () => {
  // Unset here, whatever the environment running the tests holds (spawnVat starts from it).
  const had = process.env.MIMALLOC_PURGE_DELAY;
  delete process.env.MIMALLOC_PURGE_DELAY;
  let r: Awaited<ReturnType<typeof purgeSetting>>;
  try {
    r = await purgeSetting({});
  } finally {
    if (had !== undefined) process.env.MIMALLOC_PURGE_DELAY = had;
  }
  expect(r.value).toBe("-1");
  // Its arguments came through: it waited for this origin, for the connect timeout it was given.
  expect(r.code).not.toBe(0);
  expect(r.stderr).toContain(`127.0.0.1:${silent.port}`);
}, 20_000);

test("a value the user set is kept", async () => {
  const r = await purgeSetting({ MIMALLOC_PURGE_DELAY: "100" });
  expect(r.value).toBe("100");
  expect(r.code).not.toBe(0);
}, 20_000);

test("vat serve runs with it too, as the same process: it serves and stops on SIGTERM as ever", async () => {
  const had = process.env.MIMALLOC_PURGE_DELAY;
  delete process.env.MIMALLOC_PURGE_DELAY;
  let s: ReturnType<typeof serve>;
  try {
    s = serve(["--size", "240p"]);
  } finally {
    if (had !== undefined) process.env.MIMALLOC_PURGE_DELAY = had;
  }
  try {
    await s.waitLive(15_000);
    expect(environOf(s.proc.pid).get("MIMALLOC_PURGE_DELAY")).toBe("-1");
  } finally {
    expect(await s.stop()).toBe(0);
  }
}, 30_000);
