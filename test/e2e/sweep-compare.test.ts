import { afterAll, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { startNginxRtmp } from "../helpers/nginx-rtmp.ts";
import { killStragglers, openDb, tempDir, vat, VAT } from "../helpers/vat.ts";

const ROOT = resolve(import.meta.dir, "../..");
const tmp = tempDir("vat-sweep-compare-");
afterAll(() => {
  killStragglers();
  tmp.cleanup();
});

test(
  "sweep lines naming a providers file: the wrapper runs vat compare at each line's size and fps; the report groups providers within each configuration",
  async () => {
    const nginx = await startNginxRtmp({ streamKey: "sweep", fragmentS: 1 });
    // The providers file is named relative to the sweep file's folder, as a sweep made beside it would name it.
    writeFileSync(join(tmp.path, "cdns.toml"), `[[provider]]\nname = "nginx"\ningest = "${nginx.ingestUrl}"\nplayback = "${nginx.hlsUrl}"\n`);
    const sweep = join(tmp.path, "sweep.txt");
    writeFileSync(sweep, "240p 15 512 1GB task_0 cdns.toml\n240p 25 512 1GB task_1 cdns.toml\n");
    const logs = join(tmp.path, "logs");
    const env = { ...process.env, SWEEP_FILE: sweep, VAT_BIN: VAT, LOG_DIR: logs, VAT_STAGGER_S: "0" };
    const outputs: string[] = [];
    try {
      // One after the other: both push to the same ingest.
      for (const idx of ["1", "2"]) {
        const p = Bun.spawn([join(ROOT, "slurm_wrapper.sh"), idx, "exp", "--local", "--duration", "6s"], { env, stdout: "pipe", stderr: "pipe" });
        const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
        outputs.push(out);
        expect(code).toBe(0);
      }
    } finally {
      await nginx.stop();
    }
    expect(outputs[0]).toContain("vat compare exited with 0");
    for (const [i, dir] of ["240p-15-512-1GB-task_0", "240p-25-512-1GB-task_1"].entries()) {
      const summary = JSON.parse(readFileSync(join(logs, "exp", dir, "summary.json"), "utf8"));
      expect(summary.providers.map((p: any) => [p.role, p.status])).toEqual([["nginx", "measured"]]);
      const d = openDb(join(logs, "exp", dir, "stream_data.db"));
      const runs = d.query("SELECT role, stream_id, fps, cpu, memory FROM runs ORDER BY id").all();
      d.close();
      expect(runs[0]).toEqual({ role: "control", stream_id: `task_${i}`, fps: i === 0 ? 15 : 25, cpu: "512", memory: "1024" });
      expect(runs.map((r: any) => r.role)).toEqual(["control", "nginx"]);
    }
    const r = await vat(["report", join(logs, "exp"), "-o", join(tmp.path, "sweep.html"), "--json"]);
    expect(r.exitCode).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.configurations.map((c: any) => c.configuration)).toEqual([
      "240p 15fps 512cpu/1GB live",
      "240p 15fps 512cpu/1GB live nginx",
      "240p 25fps 512cpu/1GB live",
      "240p 25fps 512cpu/1GB live nginx",
    ]);
    expect(json.comparisons.map((c: any) => [c.configuration, c.streams.map((s: any) => s.role)])).toEqual([
      ["240p 15fps 512cpu/1GB", ["control", "nginx"]],
      ["240p 25fps 512cpu/1GB", ["control", "nginx"]],
    ]);
  },
  90_000,
);
