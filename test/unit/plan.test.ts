import { describe, expect, test } from "bun:test";
import { VatError } from "../../src/errors.ts";
import {
  checkFargateSize,
  fargateMemoryFor,
  parseLaunchId,
  parseMemoryMiB,
  parseOlderThanMs,
  parseStackName,
  planLaunch,
  serveEnvironment,
} from "../../src/launch/plan.ts";

describe("the Fargate cpu/memory table", () => {
  test.each([
    [256, [512, 1024, 2048]],
    [512, [1024, 2048, 3072, 4096]],
    [1024, [2048, 3072, 4096, 5120, 6144, 7168, 8192]],
  ])("cpu %d allows %p MiB", (cpu, memory) => {
    expect(fargateMemoryFor(cpu)).toEqual(memory);
  });
  test("the large sizes: ranges and steps", () => {
    expect(fargateMemoryFor(2048)).toHaveLength(13); // 4-16 GB by 1 GB
    expect(fargateMemoryFor(4096).at(-1)).toBe(30720);
    expect(fargateMemoryFor(8192)).toEqual([16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56, 60].map((g) => g * 1024));
    expect(fargateMemoryFor(16384)[0]).toBe(32768);
    expect(fargateMemoryFor(16384).at(-1)).toBe(122880);
    expect(fargateMemoryFor(300)).toEqual([]);
  });
  test("an invalid pair names the memory values valid for that cpu", () => {
    expect(() => checkFargateSize(512, 512)).toThrow("memory 512 MiB does not go with cpu 512 on Fargate: use 1GB, 2GB, 3GB, 4GB");
    expect(() => checkFargateSize(2048, 2048)).toThrow(/use 4GB to 16GB in steps of 1GB/);
    expect(() => checkFargateSize(3000, 4096)).toThrow(/cpu '3000' is not a Fargate size: use one of 256, 512, 1024/);
    expect(() => checkFargateSize(1024, 3072)).not.toThrow();
  });
});

describe("memory", () => {
  test.each([
    ["2GB", 2048], ["2 GiB", 2048], ["0.5GB", 512], ["512MiB", 512], ["2048", 2048], ["2", 2048], [3, 3072], ["120", 122880],
  ])("%p is %d MiB", (input, mib) => expect(parseMemoryMiB(input)).toBe(mib));
  test.each(["", "lots", "2TB", "-1", "0.3GB"])("'%s' is refused", (input) => {
    expect(() => parseMemoryMiB(input)).toThrow(VatError);
  });
});

describe("launch plans", () => {
  test("defaults and the environment handed to vat serve", () => {
    const p = planLaunch({ id: "demo" });
    expect(p).toMatchObject({ id: "demo", fps: 30, cpu: null, memoryMiB: null, size: { name: "720p" } });
    expect(serveEnvironment(p)).toEqual({ ID: "demo", FPS: "30", IMAGE_SIZE: "2", VIDEO_TYPE: "LIVE" });
    const q = planLaunch({ id: "t1", fps: 15, imageSize: "0", cpu: "512", memory: "2" });
    expect(serveEnvironment(q)).toEqual({ ID: "t1", FPS: "15", IMAGE_SIZE: "0", VIDEO_TYPE: "LIVE", CPU: "512", MEMORY: "2048" });
    expect(serveEnvironment(planLaunch({ id: "p", videoType: "Prerecorded" }))).toMatchObject({ VIDEO_TYPE: "PRERECORDED" });
  });
  test.each([
    [{}, /give the run an id with --id/],
    [{ id: "a b" }, /stream id 'a b' is not valid/],
    [{ id: "v1.2" }, /launch id 'v1.2' is not valid: use 1-32 letters, digits, '_' or '-'/],
    [{ id: "x", fps: 75 }, /fps '75' is out of range/],
    [{ id: "x", imageSize: "4k" }, /unknown image size '4k'/],
    [{ id: "x", cpu: "512" }, /give --cpu and --memory together/],
    [{ id: "x", cpu: "512", memory: "8GB" }, /memory 8192 MiB does not go with cpu 512 on Fargate: use 1GB, 2GB, 3GB, 4GB/],
    [{ id: "x", videoType: "vod" }, /unknown video type 'vod': use live or prerecorded/],
  ])("%o is refused", (args, message) => expect(() => planLaunch(args)).toThrow(message));
});

describe("launch ids, stack names, cleanup ages", () => {
  test("a launch id fits ECS startedBy after 'vat/': letters, digits, '_' and '-', at most 32", () => {
    expect(parseLaunchId("A-b_9")).toBe("A-b_9");
    expect(parseLaunchId("x".repeat(32))).toBe("x".repeat(32));
    expect(() => parseLaunchId("x".repeat(33))).toThrow(/not valid/);
    expect(() => parseLaunchId("a.b")).toThrow("launch id 'a.b' is not valid: use 1-32 letters, digits, '_' or '-' (it names the ECS task)");
    expect(() => parseLaunchId("a:b")).toThrow(VatError);
    expect(() => parseLaunchId("")).toThrow(VatError);
  });
  test.each(["streaming", "S", "vat-1", "a".repeat(128), "arn:aws:cloudformation:us-east-1:123456789012:stack/streaming/9c1e-11ef"])(
    "stack '%s' is accepted",
    (name) => expect(parseStackName(name)).toBe(name),
  );
  test.each(["", " ", "1st", "my stack", "my_stack", "a".repeat(129), "arn:aws:cloudformation:us-east-1:1:stack/x/y"])(
    "stack '%s' is refused",
    (name) => expect(() => parseStackName(name)).toThrow(`stack name '${name}' is not valid`),
  );
  test.each([["0", 0], ["0s", 0], ["0.0h", 0], ["00m", 0], ["24h", 86_400_000], ["90", 90_000], ["250ms", 250]])(
    "--older-than %p is %d ms",
    (input, ms) => expect(parseOlderThanMs(input)).toBe(ms),
  );
  test.each(["", "-1s", "soon", "0x"])("--older-than '%s' is refused", (input) => {
    expect(() => parseOlderThanMs(input)).toThrow(VatError);
  });
});
