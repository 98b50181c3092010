import { Database } from "bun:sqlite";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";

/** The compiled executable under test: `bun run build` makes it (the test script does so first). */
export const VAT = resolve(import.meta.dir, "../../dist/vat");

const running = new Set<Subprocess<any, any, any>>();

/**
 * Runs the compiled binary. Every process is tracked, so that one a failing test left running is killed when the
 * suite ends (test/helpers/cleanup.ts) instead of loading the machine for the tests after it.
 */
export function spawnVat(args: string[], opts: { env?: Record<string, string>; stdin?: "ignore"; nice?: number } = {}) {
  requireBinary();
  // A niceness is set before the binary starts (by nice(1)), so the decoders it spawns inherit it.
  const argv = opts.nice === undefined ? [VAT, ...args] : ["nice", "-n", String(opts.nice), VAT, ...args];
  const p = Bun.spawn(argv, {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, ...opts.env },
  });
  running.add(p);
  void p.exited.then(() => running.delete(p));
  return p;
}

export function killStragglers(): void {
  for (const p of running) p.kill("SIGKILL");
}

export function requireBinary(): void {
  if (!existsSync(VAT)) throw new Error(`${VAT} is missing: run 'bun run build' (or 'npm test', which builds first)`);
}

export function tempDir(prefix = "vat-e2e-"): { path: string; cleanup(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** A TCP port nothing listens on right now. */
export function freePort(): number {
  const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = s.port!;
  s.stop(true);
  return port;
}

export interface Served {
  proc: ReturnType<typeof spawnVat>;
  port: number;
  url: string;
  stderr: () => string;
  /** Resolves when /health says live; rejects after timeoutMs. Returns ms from spawn to live. */
  waitLive(timeoutMs?: number): Promise<number>;
  stop(signal?: NodeJS.Signals): Promise<number>;
}

/** Starts `vat serve` from the compiled binary on 127.0.0.1. */
export function serve(args: string[], opts: { port?: number; env?: Record<string, string> } = {}): Served {
  requireBinary();
  const port = opts.port ?? freePort();
  const spawnedAt = performance.now();
  const proc = spawnVat(["serve", "--host", "127.0.0.1", "--port", String(port), ...args], { env: opts.env ?? {} });
  let err = "";
  void (async () => {
    const dec = new TextDecoder();
    for await (const chunk of proc.stderr) err += dec.decode(chunk);
  })();
  const url = `http://127.0.0.1:${port}`;
  return {
    proc,
    port,
    url,
    stderr: () => err,
    async waitLive(timeoutMs = 10_000) {
      const deadline = performance.now() + timeoutMs;
      while (performance.now() < deadline) {
        if (proc.exitCode !== null) throw new Error(`vat serve exited (${proc.exitCode}): ${err}`);
        try {
          const r = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
          if (r.status === 200) return performance.now() - spawnedAt;
        } catch {
          // not listening yet
        }
        await Bun.sleep(50);
      }
      throw new Error(`vat serve not live after ${timeoutMs} ms: ${err}`);
    },
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      if (proc.exitCode === null) proc.kill(signal);
      return await proc.exited;
    },
  };
}

export interface ClientRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  json: Record<string, any> | null;
}

/** Runs `vat client` from the compiled binary to completion (at a lower CPU priority when given a niceness). */
export async function client(args: string[], opts: { env?: Record<string, string>; timeoutMs?: number; nice?: number } = {}): Promise<ClientRun> {
  requireBinary();
  const proc = spawnVat(["client", ...args], { env: opts.env ?? {}, nice: opts.nice });
  const timer = setTimeout(() => proc.kill("SIGKILL"), opts.timeoutMs ?? 120_000);
  const [stdout, stderr, exitCode] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  let json: Record<string, any> | null = null;
  if (args.includes("--json")) {
    try {
      json = JSON.parse(stdout);
    } catch {
      json = null;
    }
  }
  return { exitCode, stdout, stderr, json };
}

