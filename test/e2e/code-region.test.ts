import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { client, ffprobeFrames, tempDir, vat } from "../helpers/vat.ts";

// The client asks ffmpeg only for the code's region of each frame, reduced (client/decoder.ts CODE_OUTPUT). Reading it
// must stay as reliable as reading whole frames: at every size, and at the lowest and highest frame rates (which change
// how x264 spends its bits per frame). Each case reads at least 1000 frames, so 99.9 % allows one unread frame.
const tmp = tempDir();
afterAll(() => tmp.cleanup());

const cases: [string, number, string][] = [
  ["240p", 60, "17s"],
  ["480p", 60, "17s"],
  ["720p", 60, "17s"],
  ["1080p", 60, "17s"],
  ["480p", 1, "1000s"],
  ["240p", 25, "40s"],
];

for (const [size, fps, duration] of cases) {
  test(`${size} at ${fps} fps: the code region is read on at least 99.9 % of ${duration} of frames`, async () => {
    const file = join(tmp.path, `${size}-${fps}.mp4`);
    const made = await vat(["generate", "video", "--size", size, "--fps", String(fps), "--duration", duration, "-o", file]);
    expect(made.exitCode).toBe(0);
    const r = await client(["--url", file, "--db", join(tmp.path, `${size}-${fps}.db`), "--no-frames", "--json"]);
    expect(r.exitCode).toBe(0);
    const s = r.json!.summary as { framesDecoded: number; framesNew: number; unreadable: number; dropped: number };
    expect(s.framesDecoded).toBeGreaterThanOrEqual(1000);
    expect(s.unreadable / s.framesDecoded).toBeLessThanOrEqual(0.001);
    expect(s.dropped).toBeLessThanOrEqual(1);
  }, 120_000);
}

// Streams that are not vat's signal still go through the same crop: RGB pictures (no luma plane to take as it is) and
// a portrait picture (narrower than the code's square at the left of a landscape one). Every frame is decoded and
// counted unreadable, and the run says why in one line instead of failing in ffmpeg.
const others: [string, string[]][] = [
  ["RGB 640x360", ["-f", "lavfi", "-i", "testsrc=size=640x360:rate=25", "-t", "2", "-c:v", "libx264rgb", "-pix_fmt", "rgb24"]],
  ["portrait 360x640", ["-f", "lavfi", "-i", "testsrc=size=360x640:rate=25", "-t", "2", "-c:v", "libx264", "-pix_fmt", "yuv420p"]],
];
for (const [what, args] of others) {
  test(`a ${what} stream is decoded through the code region: every frame counted, none read`, async () => {
    const file = join(tmp.path, `${what.replace(/\W+/g, "-")}.mp4`);
    const made = Bun.spawnSync(["ffmpeg", "-v", "error", "-y", ...args, file]);
    expect(made.exitCode).toBe(0);
    const frames = ffprobeFrames(file);
    const r = await client(["--url", file, "--db", join(tmp.path, `${what.replace(/\W+/g, "-")}.db`), "--no-frames", "--json"]);
    expect(r.stderr).toContain(`none of the ${frames} frames decoded carried a readable vat code`);
    const s = r.json!.summary as { framesDecoded: number; unreadable: number };
    expect({ decoded: s.framesDecoded, unreadable: s.unreadable }).toEqual({ decoded: frames, unreadable: frames });
  }, 60_000);
}
