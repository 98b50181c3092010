import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { badInput } from "../errors.ts";
import { isWrittenName } from "./segment-names.ts";

export interface SegmentFolder {
  dir: string;
  /** A temporary folder the origin made, and removes at exit. */
  owned: boolean;
}

/**
 * The folder segments are written to: the one given (cleared of what an earlier run wrote, and of nothing else that
 * lives there), or a fresh temporary one that the origin owns and removes. A folder that cannot be written to is
 * refused here, before anything starts: found out later, it would only show as an encoder failing over and over.
 */
export function openSegmentFolder(dir: string | undefined): SegmentFolder {
  if (!dir) return { dir: mkdtempSync(join(tmpdir(), "vat-serve-")), owned: true };
  const created = firstMissing(dir);
  try {
    mkdirSync(dir, { recursive: true });
    const probe = join(dir, `.vat-write-test-${process.pid}`);
    writeFileSync(probe, "");
    rmSync(probe);
    for (const f of readdirSync(dir)) if (isWrittenName(f)) rmSync(join(dir, f));
  } catch (err) {
    if (created && existsSync(created)) rmSync(created, { recursive: true, force: true });
    throw badInput(`cannot write segments to '${dir}' (${(err as Error).message}): give --dir a folder vat can write to`);
  }
  return { dir, owned: false };
}

/** The outermost folder of the path that does not exist yet (what mkdir -p would make first), or null. */
function firstMissing(dir: string): string | null {
  let missing: string | null = null;
  for (let d = resolve(dir); !existsSync(d); d = dirname(d)) {
    missing = d;
    if (dirname(d) === d) break;
  }
  return missing;
}

/** Files and bytes in the folder (the soak test and /health watch that it stays bounded); null when unreadable. */
export function measureFolder(dir: string): { files: number | null; bytes: number | null } {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return { files: null, bytes: null }; // e.g. no file descriptor free to list it
  }
  let files = 0;
  let bytes = 0;
  for (const f of names) {
    try {
      bytes += statSync(join(dir, f)).size;
      files++;
    } catch {
      // deleted between listing and stat
    }
  }
  return { files, bytes };
}

export function removeFolder(folder: SegmentFolder): void {
  if (folder.owned) rmSync(folder.dir, { recursive: true, force: true });
}
