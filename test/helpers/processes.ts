import { existsSync, readFileSync } from "node:fs";
import { connect } from "node:net";
import type { Subprocess } from "bun";

/** Helpers' own children (servers a test starts beside vat): killed when the test process ends, however it ends. */
const started = new Set<Subprocess<any, any, any>>();
process.on("exit", () => {
  for (const p of started) p.kill("SIGKILL");
});

export function track<T extends Subprocess<any, any, any>>(proc: T): T {
  started.add(proc);
  void proc.exited.then(() => started.delete(proc));
  return proc;
}

/** Asks a child to stop, kills it if it has not within graceMs, and resolves once it is reaped. */
export async function stopProcess(proc: Subprocess<any, any, any>, signal: NodeJS.Signals = "SIGTERM", graceMs = 2000): Promise<void> {
  if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
  const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
  await proc.exited;
  clearTimeout(timer);
}

/** True while a process with this id exists and is not a zombie waiting to be reaped. */
export function isRunning(pid: number): boolean {
  const stat = `/proc/${pid}/stat`;
  if (!existsSync(stat)) return false;
  try {
    const text = readFileSync(stat, "utf8");
    return text.slice(text.lastIndexOf(")") + 2, text.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false; // gone between the two looks
  }
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port; rejects after timeoutMs or when gone() says so. */
export async function waitForPort(port: number, timeoutMs: number, gone: () => string | null): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const why = gone();
    if (why !== null) throw new Error(why);
    const open = await new Promise<boolean>((resolve) => {
      const sock = connect(port, "127.0.0.1", () => {
        sock.destroy();
        resolve(true);
      });
      sock.on("error", () => resolve(false));
    });
    if (open) return;
    await Bun.sleep(25);
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

/** Resolves once a UDP socket is bound to port (SRT listens on UDP, which no connect can probe): read from /proc/net. */
export async function waitForUdpPort(port: number, timeoutMs: number, gone: () => string | null): Promise<void> {
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const why = gone();
    if (why !== null) throw new Error(why);
    const bound = ["/proc/net/udp", "/proc/net/udp6"].some((f) => {
      try {
        return readFileSync(f, "utf8").split("\n").some((line) => line.trim().split(/\s+/)[1]?.endsWith(`:${hexPort}`));
      } catch {
        return false;
      }
    });
    if (bound) return;
    await Bun.sleep(25);
  }
  throw new Error(`nothing is bound to UDP port ${port} after ${timeoutMs} ms`);
}
