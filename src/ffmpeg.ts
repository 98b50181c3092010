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

/** Spawns ffmpeg with piped stdio; every child is tracked so the CLI can kill them all on exit. */
export function spawnFfmpeg(ffmpeg: string, args: string[]): FfmpegChild {
  const child = spawn(ffmpeg, args, { stdio: ["pipe", "pipe", "pipe"] });
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
    onLine?: (line: string) => void,
  ) {
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      const parts = (this.partial + chunk).split(/\r?\n|\r/);
      this.partial = parts.pop() ?? "";
      for (const line of parts) {
        if (!line.trim()) continue;
        this.lines.push(line);
        if (this.lines.length > this.keep) this.lines.shift();
        onLine?.(line);
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
