import { VatError, failed } from "../errors.ts";
import { logLine } from "../log.ts";
import { waitUntilLive } from "./live.ts";
import type { LaunchPlan } from "./plan.ts";

export interface FargateOriginOptions {
  region: string | undefined;
  stack: string;
  startTimeoutMs: number;
  cancelled: () => string | null;
  onWaiting: (reason: string, elapsedMs: number) => void;
  /**
   * More container environment (e.g. VAT_PUSH with the ingests). RunTask overrides are visible to whoever may
   * DescribeTasks: production stream keys belong in the task definition's Secrets Manager secrets instead.
   */
  extraEnv?: Record<string, string>;
  /** The command that logs, e.g. "vat launch" or "vat compare". */
  label: string;
}

export interface FargateOrigin {
  url: string;
  task: string;
  /** Stops the task with a reason; safe to call more than once. A stop that fails is logged with how to retry. */
  stop(reason: string): Promise<void>;
}

/**
 * Starts a Fargate task of the stack's task definition, waits until it is RUNNING, has an address and its stream is
 * live; stops it on every way out of the start (an error, a timeout, a signal).
 */
export async function startFargateOrigin(plan: LaunchPlan, o: FargateOriginOptions): Promise<FargateOrigin> {
  const aws = await import("./fargate.ts"); // the SDK loads only when the cloud is used
  const clients = aws.awsClients(o.region);
  const stack = await aws.describeStack(clients, o.stack);
  logLine(`${o.label}: starting a Fargate task in ${stack.cluster} (${plan.size.name} ${plan.fps} fps, id ${plan.id})`);
  const task = await aws.startTask(clients, stack, plan, o.extraEnv ?? {});
  const taskId = task.split("/").pop();
  let stopped = false;
  const stop = async (reason: string) => {
    if (stopped) return;
    stopped = true;
    try {
      await aws.stopTask(clients, stack, task, reason);
      logLine(`${o.label}: task ${taskId} stopped (${reason})`);
    } catch (err) {
      logLine(`${o.label}: COULD NOT STOP task ${task}: ${(err as Error).message}; stop it with: vat launch stop --id ${plan.id}`);
      throw err;
    }
  };
  try {
    const started = performance.now();
    const running = await aws.waitForRunning(clients, stack, task, {
      timeoutMs: o.startTimeoutMs,
      pollMs: 1000,
      missingGraceMs: 30_000,
      onStatus: (s) => logLine(`${o.label}: task ${taskId}: ${s}`),
      cancelled: o.cancelled,
    });
    const remainingMs = o.startTimeoutMs - (performance.now() - started);
    const ip = await aws.taskAddress(clients, running, {
      // EC2 may take a while to show the public IP; a minute is plenty for a subnet that gives one at all.
      timeoutMs: Math.min(60_000, Math.max(5000, remainingMs)),
      cancelled: o.cancelled,
      onStatus: (s) => logLine(`${o.label}: task ${taskId}: ${s}`),
    });
    const url = `http://${ip}:${stack.port}`;
    logLine(`${o.label}: task ${taskId} RUNNING at ${ip}, waiting for its stream`);
    await waitUntilLive(url, {
      timeoutMs: Math.max(1000, o.startTimeoutMs - (performance.now() - started)),
      cancelled: o.cancelled,
      onWaiting: o.onWaiting,
    });
    return { url, task, stop };
  } catch (err) {
    const sig = o.cancelled();
    // The cause of the failure is what the user must see; a failed stop is logged by stop() with how to retry.
    await stop(sig ? `${o.label} ${plan.id}: interrupted by ${sig} while starting` : `${o.label} ${plan.id}: ${(err as Error).message}`).catch(() => {});
    throw err instanceof VatError ? err : failed((err as Error).message);
  }
}
