import { renameSync, rmSync, writeFileSync } from "node:fs";
import { failed } from "./errors.ts";

/** Writes a file whole or not at all: aside first, then renamed over the target. A failure is one line, exit 1. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw failed(`cannot write '${path}': ${(err as Error).message}`);
  }
}
