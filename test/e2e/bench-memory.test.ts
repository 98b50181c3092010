import { afterEach, expect, test } from "bun:test";
import { readTreeUsage } from "../../bench/proc-usage.ts";
import { stopProcess, track } from "../helpers/processes.ts";

/**
 * Ground truth for the benchmark's memory per stream: a parent with two children of the same executable, each
 * touching PRIVATE_MIB of memory of its own and saying so. Proportional set size counts what is private in full and
 * the executable's shared pages divided between them: the tree's PSS holds both children's private memory and stays
 * below the resident sum, which counts every shared page once per process.
 */
const PRIVATE_MIB = 64;
const CHILD = `
  const b = new Uint8Array(${PRIVATE_MIB} * 2 ** 20);
  for (let i = 0; i < b.length; i += 4096) b[i] = 1 + (i & 127);
  console.log("ready");
  for await (const _ of Bun.stdin.stream()) {}
  process.exit(b[4096] === 0 ? 1 : 0);
`;
const PARENT = `
  const kids = [0, 1].map(() => Bun.spawn([process.execPath, "-e", ${JSON.stringify(CHILD)}], { stdin: "pipe", stdout: "pipe" }));
  for (const k of kids) await k.stdout.getReader().read();
  console.log(JSON.stringify(kids.map((k) => k.pid)));
  for await (const _ of Bun.stdin.stream()) {}
  for (const k of kids) k.kill("SIGKILL");
  process.exit(0);
`;

let parent: ReturnType<typeof Bun.spawn> | null = null;
afterEach(async () => {
  if (parent) await stopProcess(parent, "SIGKILL");
  parent = null;
});

test("a process tree's memory counts each child's private pages in full and their shared executable once", async () => {
  const p = track(Bun.spawn([process.execPath, "-e", PARENT], { stdin: "pipe", stdout: "pipe", stderr: "inherit" }));
  parent = p;
  const reader = (p.stdout as ReadableStream<Uint8Array>).getReader();
  const kids = JSON.parse(new TextDecoder().decode((await reader.read()).value).trim()) as number[];
  const [tree, ...each] = readTreeUsage([p.pid, ...kids]);
  expect(tree!.alive).toBe(true);
  const mib = (b: number) => b / 2 ** 20;
  // Each child holds its private memory at least...
  for (const k of each) expect(mib(k!.pssBytes)).toBeGreaterThan(PRIVATE_MIB);
  // ...and the tree all of it, without counting a child's shared pages twice as the resident sum does.
  expect(mib(tree!.pssBytes)).toBeGreaterThan(2 * PRIVATE_MIB);
  for (const k of each) expect(mib(k!.rssBytes - k!.pssBytes)).toBeGreaterThan(1);
  expect(tree!.pssBytes).toBeLessThan(tree!.rssBytes);
});
