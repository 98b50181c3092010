import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  DEFAULT_SWEEP, expandSweep, formatSweepLine, parseCpuMemory, parseSweepFile, parseSweepLine, parseSweepSpec,
} from "../../src/launch/sweep.ts";

const committed = readFileSync(join(import.meta.dir, "../../slurm_inputs.txt"), "utf8");

describe("sweeps", () => {
  const lines = expandSweep(parseSweepSpec(DEFAULT_SWEEP.sizes, DEFAULT_SWEEP.fps, DEFAULT_SWEEP.cpuMemory));

  test("the default is the prototype's 60 configurations, in its order and format", () => {
    expect(lines).toHaveLength(60);
    const text = lines.map((l) => formatSweepLine(l, "old")).join("\n") + "\n";
    expect(text.split("\n").slice(0, 6)).toEqual([
      "0 15 512 1 task_0", "0 15 512 2 task_1", "0 15 1024 2 task_2", "0 15 1024 3 task_3", "0 15 2048 4 task_4",
      "0 25 512 1 task_5",
    ]);
    expect(text.split("\n").at(-2)).toBe("3 30 2048 4 task_59");
    expect(committed).toBe(text);
  });

  test("both formats read back to the same configurations", () => {
    for (const format of ["old", "vat"] as const) {
      expect(parseSweepFile(lines.map((l) => formatSweepLine(l, format)).join("\n"))).toEqual(lines);
    }
    expect(formatSweepLine(lines[13]!, "vat")).toBe("240p 30 1024 3GB task_13");
    expect(parseSweepLine("# a comment")).toBeNull();
    expect(parseSweepLine("  ")).toBeNull();
  });

  test("every combination is checked against the Fargate table", () => {
    expect(() => parseCpuMemory("512:1GB,8GB")).toThrow("memory 8192 MiB does not go with cpu 512 on Fargate: use 1GB, 2GB, 3GB, 4GB");
    expect(() => parseCpuMemory("512")).toThrow(/use CPU:MEMORY/);
    expect(() => parseSweepLine("2 30 256 4 task_0", 7)).toThrow(/memory 4096 MiB does not go with cpu 256 on Fargate: use 512MiB, 1GB, 2GB/);
    expect(() => parseSweepLine("2 30 512", 3)).toThrow(/^line 3: '2 30 512' is not a sweep line/);
    expect(() => parseSweepSpec("4k", "30", ["512:1GB"])).toThrow(/unknown image size/);
    expect(() => parseSweepSpec("720p", "90", ["512:1GB"])).toThrow(/fps '90'/);
  });

  test("memory the old format cannot hold is refused there, kept in vat's", () => {
    const [l] = expandSweep(parseSweepSpec("720p", "30", ["256:512MiB"]));
    expect(() => formatSweepLine(l!, "old")).toThrow(/not a whole number of GB/);
    expect(formatSweepLine(l!, "vat")).toBe("720p 30 256 512MiB task_0");
  });
});

describe("sweep lists that would make another sweep than the one asked for", () => {
  test.each([
    [["720p", "", ["512:1GB"]], "--fps '' names no value: give a comma-separated list, e.g. 15,25,30"],
    [["720p", " , ", ["512:1GB"]], "--fps ' , ' names no value"],
    [["", "30", ["512:1GB"]], "--sizes '' names no value: give a comma-separated list, e.g. 240p,720p"],
    [["720p", "15,,30", ["512:1GB"]], "--fps '15,,30' has an empty value"],
    [["720p", "15,30,15", ["512:1GB"]], "--fps '15,30,15' names 15 twice (as 15): give each value once"],
    [["720p,2", "30", ["512:1GB"]], "--sizes '720p,2' names 2 twice (as 720p)"],
    [["720p", "30", []], "--cpu-memory names no task size"],
    [["720p", "30", [""]], "cpu-memory '' is not valid"],
    [["720p", "30", ["512:"]], "--cpu-memory '' names no value"],
    [["720p", "30", ["512:1GB,"]], "--cpu-memory '1GB,' has an empty value"],
    [["720p", "30", ["512:1GB,1024"]], "--cpu-memory '1GB,1024' names 1024 twice (as 1GB)"],
    [["720p", "30", ["512:1GB", "512:2GB,1GB"]], "--cpu-memory names 512:1GB twice: give each task size once"],
  ] as [[string, string, string[]], string][])("%p is refused", ([sizes, fps, cpuMemory], message) => {
    expect(() => parseSweepSpec(sizes, fps, cpuMemory)).toThrow(message);
  });

  test("a cpu in two groups with different memory is two task sizes, kept in the order given", () => {
    const lines = expandSweep(parseSweepSpec("240p", "15", ["512:1GB", "1024:2GB", "512:2GB"]));
    expect(lines.map((l) => `${l.cpu}/${l.memoryMiB}`)).toEqual(["512/1024", "1024/2048", "512/2048"]);
  });
});

describe("sweeps that name providers", () => {
  test("each providers file at every configuration, innermost, as a sixth field that reads back", () => {
    const lines = expandSweep(parseSweepSpec("240p,480p", "25", ["512:1GB"], "cdns.toml, ../b.json"));
    const text = lines.map((l) => formatSweepLine(l, "vat"));
    expect(text).toEqual([
      "240p 25 512 1GB task_0 cdns.toml", "240p 25 512 1GB task_1 ../b.json",
      "480p 25 512 1GB task_2 cdns.toml", "480p 25 512 1GB task_3 ../b.json",
    ]);
    expect(parseSweepFile(text.join("\n"))).toEqual(lines);
    expect(parseSweepLine("1 30 512 1 task_0 p.json")).toEqual({ size: "480p", fps: 30, cpu: 512, memoryMiB: 1024, id: "task_0", providers: "p.json" });
    expect(parseSweepLine("1 30 512 1 task_0")!.providers).toBeUndefined();
  });

  test("what a line cannot hold, or the old format cannot, is refused in one line", () => {
    const [l] = expandSweep(parseSweepSpec("720p", "30", ["512:1GB"], "p.toml"));
    expect(() => formatSweepLine(l!, "old")).toThrow("the old sweep format has no providers field: use --format vat to name a providers file");
    expect(() => parseSweepSpec("720p", "30", ["512:1GB"], "p.yaml")).toThrow("providers file 'p.yaml' is not valid in a sweep: name a .toml or .json file");
    expect(() => parseSweepSpec("720p", "30", ["512:1GB"], "p.toml,p.toml")).toThrow(/names p\.toml twice/);
    expect(() => parseSweepSpec("720p", "30", ["512:1GB"], ",")).toThrow(/--providers ',' names no value/);
    expect(() => parseSweepLine("2 30 512 1 task_0 notes.txt", 4)).toThrow(/^line 4: providers file 'notes\.txt' is not valid/);
    expect(() => parseSweepLine("2 30 512 1 task_0 p.toml extra", 5)).toThrow(/^line 5: .* is not a sweep line: use SIZE FPS CPU MEMORY ID \[PROVIDERS_FILE\]/);
  });
});
