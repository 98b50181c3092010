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

/**
 * A process's proportional set size (its private pages, plus each shared page divided among the processes that map
 * it), from /proc/<pid>/smaps_rollup; 0 when it cannot be read (gone, or another user's).
 */
function readPssBytes(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export interface TreeUsage {
  /** CPU-seconds used so far by the process, its live descendants and the children they have reaped. */
  cpuS: number;
  /** CPU-seconds of the root process alone (all its threads), without any child: vat's own code beside its ffmpeg. */
  ownCpuS: number;
  rssBytes: number;
  /**
   * The tree's proportional set size: what N decoders in one client cost in memory. Their RSS sum counts the ffmpeg
   * libraries (~40 MiB at 1080p, shared by all of them) once per process.
   */
  pssBytes: number;
  /** False when the root process is gone. */
  alive: boolean;
}

/** What each of these process trees has used so far, from one look at /proc. */
export function readTreeUsage(roots: readonly number[]): TreeUsage[] {
  const stats = readAllStats();
  return roots.map((root) => {
    const tree = processTree(root, stats);
    return {
      cpuS: treeTicks(tree) / CLK_TCK,
      ownCpuS: (tree[0]?.ownTicks ?? 0) / CLK_TCK,
      rssBytes: treeRssPages(tree) * PAGE_BYTES,
      pssBytes: tree.reduce((sum, p) => sum + readPssBytes(p.pid), 0),
      alive: tree.length > 0,
    };
  });
}
