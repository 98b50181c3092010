import { expect, test } from "bun:test";
import { PURGE_VARIABLE, restartPlan } from "../../src/allocator.ts";

const env = { PATH: "/usr/bin", HOME: "/root", UNSET: undefined };

test("the compiled binary starts itself again for the long measurements, with purging off and everything else kept", () => {
  const plan = restartPlan(["bun", "/$bunfs/root/vat", "client", "--url", "http://a b", "--quality"], "/$bunfs/root/vat", "/usr/local/bin/vat", env);
  expect(plan).toEqual({
    file: "/usr/local/bin/vat",
    args: ["/usr/local/bin/vat", "client", "--url", "http://a b", "--quality"],
    env: { PATH: "/usr/bin", HOME: "/root", [PURGE_VARIABLE]: "-1" },
  });
  expect(restartPlan(["bun", "/$bunfs/root/vat", "launch", "--local"], "/$bunfs/root/vat", "/x/vat", env)?.args).toEqual(["/x/vat", "launch", "--local"]);
  // The origin (the container's entrypoint too).
  expect(restartPlan(["bun", "/$bunfs/root/vat", "serve", "--size", "1080p"], "/$bunfs/root/vat", "/x/vat", env)).toEqual({
    file: "/x/vat",
    args: ["/x/vat", "serve", "--size", "1080p"],
    env: { PATH: "/usr/bin", HOME: "/root", [PURGE_VARIABLE]: "-1" },
  });
  // A stream and its control: two streams.
  const withControl = ["client", "--url", "http://p/", "--control=http://o/"];
  expect(restartPlan(["bun", "/$bunfs/root/vat", ...withControl], "/$bunfs/root/vat", "/x/vat", env)?.args).toEqual(["/x/vat", ...withControl]);
});

test("a client of many streams stays as it is: three or more named, or every rendition of a ladder", () => {
  const many = [
    ["client", "--url", "a", "--url", "b", "--url=c"],
    ["client", "--url", "a", "--url", "b", "--control", "c"],
    ["client", "--url", "a", "--variant", "all"],
    ["client", "--url", "a", "--variant=all"],
    ["client", "--url", "a", "--variant", "ALL"],
  ];
  for (const args of many) expect(restartPlan(["bun", "/$bunfs/root/vat", ...args], "/$bunfs/root/vat", "/x/vat", env)).toBeNull();
  expect(restartPlan(["bun", "/$bunfs/root/vat", "client", "--url", "a", "--variant", "highest"], "/$bunfs/root/vat", "/x/vat", env)).not.toBeNull();
});

test("run from source: bun is started again on the same script", () => {
  const plan = restartPlan(["/usr/bin/bun", "/src/cli.ts", "launch", "--local"], "/src/cli.ts", "/usr/bin/bun", env);
  expect(plan?.args).toEqual(["/usr/bin/bun", "/src/cli.ts", "launch", "--local"]);
});

test("nothing again for other commands, for no command, or when the variable is set already (even to the default)", () => {
  for (const args of [["compare", "p.toml"], ["report", "x.db"], ["generate", "video"], ["--help"], ["--version"], []]) {
    expect(restartPlan(["bun", "/$bunfs/root/vat", ...args], "/$bunfs/root/vat", "/x/vat", env)).toBeNull();
  }
  expect(restartPlan(["bun", "/$bunfs/root/vat", "client"], "/$bunfs/root/vat", "/x/vat", { ...env, [PURGE_VARIABLE]: "100" })).toBeNull();
  expect(restartPlan(["bun", "/$bunfs/root/vat", "serve"], "/$bunfs/root/vat", "/x/vat", { ...env, [PURGE_VARIABLE]: "100" })).toBeNull();
  expect(restartPlan(["bun", "/$bunfs/root/vat", "client"], "/$bunfs/root/vat", "/x/vat", { ...env, [PURGE_VARIABLE]: "" })).toBeNull();
});
