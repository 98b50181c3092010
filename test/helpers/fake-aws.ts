import type { Subprocess } from "bun";
import { VAT } from "./vat.ts";

/**
 * A fake AWS on loopback written for the tests. It speaks the wire protocols the real SDK uses: ECS as JSON 1.1
 * (X-Amz-Target), CloudFormation and EC2 as form-encoded queries answered in XML. Its RunTask really starts
 * `vat serve` (the compiled binary) with the task's environment overrides, each task on its own loopback address
 * (127.0.0.N:FAKE_TASK_PORT, like its own network interface); StopTask really stops it.
 */
/** The fake stack's container port: not 5000, so the tests show that vat launch follows the stack's ContainerPort. */
export const FAKE_TASK_PORT = 5080;

export interface Scenario {
  /** RunTask answers 200 with this failure reason and no task. */
  runTaskFailure?: string;
  /** The task goes PROVISIONING → PENDING → STOPPED with these reasons instead of RUNNING. */
  stopWhileStarting?: { stopCode: string; stoppedReason: string; containerReason: string };
  /** DescribeTasks answers MISSING this many times after RunTask. */
  missing?: number;
  /** These operations (e.g. "RunTask", "DescribeTasks") answer AccessDenied. */
  accessDenied?: string[];
  /** ms in PROVISIONING and in PENDING. */
  phaseMs?: number;
}

export interface FakeTask {
  arn: string;
  id: string;
  ip: string;
  eni: string;
  createdAt: number;
  startedBy: string;
  tags: { key: string; value: string }[];
  overrides: any;
  env: Record<string, string>;
  stoppedReason?: string;
  stopCode?: string;
  serve?: Subprocess;
  request: any;
  /** A task seeded by a test: RUNNING with no server behind it. */
  seeded?: boolean;
}

export interface Call {
  service: "ecs" | "ec2" | "cloudformation";
  action: string;
  body: any;
}

const REGION = "us-east-1";
const ACCOUNT = "123456789012";
const CLUSTER = "vat-cluster";
const TASK_DEF = `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/streaming-vat:1`;

let nextHost = 2 + Math.floor(Math.random() * 150);

export class FakeAws {
  readonly server: ReturnType<typeof Bun.serve>;
  readonly calls: Call[] = [];
  readonly tasks = new Map<string, FakeTask>();
  private describeCount = 0;

