import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { client, health, serve, tempDir } from "../helpers/vat.ts";

const tmp = tempDir();
afterAll(() => tmp.cleanup());

/**
 * The prototype's servers stopped producing after 8-10 hours; its segment folder grew without bound. 45 s at 1 s
 * segments (45 written, 38 deleted: six times the list) shows the folder stays flat while a client sees an unbroken
 * stream.
 */
test(
  "soak: 45 s live at 1 s segments; the segment folder's file count and size stay bounded",
  async () => {
    const server = serve(["--size", "480p", "--fps", "30", "--list-size", "6"]);
    try {
      await server.waitLive();
      const samples: { atS: number; files: number; bytes: number; sequence: number; healthy: boolean }[] = [];
      const t0 = performance.now();
      const measuring = client(["--url", server.url, "--duration", "45s", "--no-frames", "--db", join(tmp.path, "soak.db"), "--json"], {
        timeoutMs: 120_000,
      });
      while (performance.now() - t0 < 45_000) {
        const h = await health(server.url);
        samples.push({
          atS: (performance.now() - t0) / 1000,
          files: h.body.segmentFolder.files,
          bytes: h.body.segmentFolder.bytes,
          sequence: h.body.sequence,
          healthy: h.status === 200,
        });
        await Bun.sleep(2000);
      }
      const run = await measuring;
      expect(run.exitCode).toBe(0);

      expect(samples.every((s) => s.healthy)).toBe(true);
      expect(samples.at(-1)!.sequence).toBeGreaterThanOrEqual(40);
      // Playlist + 6 listed + 1 kept for late readers + the one being written (+ its temp file).
      const maxFiles = Math.max(...samples.map((s) => s.files));
      expect(maxFiles).toBeLessThanOrEqual(10);
      const firstHalf = samples.filter((s) => s.atS > 10 && s.atS < 27).map((s) => s.bytes);
      const secondHalf = samples.filter((s) => s.atS >= 27).map((s) => s.bytes);
      expect(Math.max(...secondHalf)).toBeLessThan(Math.max(...firstHalf) * 1.3);

      const s = run.json!.summary;
      expect(s.dropped).toBe(0);
      expect(s.unreadable).toBe(0);
      expect(s.stalls).toBe(0);
      expect(Math.abs(s.fpsAchieved - 30) / 30).toBeLessThan(0.02);
      const h = await health(server.url);
      expect(h.body.framesSkipped).toBe(0);
      expect(h.body.encoderRestarts).toBe(0);
    } finally {
      await server.stop();
    }
  },
  120_000,
);
