import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHandler } from "../../src/serve/http.ts";
import { segmentNames } from "../../src/serve/segment-names.ts";

const dir = mkdtempSync(join(tmpdir(), "vat-serve-files-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("a playlist replaced while it is asked for (written aside and renamed, as ffmpeg does) is served whole: old or new, never cut", async () => {
  const names = segmentNames("hls");
  const handler = createHandler({ dir, names, params: () => ({}), health: () => ({ ok: true, status: 200, reasons: [] }) as never });
  // Versions of different lengths, as a live window's are (its numbers gain digits).
  const versions = Array.from({ length: 40 }, (_, n) => `#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:${n * 7}\n${"#EXTINF:1.000000,\nseg_" + "9".repeat(1 + (n % 5)) + ".ts\n"}`);
  const path = join(dir, names.manifest);
  writeFileSync(path, versions[0]!);
  let writing = true;
  const writer = (async () => {
    for (let k = 0; writing; k++) {
      writeFileSync(`${path}.tmp`, versions[k % versions.length]!);
      renameSync(`${path}.tmp`, path);
      await new Promise((r) => setImmediate(r));
    }
  })();
  const known = new Set(versions);
  let asked = 0;
  const cut: string[] = [];
  const until = Date.now() + 1500;
  while (Date.now() < until) {
    const res = await handler(new Request(`http://127.0.0.1/video/${names.manifest}`));
    const body = await res.text();
    asked++;
    if (res.status === 200 && !known.has(body)) cut.push(body);
    if (asked % 50 === 0) await Bun.sleep(0);
  }
  writing = false;
  await writer;
  expect(asked).toBeGreaterThan(200);
  expect(cut.slice(0, 2)).toEqual([]);
});
