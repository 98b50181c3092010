import { readdirSync, readFileSync } from "node:fs";
import { parseProcStat, processTree, treeRssPages, treeTicks, type ProcStat } from "./figures.ts";

function getconf(name: string, fallback: number): number {
  const r = Bun.spawnSync(["getconf", name]);
  const v = Number(r.stdout.toString().trim());
  return r.exitCode === 0 && v > 0 ? v : fallback;
}

const CLK_TCK = getconf("CLK_TCK", 100);
const PAGE_BYTES = getconf("PAGESIZE", 4096);

/** Every process /proc shows now (one that ends while being read is left out). */
function readAllStats(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      out.push(parseProcStat(Number(entry), readFileSync(`/proc/${entry}/stat`, "utf8")));
    } catch {
      // gone between the listing and the read
    }
  }
  return out;
}

export interface TreeUsage {
  /** CPU-seconds used so far by the process, its live descendants and the children they have reaped. */
  cpuS: number;
  /** CPU-seconds of the root process alone (all its threads), without any child: vat's own code beside its ffmpeg. */
  ownCpuS: number;
  rssBytes: number;
  /** False when the root process is gone. */
  alive: boolean;
}

/** What each of these process trees has used so far, from one look at /proc. */
export function readTreeUsage(roots: readonly number[]): TreeUsage[] {
  const stats = readAllStats();
  return roots.map((root) => {
    const tree = processTree(root, stats);
    return { cpuS: treeTicks(tree) / CLK_TCK, ownCpuS: (tree[0]?.ownTicks ?? 0) / CLK_TCK, rssBytes: treeRssPages(tree) * PAGE_BYTES, alive: tree.length > 0 };
  });
}
