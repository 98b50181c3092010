import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { client, freePort, serve, tempDir, vat } from "../helpers/vat.ts";

const tmp = tempDir();
afterAll(() => tmp.cleanup());

function oneLine(stderr: string): string {
  const lines = stderr.trim().split("\n");
  expect(lines.length).toBe(1);
  expect(lines[0]!.startsWith("vat: ")).toBe(true);
  return lines[0]!;
}

test.each([
  [["serve", "--size", "4k"], /unknown image size '4k': use one of 240p, 480p, 720p, 1080p/, {}],
  [["serve", "--fps", "0"], /fps '0' is out of range: use a whole number from 1 to 60/, {}],
  [["serve"], /fps '120' is out of range/, { FPS: "120" }],
  [["serve"], /unknown image size '7'/, { IMAGE_SIZE: "7" }],
  [["serve", "--port", "99999"], /port '99999' is not valid/, {}],
  [["serve"], /VAT_FFMPEG points to '\/nonexistent\/ffmpeg'/, { VAT_FFMPEG: "/nonexistent/ffmpeg" }],
  [["client"], /give the stream with --url/, {}],
  [["client", "--url", "http://127.0.0.1:1", "--window", "0.2s"], /window '0.2s' is out of range: use 1s to 1h/, {}],
  [["client", "--url", "http://127.0.0.1:1", "--duration", "soon"], /duration 'soon' is not a duration/, {}],
  [["frobnicate"], /Unknown argument: frobnicate/, {}],
  [["serve", "--colour", "red"], /Unknown arguments?: colou?r/, {}],
])("vat %p → exit 2 and one line", async (args, message, env) => {
  const r = await vat(args as string[], env as Record<string, string>);
  expect(r.exitCode).toBe(2);
  expect(oneLine(r.stderr)).toMatch(message as RegExp);
  expect(r.stdout).toBe("");
});

test("vat generate sweep: the committed slurm_inputs.txt is its default output; bad pairs refused; files written whole", async () => {
  const committed = await Bun.file(new URL("../../slurm_inputs.txt", import.meta.url).pathname).text();
  const out = await vat(["generate", "sweep"]);
  expect(out.exitCode).toBe(0);
  expect(out.stdout).toBe(committed);
  const file = join(tmp.path, "sweep.txt");
  const w = await vat(["generate", "sweep", "--sizes", "720p", "--fps", "30", "--cpu-memory", "1024:2GB,8GB", "--format", "vat", "-o", file]);
  expect(w.exitCode).toBe(0);
  expect(await Bun.file(file).text()).toBe("720p 30 1024 2GB task_0\n720p 30 1024 8GB task_1\n");
  const bad = await vat(["generate", "sweep", "--cpu-memory", "512:1GB", "2048:2GB", "-o", file]);
  expect(bad.exitCode).toBe(2);
  expect(oneLine(bad.stderr)).toBe("vat: memory 2048 MiB does not go with cpu 2048 on Fargate: use 4GB to 16GB in steps of 1GB");
  expect(await Bun.file(file).text()).toBe("720p 30 1024 2GB task_0\n720p 30 1024 8GB task_1\n"); // untouched
  // A sweep of providers: each providers file compared at every configuration (the vat format has the field for it).
  const cdns = await vat(["generate", "sweep", "--sizes", "240p", "--fps", "25", "--cpu-memory", "512:1GB", "--providers", "a.toml,b.json", "--format", "vat"]);
  expect(cdns.exitCode).toBe(0);
  expect(cdns.stdout).toBe("240p 25 512 1GB task_0 a.toml\n240p 25 512 1GB task_1 b.json\n");
  const old = await vat(["generate", "sweep", "--providers", "a.toml"]);
  expect(old.exitCode).toBe(2);
  expect(oneLine(old.stderr)).toMatch(/the old sweep format has no providers field: use --format vat/);
  const none = await vat(["generate"]);
  expect(none.exitCode).toBe(2);
  expect(oneLine(none.stderr)).toMatch(/name what to generate: vat generate sweep/);
});

