/**
 * Assembles the WebAssembly text in src/ into binaries beside it (src/client/quality.wat → quality.wasm), when the
 * binary is missing or older than its text. Run before compiling vat and before tests that run from source; the
 * binaries are build output and not kept in git.
 *
 *   bun scripts/build-wasm.ts
 *
 * Importing it builds too (so it can be a test preload: tests that run from source import the .wasm).
 */
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import wabtInit from "wabt";

const SOURCES = ["src/client/quality.wat"];

export async function buildWasm(root = join(import.meta.dir, "..")): Promise<string[]> {
  const built: string[] = [];
  let wabt: Awaited<ReturnType<typeof wabtInit>> | null = null;
  for (const rel of SOURCES) {
    const wat = join(root, rel);
    const out = wat.replace(/\.wat$/, ".wasm");
    if (existsSync(out) && statSync(out).mtimeMs >= statSync(wat).mtimeMs) continue;
    wabt ??= await wabtInit();
    const mod = wabt.parseWat(rel, readFileSync(wat, "utf8"), { simd: true });
    try {
      mod.validate();
      writeFileSync(out, mod.toBinary({}).buffer);
    } finally {
      mod.destroy();
    }
    built.push(out);
  }
  return built;
}

const built = await buildWasm();
if (import.meta.main) for (const f of built) console.log(`built ${f}`);
