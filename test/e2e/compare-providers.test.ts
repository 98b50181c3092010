import { afterAll, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { HlsDelayRelay } from "../helpers/hls-delay-relay.ts";
import { startNginxRtmp } from "../helpers/nginx-rtmp.ts";
import { isRunning } from "../helpers/processes.ts";
import { startSrtProvider } from "../helpers/srt-provider.ts";
import { framesStored, spawnCompare } from "../helpers/compare-run.ts";
import { freePort, openDb, tempDir, vat } from "../helpers/vat.ts";

const tmp = tempDir("vat-compare-providers-");
afterAll(() => tmp.cleanup());

/** The client stamps an HLS arrival when a playlist poll finds it (every 50 ms): two arrivals differ by up to that. */
const POLL_MS = 50;
const SRT_LATENCY_MS = 400;
const RELAY_DELAY_MS = 1000;
/** What only the environment knows: it must appear in no output, no database, no argument list of vat compare. */
const STREAM_KEY = "k3y-from-env-only";
const PLAYBACK_TOKEN = "t0ken-from-env-only";

/** Every process below pid, now (children, grandchildren …), from one pass over /proc. */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone
    }
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length) {
    for (const c of children.get(queue.shift()!) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

/** Runs `vat compare` from the compiled binary, noting every process it started while it ran. */
function startCompare(args: string[], env: Record<string, string>) {
  const run = spawnCompare(args, env);
  const seen = new Set<number>();
  const watch = setInterval(() => {
    for (const p of descendants(run.proc.pid)) seen.add(p);
  }, 250);
  return {
    ...run,
    seen,
    async done(timeoutMs: number) {
      try {
        return await run.done(timeoutMs);
      } finally {
        clearInterval(watch);
      }
    },
  };
}

function providersToml(entries: Record<string, string | number | string[]>[]): string {
  return entries
    .map((e) => ["[[provider]]", ...Object.entries(e).map(([k, v]) => `${k} = ${JSON.stringify(v)}`)].join("\n"))
    .join("\n\n");
}

/** nginx's HLS URL, its key replaced by the environment reference (the key is in the path, as a provider's may be). */
function withKeyFromEnv(url: string): string {
  return url.replace(`/${STREAM_KEY}`, "/${STREAM_KEY}");
}

test(
  "nginx-rtmp (HLS, direct and through a relay adding 1.0 s, and its DASH), an SRT provider and one whose ingest refuses: two measured against the control, the relayed one 1.0 s behind, the third failed with why, nothing left running",
  async () => {
    const nginx = await startNginxRtmp({ streamKey: STREAM_KEY, fragmentS: 1 });
    const srt = await startSrtProvider({ latencyMs: SRT_LATENCY_MS, fragmentS: 1 });
    const relay = new HlsDelayRelay(nginx.hlsUrl, RELAY_DELAY_MS);
    const closedPort = freePort();
    const file = join(tmp.path, "providers.toml");
    writeFileSync(file, providersToml([
      {
        name: "nginx",
        ingest: withKeyFromEnv(nginx.ingestUrl),
        // The token is not needed by nginx (it ignores the query): it stands for a signed playback URL's secret.
        // Its HLS, the same through a relay adding a known delay, and its DASH: one provider's playbacks side by side.
        playback: [`${withKeyFromEnv(nginx.hlsUrl)}?token=\${PLAYBACK_TOKEN}`, withKeyFromEnv(relay.url), withKeyFromEnv(nginx.dashUrl)],
        price_per_minute_delivered: 0.001,
        price_per_gb: 0.05,
      },
      { name: "srt", ingest: srt.ingestUrl, playback: srt.hlsUrl, price_per_minute_delivered: 0.002 },
      { name: "refusing", ingest: `rtmp://127.0.0.1:${closedPort}/live/x`, playback: `http://127.0.0.1:${closedPort}/live.m3u8`, start_timeout: "6s" },
    ]));
    const db = join(tmp.path, "compare.db");
    const run = startCompare(
      [file, "--local", "--size", "240p", "--fps", "25", "--id", "cmpprov", "--duration", "20s", "--db", db, "--json"],
      { STREAM_KEY, PLAYBACK_TOKEN },
    );
    let out: Awaited<ReturnType<typeof run.done>>;
    try {
      out = await run.done(75_000);
    } finally {
      relay.stop();
      await Promise.all([nginx.stop(), srt.stop()]);
    }
    expect(out.exitCode).toBe(0);
    const report = JSON.parse(out.stdout);
    const byRole = Object.fromEntries(report.providers.map((p: any) => [p.role, p]));
    expect(Object.keys(byRole).sort()).toEqual(["nginx/1", "nginx/2", "nginx/3", "refusing", "srt"]);
    expect(report.control.result.summary).toMatchObject({ dropped: 0, unreadable: 0 });
    for (const role of ["nginx/1", "nginx/2", "nginx/3", "srt"]) {
      const p = byRole[role];
      expect(p.status).toBe("measured");
      expect(p.dropped).toBe(0);
      expect(p.matchedShare).toBeGreaterThanOrEqual(0.99);
      expect(p.framesNew).toBeGreaterThan(300);
    }
    const fragmentMs = nginx.fragmentS * 1000;
    for (const role of ["nginx/1", "nginx/3", "srt"]) {
      // Behind the control by no more than a fragment and a second; ahead only by the precision of an arrival.
      expect(byRole[role].relativeLatencyP50Ms).toBeGreaterThanOrEqual(-POLL_MS);
      expect(byRole[role].relativeLatencyP95Ms).toBeLessThanOrEqual(fragmentMs + 1000);
    }
    expect(byRole["nginx/1"].relativeLatencyP50Ms).toBeLessThan(fragmentMs);
    expect(byRole.srt.relativeLatencyP50Ms).toBeGreaterThanOrEqual(SRT_LATENCY_MS - POLL_MS);
    // The relay's known delay, measured as the difference between the same provider's two playbacks.
    const added = byRole["nginx/2"].relativeLatencyP50Ms - byRole["nginx/1"].relativeLatencyP50Ms;
    expect(Math.abs(added - RELAY_DELAY_MS)).toBeLessThanOrEqual(50);
    // Ranked by latency: measured ones by relative p50, the failed one last.
    const order = report.providers.map((p: any) => p.role);
    expect(order.indexOf("nginx/2")).toBeGreaterThan(order.indexOf("nginx/1"));
    expect(order.at(-1)).toBe("refusing");
    const p50s = report.providers.slice(0, 4).map((p: any) => p.relativeLatencyP50Ms);
    expect(p50s).toEqual([...p50s].sort((a: number, b: number) => a - b));
    const refusing = byRole.refusing;
    expect(refusing.status).toBe("failed");
    expect(refusing.reason).toContain("Connection refused");
    expect(refusing.reason).toContain("within 6 s");
    expect(refusing.reason).toContain(`http://127.0.0.1:${closedPort}/live.m3u8`);
    // Cost from the file's prices: per minute delivered, plus per GB at the measured bitrate.
    const n1 = byRole["nginx/1"];
    expect(n1.bitrateKbps).toBeGreaterThan(0);
    expect(n1.costPerHourUsd).toBeCloseTo(0.001 * 60 + (0.05 * n1.bitrateKbps * 1000 / 8 * 3600) / 1e9, 10);
    expect(byRole.srt.costPerHourUsd).toBeCloseTo(0.12, 10);
    // Stored: the runs carry the provider's role; the providers' table says how each went; no secret anywhere.
    const d = openDb(db);
    const runs = d.query("SELECT role, stream_id, comparison_id FROM runs ORDER BY id").all() as any[];
    expect(runs.map((r) => r.role)).toEqual(["control", "nginx/1", "nginx/2", "nginx/3", "srt"]);
    expect(new Set(runs.map((r) => r.comparison_id))).toEqual(new Set([report.comparisonId]));
    const rows = d.query("SELECT role, name, status, reason, run_id, playback_redacted, ingest_redacted FROM compare_providers ORDER BY role").all() as any[];
    d.close();
    expect(rows.map((r) => [r.role, r.name, r.status])).toEqual([
      ["nginx/1", "nginx", "measured"], ["nginx/2", "nginx", "measured"], ["nginx/3", "nginx", "measured"], ["refusing", "refusing", "failed"],
      ["srt", "srt", "measured"],
    ]);
    expect(rows.find((r) => r.role === "refusing").run_id).toBeNull();
    expect(rows.find((r) => r.role === "nginx/1").ingest_redacted).toBe(nginx.ingestUrl.replace(STREAM_KEY, "***"));
    for (const secret of [STREAM_KEY, PLAYBACK_TOKEN]) {
      for (const f of [db, `${db}-wal`]) if (existsSync(f)) expect(readFileSync(f).includes(secret)).toBe(false);
      expect(out.stdout).not.toContain(secret);
      expect(out.stderr).not.toContain(secret);
    }
    expect(run.seen.size).toBeGreaterThanOrEqual(2); // vat serve and its encoder at least
    for (const pid of [...run.seen, run.proc.pid]) expect(isRunning(pid)).toBe(false);
  },
  100_000,
);

test(
  "a multivariant playback measured at the variant the file names; SIGTERM mid-run: exit 143, the origin, its push and every decoder gone, the database holds what was measured",
  async () => {
    const nginx = await startNginxRtmp({ streamKey: "term", fragmentS: 1 });
    // A ladder whose first variant (the one a client takes by default) leads nowhere: only the chosen one is nginx's.
    const ladder = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: () =>
        new Response(
          `#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=3000000,RESOLUTION=1280x720\nhttp://127.0.0.1:${freePort()}/720p.m3u8\n` +
            `#EXT-X-STREAM-INF:BANDWIDTH=600000,RESOLUTION=426x240\n${nginx.hlsUrl}\n`,
        ),
    });
    const file = join(tmp.path, "term.toml");
    writeFileSync(file, providersToml([
      { name: "nginx", ingest: nginx.ingestUrl, playback: `http://127.0.0.1:${ladder.port}/master.m3u8`, variant: "240p" },
    ]));
    const db = join(tmp.path, "term.db");
    const run = startCompare([file, "--local", "--size", "240p", "--fps", "25", "--duration", "60s", "--db", db], {});
    let out: Awaited<ReturnType<typeof run.done>>;
    try {
      // Measuring, and the provider's frames reaching the database, before the signal.
      await framesStored(db, "nginx", 50);
      run.proc.kill("SIGTERM");
      out = await run.done(20_000);
    } finally {
      ladder.stop(true);
      await nginx.stop();
    }
    expect(out.exitCode).toBe(143);
    expect(run.seen.size).toBeGreaterThanOrEqual(2);
    for (const pid of [...run.seen, run.proc.pid]) expect(isRunning(pid)).toBe(false);
    expect(out.stdout).toContain("nginx");
    const d = openDb(db);
    const runs = d.query("SELECT id, role, playlist_url FROM runs ORDER BY id").all() as { id: number; role: string; playlist_url: string }[];
    expect(runs.map((r) => r.role)).toEqual(["control", "nginx"]);
    expect(runs[1]!.playlist_url).toBe(nginx.hlsUrl);
    const frames = d.query("SELECT COUNT(*) AS n FROM frames WHERE run_id = ?").get(runs[1]!.id) as { n: number };
    expect(frames.n).toBeGreaterThanOrEqual(50);
    const row = d.query("SELECT status, run_id FROM compare_providers").get() as { status: string; run_id: number };
    const compared = d.query("SELECT frames_matched FROM comparisons WHERE run_id = ?").get(runs[1]!.id) as { frames_matched: number };
    d.close();
    expect(row).toEqual({ status: "measured", run_id: runs[1]!.id });
    expect(compared.frames_matched).toBeGreaterThan(0);
  },
  90_000,
);

