import { afterAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { client, openDb, serve, tempDir, vat } from "../helpers/vat.ts";

const tmp = tempDir("vat-quality-");
afterAll(() => tmp.cleanup());

test("quality falls as the encoder's crf rises (18, 30, 40): every frame measured against its re-rendered reference", async () => {
  const figures: { crf: number; psnr: number; ssim: number; psnrAll: number }[] = [];
  for (const crf of [18, 30, 40]) {
    const server = serve(["--size", "480p", "--fps", "25", "--crf", String(crf), "--id", `crf${crf}`]);
    try {
      await server.waitLive();
      const db = join(tmp.path, `crf${crf}.db`);
      const run = await client(["--url", server.url, "--frame-limit", "75", "--quality", "--db", db, "--json"]);
      expect(run.exitCode).toBe(0);
      const s = run.json!.summary;
      expect(s.unreadable).toBe(0);
      const d = openDb(db);
      const rows = d.query("SELECT psnr_y, psnr_all, ssim_y FROM frames WHERE kind = 'new'").all() as Record<string, number>[];
      const w = d.query("SELECT sum(psnr_y_mean * frames_decoded) / sum(frames_decoded) AS p FROM windows").get() as { p: number };
      d.close();
      expect(rows).toHaveLength(75);
      expect(rows.every((r) => r.psnr_y !== null && r.ssim_y !== null)).toBe(true);
      const mean = (k: string) => rows.reduce((a, r) => a + r[k]!, 0) / rows.length;
      expect(s.psnrYMean).toBeCloseTo(mean("psnr_y"), 9);
      expect(w.p).toBeCloseTo(mean("psnr_y"), 6);
      figures.push({ crf, psnr: mean("psnr_y"), ssim: mean("ssim_y"), psnrAll: mean("psnr_all") });
    } finally {
      await server.stop();
    }
  }
  const [a, b, c] = figures as [(typeof figures)[0], (typeof figures)[0], (typeof figures)[0]];
  expect(a.psnr).toBeGreaterThan(b.psnr + 2);
  expect(b.psnr).toBeGreaterThan(c.psnr + 2);
  expect(a.ssim).toBeGreaterThan(b.ssim);
  expect(b.ssim).toBeGreaterThan(c.ssim);
  // Near-lossless at crf 18: the reference really is the frame that was sent (same levels, same picture).
  expect(a.psnr).toBeGreaterThan(40);
  expect(a.ssim).toBeGreaterThan(0.98);
  // Gray picture: the chroma planes are near-perfect, so "all planes" is above luma.
  expect(a.psnrAll).toBeGreaterThan(a.psnr);
}, 90_000);

test("a rescaled stream is measured at the signal's size (--reference-size); without it, no reference is guessed", async () => {
  const video = join(tmp.path, "sig.mp4");
  expect((await vat(["generate", "video", "--size", "480p", "--fps", "25", "--duration", "2s", "--id", "rs", "-o", video])).exitCode).toBe(0);
  const scaled = join(tmp.path, "scaled.mp4");
  const s = spawnSync("ffmpeg", ["-v", "error", "-i", video, "-vf", "scale=640:360", "-c:v", "libx264", "-crf", "18", scaled]);
  expect(s.status).toBe(0);
  const withRef = await client(["--url", scaled, "--quality", "--reference-size", "480p", "--db", join(tmp.path, "rs1.db"), "--json", "--no-clock-sync"]);
  expect(withRef.exitCode).toBe(0);
  expect(withRef.json!.summary).toMatchObject({ framesDecoded: 50, unreadable: 0 });
  expect(withRef.json!.summary.psnrYMean).toBeGreaterThan(25);
  const direct = await client(["--url", video, "--quality", "--db", join(tmp.path, "rs0.db"), "--json", "--no-clock-sync"]);
  // Scaling down and back costs quality against the original.
  expect(direct.json!.summary.psnrYMean).toBeGreaterThan(withRef.json!.summary.psnrYMean);
  const without = await client(["--url", scaled, "--quality", "--db", join(tmp.path, "rs2.db"), "--json", "--no-clock-sync"]);
  expect(without.exitCode).toBe(0);
  expect(without.json!.summary.psnrYMean).toBeNull(); // 640x360 is no size of the signal: nothing to compare with
  expect(without.json!.summary.unreadable).toBe(0);
}, 60_000);