test("a URL that never answers: retries until --connect-timeout, then one line, exit 2, no database", async () => {
  const db = join(tmp.path, "never.db");
  const port = freePort();
  const t0 = performance.now();
  const r = await client(["--url", `http://127.0.0.1:${port}`, "--connect-timeout", "2s", "--db", db]);
  const took = performance.now() - t0;
  expect(r.exitCode).toBe(2);
  expect(oneLine(r.stderr)).toMatch(/no stream at http:\/\/127\.0\.0\.1:\d+\/video\/stream\.m3u8: connection refused for 2 s/);
  expect(took).toBeGreaterThan(1900);
  expect(existsSync(db)).toBe(false);
});

test("a URL that answers but is not a stream: one line, exit 2, no database", async () => {
  const html = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("<html>hello</html>") });
  const missing = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("no", { status: 404 }) });
  try {
    const db = join(tmp.path, "html.db");
    const a = await client(["--url", `http://127.0.0.1:${html.port}`, "--db", db]);
    expect(a.exitCode).toBe(2);
    expect(oneLine(a.stderr)).toMatch(/answers but is not a stream: not an HLS playlist/);
    const b = await client(["--url", `http://127.0.0.1:${missing.port}/live.m3u8`, "--connect-timeout", "1s", "--db", db]);
    expect(b.exitCode).toBe(2);
    expect(oneLine(b.stderr)).toMatch(/answers but has no stream \(HTTP 404 for 1 s\)/);
    expect(existsSync(db)).toBe(false);
  } finally {
    html.stop(true);
    missing.stop(true);
  }
});

test("frames without a code are counted as unreadable, never a crash, and never a success (a file read through ffmpeg)", async () => {
  const file = join(tmp.path, "plain.mp4");
  const made = Bun.spawnSync([
    "ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-t", "3", "-c:v", "libx264",
    "-preset", "ultrafast", file,
  ]);
  expect(made.exitCode).toBe(0);
  const db = join(tmp.path, "plain.db");
  const r = await client(["--url", file, "--db", db, "--json"]);
  expect(r.exitCode).toBe(1);
  expect(r.json!.summary).toMatchObject({ framesDecoded: 75, unreadable: 75, framesNew: 0 });
  expect(r.json!.stopReason).toBe("end of stream");
  // The run's own log lines come first; the verdict is the last line.
  expect(r.stderr.trim().split("\n").at(-1)).toMatch(/^vat: .*plain\.mp4: none of the 75 frames decoded carried a readable vat code$/);
  const stored = new Database(db, { readonly: true });
  expect(stored.query("SELECT status FROM runs").get()).toEqual({ status: "failed: none of the 75 frames decoded carried a readable vat code" });
  stored.close();
});

test("a file that is not a video: one line, exit 2", async () => {
  const file = join(tmp.path, "notes.txt");
  await Bun.write(file, "just text\n");
  const db = join(tmp.path, "txt.db");
  const r = await client(["--url", file, "--db", db]);
  expect(r.exitCode).toBe(2);
  expect(oneLine(r.stderr)).toMatch(/cannot read '.*notes\.txt'/);
  expect(existsSync(db)).toBe(false);
});

test("a port already in use: one line, exit 1", async () => {
  const busy = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  try {
    const s = serve([], { port: busy.port! });
    expect(await s.proc.exited).toBe(1);
    expect(oneLine(s.stderr())).toMatch(/cannot listen on 127\.0\.0\.1:\d+/);
  } finally {
    busy.stop(true);
  }
});

test("--version and --help", async () => {
  const v = await vat(["--version"]);
  expect(v.exitCode).toBe(0);
  expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  const h = await vat(["--help"]);
  expect(h.exitCode).toBe(0);
  for (const cmd of ["serve", "client", "launch", "generate", "report"]) expect(h.stdout).toContain(`vat ${cmd}`);
  const s = await vat(["serve", "--help"]);
  expect(s.exitCode).toBe(0);
  for (const opt of ["--fps", "--image-size", "--id", "--port", "--segment"]) expect(s.stdout).toContain(opt);
  const c = await vat(["client", "--help"]);
  for (const opt of ["--url", "--db", "--window", "--frame-limit", "--duration", "--csv", "--no-clock-sync", "--no-frames", "--json"]) {
    expect(c.stdout).toContain(opt);
  }
});
