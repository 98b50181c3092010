import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { client, tempDir, vat } from "../helpers/vat.ts";

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
