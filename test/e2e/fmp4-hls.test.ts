import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { startLivePackager } from "../helpers/live-packager.ts";
import { client, serve, tempDir } from "../helpers/vat.ts";

// HLS with fMP4/CMAF segments as ffmpeg's own hls muxer writes it: a multivariant playlist of two renditions, each
// with its audio, init sections (EXT-X-MAP) and .m4s segments, repackaging the vat origin's stream.
const tmp = tempDir("vat-fmp4-");
afterAll(() => tmp.cleanup());

test(
  "ffmpeg's hls muxer with fMP4 segments, a two-rendition ladder with audio: --variant all measures every rendition at its own size",
  async () => {
    const server = serve(["--size", "480p", "--fps", "25", "--id", "cmaf"]);
    try {
      await server.waitLive();
      const packager = await startLivePackager({
        originUrl: server.url, format: "hls-fmp4", fps: 25,
        rungs: [{ width: 854, height: 480, kbps: 1200 }, { width: 426, height: 240, kbps: 400 }],
      });
      try {
        const master = await (await fetch(packager.url)).text();
        expect(master.match(/#EXT-X-STREAM-INF/g)).toHaveLength(2);
        const media = await (await fetch(new URL("stream_0.m3u8", packager.url))).text();
        expect(media).toContain("#EXT-X-MAP:");
        const db = join(tmp.path, "cmaf.db");
        const run = await client(["--control", server.url, "--url", packager.url, "--variant", "all", "--duration", "15s", "--db", db, "--json"], {
          timeoutMs: 40_000,
        });
        expect(run.exitCode).toBe(0);
        const streams = run.json!.streams as { role: string; result: any; versusControl: any }[];
        expect(streams).toHaveLength(3);
        const store = new Database(db, { readonly: true });
        for (const [i, size] of ["426x240", "854x480"].entries()) {
          const s = streams[i + 1]!;
          expect(s.role).toContain(`rendition ${i} (${size}`);
          expect(s.result.summary).toMatchObject({ dropped: 0, duplicates: 0, unreadable: 0 });
          expect(s.versusControl.matchedShare).toBeGreaterThanOrEqual(0.99);
          expect(s.versusControl.framesMatched).toBeGreaterThan(200);
          // Repackaged from the origin's own HLS (ffmpeg reads it a segment late, then writes 1 s segments): behind.
          expect(s.versusControl.relativeLatencyP50Ms).toBeGreaterThan(0);
          const info = store.query("SELECT detail FROM events WHERE run_id = $run AND kind = 'stream-info'").all({ run: s.result.runId }) as { detail: string }[];
          const details = info.map((e) => e.detail).join("\n");
          expect(details).toContain("HLS with fMP4 segments: avc1");
          expect(details).toContain(`h264 ${size}`); // as the decoder read it
          const facts = store.query("SELECT protocol, container, codecs, rendition, declared_bandwidth_bps AS bw, segment_duration_s AS seg FROM runs WHERE id = $run").get({ run: s.result.runId }) as Record<string, unknown>;
          expect(facts).toMatchObject({ protocol: "hls", container: "fmp4", rendition: size, seg: 1 });
          expect(String(facts.codecs)).toMatch(/^avc1/);
          expect(Number(facts.bw)).toBeGreaterThan(i === 0 ? 300_000 : 1_000_000);
        }
        store.close();
      } finally {
        await packager.stop();
      }
    } finally {
      await server.stop();
    }
  },
  90_000,
);