  constructor(
    public scenario: Scenario = {},
    readonly stackName = "streaming",
  ) {
    this.server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (req) => this.handle(req) });
  }

  get url(): string {
    return `http://127.0.0.1:${this.server.port}`;
  }

  /** The environment that points the real SDK (and so vat) at this fake. */
  get env(): Record<string, string> {
    return {
      AWS_ENDPOINT_URL: this.url,
      AWS_ACCESS_KEY_ID: "AKIDFAKEFAKEFAKE",
      AWS_SECRET_ACCESS_KEY: "fake-secret-not-printed",
      AWS_REGION: REGION,
      AWS_EC2_METADATA_DISABLED: "true",
    };
  }

  /** A running task that some earlier run (or someone else) started `ageMs` ago. */
  seedTask(startedBy: string, ageMs: number): FakeTask {
    const id = crypto.randomUUID().replaceAll("-", "");
    const t: FakeTask = {
      arn: `arn:aws:ecs:${REGION}:${ACCOUNT}:task/${CLUSTER}/${id}`,
      id,
      ip: "127.0.0.1",
      eni: `eni-${id.slice(0, 17)}`,
      createdAt: Date.now() - ageMs,
      startedBy,
      tags: [],
      overrides: { cpu: "512", memory: "1024" },
      env: {},
      request: {},
      seeded: true,
    };
    this.tasks.set(t.arn, t);
    return t;
  }

  actions(): string[] {
    return this.calls.map((c) => c.action);
  }

  async stop(): Promise<void> {
    for (const t of this.tasks.values()) {
      if (t.serve && t.serve.exitCode === null) {
        t.serve.kill("SIGTERM");
        await t.serve.exited;
      }
    }
    this.server.stop(true);
  }

  private status(t: FakeTask): string {
    if (t.stoppedReason && (!t.serve || t.serve.exitCode !== null)) return "STOPPED";
    if (t.stoppedReason) return "DEPROVISIONING";
    const phase = this.scenario.phaseMs ?? 300;
    const age = Date.now() - t.createdAt;
    if (age < phase) return "PROVISIONING";
    if (age < 2 * phase) return "PENDING";
    if (this.scenario.stopWhileStarting) {
      const s = this.scenario.stopWhileStarting;
      t.stoppedReason = s.stoppedReason;
      t.stopCode = s.stopCode;
      return "STOPPED";
    }
    if (!t.serve && !t.seeded) this.startServe(t);
    return "RUNNING";
  }

  private startServe(t: FakeTask): void {
    t.serve = Bun.spawn([VAT, "serve", "--host", t.ip, "--port", String(FAKE_TASK_PORT)], {
      stdin: "ignore",
      stdout: "ignore",
      stderr: "ignore",
      env: { ...process.env, ...t.env },
    });
  }

  private taskJson(t: FakeTask): any {
    const status = this.status(t);
    const s = this.scenario.stopWhileStarting;
    return {
      taskArn: t.arn,
      clusterArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/${CLUSTER}`,
      taskDefinitionArn: TASK_DEF,
      lastStatus: status,
      desiredStatus: t.stoppedReason ? "STOPPED" : "RUNNING",
      launchType: "FARGATE",
      startedBy: t.startedBy,
      tags: t.tags,
      overrides: t.overrides,
      cpu: t.overrides?.cpu ?? "512",
      memory: t.overrides?.memory ?? "1024",
      createdAt: t.createdAt / 1000,
      attachments: [
        {
          id: `att-${t.id}`,
          type: "ElasticNetworkInterface",
          status: status === "PROVISIONING" ? "PRECREATED" : "ATTACHED",
          details: status === "PROVISIONING" ? [] : [{ name: "networkInterfaceId", value: t.eni }, { name: "privateIPv4Address", value: t.ip }],
        },
      ],
      containers: [
        {
          name: "vat",
          lastStatus: status,
          ...(status === "STOPPED" && s ? { reason: s.containerReason } : {}),
          ...(status === "STOPPED" && t.serve ? { exitCode: t.serve.exitCode ?? 0 } : {}),
        },
      ],
      ...(t.stoppedReason ? { stoppedReason: t.stoppedReason, stopCode: t.stopCode ?? "UserInitiated" } : {}),
    };
  }

  private async handle(req: Request): Promise<Response> {
    const target = req.headers.get("x-amz-target");
    const text = await req.text();
    if (target) {
      const action = target.split(".").pop()!;
      const body = text ? JSON.parse(text) : {};
      this.calls.push({ service: "ecs", action, body });
      if (!req.headers.get("authorization")?.startsWith("AWS4-HMAC-SHA256 ")) return this.ecsError("MissingAuthenticationTokenException", "no SigV4 signature");
      if (this.scenario.accessDenied?.includes(action)) {
        return this.ecsError("AccessDeniedException", `User: arn:aws:iam::${ACCOUNT}:user/vat is not authorized to perform: ecs:${action}`);
      }
      return this.ecs(action, body);
    }
    const form = new URLSearchParams(text);
    const action = form.get("Action") ?? "";
    const service = form.get("Version") === "2010-05-15" ? "cloudformation" : "ec2";
    this.calls.push({ service, action, body: Object.fromEntries(form) });
    if (this.scenario.accessDenied?.includes(action)) {
      return service === "ec2"
        ? xml(`<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this operation.</Message></Error></Errors><RequestID>r</RequestID></Response>`, 403)
        : xml(`<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not authorized to perform cloudformation:${action}</Message></Error><RequestId>r</RequestId></ErrorResponse>`, 403);
    }
    if (service === "cloudformation" && action === "DescribeStacks") return this.describeStacks(form.get("StackName") ?? "");
    if (service === "ec2" && action === "DescribeNetworkInterfaces") return this.describeEnis(form);
    return xml(`<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>${action}</Message></Error></ErrorResponse>`, 400);
  }

  private ecsError(type: string, message: string): Response {
    return new Response(JSON.stringify({ __type: type, message }), {
      status: 400,
      headers: { "content-type": "application/x-amz-json-1.1" },
    });
  }

  private ecs(action: string, body: any): Response {
    const ok = (v: unknown) => new Response(JSON.stringify(v), { headers: { "content-type": "application/x-amz-json-1.1" } });
    if (body.cluster && body.cluster !== CLUSTER && !String(body.cluster).endsWith(`/${CLUSTER}`)) {
      return this.ecsError("ClusterNotFoundException", "Cluster not found.");
    }
    switch (action) {
      case "RunTask": {
        if (this.scenario.runTaskFailure) {
          return ok({ tasks: [], failures: [{ arn: `arn:aws:ecs:${REGION}:${ACCOUNT}:container-instance/x`, reason: this.scenario.runTaskFailure }] });
        }
        const id = crypto.randomUUID().replaceAll("-", "");
        const n = nextHost++;
        if (nextHost > 250) nextHost = 2;
        const env = Object.fromEntries(
          (body.overrides?.containerOverrides?.[0]?.environment ?? []).map((e: { name: string; value: string }) => [e.name, e.value]),
        );
        const t: FakeTask = {
          arn: `arn:aws:ecs:${REGION}:${ACCOUNT}:task/${CLUSTER}/${id}`,
          id,
          ip: `127.0.0.${n}`,
          eni: `eni-${id.slice(0, 17)}`,
          createdAt: Date.now(),
          startedBy: body.startedBy ?? "",
          tags: body.tags ?? [],
          overrides: body.overrides ?? {},
          env,
          request: body,
        };
        this.tasks.set(t.arn, t);
        this.describeCount = 0;
        return ok({ tasks: [this.taskJson(t)], failures: [] });
      }
      case "DescribeTasks": {
        this.describeCount++;
        if (this.describeCount <= (this.scenario.missing ?? 0)) {
          return ok({ tasks: [], failures: body.tasks.map((arn: string) => ({ arn, reason: "MISSING" })) });
        }
        const found = (body.tasks as string[]).map((a) => this.tasks.get(a)).filter((t): t is FakeTask => !!t);
        const missing = (body.tasks as string[]).filter((a) => !this.tasks.has(a)).map((arn) => ({ arn, reason: "MISSING" }));
        return ok({ tasks: found.map((t) => this.taskJson(t)), failures: missing });
      }
      case "StopTask": {
        const t = this.tasks.get(body.task);
        if (!t) return this.ecsError("InvalidParameterException", "The referenced task was not found.");
        t.stoppedReason = body.reason ?? "Task stopped by user";
        if (t.seeded) t.serve = undefined;
        t.stopCode = "UserInitiated";
        if (t.serve && t.serve.exitCode === null) t.serve.kill("SIGTERM");
        return ok({ task: this.taskJson(t) });
      }
      case "ListTasks": {
        const arns = [...this.tasks.values()]
          .filter((t) => this.status(t) !== "STOPPED")
          .filter((t) => !body.startedBy || t.startedBy === body.startedBy)
          .map((t) => t.arn);
        return ok({ taskArns: arns });
      }
    }
    return this.ecsError("InvalidAction", action);
  }

  private describeStacks(name: string): Response {
    if (name !== this.stackName) {
      return xml(`<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id ${name} does not exist</Message></Error><RequestId>r</RequestId></ErrorResponse>`, 400);
    }
    const outputs: Record<string, string> = {
      ClusterName: CLUSTER,
      TaskDefinitionArn: TASK_DEF,
      ContainerName: "vat",
      ContainerPort: String(FAKE_TASK_PORT),
      SubnetIds: "subnet-0aaaaaaaaaaaaaaa1,subnet-0aaaaaaaaaaaaaaa2",
      SecurityGroupId: "sg-0bbbbbbbbbbbbbbb1",
    };
    const members = Object.entries(outputs)
      .map(([k, v]) => `<member><OutputKey>${k}</OutputKey><OutputValue>${v}</OutputValue></member>`)
      .join("");
    return xml(`<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member>
<StackName>${name}</StackName><StackId>arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/${name}/1</StackId>
<StackStatus>CREATE_COMPLETE</StackStatus><CreationTime>2026-11-01T00:00:00Z</CreationTime><Outputs>${members}</Outputs>
</member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeStacksResponse>`);
  }

  private describeEnis(form: URLSearchParams): Response {
    const ids = [...form.entries()].filter(([k]) => k.startsWith("NetworkInterfaceId.")).map(([, v]) => v);
    const items = ids
      .map((id) => [...this.tasks.values()].find((t) => t.eni === id))
      .filter((t): t is FakeTask => !!t)
      .map((t) => `<item><networkInterfaceId>${t.eni}</networkInterfaceId><association><publicIp>${t.ip}</publicIp></association></item>`)
      .join("");
    return xml(`<DescribeNetworkInterfacesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><networkInterfaceSet>${items}</networkInterfaceSet></DescribeNetworkInterfacesResponse>`);
  }
}

function xml(body: string, status = 200): Response {
  return new Response(body, { status, headers: { "content-type": "text/xml" } });
}