/** Runs the binary with any arguments. */
export async function vat(args: string[], env: Record<string, string> = {}): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const proc = spawnVat(args, { env });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { exitCode, stdout, stderr };
}

/** A GET with the path sent byte for byte (fetch would normalise `..` away before it left). */
export function rawGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolvePromise, reject) => {
    const sock = connect(port, "127.0.0.1", () => {
      sock.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    });
    let data = "";
    sock.setEncoding("latin1");
    sock.on("data", (d: string) => (data += d));
    sock.on("error", reject);
    sock.on("close", () => {
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(data);
      resolvePromise({ status: m ? Number(m[1]) : 0, body: data.slice(data.indexOf("\r\n\r\n") + 4) });
    });
  });
}

export function openDb(path: string): Database {
  return new Database(path, { readonly: true });
}

/**
 * What a measurement's database says of each run, for a failure's message: role, frames, drops, stalls, latency and
 * every event but stream-info (a missing segment, a part seen late, an outage).
 */
export function runStory(path: string): string {
  const d = openDb(path);
  const runs = d.query("SELECT id, role, summary_json AS s FROM runs ORDER BY id").all() as { id: number; role: string | null; s: string | null }[];
  const events = d.query("SELECT run_id AS run, kind, at_ms AS at, detail FROM events WHERE kind != 'stream-info' ORDER BY at_ms").all() as
    { run: number; kind: string; at: number; detail: string }[];
  d.close();
  const lines = runs.map((r) => {
    const s = r.s ? (JSON.parse(r.s) as Record<string, number | null>) : {};
    return `run ${r.id} (${r.role ?? "-"}): ${s.framesNew} new, ${s.dropped} dropped, ${s.unreadable} unreadable, ${s.stalls} stalls, latency p50 ${s.latencyP50Ms} ms`;
  });
  for (const e of events) lines.push(`run ${e.run} ${e.kind} at ${e.at}: ${e.detail}`);
  return lines.join("\n");
}

/** Frames per segment as ffprobe counts them: ground truth that does not go through vat's own parser. */
export function ffprobeFrames(file: string): number {
  const r = Bun.spawnSync([
    "ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries", "stream=nb_read_frames",
    "-of", "csv=p=0", file,
  ]);
  const n = Number(r.stdout.toString().trim().split(/\s+/)[0] || NaN);
  // A count that ffprobe did not give is no ground truth: say what it said instead of counting 0.
  if (r.exitCode !== 0 || !Number.isInteger(n)) {
    throw new Error(`ffprobe counted no frames in ${file} (${statSync(file).size} bytes, exit ${r.exitCode}): ${r.stderr.toString().trim().slice(0, 500)}`);
  }
  return n;
}

/** Child processes of pid (from /proc), e.g. the ffmpeg a `vat serve` runs. */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // gone
    }
  }
  return out;
}

export async function health(url: string): Promise<{ status: number; body: Record<string, any> }> {
  const r = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
  return { status: r.status, body: (await r.json()) as Record<string, any> };
}

/** Polls until check() is true; fails with what was last seen after timeoutMs. */
export async function eventually<T>(probe: () => Promise<T>, check: (v: T) => boolean, timeoutMs: number, stepMs = 100): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let last: T | undefined;
  while (performance.now() < deadline) {
    try {
      last = await probe();
      if (check(last)) return last;
    } catch (err) {
      last = err as T;
    }
    await Bun.sleep(stepMs);
  }
  throw new Error(`condition not met within ${timeoutMs} ms; last seen: ${JSON.stringify(last)}`);
}

/** Frames a `vat serve` skipped, by its own log, when it fell behind its clock (a loaded machine, or a pause). */
export function skippedByOrigin(server: { stderr(): string }): number {
  return [...server.stderr().matchAll(/fell (\d+) frames behind the clock; skipped them/g)].reduce((n, m) => n + Number(m[1]), 0);
}
