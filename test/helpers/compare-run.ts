import { existsSync } from "node:fs";
import { eventually, openDb, spawnVat } from "./vat.ts";

/** `vat compare` from the compiled binary, its stderr collected as it comes (for a test that signals it mid-run). */
export function spawnCompare(args: string[], env: Record<string, string>) {
  const proc = spawnVat(["compare", ...args], { env });
  let stderr = "";
  const stderrDone = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of proc.stderr) stderr += dec.decode(chunk);
  })();
  const stdout = new Response(proc.stdout).text();
  return {
    proc,
    stderr: () => stderr,
    /** Its exit code and output; SIGKILL after timeoutMs. */
    async done(timeoutMs: number) {
      const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
      const exitCode = await proc.exited;
      clearTimeout(timer);
      await stderrDone;
      return { exitCode, stdout: await stdout, stderr };
    },
  };
}

/** Waits until a comparison's database holds at least `atLeast` frames of the stream `role`. */
export async function framesStored(db: string, role: string, atLeast: number, timeoutMs = 40_000): Promise<number> {
  return await eventually(async () => {
    if (!existsSync(db)) return 0;
    const d = openDb(db);
    try {
      return (d.query("SELECT COUNT(*) AS n FROM frames JOIN runs ON runs.id = frames.run_id WHERE runs.role = ?").get(role) as { n: number }).n;
    } catch {
      return 0; // tables not made yet
    } finally {
      d.close();
    }
  }, (n) => n >= atLeast, timeoutMs, 250);
}
