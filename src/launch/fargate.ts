import { CloudFormationClient, DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import { DescribeNetworkInterfacesCommand, EC2Client } from "@aws-sdk/client-ec2";
import {
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
  RunTaskCommand,
  StopTaskCommand,
  type RunTaskCommandInput,
  type Task,
} from "@aws-sdk/client-ecs";
import { VatError, badInput, failed, interrupted } from "../errors.ts";
import type { LaunchPlan } from "./plan.ts";
import { serveEnvironment } from "./plan.ts";
import { backoffMs, isEniNotFound, isThrottling } from "./retry.ts";

/** What the launcher needs from the CloudFormation stack's outputs (infra/fargate_cluster.yaml). */
export interface StackInfo {
  cluster: string;
  taskDefinition: string;
  containerName: string;
  subnets: string[];
  securityGroup: string;
  /** The task's vat serve port (the ContainerPort output; 5000 for a stack that predates it). */
  port: number;
}

export interface AwsClients {
  ecs: ECSClient;
  ec2: EC2Client;
  cfn: CloudFormationClient;
}

/**
 * Clients on the SDK's standard chains: credentials, region (or --region), AWS_ENDPOINT_URL* overrides. Requests have
 * time limits (the SDK has none by default): a connection that hangs is retried by the SDK instead of holding the
 * launch, and a task it started, forever.
 */
export function awsClients(region?: string): AwsClients {
  const config = { ...(region ? { region } : {}), requestHandler: { connectionTimeout: 5000, requestTimeout: 10_000, throwOnRequestTimeout: true } };
  return { ecs: new ECSClient(config), ec2: new EC2Client(config), cfn: new CloudFormationClient(config) };
}

/** The SDK's errors as one line; AccessDenied is said as such, never as a timeout. */
export function awsError(what: string, err: unknown): VatError {
  const e = err as { name?: string; message?: string; Code?: string };
  const name = e?.name ?? e?.Code ?? "Error";
  if (/AccessDenied|UnauthorizedOperation|not authorized/i.test(`${name} ${e?.message ?? ""}`)) {
    return failed(`AWS refused ${what}: access denied (${name}: ${e?.message ?? "no message"}); check the launcher policy`);
  }
  if (/CredentialsProviderError|Could not load credentials/i.test(`${name} ${e?.message ?? ""}`)) {
    return badInput(`no AWS credentials for ${what}: configure them (aws configure, AWS_PROFILE or AWS_ACCESS_KEY_ID)`);
  }
  if (/Region is missing|Region not accepted: region=""/i.test(e?.message ?? "")) {
    return badInput(`no AWS region for ${what}: give --region, or set AWS_REGION (or a profile's region)`);
  }
  return failed(`${what} failed: ${name}: ${e?.message ?? String(err)}`);
}

/** How long a call keeps asking while AWS throttles it, after the SDK's own retries. */
const THROTTLE_PATIENCE_MS = 30_000;

/**
 * One AWS call. Throttling is not an answer: AWS asks callers to back off and retry, so vat does, beyond the SDK's
 * few attempts, for a bounded time (RunTask too: it carries a clientToken, so a retry cannot start a second task).
 */
async function call<T>(what: string, f: () => Promise<T>, cancelled: () => string | null = () => null): Promise<T> {
  const started = performance.now();
  for (let attempt = 0; ; attempt++) {
    try {
      return await f();
    } catch (err) {
      const sig = cancelled();
      if (sig) throw interrupted(sig, `stopped by ${sig} during ${what}`);
      if (!isThrottling(err) || performance.now() - started > THROTTLE_PATIENCE_MS) throw awsError(what, err);
      await Bun.sleep(backoffMs(attempt, 1000, 8000));
    }
  }
}

/** The ContainerPort output as a port (5000 for a stack that predates the output); anything else is a broken stack. */
function stackPort(stackName: string, output: string | undefined): number {
  if (!output) return 5000;
  const port = Number(output);
  if (!/^\d+$/.test(output) || port < 1 || port > 65535) {
    throw failed(`stack '${stackName}' has ContainerPort '${output}', which is not a port (1-65535): is it infra/fargate_cluster.yaml?`);
  }
  return port;
}

export async function describeStack(c: AwsClients, stackName: string): Promise<StackInfo> {
  const r = await call(`DescribeStacks ${stackName}`, () => c.cfn.send(new DescribeStacksCommand({ StackName: stackName })));
  const stack = r.Stacks?.[0];
  if (!stack) throw failed(`stack '${stackName}' was not found: deploy infra/fargate_cluster.yaml or name it with --stack`);
  const out = Object.fromEntries((stack.Outputs ?? []).map((o) => [o.OutputKey ?? "", o.OutputValue ?? ""]));
  const need = ["ClusterName", "TaskDefinitionArn", "ContainerName", "SubnetIds", "SecurityGroupId"];
  const missing = need.filter((k) => !out[k]);
  if (missing.length) throw failed(`stack '${stackName}' lacks the outputs ${missing.join(", ")}: is it infra/fargate_cluster.yaml?`);
  return {
    cluster: out.ClusterName!,
    taskDefinition: out.TaskDefinitionArn!,
    containerName: out.ContainerName!,
    subnets: out.SubnetIds!.split(",").map((s) => s.trim()).filter(Boolean),
    securityGroup: out.SecurityGroupId!,
    port: stackPort(stackName, out.ContainerPort),
  };
}

/**
 * vat's tasks carry startedBy "vat/<id>": ECS allows up to 36 letters, numbers, '-', '/' and '_' there, and ListTasks
 * can filter on it. Versions before this one sent "vat:<id>", which ECS refuses; such tasks are still recognised.
 */
export const STARTED_BY_PREFIX = "vat/";
const LEGACY_STARTED_BY_PREFIX = "vat:";
const STARTED_BY = /^[A-Za-z0-9/_-]{1,36}$/;

/** The startedBy of a launch id's task. Pure. */
export function startedByFor(id: string): string {
  const startedBy = `${STARTED_BY_PREFIX}${id}`;
  if (!STARTED_BY.test(startedBy)) {
    throw badInput(`launch id '${id}' cannot name an ECS task: use 1-32 letters, digits, '_' or '-'`);
  }
  return startedBy;
}

/** The launch id in a task's startedBy, or null for a task vat did not start. Pure. */
export function idFromStartedBy(startedBy: string | undefined): string | null {
  for (const prefix of [STARTED_BY_PREFIX, LEGACY_STARTED_BY_PREFIX]) {
    if (startedBy?.startsWith(prefix) && startedBy.length > prefix.length) return startedBy.slice(prefix.length);
  }
  return null;
}

/** StopTask's reason as ECS takes it: at most 255 characters, never half a character. Pure. */
export function stopReasonText(reason: string): string {
  if (reason.length <= 255) return reason;
  const cut = reason.slice(0, 254);
  return `${/[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut}…`;
}

/** The RunTask request for a plan; clientToken makes retries of it start one task, not several. Pure. */
export function runTaskInput(
  stack: StackInfo,
  plan: LaunchPlan,
  clientToken: string,
  extraEnv: Record<string, string> = {},
): RunTaskCommandInput {
  const environment = Object.entries({ ...serveEnvironment(plan), ...extraEnv }).map(([name, value]) => ({ name, value }));
  return {
    cluster: stack.cluster,
    taskDefinition: stack.taskDefinition,
    launchType: "FARGATE",
    count: 1,
    startedBy: startedByFor(plan.id),
    clientToken,
    tags: [{ key: "vat:id", value: plan.id }],
    networkConfiguration: {
      awsvpcConfiguration: { subnets: stack.subnets, securityGroups: [stack.securityGroup], assignPublicIp: "ENABLED" },
    },
    overrides: {
      ...(plan.cpu !== null ? { cpu: String(plan.cpu) } : {}),
      ...(plan.memoryMiB !== null ? { memory: String(plan.memoryMiB) } : {}),
      containerOverrides: [{ name: stack.containerName, environment }],
    },
  };
}

export async function startTask(c: AwsClients, stack: StackInfo, plan: LaunchPlan, extraEnv: Record<string, string> = {}): Promise<string> {
  const input = runTaskInput(stack, plan, crypto.randomUUID(), extraEnv);
  const r = await call("RunTask", () => c.ecs.send(new RunTaskCommand(input)));
  const task = r.tasks?.[0];
  if (!task?.taskArn) {
    const f = r.failures?.[0];
    throw failed(`RunTask started no task: ${f?.reason ?? "no reason given"}${f?.detail ? ` (${f.detail})` : ""}`);
  }
  return task.taskArn;
}

/** Why a stopped task stopped, from what ECS reports. Pure. */
export function stoppedWhy(t: Task): string {
  const container = t.containers?.find((c) => c.reason || c.exitCode !== undefined);
  const parts = [
    t.stopCode,
    t.stoppedReason,
    container?.reason ? `container: ${container.reason}` : undefined,
    container?.exitCode !== undefined ? `exit code ${container.exitCode}` : undefined,
  ].filter(Boolean);
  return parts.join("; ") || "no reason given";
}

export interface WaitOptions {
  timeoutMs: number;
  pollMs: number;
  /** How long DescribeTasks may say MISSING right after RunTask (eventual consistency). */
  missingGraceMs: number;
  onStatus: (status: string) => void;
  cancelled: () => string | null;
}

/** Polls DescribeTasks until RUNNING; a task that stops while starting is an error with its reasons. */
export async function waitForRunning(c: AwsClients, stack: StackInfo, taskArn: string, o: WaitOptions): Promise<Task> {
  const started = performance.now();
  let last = "";
  for (;;) {
    const sig = o.cancelled();
    if (sig) throw interrupted(sig, `stopped by ${sig} while the task was starting`);
    const r = await call(
      "DescribeTasks",
      () => c.ecs.send(new DescribeTasksCommand({ cluster: stack.cluster, tasks: [taskArn] })),
      o.cancelled,
    );
    const t = r.tasks?.[0];
    const elapsed = performance.now() - started;
    if (!t) {
      const reason = r.failures?.[0]?.reason ?? "not found";
      if (reason !== "MISSING" || elapsed > o.missingGraceMs) throw failed(`task ${taskArn} cannot be found: ${reason}`);
      if (last !== "MISSING") o.onStatus("MISSING (not visible yet)");
      last = "MISSING";
    } else {
      const status = t.lastStatus ?? "UNKNOWN";
      if (status !== last) o.onStatus(status);
      last = status;
      if (status === "RUNNING") return t;
      if (status === "STOPPED" || status === "DEPROVISIONING" || status === "STOPPING" || t.desiredStatus === "STOPPED") {
        if (status === "STOPPED" || t.stoppedReason) throw failed(`the task stopped while starting: ${stoppedWhy(t)}`);
      }
    }
    if (elapsed > o.timeoutMs) throw failed(`the task was not RUNNING after ${Math.round(o.timeoutMs / 1000)} s (last status ${last})`);
    await Bun.sleep(o.pollMs);
  }
}

export interface AddressWait {
  timeoutMs: number;
  cancelled: () => string | null;
  onStatus: (status: string) => void;
}

/**
 * The task's public address, through its network interface. EC2 is eventually consistent: right after the task is
 * RUNNING its ENI may be unknown, or known without its Association (the public IP) yet; so ask again, with backoff,
 * until timeoutMs, before concluding that the subnet gives no public IP.
 */
export async function taskAddress(c: AwsClients, t: Task, o: AddressWait): Promise<string> {
  const eni = t.attachments
    ?.find((a) => a.type === "ElasticNetworkInterface")
    ?.details?.find((d) => d.name === "networkInterfaceId")?.value;
  if (!eni) throw failed(`task ${t.taskArn} has no network interface`);
  const started = performance.now();
  let waiting = "";
  for (let attempt = 0; ; attempt++) {
    const sig = o.cancelled();
    if (sig) throw interrupted(sig, `stopped by ${sig} while waiting for the task's address`);
    let why: string;
    try {
      const r = await c.ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [eni] }));
      const ip = r.NetworkInterfaces?.[0]?.Association?.PublicIp;
      if (ip) return ip;
      why = "no public IP yet";
    } catch (err) {
      if (!isEniNotFound(err) && !isThrottling(err)) throw awsError("DescribeNetworkInterfaces", err);
      why = isEniNotFound(err) ? "network interface not visible yet" : "throttled";
    }
    const elapsedS = Math.round((performance.now() - started) / 1000);
    if (performance.now() - started > o.timeoutMs) {
      if (why === "no public IP yet") {
        throw failed(
          `task ${t.taskArn} has no public IP after ${elapsedS} s: its subnets must have an internet gateway (assignPublicIp needs one)`,
        );
      }
      throw failed(`task ${t.taskArn}: its network interface ${eni} gave no address after ${elapsedS} s (${why})`);
    }
    if (why !== waiting) o.onStatus(`RUNNING, waiting for its address (${eni}: ${why})`);
    waiting = why;
    await Bun.sleep(backoffMs(attempt, 500, 4000));
  }
}

