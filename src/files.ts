import { accessSync, constants, existsSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { badInput, failed } from "./errors.ts";

/** Why a path cannot be written, in words (the system's code for anything else). */
function reason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  const words: Record<string, string> = {
    EROFS: "the file system is read-only",
    EACCES: "permission denied",
    EPERM: "permission denied",
    ENOSPC: "no space left on the device",
    EDQUOT: "disk quota exceeded",
    EISDIR: "it is a folder",
    ENOTDIR: "a part of the path is not a folder",
    ENOENT: "its folder does not exist",
  };
  return (code && words[code]) ?? (err as Error).message;
}

/** Failures that are the path's, which the user chose (the rest, a full disk or a broken one, are the system's). */
const PATH_CODES = new Set(["EROFS", "EACCES", "EPERM", "EISDIR", "ENOTDIR", "ENOENT"]);

/**
 * Refuses, before any work is done, a path no file can be written at: empty, a folder, in a folder that does not
 * exist, or in one that cannot be written (a read-only file system, no permission). Bad input: the path is the user's.
 */
export function checkWritable(path: string, what: string): void {
  if (path === "") throw badInput(`${what} is empty: name the file to write`);
  if (existsSync(path) && statSync(path).isDirectory()) throw badInput(`cannot write '${path}': it is a folder, name a file in it`);
  const dir = dirname(path);
  if (!existsSync(dir)) throw badInput(`cannot write '${path}': folder '${dir}' does not exist`);
  if (!statSync(dir).isDirectory()) throw badInput(`cannot write '${path}': '${dir}' is not a folder`);
  try {
    accessSync(dir, constants.W_OK);
  } catch (err) {
    throw badInput(`cannot write '${path}': ${reason(err)}`);
  }
}

/**
 * Writes files whole or not at all: each aside first, then all renamed over their targets, so that a failure leaves
 * no file half written and none of a set written without the others. A failure is one line: bad input (exit 2) when
 * the path is at fault, failed (exit 1) otherwise.
 */
export function writeFilesAtomic(files: readonly { path: string; data: string | Uint8Array }[]): void {
  const aside = files.map((f) => ({ ...f, tmp: `${f.path}.tmp-${process.pid}` }));
  let current = aside[0]?.path ?? "";
  try {
    for (const f of aside) {
      current = f.path;
      writeFileSync(f.tmp, f.data);
    }
    for (const f of aside) {
      current = f.path;
      renameSync(f.tmp, f.path);
    }
  } catch (err) {
    for (const f of aside) {
      try {
        rmSync(f.tmp, { force: true });
      } catch {
        // nothing was written there (a read-only file system refuses even the removal of what does not exist)
      }
    }
    const message = `cannot write '${current}': ${reason(err)}`;
    throw PATH_CODES.has((err as NodeJS.ErrnoException).code ?? "") ? badInput(message) : failed(message);
  }
}

export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  writeFilesAtomic([{ path, data }]);
}
