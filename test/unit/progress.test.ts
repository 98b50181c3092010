import { expect, test } from "bun:test";
import { Progress } from "../../src/log.ts";

function progress(terminal: boolean) {
  let t = 0;
  const out: string[] = [];
  const p = new Progress({ terminal, logEveryMs: 10_000, now: () => t, write: (s) => out.push(s) });
  return { p, out, at: (ms: number) => (t = ms) };
}

test("on a terminal: one line redrawn in place, cleared before lasting lines", () => {
  const { p, out } = progress(true);
  p.update("a");
  p.update("b");
  p.info("done");
  expect(out[0]).toBe("\r\x1b[2Ka");
  expect(out[1]).toBe("\r\x1b[2Kb");
  expect(out[2]).toBe("\r\x1b[2K");
  expect(out[3]).toMatch(/^\d{4}-\d\d-\d\dT.* done\n$/);
});

test("in a log: nothing for a short task, then a line per period, at once when the key changes or the work ends", () => {
  const { p, out, at } = progress(false);
  p.update("1 of 3");
  at(9_999);
  p.update("2 of 3");
  expect(out).toEqual([]);
  at(10_000);
  p.update("3 of 3");
  at(12_000);
  p.update("waiting: 1 s", { key: "waiting" });
  p.update("waiting: 2 s", { key: "waiting" });
  p.update("rendered", { final: true });
  expect(out.map((l) => l.replace(/^\S+ /, ""))).toEqual(["3 of 3\n", "waiting: 1 s\n", "rendered\n"]);
});
