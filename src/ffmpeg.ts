import { spawn, type ChildProcessByStdio } from "node:child_process";
import { existsSync } from "node:fs";
import type { Readable, Writable } from "node:stream";
import { badInput, failed, unavailable } from "./errors.ts";

/** Finds ffmpeg: an explicit path (VAT_FFMPEG) or the one on PATH. */
export function locateFfmpeg(explicit?: string): string {
  if (explicit) {
    if (!Bun.which(explicit) && !existsSync(explicit)) {
      throw badInput(`VAT_FFMPEG points to '${explicit}', which does not exist: set it to an ffmpeg executable`);
    }
    return explicit;
  }
  const found = Bun.which("ffmpeg");
  if (!found) {
    throw unavailable("ffmpeg was not found on PATH: install it (apt-get install ffmpeg) or set VAT_FFMPEG");
  }
  return found;
}

export type FfmpegChild = ChildProcessByStdio<Writable, Readable, Readable>;

const live = new Set<FfmpegChild>();

/**
 * Spawns ffmpeg with piped stdio; every child is tracked so the CLI can kill them all on exit. A process that cannot
 * be created (no fds left for its pipes, the executable gone) throws `unavailable` here instead of failing later on a
 * missing pipe; for a caller that retries, startFfmpeg returns the failure with its reason as a value.
 */
export function spawnFfmpeg(ffmpeg: string, args: string[]): FfmpegChild {
  const child = spawnTracked(ffmpeg, args);
  if (child.pid === undefined) throw unavailable(`cannot start ffmpeg ('${ffmpeg}'): the process could not be created`);
  return child;
}

export type FfmpegStart = { ok: true; child: FfmpegChild } | { ok: false; reason: string };

/** Spawns ffmpeg like spawnFfmpeg, resolving with the child or with why it could not be created (e.g. EMFILE). */
export async function startFfmpeg(ffmpeg: string, args: string[]): Promise<FfmpegStart> {
  let child: FfmpegChild;
  try {
    child = spawnTracked(ffmpeg, args);
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
  if (child.pid !== undefined) return { ok: true, child };
  // The runtime reports a failed spawn as an 'error' event just after returning a child without a process.
  const reason = await new Promise<string>((resolve) => {
    const timer = setTimeout(() => resolve("the process could not be created"), 1000);
    child.once("error", (err) => {
      clearTimeout(timer);
      resolve(err.message);
    });
  });
  return { ok: false, reason };
}

function spawnTracked(ffmpeg: string, args: string[]): FfmpegChild {
  const child = spawn(ffmpeg, args, { stdio: ["pipe", "pipe", "pipe"] });
  // Without a listener, an 'error' event (a spawn that failed) would crash the whole process.
  child.on("error", () => {});
  if (child.pid === undefined) return child;
  live.add(child);
  child.once("exit", () => live.delete(child));
  // A child that dies while we write to it must not crash the process with EPIPE.
  child.stdin.on("error", () => {});
  return child;
}

/** Writes to a child's stdin; resolves when the pipe has taken the bytes (true) or the child is gone (false). */
export function writeToChild(child: FfmpegChild, bytes: Uint8Array): Promise<boolean> | true {
  if (child.stdin.write(bytes)) return true;
  return new Promise((resolve) => {
    const done = (v: boolean) => {
      child.stdin.off("drain", onDrain);
      child.off("exit", onExit);
      resolve(v);
    };
    const onDrain = () => done(true);
    const onExit = () => done(false);
    child.stdin.once("drain", onDrain);
    child.once("exit", onExit);
  });
}

export function killAllFfmpeg(): void {
  for (const child of live) child.kill("SIGKILL");
}

/** Keeps the last lines a child wrote to stderr, to say why it died. */
export class StderrTail {
  private lines: string[] = [];
  private partial = "";
  constructor(
    stream: Readable,
    private readonly keep = 20,
    /** Sees every line; one it returns false for is not kept (a line of data rather than a message). */
    onLine?: (line: string) => boolean | void,
  ) {
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      const parts = (this.partial + chunk).split(/\r?\n|\r/);
      this.partial = parts.pop() ?? "";
      for (const line of parts) {
        if (!line.trim()) continue;
        if (onLine?.(line) === false) continue;
        this.lines.push(line);
        if (this.lines.length > this.keep) this.lines.shift();
      }
    });
  }
  get text(): string {
    return [...this.lines, this.partial].filter(Boolean).join("\n");
  }
  get last(): string {
    return this.lines.at(-1) ?? this.partial;
  }
}
