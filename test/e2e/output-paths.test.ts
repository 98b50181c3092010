import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { client, serve, tempDir, vat } from "../helpers/vat.ts";

/**
 * Where vat writes its results: a path that cannot take a file is refused in one line before any work, and a write
 * that fails on the way leaves nothing half written. Read-only is a read-only mount: the tests run as root, whom
 * a folder's mode does not stop.
 */
const tmp = tempDir("vat-outputs-");
const readOnly = join(tmp.path, "ro");
const tiny = join(tmp.path, "tiny");
const small = join(tmp.path, "small");
const work = join(tmp.path, "work");
const db = join(tmp.path, "study.db");
const mounted: string[] = [];

function mount(dir: string, options: string): void {
  mkdirSync(dir, { recursive: true });
  const r = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", options, "tmpfs", dir]);
  if (r.exitCode !== 0) throw new Error(`cannot mount a tmpfs at ${dir} (this test needs root): ${r.stderr.toString()}`);
  mounted.push(dir);
}

beforeAll(() => {
  mkdirSync(work, { recursive: true });
  // A prototype-format study: the smallest database a report can be made of.
  const d = new Database(db, { create: true });
  d.run("CREATE TABLE stream_params (cpu INTEGER, ram INTEGER, image_size INTEGER, fps INTEGER, video_type TEXT, analysis_number INTEGER)");
  d.run("CREATE TABLE stream_data (frame_number INTEGER, frame_number_received INTEGER, time_generated REAL, time_received REAL, analysis_number INTEGER)");
  d.run("INSERT INTO stream_params VALUES (1024, 2, 2, 30, 'LIVE', 1)");
  for (let n = 0; n < 60; n++) d.run("INSERT INTO stream_data VALUES (?, ?, ?, ?, 1)", [n, n, 1_700_000_000 + n / 30, 1_700_000_000.4 + n / 30]);
  d.close();
  writeFileSync(join(tmp.path, "a-file"), "x");
  mount(readOnly, "ro,size=1m");
  mount(tiny, "size=4k"); // writable, and too small for a report's page (tens of kB of charts)
  mount(small, "size=160k"); // room for a database and a few windows of frames, not for a run's worth
});

afterAll(() => {
  for (const dir of mounted.reverse()) Bun.spawnSync(["umount", dir]);
  tmp.cleanup();
});

function oneLine(stderr: string): string {
  const lines = stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]!).toStartWith("vat: ");
  return lines[0]!;
}

const at = (name: string) => name.replace("RO", readOnly).replace("WORK", work).replace("FILE", join(tmp.path, "a-file"));

