import type { Subprocess } from "bun";
import { afterEach } from "bun:test";
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
  /** Every Nth call of these operations answers ThrottlingException (ECS) or RequestLimitExceeded (EC2), as AWS does. */
  throttle?: { actions: string[]; every: number };
  /** The first `count` calls of an operation after RunTask are all throttled: more than the SDK's own retries. */
  throttleBurst?: { action: string; count: number };
  /** DescribeNetworkInterfaces says InvalidNetworkInterfaceID.NotFound this many times after the task is RUNNING. */
  eniUnknownCalls?: number;
  /** The ENI's Association (its public IP) appears only from this DescribeNetworkInterfaces call on (1 = at once). */
  publicIpFromCall?: number;
  /** The ENI never gets a public IP (a subnet without an internet gateway). */
  noPublicIp?: boolean;
  /** The first call of these operations is never answered (a connection that hangs), until the fake stops. */
  hangOnce?: string[];
  /** StopTask of these task ids says the task is not found (it went away between ListTasks and StopTask). */
  vanished?: string[];
  /** Stack outputs that differ from the good ones (e.g. a hand-edited stack). */
  stackOutputs?: Record<string, string>;
}

/**
 * The documented request rules of the operations vat calls, so that the fake answers a request AWS would refuse the
 * way AWS does (InvalidParameterException / ClientException, HTTP 400) instead of being kinder than AWS. From the ECS
 * API reference: startedBy is up to 36 letters, numbers, '-', '/' and '_'; tags at most 50, key 1-128 and value up to
 * 256 characters of letters, numbers, spaces and + - = . _ : / @, no 'aws:' key prefix; overrides at most 8192
 * characters of JSON; task-level override cpu/memory are strings, container-level ones integers; StopTask's reason
 * up to 255 characters; RunTask count 1-10; DescribeTasks 1-100 tasks; ListTasks maxResults 1-100; awsvpc at most 16
 * subnets and 5 security groups; clientToken up to 64 characters; a non-empty container override names its container.
 * Environment entries are name/value strings: the reference documents no further rule for them, so none is invented.
 */