export async function stopTask(c: AwsClients, stack: StackInfo, taskArn: string, reason: string): Promise<void> {
  await call("StopTask", () => c.ecs.send(new StopTaskCommand({ cluster: stack.cluster, task: taskArn, reason: stopReasonText(reason) })));
}

/** Tasks in the cluster that vat started (startedBy "vat/<id>", or an older "vat:<id>"), optionally only those of one id. */
export async function listVatTasks(c: AwsClients, stack: StackInfo, id?: string): Promise<Task[]> {
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await call("ListTasks", () =>
      c.ecs.send(
        new ListTasksCommand({
          cluster: stack.cluster,
          ...(id ? { startedBy: startedByFor(id) } : {}),
          ...(nextToken ? { nextToken } : {}),
        }),
      ),
    );
    arns.push(...(page.taskArns ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  const tasks: Task[] = [];
  for (let i = 0; i < arns.length; i += 100) {
    const r = await call("DescribeTasks", () => c.ecs.send(new DescribeTasksCommand({ cluster: stack.cluster, tasks: arns.slice(i, i + 100) })));
    tasks.push(...(r.tasks ?? []));
  }
  return tasks.filter((t) => idFromStartedBy(t.startedBy) !== null);
}

/** A vat task as people read it. Pure. */
export interface TaskRow {
  id: string;
  arn: string;
  task: string;
  status: string;
  startedAtMs: number | null;
  ageS: number | null;
  cpu: string | null;
  memory: string | null;
}

export function taskRow(t: Task, nowMs: number): TaskRow {
  const started = t.createdAt ? new Date(t.createdAt).getTime() : null;
  return {
    id: idFromStartedBy(t.startedBy) ?? "",
    arn: t.taskArn ?? "",
    task: t.taskArn?.split("/").pop() ?? "",
    status: t.lastStatus ?? "UNKNOWN",
    startedAtMs: started,
    ageS: started !== null ? Math.round((nowMs - started) / 1000) : null,
    cpu: t.overrides?.cpu ?? t.cpu ?? null,
    memory: t.overrides?.memory ?? t.memory ?? null,
  };
}

/** Tasks older than the limit (0: all of them) and not already stopping. Pure. */
export function selectForCleanup(rows: TaskRow[], olderThanMs: number, nowMs: number): TaskRow[] {
  const oldEnough = (r: TaskRow) => (r.startedAtMs === null ? olderThanMs === 0 : nowMs - r.startedAtMs >= olderThanMs);
  return rows.filter((r) => oldEnough(r) && !["STOPPED", "STOPPING", "DEPROVISIONING"].includes(r.status));
}
