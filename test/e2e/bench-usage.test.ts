import { afterEach, expect, test } from "bun:test";
import { readTreeUsage } from "../../bench/proc-usage.ts";
import { isRunning, stopProcess, track } from "../helpers/processes.ts";

/**
 * Ground truth for the benchmark's CPU accounting: a parent whose two children each burn CPU and say how much
 * (process.cpuUsage, their own count), one of them waited for and gone, the other still alive. The tree's time read
 * from /proc must hold both, or the benchmark would miss an ffmpeg that ended or one still running.
 */
const BURN = `
  // Burns CPU time, not wall time, so a loaded machine changes how long it takes but not how much it burns.
  const cpuS = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
  let x = 0;
  while (cpuS() < 0.3) for (let i = 0; i < 1e5; i++) x += Math.sqrt(x + i);
  console.log(JSON.stringify(cpuS()));
`;

/** Stays until whoever started it closes its stdin (or dies), so that nothing outlives the test. */
const STAY = "for await (const _ of Bun.stdin.stream()) {} process.exit(0);";

const PARENT = `
  const STAY = ${JSON.stringify(STAY)};
  const burn = (stay) => Bun.spawn([process.execPath, "-e", ${JSON.stringify(BURN)} + (stay ? STAY : "")], { stdin: "pipe", stdout: "pipe" });
  const reaped = burn(false);
  const reapedS = Number((await new Response(reaped.stdout).text()).trim());
  await reaped.exited;
  const live = burn(true);
  const reader = live.stdout.getReader();
  const liveS = Number(new TextDecoder().decode((await reader.read()).value).trim());
  const own = process.cpuUsage();
  console.log(JSON.stringify({ reapedS, liveS, ownS: (own.user + own.system) / 1e6, livePid: live.pid }));
  ${STAY}
`;

let parent: ReturnType<typeof Bun.spawn> | null = null;
let livePid: number | null = null;
afterEach(async () => {
  if (parent) await stopProcess(parent, "SIGKILL");
  // Its pipe closed with the parent, the live child ends by itself; make sure of it.
  for (let i = 0; livePid !== null && isRunning(livePid) && i < 40; i++) await Bun.sleep(50);
  if (livePid !== null && isRunning(livePid)) process.kill(livePid, "SIGKILL");
  parent = null;
  livePid = null;
});

test("a process tree's CPU time holds the children it reaped and the ones still running", async () => {
  const p = track(Bun.spawn([process.execPath, "-e", PARENT], { stdin: "pipe", stdout: "pipe", stderr: "inherit" }));
  parent = p;
  const before = readTreeUsage([p.pid])[0]!;
  const reader = (p.stdout as ReadableStream<Uint8Array>).getReader();
  const report = JSON.parse(new TextDecoder().decode((await reader.read()).value).trim()) as {
    reapedS: number;
    liveS: number;
    ownS: number;
    livePid: number;
  };
  livePid = report.livePid;
  const after = readTreeUsage([p.pid])[0]!;
  expect(before.alive && after.alive).toBe(true);
  expect(report.reapedS).toBeGreaterThan(0.3);
  expect(report.liveS).toBeGreaterThan(0.3);
  // Each process counted its own time from its start. Ticks are 10 ms per process and counter, and a child's exit
  // costs a little after it reported; without either child the sum would be 0.3 s short, which the bound tells apart.
  expect(Math.abs(after.cpuS - (report.reapedS + report.liveS + report.ownS))).toBeLessThan(0.1);
  expect(after.rssBytes).toBeGreaterThan(before.rssBytes);
  expect(readTreeUsage([424242424])[0]!.alive).toBe(false);
});
