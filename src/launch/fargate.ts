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

/** Clients on the SDK's standard chains: credentials, region (or --region), AWS_ENDPOINT_URL* overrides. */
export function awsClients(region?: string): AwsClients {
  const config = region ? { region } : {};
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

async function call<T>(what: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    throw awsError(what, err);
  }
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
    port: out.ContainerPort ? Number(out.ContainerPort) : 5000,
  };
}

export const STARTED_BY_PREFIX = "vat:";

/** The RunTask request for a plan. Pure. */
export function runTaskInput(stack: StackInfo, plan: LaunchPlan): RunTaskCommandInput {
  const environment = Object.entries(serveEnvironment(plan)).map(([name, value]) => ({ name, value }));
  return {
    cluster: stack.cluster,
    taskDefinition: stack.taskDefinition,
    launchType: "FARGATE",
    count: 1,
    startedBy: `${STARTED_BY_PREFIX}${plan.id}`.slice(0, 36),
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

export async function startTask(c: AwsClients, stack: StackInfo, plan: LaunchPlan): Promise<string> {
  const r = await call("RunTask", () => c.ecs.send(new RunTaskCommand(runTaskInput(stack, plan))));
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
    const r = await call("DescribeTasks", () => c.ecs.send(new DescribeTasksCommand({ cluster: stack.cluster, tasks: [taskArn] })));
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

/** The task's public address, through its network interface. */
export async function taskAddress(c: AwsClients, t: Task): Promise<string> {
  const eni = t.attachments
    ?.find((a) => a.type === "ElasticNetworkInterface")
    ?.details?.find((d) => d.name === "networkInterfaceId")?.value;
  if (!eni) throw failed(`task ${t.taskArn} has no network interface`);
  const r = await call("DescribeNetworkInterfaces", () =>
    c.ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [eni] })),
  );
  const ip = r.NetworkInterfaces?.[0]?.Association?.PublicIp;
  if (!ip) {
    throw failed(`task ${t.taskArn} has no public IP: its subnets must have an internet gateway (assignPublicIp needs one)`);
  }
  return ip;
}

export async function stopTask(c: AwsClients, stack: StackInfo, taskArn: string, reason: string): Promise<void> {
  await call("StopTask", () => c.ecs.send(new StopTaskCommand({ cluster: stack.cluster, task: taskArn, reason: reason.slice(0, 255) })));
}

/** Tasks in the cluster that vat started (startedBy "vat:<id>"), optionally only those of one id. */
export async function listVatTasks(c: AwsClients, stack: StackInfo, id?: string): Promise<Task[]> {
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await call("ListTasks", () =>
      c.ecs.send(
        new ListTasksCommand({
          cluster: stack.cluster,
          ...(id ? { startedBy: `${STARTED_BY_PREFIX}${id}`.slice(0, 36) } : {}),
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
  return tasks.filter((t) => t.startedBy?.startsWith(STARTED_BY_PREFIX));
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
    id: (t.startedBy ?? "").slice(STARTED_BY_PREFIX.length),
    arn: t.taskArn ?? "",
    task: t.taskArn?.split("/").pop() ?? "",
    status: t.lastStatus ?? "UNKNOWN",
    startedAtMs: started,
    ageS: started !== null ? Math.round((nowMs - started) / 1000) : null,
    cpu: t.overrides?.cpu ?? t.cpu ?? null,
    memory: t.overrides?.memory ?? t.memory ?? null,
  };
}

/** Tasks older than the limit and not already stopping. Pure. */
export function selectForCleanup(rows: TaskRow[], olderThanS: number): TaskRow[] {
  return rows.filter((r) => r.ageS !== null && r.ageS > olderThanS && !["STOPPED", "STOPPING", "DEPROVISIONING"].includes(r.status));
}