describe("a path no file can be written at is refused before the work, exit 2, one line, nothing written", () => {
  test.each([
    [["report", "DB", "-o", "RO/r.html"], /cannot write '.*\/ro\/r\.html': the file system is read-only/],
    [["report", "DB", "-o", "WORK/r.html", "--csv", "RO/r.csv"], /cannot write '.*\/ro\/r\.csv': the file system is read-only/],
    [["report", "DB", "-o", "WORK"], /cannot write '.*\/work': it is a folder, name a file in it/],
    [["report", "DB", "-o", ""], /the report's path \(-o\) is empty: name the file to write/],
    [["report", "DB", "-o", "WORK/r.html", "--csv", ""], /the CSV's path \(--csv\) is empty/],
    [["report", "DB", "-o", "WORK/r.html", "--csv", "WORK"], /cannot write '.*\/work': it is a folder/],
    [["report", "DB", "-o", "WORK/r.html", "--csv", "FILE/r.csv"], /cannot write '.*a-file\/r\.csv': '.*a-file' is not a folder/],
    [["report", "DB", "-o", "WORK/r.html", "--csv", "WORK/r.html"], /-o and --csv both name '.*r\.html': give each its own file/],
    [["report", "DB", "-o", "WORK/none/r.html"], /cannot write '.*\/none\/r\.html': folder '.*\/none' does not exist/],
    [["generate", "sweep", "-o", "RO/sweep.txt"], /cannot write '.*\/ro\/sweep\.txt': the file system is read-only/],
    [["generate", "sweep", "-o", ""], /the sweep's path \(-o\) is empty/],
    [["generate", "sweep", "-o", "WORK"], /cannot write '.*\/work': it is a folder/],
    [["generate", "video", "-o", "RO/v.mp4", "--size", "240p", "--duration", "2s"], /cannot write '.*\/ro\/v\.mp4': the file system is read-only/],
    // The client's CSV folder is checked before it connects (the URL below never answers).
    [["client", "--url", "http://127.0.0.1:1", "--db", "WORK/c.db", "--csv", "RO/csv"], /cannot write '.*\/ro\/probe\.csv': the file system is read-only/],
    [["client", "--url", "http://127.0.0.1:1", "--db", "WORK/c.db", "--csv", "FILE"], /--csv '.*a-file' is a file: name a folder for the CSV files/],
    [["client", "--url", "http://127.0.0.1:1", "--db", ""], /--db is empty/],
    [["health", "--url", "notaurl"], /--url 'notaurl' is not a server address/],
  ])("vat %p", async (args, message) => {
    const r = await vat(args.map((a) => (a === "DB" ? db : at(a))));
    expect(oneLine(r.stderr)).toMatch(message);
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe("");
    expect(readdirSync(work)).toEqual([]);
    expect(readdirSync(readOnly)).toEqual([]);
  });
});

test("a write that fails on the way (no space left) is one line, exit 1, and leaves no part of either file", async () => {
  const r = await vat(["report", db, "-o", join(tiny, "r.html"), "--csv", join(tiny, "r.csv")]);
  expect(oneLine(r.stderr)).toMatch(/cannot write '.*\/tiny\/r\.html': no space left on the device/);
  expect(r.exitCode).toBe(1);
  expect(readdirSync(tiny)).toEqual([]);
});

describe("sweep lists that name nothing, or something twice, are refused: exit 2, one line, nothing written", () => {
  test.each([
    [["--fps", ""], "vat: --fps '' names no value: give a comma-separated list, e.g. 15,25,30"],
    [["--sizes", ","], "vat: --sizes ',' names no value: give a comma-separated list, e.g. 240p,720p"],
    [["--fps", "15,,30"], "vat: --fps '15,,30' has an empty value: give a comma-separated list, e.g. 15,25,30"],
    [["--sizes", "720p,2"], "vat: --sizes '720p,2' names 2 twice (as 720p): give each value once"],
    [["--cpu-memory", "512:1GB,"], "vat: --cpu-memory '1GB,' has an empty value: give a comma-separated list, e.g. 512:1GB,2GB"],
    [["--size", "720p"], "vat: --size is for 'vat generate video': use --sizes for a sweep"],
  ])("vat generate sweep %p", async (args, message) => {
    const out = join(work, "sweep.txt");
    const r = await vat(["generate", "sweep", ...args, "-o", out]);
    expect(oneLine(r.stderr)).toBe(message);
    expect(r.exitCode).toBe(2);
    expect(readdirSync(work)).toEqual([]);
  });
});

test("the client's database filling its disk mid-run: the windows stored are kept, the summary printed, one line, exit 1", async () => {
  const server = serve(["--size", "240p", "--fps", "25"]);
  try {
    await server.waitLive();
    const file = join(small, "run.db");
    const r = await client(["--url", server.url, "--db", file, "--window", "1s", "--duration", "30s", "--json"], { timeoutMs: 45_000 });
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim().split("\n").at(-1)).toMatch(/^vat: .*: the database cannot be written: database or disk is full$/);
    expect(r.stderr).not.toMatch(/SQLiteError|at .*\.ts:\d+/);
    expect(r.json!.summary.framesDecoded).toBeGreaterThan(0);
    const stored = new Database(file, { readonly: true });
    expect((stored.query("SELECT count(*) AS n FROM windows").get() as { n: number }).n).toBeGreaterThan(0);
    stored.close();
  } finally {
    await server.stop();
  }
}, 60_000);
