/**
 * ffmpeg as a third-party packager: it reads a vat origin's HLS and writes a live ladder (two renditions and an audio
 * track) as DASH or as HLS with fMP4 segments into a folder served over loopback HTTP. vat's client then reads what
 * ffmpeg's own muxers wrote, not what vat wrote.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serveFolder } from "./srt-provider.ts";
import { stopProcess, track } from "./processes.ts";

export interface LivePackager {
  /** The MPD or the multivariant playlist. */
  url: string;
  folder: string;
  stderr(): string;
  stop(): Promise<void>;
}

export interface LadderRung {
  width: number;
  height: number;
  kbps: number;
}

export async function startLivePackager(opts: {
  originUrl: string;
  format: "dash" | "hls-fmp4";
  fps: number;
  rungs: LadderRung[];
  segmentS?: number;
  /** Extra muxer options (e.g. -utc_timing_url). */
  extra?: string[];
}): Promise<LivePackager> {
  const folder = mkdtempSync(join(tmpdir(), "vat-packager-"));
  const segmentS = opts.segmentS ?? 1;
  const n = opts.rungs.length;
  const split = `[0:v]split=${n}${opts.rungs.map((_, i) => `[s${i}]`).join("")};` +
    opts.rungs.map((r, i) => `[s${i}]scale=${r.width}:${r.height}:flags=bicubic,setdar=16/9[v${i}]`).join(";");
  const video = opts.rungs.flatMap((r, i) => ["-map", `[v${i}]`, `-b:v:${i}`, `${r.kbps}k`, `-maxrate:v:${i}`, `${r.kbps}k`, `-bufsize:v:${i}`, `${r.kbps}k`]);
  const audio = opts.format === "dash" ? ["-map", "1:a"] : opts.rungs.flatMap(() => ["-map", "1:a"]);
  const mux = opts.format === "dash"
    ? ["-f", "dash", "-seg_duration", String(segmentS), "-window_size", "8", "-extra_window_size", "4", "-use_timeline", "1",
       "-use_template", "1", "-adaptation_sets", `id=0,streams=v id=1,streams=a`, ...(opts.extra ?? []), join(folder, "manifest.mpd")]
    : ["-f", "hls", "-hls_time", String(segmentS), "-hls_list_size", "8", "-hls_segment_type", "fmp4",
       "-hls_flags", "delete_segments+independent_segments", "-master_pl_name", "master.m3u8",
       "-var_stream_map", opts.rungs.map((_, i) => `v:${i},a:${i}`).join(" "), "-hls_segment_filename", join(folder, "v%v_%d.m4s"),
       ...(opts.extra ?? []), join(folder, "stream_%v.m3u8")];
  const proc = track(Bun.spawn([
    "ffmpeg", "-hide_banner", "-loglevel", "warning", "-live_start_index", "-1", "-i", `${opts.originUrl}/video/stream.m3u8`,
    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
    "-filter_complex", split, ...video, ...audio,
    "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", String(opts.fps * segmentS),
    "-keyint_min", String(opts.fps * segmentS), "-sc_threshold", "0", "-c:a", "aac", "-b:a", "64k",
    ...mux,
  ], { stdin: "ignore", stdout: "ignore", stderr: "pipe" }));
  let err = "";
  void (async () => {
    for await (const chunk of proc.stderr) err += new TextDecoder().decode(chunk);
  })();
  const server = serveFolder(folder);
  const url = `http://127.0.0.1:${server.port}/${opts.format === "dash" ? "manifest.mpd" : "master.m3u8"}`;
  // Ready once the manifest lists a few segments.
  const deadline = performance.now() + 20_000;
  for (;;) {
    const r = await fetch(url).catch(() => null);
    const text = r?.ok ? await r.text() : "";
    if (opts.format === "dash" ? (text.match(/<S /g)?.length ?? 0) >= 3 : text.includes("#EXT-X-STREAM-INF")) break;
    if (proc.exitCode !== null) throw new Error(`ffmpeg packager exited: ${err}`);
    if (performance.now() > deadline) throw new Error(`ffmpeg packager wrote no manifest in 20 s: ${err}`);
    await Bun.sleep(200);
  }
  return {
    url,
    folder,
    stderr: () => err,
    async stop() {
      await stopProcess(proc);
      server.stop(true);
      rmSync(folder, { recursive: true, force: true });
    },
  };
}
