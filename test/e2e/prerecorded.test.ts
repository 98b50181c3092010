import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { client, openDb, serve, tempDir, vat, VAT } from "../helpers/vat.ts";

const tmp = tempDir();
afterAll(() => tmp.cleanup());

/** Frames and keyframes of a file, as ffprobe counts them. */
function probe(file: string): { frames: number; keyframes: number; width: number; height: number; rate: string } {
  const run = (extra: string[]) =>
    spawnSync("ffprobe", ["-v", "error", ...extra, "-select_streams", "v:0", "-count_frames", "-show_entries",
      "stream=nb_read_frames,width,height,r_frame_rate", "-of", "json", file]);
  const all = JSON.parse(run([]).stdout.toString()).streams[0];
  const keys = JSON.parse(run(["-skip_frame", "nokey"]).stdout.toString()).streams[0];
  return { frames: Number(all.nb_read_frames), keyframes: Number(keys.nb_read_frames), width: all.width, height: all.height, rate: all.r_frame_rate };
}

describe("vat generate video", () => {
  const video = join(tmp.path, "signal.mp4");
  let result: Awaited<ReturnType<typeof vat>>;

  test("renders the test signal and its description, with progress in the log", async () => {
    result = await vat(["generate", "video", "--size", "480p", "--fps", "25", "--duration", "6s", "--id", "pre", "-o", video]);
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toMatch(/rendering .*signal\.mp4: 150\/150 frames \(100%\)/);
    expect(result.stderr).toContain("signal.json");
  }, 60_000);

  test("the file is what the description says: 854x480, 25 fps, 150 frames, a keyframe every second", () => {
    const truth = probe(video);
    expect(truth).toEqual({ frames: 150, keyframes: 6, width: 854, height: 480, rate: "25/1" });
    const d = JSON.parse(readFileSync(join(tmp.path, "signal.json"), "utf8"));
    expect(d).toMatchObject({ kind: "vat-test-signal", signalId: "pre", size: "480p", width: 854, height: 480, fps: 25, frames: 150, durationS: 6, keyframeIntervalS: 1, codec: "h264", video: "signal.mp4" });
    expect(d.bytes).toBe(Bun.file(video).size);
  });

  test("frame n's code says: signal id, n, its time from the video's start, frames in the video", async () => {
    // vat client reads the file itself (no playlist: numbers come from the payload, and no time is known).
    const db = join(tmp.path, "file.db");
    const run = await client(["--url", video, "--db", db, "--json", "--no-clock-sync"]);
    expect(run.exitCode).toBe(0);
    expect(run.json!.summary).toMatchObject({ framesDecoded: 150, framesNew: 150, dropped: 0, unreadable: 0, latencyP50Ms: null });
    const d = openDb(db);
    const rows = d.query("SELECT frame_number AS n, generated_at_ms AS g FROM frames ORDER BY idx").all() as { n: number; g: number | null }[];
    expect(rows.map((r) => r.n)).toEqual(Array.from({ length: 150 }, (_, i) => i));
    expect(rows.every((r) => r.g === null)).toBe(true); // a file alone says nothing about when it was shown
    d.close();
  }, 30_000);

  test("on a terminal, progress is one line that updates in place", () => {
    const log = join(tmp.path, "tty.log");
    const cmd = `${VAT} generate video --size 240p --fps 30 --duration 20s -o ${join(tmp.path, "tty.mp4")}`;
    const s = spawnSync("script", ["-qefc", cmd, log]);
    expect(s.status).toBe(0);
    const screen = readFileSync(log, "utf8");
    expect(screen).toMatch(/\r\x1b\[2Krendering .*tty\.mp4: \d+\/600 frames \(\d+%\), [\d.]+x real time/);
    expect(screen).not.toMatch(/^\d{4}-\d\d-\d\dT/m); // no log lines on a terminal
  }, 60_000);

  test.each([
    [["--size", "480p"], /name the video to write: vat generate video -o signal\.mp4/],
    [["-o", "x.avi"], /cannot tell the format of 'x\.avi': end the name in \.mp4, \.mov, \.mkv, \.ts/],
    [["-o", "x.mp4", "--duration", "0s"], /duration '0s' must be more than zero/],
    [["-o", "x.mp4", "--fps", "90"], /fps '90' is out of range/],
    [["-o", "x.mp4", "--duration", "100h", "--fps", "60"], /has 21600000 frames: use 1 to 9999999 frames/],
    [["-o", "no/such/dir/x.mp4"], /folder 'no\/such\/dir' does not exist/],
    [["-o", "x.mp4", "--sizes", "240p"], /--sizes and --cpu-memory are for 'vat generate sweep'/],
  ])("%p is refused in one line, exit 2, nothing written", async (args, message) => {
    const dir = tempDir("vat-gen-bad-");
    try {
      const r = await vat(["generate", "video", ...args.map((a) => (a.endsWith(".mp4") && !a.includes("/") ? join(dir.path, a) : a))]);
      expect(r.exitCode).toBe(2);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(message);
      expect(readdirSync(dir.path)).toEqual([]);
    } finally {
      dir.cleanup();
    }
  });
});

describe("vat serve --video-type prerecorded → vat client", () => {
  const video = join(tmp.path, "loop.mp4");
  let r: { json: any; db: string; params: any };

  test("runs for 22 s over almost four loops of a 6 s video", async () => {
    const g = await vat(["generate", "video", "--size", "480p", "--fps", "25", "--duration", "6s", "--id", "loop", "-o", video]);
    expect(g.exitCode).toBe(0);
    const server = serve(["--video-type", "prerecorded", "--source", video]);
    try {
      await server.waitLive();
      const params = (await (await fetch(`${server.url}/params`)).json()) as Record<string, any>;
      const db = join(tmp.path, "prerecorded.db");
      const run = await client(["--url", server.url, "--duration", "22s", "--db", db, "--json"]);
      expect(run.exitCode).toBe(0);
      if (run.json!.summary.dropped !== 0 || run.json!.summary.unreadable !== 0) console.error(`client log:\n${run.stderr}\nserver log:\n${server.stderr()}`);
      r = { json: run.json, db, params };
    } finally {
      await server.stop();
    }
  }, 60_000);

  test("/params says prerecorded, describes the source, and publishes when the loops started", () => {
    expect(r.params).toMatchObject({ ID: "loop", FPS: 25, IMAGE_SIZE: 1, VIDEO_TYPE: "PRERECORDED" });
    expect(r.params.vat).toMatchObject({ videoType: "prerecorded", source: { video: "loop.mp4", frames: 150, durationS: 6, segments: 6 } });
    const loop = r.params.vat.loop;
    expect(loop.startedAtMs).toBe(loop.firstStartedAtMs + loop.index * 6000);
    expect(loop.nextStartsAtMs - loop.startedAtMs).toBe(6000);
  });

  test("the same bounds as a live stream: fps within 2 %, no drops, duplicates or unreadable frames, p50 latency 0-3 s", () => {
    const s = r.json.summary;
    expect(Math.abs(s.fpsAchieved - 25) / 25).toBeLessThan(0.02);
    expect(s.fpsNominal).toBe(25);
    expect(s).toMatchObject({ dropped: 0, duplicates: 0, unreadable: 0, restarts: 0 });
    expect(s.framesNew).toBeGreaterThan(25 * 20);
    expect(s.latencyP50Ms).toBeGreaterThan(0);
    expect(s.latencyP50Ms).toBeLessThan(3000);
    expect(s.latencyMinMs).toBeGreaterThan(0);
  });

  test("frames number on across loops, and each one's time is when the server's loop clock said it was due", () => {
    const db = openDb(r.db);
    const rows = db.query("SELECT frame_number AS n, generated_at_ms AS g FROM frames WHERE kind = 'new' ORDER BY idx").all() as { n: number; g: number }[];
    db.close();
    const numbers = rows.map((x) => x.n);
    expect(numbers.at(-1)! - numbers[0]! + 1).toBe(numbers.length); // consecutive, no hole
    expect(Math.floor(numbers.at(-1)! / 150) - Math.floor(numbers[0]! / 150)).toBeGreaterThanOrEqual(3); // crossed loops
    // Ground truth from the server's own clock (/params): frame n of the stream is due at the first loop's start + n/fps.
    const first = r.params.vat.loop.firstStartedAtMs;
    const worst = Math.max(...rows.map((x) => Math.abs(x.g - (first + (x.n * 1000) / 25))));
    expect(worst).toBeLessThan(2);
  });

  test("the stored run says prerecorded", () => {
    const db = openDb(r.db);
    expect(db.query("SELECT video_type AS v, stream_id AS id, fps FROM runs").get()).toEqual({ v: "PRERECORDED", id: "loop", fps: 25 });
    db.close();
  });
});

test("VIDEO_TYPE=PRERECORDED without a source renders one at start-up with the container's settings", async () => {
  const ours = () => new Set(readdirSync(tmpdir()).filter((f) => /^vat-(source|serve)-/.test(f)));
  const before = ours();
  const server = serve(["--source-duration", "3s"], { env: { VIDEO_TYPE: "PRERECORDED", FPS: "15", IMAGE_SIZE: "0", ID: "task9" } });
  try {
    await server.waitLive(20_000);
    const params = (await (await fetch(`${server.url}/params`)).json()) as Record<string, any>;
    expect(params).toMatchObject({ ID: "task9", FPS: 15, IMAGE_SIZE: 0, VIDEO_TYPE: "PRERECORDED" });
    expect(params.vat.source).toMatchObject({ frames: 45, durationS: 3 });
    const run = await client(["--url", server.url, "--frame-limit", "60", "--db", join(tmp.path, "env.db"), "--json"]);
    expect(run.exitCode).toBe(0);
    expect(run.json!.summary).toMatchObject({ framesDecoded: 60, framesNew: 60, dropped: 0, unreadable: 0 });
    expect(server.stderr()).toContain("rendering a 3 s 240p 15 fps source video");
  } finally {
    expect(await server.stop()).toBe(0);
  }
  // The rendered source, its cut segments and the served ones are gone with the server.
  expect(server.stderr()).toMatch(/vat serve: stopped/);
  expect([...ours()].filter((f) => !before.has(f))).toEqual([]);
}, 40_000);

describe("a bad source is refused before anything starts", () => {
  const dir = tempDir("vat-src-bad-");
  afterAll(() => dir.cleanup());

  test.each([
    ["a missing file", () => ["--source", join(dir.path, "none.mp4")], /source video '.*none\.mp4' does not exist/],
    ["a video without its description", () => {
      writeFileSync(join(dir.path, "bare.mp4"), "x");
      return ["--source", join(dir.path, "bare.mp4")];
    }, /has no description '.*bare\.json': serve a video made by 'vat generate video'/],
    ["a foreign description", () => {
      writeFileSync(join(dir.path, "foreign.mp4"), "x");
      writeFileSync(join(dir.path, "foreign.json"), JSON.stringify({ hello: 1 }));
      return ["--source", join(dir.path, "foreign.mp4")];
    }, /foreign\.json' does not describe a vat test video/],
    ["settings the video does not have", () => {
      writeFileSync(join(dir.path, "v.mp4"), "x");
      writeFileSync(join(dir.path, "v.json"), JSON.stringify({ kind: "vat-test-signal", signalId: "v", size: "720p", fps: 30, frames: 30, durationS: 1, keyframeIntervalS: 1 }));
      return ["--source", join(dir.path, "v.mp4"), "--fps", "25"];
    }, /does not match fps 25 \(the video has 30\): leave those settings out/],
  ])("%s", async (_name, args, message) => {
    const r = await vat(["serve", "--video-type", "prerecorded", "--port", "0", ...args()]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  });

  test("a damaged video is refused with ffmpeg's reason, exit 1", async () => {
    writeFileSync(join(dir.path, "broken.mp4"), "not a video at all");
    writeFileSync(join(dir.path, "broken.json"), JSON.stringify({ kind: "vat-test-signal", signalId: "b", size: "240p", fps: 30, frames: 30, durationS: 1, keyframeIntervalS: 1 }));
    const r = await vat(["serve", "--video-type", "prerecorded", "--port", "0", "--source", join(dir.path, "broken.mp4")]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/vat: cannot cut '.*broken\.mp4' into segments: /);
    expect(existsSync(join(dir.path, "broken.mp4"))).toBe(true);
  });
});

test("vat launch --local --video-type prerecorded starts, measures and stops a prerecorded server", async () => {
  const db = join(tmp.path, "launch.db");
  const r = await vat(["launch", "--local", "--id", "pl", "--size", "240p", "--fps", "15", "--video-type", "prerecorded", "--duration", "4s", "--db", db, "--json"]);
  expect(r.exitCode).toBe(0);
  const out = JSON.parse(r.stdout);
  expect(out.summary).toMatchObject({ dropped: 0, unreadable: 0 });
  expect(out.summary.latencyP50Ms).toBeGreaterThan(0);
  expect(out.summary.latencyP50Ms).toBeLessThan(3000);
  const d = openDb(db);
  expect(d.query("SELECT video_type AS v, stream_id AS id FROM runs").get()).toEqual({ v: "PRERECORDED", id: "pl" });
  d.close();
  expect(r.stderr).toMatch(/vat launch: server stopped/);
}, 60_000);
