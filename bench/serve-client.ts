/**
 * Prints what vat costs: CPU-seconds per second of video for `vat serve` and `vat client` (each with its ffmpeg),
 * QR read time per frame at each size, and the delay the client's own pipeline adds after a segment has arrived.
 * Each size is served both live (rendered and encoded as it goes) and prerecorded (a video made beforehand by
 * `vat generate video`, looped without re-encoding), which answers whether live generation drags the server down.
 * Uses the compiled binary (bun run build). Not a test: run it on a quiet machine with `bun run bench`.
 *
 * With --quality the client also measures PSNR and SSIM of every frame (its cost is the client column's rise).
 *
 *   bun bench/serve-client.ts [--seconds 30] [--sizes 1080p,720p,480p,240p] [--fps 30] [--types live,prerecorded] [--quality]
 */
import { Database } from "bun:sqlite";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const VAT = resolve(import.meta.dir, "../dist/vat");
const CLK_TCK = 100;

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "30" },
    sizes: { type: "string", default: "1080p,720p,480p,240p" },
    fps: { type: "string", default: "30" },
    types: { type: "string", default: "live,prerecorded" },
    quality: { type: "boolean", default: false },
  },
});
const seconds = Number(values.seconds);
const fps = Number(values.fps);

/** utime + stime of a process and its live descendants, in seconds. */
function cpuSeconds(pid: number): number {
  let total = 0;
  const stat = (p: number) => {
    try {
      const s = readFileSync(`/proc/${p}/stat`, "utf8");
      const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
      return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) };
    } catch {
      return null;
    }
  };
  const all = readdirSync("/proc").filter((e) => /^\d+$/.test(e)).map(Number);
  const tree = new Set([pid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const p of all) {
      const s = stat(p);
      if (s && tree.has(s.ppid) && !tree.has(p)) {
        tree.add(p);
        grew = true;
      }
    }
  }
  for (const p of tree) total += stat(p)?.ticks ?? 0;
  return total / CLK_TCK;
}

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

async function waitLive(url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${url}/health`)).status === 200) return;
    } catch {}
    await Bun.sleep(100);
  }
  throw new Error(`${url} never went live`);
}

async function benchSize(size: string, type: string, port: number, dir: string) {
  const url = `http://127.0.0.1:${port}`;
  let source: string[] = [];
  if (type === "prerecorded") {
    // Made beforehand, as a user would: rendering it is not part of serving it.
    const video = join(dir, `${size}.mp4`);
    const g = Bun.spawnSync([VAT, "generate", "video", "--size", size, "--fps", String(fps), "--duration", "60s", "-o", video]);
    if (g.exitCode !== 0) throw new Error(`vat generate video failed: ${g.stderr.toString()}`);
    source = ["--video-type", "prerecorded", "--source", video];
  } else {
    source = ["--size", size, "--fps", String(fps)];
  }
  const server = Bun.spawn([VAT, "serve", "--host", "127.0.0.1", "--port", String(port), ...source], {
    stdout: "ignore",
    stderr: "ignore",
  });
  try {
    await waitLive(url);
    const db = join(dir, `${size}-${type}.db`);
    const c = Bun.spawn([VAT, "client", "--url", url, "--duration", `${seconds + 5}s`, "--db", db, "--json", ...(values.quality ? ["--quality"] : [])], {
      stdout: "pipe",
      stderr: "ignore",
    });
    await Bun.sleep(5000); // start-up (probing, first segment) is not the steady state
    const s0 = cpuSeconds(server.pid);
    const c0 = cpuSeconds(c.pid);
    const t0 = performance.now();
    await Bun.sleep(seconds * 1000);
    const wall = (performance.now() - t0) / 1000;
    const serveCpu = (cpuSeconds(server.pid) - s0) / wall;
    const clientCpu = (cpuSeconds(c.pid) - c0) / wall;
    const out = JSON.parse(await new Response(c.stdout).text());
    await c.exited;
    const d = new Database(db, { readonly: true });
    const frames = d.query("SELECT read_ms, decoded_at_ms - arrived_at_ms AS pipe_ms FROM frames WHERE kind <> 'unreadable'").all() as {
      read_ms: number;
      pipe_ms: number;
    }[];
    d.close();
    const read = frames.map((f) => f.read_ms);
    const pipe = frames.map((f) => f.pipe_ms);
    return {
      size,
      type: values.quality ? `${type} + quality` : type,
      serveCpu,
      clientCpu,
      readP50: pct(read, 50),
      readP95: pct(read, 95),
      pipeP50: pct(pipe, 50),
      pipeP90: pct(pipe, 90),
      over150: pipe.filter((v) => v > 150).length / pipe.length,
      fps: out.summary.fpsAchieved as number,
      unreadable: out.summary.unreadable as number,
    };
  } finally {
    server.kill("SIGTERM");
    await server.exited;
  }
}

if (!existsSync(VAT)) throw new Error(`${VAT} is missing: run 'bun run build' first`);
const dir = mkdtempSync(join(tmpdir(), "vat-bench-"));
const rows = [];
try {
  for (const size of values.sizes!.split(",")) {
    for (const type of values.types!.split(",")) {
      process.stderr.write(`benchmarking ${type} ${size}${fps} for ${seconds} s…\n`);
      rows.push(await benchSize(size, type, 5600 + rows.length, dir));
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const f = (v: number, d = 2) => v.toFixed(d);
console.log(`vat ${fps} fps, ${seconds} s steady state per size, ${navigator.hardwareConcurrency} cores`);
console.log("| size | video | serve CPU-s per video-s | client CPU-s per video-s | QR read ms p50 / p95 | client pipeline ms p50 / p90 | frames over 150 ms | achieved fps |");
console.log("|---|---|---|---|---|---|---|---|");
for (const r of rows) {
  console.log(
    `| ${r.size}${fps} | ${r.type} | ${f(r.serveCpu)} | ${f(r.clientCpu)} | ${f(r.readP50)} / ${f(r.readP95)} | ${f(r.pipeP50, 0)} / ${f(r.pipeP90, 0)} | ${f(r.over150 * 100, 1)} % | ${f(r.fps, 1)} |`,
  );
}

const live = new Map(rows.filter((r) => r.type.startsWith("live")).map((r) => [r.size, r.serveCpu]));
for (const r of rows.filter((x) => x.type.startsWith("prerecorded") && live.has(x.size))) {
  const l = live.get(r.size)!;
  console.log(`${r.size}${fps}: serving prerecorded costs ${f(r.serveCpu, 3)} CPU-s per video-s against ${f(l, 3)} live (${f((100 * r.serveCpu) / l, 0)} %)`);
}
