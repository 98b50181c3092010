import { describe, expect, test } from "bun:test";
import type { Task } from "@aws-sdk/client-ecs";
import {
  idFromStartedBy,
  runTaskInput,
  selectForCleanup,
  startedByFor,
  stopReasonText,
  taskRow,
  type StackInfo,
} from "../../src/launch/fargate.ts";
import { planLaunch } from "../../src/launch/plan.ts";
import { backoffMs, isEniNotFound, isThrottling } from "../../src/launch/retry.ts";
import { ecsRequestProblem } from "../helpers/fake-aws.ts";

const STACK: StackInfo = {
  cluster: "vat-cluster",
  taskDefinition: "arn:aws:ecs:us-east-1:123456789012:task-definition/streaming-vat:1",
  containerName: "vat",
  subnets: ["subnet-0aaaaaaaaaaaaaaa1"],
  securityGroup: "sg-0bbbbbbbbbbbbbbb1",
  port: 5000,
};

describe("the RunTask request", () => {
  test("for the longest id and the largest size it passes every documented ECS rule", () => {
    const plan = planLaunch({ id: "Z".repeat(32), cpu: "16384", memory: "120GB", imageSize: "1080p", fps: 60, videoType: "prerecorded" });
    const input = runTaskInput(STACK, plan, crypto.randomUUID());
    expect(input.startedBy).toBe(`vat/${"Z".repeat(32)}`);
    expect(ecsRequestProblem("RunTask", JSON.parse(JSON.stringify(input)))).toBeNull();
    expect(input.overrides).toMatchObject({ cpu: "16384", memory: "122880" });
  });
  test("the rules the fake checks do catch what vat used to send", () => {
    const input = { ...runTaskInput(STACK, planLaunch({ id: "x" }), "t"), startedBy: "vat:x" };
    expect(ecsRequestProblem("RunTask", input)).toMatch(/startedBy 'vat:x' is invalid/);
    expect(ecsRequestProblem("RunTask", { ...input, startedBy: "v".repeat(37) })).toMatch(/startedBy/);
    expect(ecsRequestProblem("RunTask", { ...input, startedBy: "ok", tags: [{ key: "aws:x", value: "1" }] })).toMatch(/aws: prefix/);
    expect(ecsRequestProblem("RunTask", { ...input, startedBy: "ok", tags: Array.from({ length: 51 }, (_, i) => ({ key: `k${i}`, value: "" })) })).toMatch(/50/);
    expect(ecsRequestProblem("RunTask", { ...input, startedBy: "ok", overrides: { cpu: 512 } })).toMatch(/overrides.cpu must be a string/);
    expect(ecsRequestProblem("StopTask", { task: "t", reason: "r".repeat(256) })).toMatch(/255/);
    expect(ecsRequestProblem("ListTasks", { startedBy: "vat:x" })).toMatch(/startedBy/);
  });
});

describe("startedBy", () => {
  test("vat/<id>, and back; the older vat:<id> is still recognised; others are not vat's", () => {
    expect(startedByFor("run-1")).toBe("vat/run-1");
    expect(() => startedByFor("a.b")).toThrow(/cannot name an ECS task/);
    expect(idFromStartedBy("vat/run-1")).toBe("run-1");
    expect(idFromStartedBy("vat:old.1")).toBe("old.1");
    for (const other of [undefined, "", "vat/", "vatican", "ecs-svc/123", "someone-else"]) expect(idFromStartedBy(other)).toBeNull();
  });
  test("StopTask's reason is cut to 255 characters, never inside a character", () => {
    expect(stopReasonText("done")).toBe("done");
    expect(stopReasonText("x".repeat(300))).toHaveLength(255);
    const cut = stopReasonText(`${"x".repeat(253)}😀😀😀`);
    expect(cut.length).toBeLessThanOrEqual(255);
    expect(cut).toBe(`${"x".repeat(253)}…`);
  });
});

describe("cleanup", () => {
  const now = Date.parse("2026-12-01T12:00:00Z");
  const task = (startedBy: string, ageMs: number | null, lastStatus = "RUNNING"): Task =>
    ({ taskArn: `arn:aws:ecs:r:1:task/c/${startedBy}`, startedBy, lastStatus, ...(ageMs === null ? {} : { createdAt: new Date(now - ageMs) }) }) as Task;
  const rows = [task("vat/new", 0), task("vat/hour", 3_600_000), task("vat:day", 30 * 3_600_000), task("vat/gone", 90 * 3_600_000, "STOPPING"), task("vat/unknown", null)].map(
    (t) => taskRow(t, now),
  );
  test("older than 24h: only the old running one", () => {
    expect(selectForCleanup(rows, 86_400_000, now).map((r) => r.id)).toEqual(["day"]);
  });
  test("older than 0: every task of vat's that is not already stopping, even one started this instant", () => {
    expect(selectForCleanup(rows, 0, now).map((r) => r.id)).toEqual(["new", "hour", "day", "unknown"]);
  });
});

describe("asking again", () => {
  test("backoff doubles to a cap", () => {
    expect([0, 1, 2, 3, 4, 10].map((a) => backoffMs(a, 500, 4000))).toEqual([500, 1000, 2000, 4000, 4000, 4000]);
  });
  test("throttling and an unknown ENI are told apart from real errors", () => {
    expect(isThrottling({ name: "ThrottlingException" })).toBe(true);
    expect(isThrottling({ name: "RequestLimitExceeded" })).toBe(true);
    expect(isThrottling({ name: "X", $retryable: { throttling: true } })).toBe(true);
    expect(isThrottling({ name: "AccessDeniedException", $metadata: { httpStatusCode: 400 } })).toBe(false);
    expect(isEniNotFound({ name: "InvalidNetworkInterfaceID.NotFound" })).toBe(true);
    expect(isEniNotFound({ name: "InvalidNetworkInterfaceID.Malformed" })).toBe(false);
  });
});
