/**
 * The allocator setting vat's long measurements run with. Bun's allocator (mimalloc) hands pages that have been free
 * for a moment back to the system (madvise) and faults them in again, 4 KiB at a time, when it next uses them. A
 * client takes its media in bursts: a segment a second, each read out of its decoder's pipe in 64 KiB pieces. Between
 * two bursts the pages of the last one are handed back, and the next burst takes them in again: in a 1080p30 client
 * that was 2,000 page faults a second reading codes and 19,000 with --quality, and about half of the client's own
 * CPU. With purging off (MIMALLOC_PURGE_DELAY=-1) freed pages stay for the next burst: the process keeps the most it
 * has used instead (docs/performance.md gives both figures).
 *
 * A client reading many streams is busy all the time, so nothing is handed back between bursts to begin with: with
 * twelve 1080p streams in one client the CPU was the same either way and the memory 13 MiB a stream higher with
 * purging off. So of the clients only a measurement of one or two streams (a stream, or a stream and its control)
 * runs so: `vat client` naming at most two streams, and `vat launch`, which measures one.
 *
 * `vat serve` runs so too. Its main thread cost the same either way, but mimalloc's thread that hands pages back
 * woke all the time: at 1080p30 it took 0.005 CPU-s/s (two origins side by side, three 20 s windows after their
 * first minute, per thread from /proc), a tenth of what vat's process adds to x264, for 30 MB more resident (77 ->
 * 107 MB).
 *
 * mimalloc reads the variable as the process starts, so a command that wants it starts itself again with it set
 * (execve: the same process, the same pid and arguments). A value already in the environment is left as it is, so a
 * user can set another (MIMALLOC_PURGE_DELAY=100 is Bun's default).
 */

/** At most this many streams named on a client's command line (--url, --control) make it a short-burst reader. */
const FEW_STREAMS = 2;

function fewStreams(args: readonly string[]): boolean {
  let streams = 0;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (/^--(url|control)(=|$)/.test(a)) streams++;
    // Every rendition of a ladder: as many streams as it has, not known before it is read.
    if (/^--variant=all$/i.test(a) || (a === "--variant" && args[i + 1]?.toLowerCase() === "all")) return false;
  }
  return streams <= FEW_STREAMS;
}

export const PURGE_VARIABLE = "MIMALLOC_PURGE_DELAY";

/** What to run again and with which environment, or null to go on as started. Pure. */
export function restartPlan(
  argv: readonly string[],
  main: string,
  execPath: string,
  env: Record<string, string | undefined>,
): { file: string; args: string[]; env: Record<string, string> } | null {
  const fromSource = /\.(ts|js)$/.test(main);
  const userArgs = argv.slice(2);
  const command = userArgs.find((a) => !a.startsWith("-"));
  if (env[PURGE_VARIABLE] !== undefined) return null;
  if (command !== "launch" && command !== "serve" && !(command === "client" && fewStreams(userArgs))) return null;
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) clean[k] = v;
  return {
    file: execPath,
    args: [execPath, ...(fromSource ? [main] : []), ...userArgs],
    env: { ...clean, [PURGE_VARIABLE]: "-1" },
  };
}

/** Starts this process again with the allocator setting when its command wants it; returns only when it does not. */
export function restartForLongRuns(): void {
  const plan = restartPlan(process.argv, Bun.main, process.execPath, process.env);
  if (!plan || typeof process.execve !== "function") return;
  process.execve(plan.file, plan.args, plan.env);
}