export function ecsRequestProblem(action: string, body: any): string | null {
  const startedBy = (v: unknown) =>
    v === undefined || (typeof v === "string" && /^[A-Za-z0-9/_-]{1,36}$/.test(v))
      ? null
      : `startedBy '${v}' is invalid: up to 36 letters (uppercase and lowercase), numbers, hyphens (-), forward slash (/), and underscores (_) are allowed`;
  switch (action) {
    case "RunTask": {
      if (typeof body.taskDefinition !== "string" || !body.taskDefinition) return "taskDefinition can not be blank.";
      if (body.count !== undefined && !(Number.isInteger(body.count) && body.count >= 1 && body.count <= 10)) {
        return "count must be between 1 and 10.";
      }
      if (body.launchType !== undefined && !["EC2", "FARGATE", "EXTERNAL", "MANAGED_INSTANCES"].includes(body.launchType)) {
        return `launchType '${body.launchType}' is not valid.`;
      }
      if (body.clientToken !== undefined && (typeof body.clientToken !== "string" || body.clientToken.length > 64)) {
        return "clientToken must be at most 64 characters.";
      }
      const sb = startedBy(body.startedBy);
      if (sb) return sb;
      const tags = body.tags ?? [];
      if (!Array.isArray(tags) || tags.length > 50) return "Tags can not exceed 50.";
      for (const t of tags) {
        const chars = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
        if (typeof t.key !== "string" || t.key.length < 1 || t.key.length > 128 || !chars.test(t.key)) {
          return `Tag key '${t.key}' is invalid: 1-128 letters, numbers, spaces and + - = . _ : / @.`;
        }
        if (/^aws:/i.test(t.key)) return `Tag key '${t.key}' is invalid: the aws: prefix is reserved for AWS use.`;
        if (t.value !== undefined && (typeof t.value !== "string" || t.value.length > 256 || !chars.test(t.value))) {
          return `Tag value '${t.value}' is invalid: up to 256 letters, numbers, spaces and + - = . _ : / @.`;
        }
      }
      const vpc = body.networkConfiguration?.awsvpcConfiguration;
      if (body.launchType === "FARGATE" && !vpc) return "Network Configuration must be provided when networkMode 'awsvpc' is specified.";
      if (vpc) {
        if (!Array.isArray(vpc.subnets) || vpc.subnets.length < 1 || vpc.subnets.length > 16) return "subnets must have 1-16 items.";
        if (vpc.securityGroups !== undefined && (!Array.isArray(vpc.securityGroups) || vpc.securityGroups.length > 5)) {
          return "securityGroups can have at most 5 items.";
        }
        if (vpc.assignPublicIp !== undefined && !["ENABLED", "DISABLED"].includes(vpc.assignPublicIp)) {
          return `assignPublicIp '${vpc.assignPublicIp}' is not valid.`;
        }
      }
      const o = body.overrides;
      if (o !== undefined) {
        if (JSON.stringify(o).length > 8192) return "Container Overrides length must be at most 8192";
        for (const k of ["cpu", "memory"]) {
          if (o[k] !== undefined && typeof o[k] !== "string") return `overrides.${k} must be a string.`;
        }
        for (const c of o.containerOverrides ?? []) {
          if (typeof c.name !== "string" || !c.name) return "Container override name can not be blank.";
          for (const k of ["cpu", "memory", "memoryReservation"]) {
            if (c[k] !== undefined && !Number.isInteger(c[k])) return `containerOverrides.${k} must be an integer.`;
          }
          for (const e of c.environment ?? []) {
            if (typeof e.name !== "string" || typeof e.value !== "string") return "environment entries need a name and a value.";
          }
        }
      }
      return null;
    }
    case "StopTask":
      if (typeof body.task !== "string" || !body.task) return "task can not be blank.";
      if (body.reason !== undefined && (typeof body.reason !== "string" || body.reason.length > 255)) {
        return "reason must be at most 255 characters.";
      }
      return null;
    case "ListTasks":
      if (body.maxResults !== undefined && !(Number.isInteger(body.maxResults) && body.maxResults >= 1 && body.maxResults <= 100)) {
        return "maxResults must be between 1 and 100.";
      }
      if (body.desiredStatus !== undefined && !["RUNNING", "PENDING", "STOPPED"].includes(body.desiredStatus)) {
        return `desiredStatus '${body.desiredStatus}' is not valid.`;
      }
      return startedBy(body.startedBy);
    case "DescribeTasks":
      if (!Array.isArray(body.tasks) || body.tasks.length < 1) return "Tasks cannot be empty.";
      if (body.tasks.length > 100) return "Tasks can have at most 100 items.";
      if (body.include !== undefined && (!Array.isArray(body.include) || body.include.some((i: string) => i !== "TAGS"))) {
        return "include may only hold TAGS.";
      }
      return null;
  }
  return null;
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
  /** DescribeNetworkInterfaces calls for this task's ENI since it was RUNNING. */
  eniCalls: number;
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
  private readonly callCounts = new Map<string, number>();
  private readonly sinceRunTask = new Map<string, number>();
  private readonly byClientToken = new Map<string, FakeTask>();

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
      eniCalls: 0,
    };
    this.tasks.set(t.arn, t);
    return t;
  }

  actions(): string[] {
    return this.calls.map((c) => c.action);
  }

  async stop(): Promise<void> {
    for (const release of this.released.splice(0)) release();
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

  private taskJson(t: FakeTask, withTags = false): any {
    const status = this.status(t);
    const s = this.scenario.stopWhileStarting;
    return {
      taskArn: t.arn,
      clusterArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/${CLUSTER}`,
      taskDefinitionArn: TASK_DEF,
      lastStatus: status,
      desiredStatus: t.stoppedReason ? "STOPPED" : "RUNNING",
      launchType: "FARGATE",
      ...(t.startedBy ? { startedBy: t.startedBy } : {}),
      // As in ECS: tags only when asked for with include: ["TAGS"].
      ...(withTags ? { tags: t.tags } : {}),
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

  private readonly hung = new Set<string>();
  private readonly released: (() => void)[] = [];

  private async handle(req: Request): Promise<Response> {
    const target = req.headers.get("x-amz-target");
    const text = await req.text();
    const name = target?.split(".").pop() ?? new URLSearchParams(text).get("Action") ?? "";
    if (this.scenario.hangOnce?.includes(name) && !this.hung.has(name)) {
      this.hung.add(name);
      this.calls.push({ service: target ? "ecs" : "ec2", action: `${name} (hung)`, body: {} });
      await new Promise<void>((resolve) => this.released.push(resolve));
      return new Response("", { status: 500 });
    }
    if (target) {
      const action = target.split(".").pop()!;
      const body = text ? JSON.parse(text) : {};
      this.calls.push({ service: "ecs", action, body });
      if (!req.headers.get("authorization")?.startsWith("AWS4-HMAC-SHA256 ")) return this.ecsError("MissingAuthenticationTokenException", "no SigV4 signature");
      if (this.scenario.accessDenied?.includes(action)) {
        return this.ecsError("AccessDeniedException", `User: arn:aws:iam::${ACCOUNT}:user/vat is not authorized to perform: ecs:${action}`);
      }
      if (this.throttled(action)) return this.ecsError("ThrottlingException", "Rate exceeded");
      const problem = ecsRequestProblem(action, body);
      if (problem) return this.ecsError("InvalidParameterException", problem);
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
    if (service === "ec2" && this.throttled(action)) {
      return xml(`<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>r</RequestID></Response>`, 503);
    }
    if (service === "cloudformation" && action === "DescribeStacks") return this.describeStacks(form.get("StackName"));
    if (service === "ec2" && action === "DescribeNetworkInterfaces") return this.describeEnis(form);
    return xml(`<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>${action}</Message></Error></ErrorResponse>`, 400);
  }

  /** Whether this call is one the scenario throttles (counted per operation). */
  private throttled(action: string): boolean {
    const n = (this.callCounts.get(action) ?? 0) + 1;
    this.callCounts.set(action, n);
    const burst = this.scenario.throttleBurst;
    if (burst?.action === action && this.sinceRunTask.has(action)) {
      const k = this.sinceRunTask.get(action)! + 1;
      this.sinceRunTask.set(action, k);
      if (k <= burst.count) return true;
    }
    const t = this.scenario.throttle;
    return !!t && t.actions.includes(action) && n % t.every === 0;
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
        // RunTask is idempotent on clientToken: a retried request answers the task the first one started.
        const same = body.clientToken ? this.byClientToken.get(body.clientToken) : undefined;
        if (same) return ok({ tasks: [this.taskJson(same)], failures: [] });
        for (const c of body.overrides?.containerOverrides ?? []) {
          if (c.name !== "vat") return this.ecsError("InvalidParameterException", `Override for container named ${c.name} is not a container in the TaskDefinition.`);
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
          eniCalls: 0,
        };
        this.tasks.set(t.arn, t);
        if (body.clientToken) this.byClientToken.set(body.clientToken, t);
        this.describeCount = 0;
        if (this.scenario.throttleBurst) this.sinceRunTask.set(this.scenario.throttleBurst.action, 0);
        return ok({ tasks: [this.taskJson(t)], failures: [] });
      }
      case "DescribeTasks": {
        this.describeCount++;
        if (this.describeCount <= (this.scenario.missing ?? 0)) {
          return ok({ tasks: [], failures: body.tasks.map((arn: string) => ({ arn, reason: "MISSING" })) });
        }
        const found = (body.tasks as string[]).map((a) => this.tasks.get(a)).filter((t): t is FakeTask => !!t);
        const missing = (body.tasks as string[]).filter((a) => !this.tasks.has(a)).map((arn) => ({ arn, reason: "MISSING" }));
        return ok({ tasks: found.map((t) => this.taskJson(t, body.include?.includes("TAGS"))), failures: missing });
      }
      case "StopTask": {
        const t = this.tasks.get(body.task);
        if (!t || this.scenario.vanished?.includes(t.id)) return this.ecsError("InvalidParameterException", "The referenced task was not found.");
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

  private describeStacks(name: string | null): Response {
    // As in CloudFormation: no StackName (or an empty one) describes every stack in the account, here this one and
    // someone else's listed first, so that a launcher which sends no name picks the wrong stack.
    if (!name) return this.stacksXml([["someone-elses-stack", { ClusterName: "not-vat", TaskDefinitionArn: "arn:x", ContainerName: "web", SubnetIds: "subnet-1", SecurityGroupId: "sg-1" }], [this.stackName, this.outputs()]]);
    if (name !== this.stackName) {
      return xml(`<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id ${name} does not exist</Message></Error><RequestId>r</RequestId></ErrorResponse>`, 400);
    }
    return this.stacksXml([[name, this.outputs()]]);
  }

  private outputs(): Record<string, string> {
    return {
      ClusterName: CLUSTER,
      TaskDefinitionArn: TASK_DEF,
      ContainerName: "vat",
      ContainerPort: String(FAKE_TASK_PORT),
      SubnetIds: "subnet-0aaaaaaaaaaaaaaa1,subnet-0aaaaaaaaaaaaaaa2",
      SecurityGroupId: "sg-0bbbbbbbbbbbbbbb1",
      ...this.scenario.stackOutputs,
    };
  }

  private stacksXml(stacks: [string, Record<string, string>][]): Response {
    const member = ([name, outputs]: [string, Record<string, string>]) => {
      const out = Object.entries(outputs)
        .map(([k, v]) => `<member><OutputKey>${k}</OutputKey><OutputValue>${v}</OutputValue></member>`)
        .join("");
      return `<member><StackName>${name}</StackName><StackId>arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/${name}/1</StackId>
<StackStatus>CREATE_COMPLETE</StackStatus><CreationTime>2026-11-01T00:00:00Z</CreationTime><Outputs>${out}</Outputs></member>`;
    };
    return xml(`<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks>${stacks.map(member).join("")}</Stacks></DescribeStacksResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeStacksResponse>`);
  }

  /**
   * As EC2 answers: an unknown or malformed id is an error for the whole request, not an empty set; right after a task
   * is RUNNING its ENI may still be unknown, and its Association (the public IP) may come later (eventual consistency).
   */
  private describeEnis(form: URLSearchParams): Response {
    const ids = [...form.entries()].filter(([k]) => k.startsWith("NetworkInterfaceId.")).map(([, v]) => v);
    const ec2Error = (code: string, message: string) =>
      xml(`<Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors><RequestID>r</RequestID></Response>`, 400);
    const malformed = ids.find((id) => !/^eni-[0-9a-f]{8,17}$/.test(id));
    if (malformed) return ec2Error("InvalidNetworkInterfaceID.Malformed", `Invalid id: "${malformed}" (expecting "eni-...")`);
    const tasks: FakeTask[] = [];
    for (const id of ids) {
      const t = [...this.tasks.values()].find((x) => x.eni === id);
      const call = t ? ++t.eniCalls : 0;
      if (!t || call <= (this.scenario.eniUnknownCalls ?? 0)) {
        return ec2Error("InvalidNetworkInterfaceID.NotFound", `The networkInterface ID '${id}' does not exist`);
      }
      tasks.push(t);
    }
    const items = tasks
      .map((t) => {
        const from = (this.scenario.eniUnknownCalls ?? 0) + (this.scenario.publicIpFromCall ?? 1);
        const associated = !this.scenario.noPublicIp && t.eniCalls >= from;
        const association = associated ? `<association><publicIp>${t.ip}</publicIp></association>` : "";
        return `<item><networkInterfaceId>${t.eni}</networkInterfaceId><privateIpAddress>${t.ip}</privateIpAddress>${association}</item>`;
      })
      .join("");
    return xml(`<DescribeNetworkInterfacesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><networkInterfaceSet>${items}</networkInterfaceSet></DescribeNetworkInterfacesResponse>`);
  }
}

function xml(body: string, status = 200): Response {
  return new Response(body, { status, headers: { "content-type": "text/xml" } });
}

/** A maker of fakes for a test file: every fake it made is stopped (its tasks' servers with it) after each test. */
export function fakeAwsPerTest(): (scenario?: Scenario) => FakeAws {
  const fakes: FakeAws[] = [];
  afterEach(async () => {
    for (const f of fakes.splice(0)) await f.stop();
  });
  return (scenario = {}) => {
    const f = new FakeAws(scenario);
    fakes.push(f);
    return f;
  };
}
