import { afterAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, tempDir, VAT } from "../helpers/vat.ts";

const tmp = tempDir();
afterAll(() => tmp.cleanup());

test("on a terminal, serve's status is one line redrawn in place, with lasting log lines above it", () => {
  const log = join(tmp.path, "tty.log");
  // `timeout` stops serve with SIGTERM after 4 s; serve exits 0 on it.
  const cmd = `timeout --preserve-status -s TERM 4 ${VAT} serve --host 127.0.0.1 --port ${freePort()} --size 240p --fps 10`;
  const s = spawnSync("script", ["-qefc", cmd, log], { timeout: 20_000 });
  expect(s.status).toBe(0);
  const screen = readFileSync(log, "utf8");
  const redraws = screen.match(/\r\x1b\[2Kstatus: live, segment \d+, frames \d+, skipped 0, encoder restarts 0, folder \d+ files \/ [\d.]+ MB/g) ?? [];
  expect(redraws.length).toBeGreaterThanOrEqual(2);
  // Log lines clear the status line first and are not redrawn over.
  expect(screen).toMatch(/\r\x1b\[2K\d{4}-\d\d-\d\dT[\d:.]+Z vat serve: SIGTERM, stopping\r?\n/);
  expect(screen).toMatch(/vat serve: stopped/);
}, 30_000);
