import { afterAll, describe, expect, test } from "bun:test";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { client, eventually, serve, tempDir, type Served } from "../helpers/vat.ts";

// Each of vat serve's formats measured by vat client from the compiled binary on loopback, the names each muxer writes
// served and nothing else from the folder, and a ladder listing every rendition with its size and bandwidth.
const tmp = tempDir("vat-formats-");
afterAll(() => tmp.cleanup());

const SEGMENT_S = 1;
const MANIFEST = { hls: "/video/stream.m3u8", cmaf: "/video/stream.m3u8", dash: "/video/stream.mpd" } as const;
type Format = keyof typeof MANIFEST;

async function withServer<T>(args: string[], use: (s: Served) => Promise<T>): Promise<T> {
  const s = serve(args);
  try {
    await s.waitLive(15_000);
    return await use(s);
  } finally {
    await s.stop();
  }
}

describe.each(["hls", "cmaf", "dash"] as const)("--format %s", (format: Format) => {
  test(
    "measured by vat client: nothing dropped or unreadable, fps as sent, latency within 3 segments; /params says the format",
    async () => {
      const dir = join(tmp.path, format);
      await withServer(["--format", format, "--size", "240p", "--fps", "25", "--id", format, "--dir", dir], async (s) => {
        const params = (await (await fetch(`${s.url}/params`)).json()) as Record<string, any>;
        expect(params.vat).toMatchObject({ format, manifestPath: MANIFEST[format], ladder: [], size: "240p", fps: 25 });
        expect(params.VIDEO_TYPE).toBe("LIVE"); // the prototype's keys stay

        // The root for HLS (vat's playlist path); the MPD itself for DASH.
        const url = format === "dash" ? `${s.url}${MANIFEST.dash}` : s.url;
        const run = await client(["--url", url, "--duration", "12s", "--db", join(tmp.path, `${format}.db`), "--json"], { timeoutMs: 40_000 });
        expect(run.exitCode, run.stderr).toBe(0);
        const sum = run.json!.summary;
        expect(sum).toMatchObject({ dropped: 0, unreadable: 0 });
        expect(sum.framesDecoded).toBeGreaterThan(200);
        expect(Math.abs(sum.fpsAchieved - 25) / 25).toBeLessThanOrEqual(0.02);
        expect(sum.latencyP50Ms).toBeGreaterThan(0);
        expect(sum.latencyP50Ms).toBeLessThanOrEqual(3 * SEGMENT_S * 1000);

        // Only the muxer's names: what ffmpeg wrote is served, a stray file in --dir is not (even with a served-looking name).
        const written = readdirSync(dir).filter((f) => !f.endsWith(".tmp"));
        const strays = ["private.mp4", "notes.m3u8", "stream.mpd.bak", format === "dash" ? "seg_1.ts" : "stream.mpd", format === "cmaf" ? "seg_1.ts" : "init.mp4", "seg_00.m4s"];
        for (const f of strays) writeFileSync(join(dir, f), "secret");
        for (const f of strays) expect((await fetch(`${s.url}/video/${f}`)).status, f).toBe(404);
        const manifest = MANIFEST[format].slice("/video/".length);
        expect(written).toContain(manifest);
        const init = written.find((f) => f.startsWith("init"));
        if (format === "hls") expect(init).toBeUndefined();
        else expect(init).toBeDefined();
        for (const f of [manifest, ...(init ? [init] : [])]) expect((await fetch(`${s.url}/video/${f}`)).status, f).toBe(200);
        const listed = await (await fetch(`${s.url}${MANIFEST[format]}`)).text();
        if (format === "dash") {
          expect(listed).toContain('<UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-xsdate:2014" value="/time/iso"/>');
          const iso = await (await fetch(`${s.url}/time/iso`)).text();
          expect(Math.abs(Date.parse(iso) - Date.now())).toBeLessThan(1000);
        } else {
          expect(listed.includes('#EXT-X-MAP:URI="init.mp4"')).toBe(format === "cmaf");
          const segment = listed.split("\n").filter((l) => l && !l.startsWith("#")).at(-1)!;
          expect(segment).toMatch(format === "cmaf" ? /^seg_\d+\.m4s$/ : /^seg_\d+\.ts$/);
          expect((await fetch(`${s.url}/video/${segment}`)).status).toBe(200);
        }
      });
    },
    60_000,
  );
});

test(
  "--ladder 480p,240p: every rendition listed with its size and a declared bandwidth, in each format",
  async () => {
    const runs = (["hls", "cmaf", "dash"] as const).map((format) =>
      withServer(["--format", format, "--ladder", "480p,240p", "--fps", "25", "--id", `ladder-${format}`], async (s) => {
        const params = (await (await fetch(`${s.url}/params`)).json()) as Record<string, any>;
        expect(params.vat.size).toBe("480p"); // the signal is rendered at the top of the ladder
        expect(params.vat.ladder.map((r: any) => `${r.width}x${r.height}`)).toEqual(["854x480", "426x240"]);
        const url = `${s.url}${MANIFEST[format]}`;
        const text = await eventually(
          async () => await (await fetch(url)).text(),
          (t) => (format === "dash" ? /<Representation[^>]*height="240"/.test(t) : t.includes("stream_1.m3u8")),
          10_000,
        );
        if (format === "dash") {
          expect(text.match(/<AdaptationSet/g)?.length).toBe(1);
          const reps = [...text.matchAll(/<Representation [^>]*bandwidth="(\d+)" width="(\d+)" height="(\d+)"/g)];
          expect(reps.map((m) => `${m[2]}x${m[3]}`)).toEqual(["854x480", "426x240"]);
          for (const m of reps) expect(Number(m[1])).toBeGreaterThan(0);
          // Each representation's segments are served.
          for (const rep of ["0", "1"]) {
            const seg = await eventually(async () => (await fetch(`${s.url}/video/seg_${rep}_1.m4s`)).status, (st) => st === 200, 10_000);
            expect(seg).toBe(200);
          }
        } else {
          const variants = [...text.matchAll(/#EXT-X-STREAM-INF:BANDWIDTH=(\d+),RESOLUTION=(\d+x\d+)[^\n]*\n(\S+)/g)];
          expect(variants.map((m) => [m[2], m[3]])).toEqual([["854x480", "stream_0.m3u8"], ["426x240", "stream_1.m3u8"]]);
          expect(Number(variants[0]![1])).toBeGreaterThan(Number(variants[1]![1]));
          for (const v of ["stream_0.m3u8", "stream_1.m3u8"]) {
            const media = await (await fetch(`${s.url}/video/${v}`)).text();
            const seg = media.split("\n").filter((l) => l && !l.startsWith("#")).at(-1)!;
            expect(seg).toMatch(format === "cmaf" ? /^seg_[01]_\d+\.m4s$/ : /^seg_[01]_\d+\.ts$/);
            expect((await fetch(`${s.url}/video/${seg}`)).status).toBe(200);
          }
          expect((await fetch(`${s.url}/video/stream_2.m3u8`)).status).toBe(404); // no third rendition
        }
      }),
    );
    await Promise.all(runs);
  },
  45_000,
);
