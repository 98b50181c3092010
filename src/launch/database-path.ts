import { accessSync, constants, existsSync, openSync, readSync, closeSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { badInput } from "../errors.ts";

const SQLITE_HEADER = "SQLite format 3\0";

/**
 * Refuses a --db path that the store could not use, before a server or a task is started for it (the store opens the
 * database only when measuring begins). Creates and changes nothing. A missing file is fine: the store creates it and
 * its folders, so the nearest folder that exists must be writable.
 */
export function checkDatabasePath(path: string): void {
  if (path === ":memory:") return;
  const bad = (why: string) => badInput(`cannot use database '${path}': ${why}`);
  if (existsSync(path)) {
    const st = statSync(path);
    if (st.isDirectory()) throw bad("it is a folder; give a file name in it, e.g. runs.db");
    if (!st.isFile()) throw bad("it is not a regular file");
    try {
      accessSync(path, constants.R_OK | constants.W_OK);
    } catch {
      throw bad("it is not readable and writable");
    }
    if (st.size > 0 && readHeader(path) !== SQLITE_HEADER) throw bad("it is not an SQLite database");
    return;
  }
  let dir = dirname(resolve(path));
  while (!existsSync(dir)) dir = dirname(dir);
  if (!statSync(dir).isDirectory()) throw bad(`'${dir}' is not a folder`);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw bad(`folder '${dir}' is not writable`);
  }
}

function readHeader(path: string): string {
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.alloc(SQLITE_HEADER.length);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n).toString("latin1");
  } finally {
    closeSync(fd);
  }
}