test("bad input: one line each, exit 2, nothing started (no ingest contacted, no database written)", async () => {
  let connections = 0;
  const ingest = createServer((sock) => {
    connections++;
    sock.destroy();
  });
  await new Promise<void>((r) => ingest.listen(0, "127.0.0.1", r));
  const port = (ingest.address() as { port: number }).port;
  const good = { name: "good", ingest: `rtmp://127.0.0.1:${port}/live/k`, playback: "http://127.0.0.1:1/x.m3u8" };
  const cases: { name: string; text: string; args?: string[]; expected: RegExp }[] = [
    { name: "syntax.toml", text: `${providersToml([good])}\n[[provider]\nname = "x"\n`, expected: /syntax\.toml, line 5, column 12: not valid TOML/ },
    { name: "unknown-key.toml", text: providersToml([{ ...good, playbak: "http://x/y.m3u8" }]), expected: /unknown key 'playbak'/ },
    { name: "no-playback.toml", text: providersToml([{ name: "good", ingest: good.ingest }]), expected: /missing playback/ },
    { name: "scheme.toml", text: providersToml([{ ...good, ingest: "http://127.0.0.1/live" }]), expected: /ingest http:\/\/127\.0\.0\.1\/live is not supported: use an rtmp:\/\/, rtmps:\/\/ or srt:\/\/ URL/ },
    { name: "env.toml", text: providersToml([{ ...good, ingest: "rtmp://127.0.0.1/live/${VAT_TEST_NEVER_SET}" }]), expected: /environment variable VAT_TEST_NEVER_SET is not set/ },
    { name: "rank.toml", text: providersToml([good]), args: ["--rank", "speed"], expected: /--rank 'speed' is not valid: use latency, stalls, drops, quality, cost/ },
    { name: "duration.toml", text: providersToml([good]), args: ["--duration", "soon"], expected: /duration 'soon' is not a duration/ },
  ];
  try {
    for (const c of cases) {
      const file = join(tmp.path, c.name);
      writeFileSync(file, c.text);
      const db = join(tmp.path, `${c.name}.db`);
      const r = await vat(["compare", file, "--local", "--db", db, ...(c.args ?? [])]);
      expect({ name: c.name, exitCode: r.exitCode }).toEqual({ name: c.name, exitCode: 2 });
      expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(c.expected);
      expect(r.stdout).toBe("");
      expect(existsSync(db)).toBe(false);
    }
    // A --db that is not an SQLite database is refused the same way, and left as it was.
    const notDb = join(tmp.path, "notes.txt");
    writeFileSync(notDb, "not a database\n");
    const file = join(tmp.path, "good.toml");
    writeFileSync(file, providersToml([good]));
    const r = await vat(["compare", file, "--local", "--db", notDb]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe(`vat: cannot use database '${notDb}': it is not an SQLite database\n`);
    expect(readFileSync(notDb, "utf8")).toBe("not a database\n");
    expect(connections).toBe(0);
  } finally {
    ingest.close();
  }
}, 30_000);
