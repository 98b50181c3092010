import { copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { badInput, failed } from "../errors.ts";
import { spawnFfmpeg, StderrTail } from "../ffmpeg.ts";
import { parseMediaPlaylist, renderLivePlaylist, type LiveSegment } from "../hls/playlist.ts";
import { scanSegment } from "../hls/ts-frames.ts";
import { parseSidecar, sidecarPath, type VideoDescription } from "../prerecorded/sidecar.ts";
import { renderVideo } from "../prerecorded/video.ts";
import type { Log, ServeConfig } from "./origin.ts";
import type { ProducerExit, SegmentProducer, StartOutcome, StreamSignal } from "./producer.ts";
import { PLAYLIST_NAME, segmentFileName } from "./segment-names.ts";

/** One piece of the source, cut at a keyframe: served over and over, never re-encoded. */
interface Part {
  file: string;
  frames: number;
  startS: number;
  durationS: number;
}

/** Where segment g of the looped stream sits: its loop, its part, and its times from the stream's start. Pure. */
export function loopPosition(g: number, parts: readonly { startS: number; durationS: number }[], loopS: number) {
  const loop = Math.floor(g / parts.length);
  const i = g % parts.length;
  const part = parts[i]!;
  const startS = loop * loopS + part.startS;
  return { loop, part: i, startS, endS: startS + part.durationS, discontinuity: i === 0 && loop > 0 };
}

/**
 * The prerecorded producer: a vat test video, cut once into keyframe-aligned parts with `-c copy`, published as a live
 * HLS stream in real time and in a loop. Part i of loop k appears once its last frame is due (as a live encoder's
 * would); every segment carries EXT-X-PROGRAM-DATE-TIME, the wall-clock time its first frame was due, and each loop
 * starts a discontinuity, so a client can turn the video's relative times into per-frame latency. Publishing is driven
 * by that clock alone: after a failed write (a full disk, no fds left) and a restart it catches up on what is due.
 */
export class PrerecordedProducer implements SegmentProducer {
  readonly name = "publisher";
  private readonly work: string;
  private description: VideoDescription | null = null;
  private parts: Part[] = [];
  private loopS = 0;
  private clockStarted = false;
  private running = false;
  private timer: Timer | null = null;
  private startMono = 0;
  private startWallMs = 0;
  private nextSegment = 0;
  private window: (LiveSegment & { loop: number })[] = [];
  private exitListener: (exit: ProducerExit) => void = () => {};
  private readonly stats = { segmentsPublished: 0, loops: 0 };

  constructor(
    readonly config: ServeConfig,
    private readonly dir: string,
    private readonly log: Log,
  ) {
    this.work = mkdtempSync(join(tmpdir(), "vat-source-"));
  }

  /** The source's description: from its sidecar, checked against what the flags or environment asked for. */
  static describeSource(config: ServeConfig): VideoDescription {
    const source = config.source!;
    if (!existsSync(source)) throw badInput(`source video '${source}' does not exist: give a file 'vat generate video' made`);
    const sidecar = sidecarPath(source);
    if (!existsSync(sidecar)) {
      throw badInput(`'${source}' has no description '${sidecar}': serve a video made by 'vat generate video' (it writes both)`);
    }
    const d = parseSidecar(readFileSync(sidecar, "utf8"), sidecar);
    const asked = config.asked ?? {};
    const clash = [
      asked.fps !== undefined && asked.fps !== d.fps ? `fps ${asked.fps} (the video has ${d.fps})` : null,
      asked.size !== undefined && asked.size !== d.size ? `size ${asked.size} (the video is ${d.size})` : null,
      asked.streamId !== undefined && asked.streamId !== d.signalId ? `id ${asked.streamId} (the video's is ${d.signalId})` : null,
    ].filter(Boolean);
    if (clash.length) {
      throw badInput(`the source video does not match ${clash.join(", ")}: leave those settings out, or generate a matching video`);
    }
    return d;
  }

  /** Renders the source when none was given, then cuts it into parts. Stops early on a signal. */
  async prepare(cancelled: () => string | null): Promise<void> {
    const c = this.config;
    let source = c.source;
    if (source) {
      this.description = PrerecordedProducer.describeSource(c);
    } else {
      source = join(this.work, `signal-${c.size.name}-${c.fps}.mp4`);
      this.log(`rendering a ${c.sourceDurationS} s ${c.size.name} ${c.fps} fps source video (no --source given)`);
      let lastLog = 0;
      this.description = await renderVideo(
        {
          ffmpeg: c.ffmpeg, signalId: c.streamId, size: c.size, fps: c.fps, durationS: c.sourceDurationS,
          keyframeIntervalS: c.segmentS, preset: c.preset, crf: c.crf, output: source,
        },
        (p) => {
          if (p.elapsedMs - lastLog < 5000) return;
          lastLog = p.elapsedMs;
          this.log(`rendering the source: ${p.frames}/${p.total} frames`);
        },
        cancelled,
      );
    }
    await this.cut(source);
  }

  private async cut(source: string): Promise<void> {
    const d = this.description!;
    const partsDir = join(this.work, "parts");
    mkdirSync(partsDir, { recursive: true });
    const child = spawnFfmpeg(this.config.ffmpeg, [
      "-hide_banner", "-nostats", "-loglevel", "error", "-i", source, "-map", "0:v:0", "-c", "copy",
      "-f", "hls", "-hls_time", String(d.keyframeIntervalS), "-hls_list_size", "0", "-hls_playlist_type", "vod",
      "-hls_segment_filename", join(partsDir, "part_%d.ts"), join(partsDir, "index.m3u8"),
    ]);
    const stderr = new StderrTail(child.stderr, 10);
    child.stdout.resume();
    child.stdin.end();
    const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
    if (code !== 0) throw failed(`cannot cut '${source}' into segments: ${stderr.last || `ffmpeg exit code ${code}`}`);
    const vod = parseMediaPlaylist(readFileSync(join(partsDir, "index.m3u8"), "utf8"));
    let startS = 0;
    let frames = 0;
    this.parts = vod.segments.map((s) => {
      const file = join(partsDir, s.uri);
      const n = scanSegment(new Uint8Array(readFileSync(file))).frames;
      // Constant frame rate: a part lasts exactly its frames' worth of time, so loops line up frame for frame.
      const part = { file, frames: n, startS, durationS: n / d.fps };
      startS += part.durationS;
      frames += n;
      return part;
    });
    if (frames !== d.frames) {
      throw failed(`'${source}' holds ${frames} frames where its description says ${d.frames}: regenerate it`);
    }
    this.loopS = startS;
    this.log(`source: ${d.video}, ${d.frames} frames (${this.loopS.toFixed(2)} s) in ${this.parts.length} segments, looped`);
  }

  async start(): Promise<StartOutcome> {
    if (!this.parts.length) throw new Error("prepare() first");
    if (!this.clockStarted) {
      this.clockStarted = true;
      this.startMono = performance.now();
      this.startWallMs = Date.now();
    }
    this.running = true;
    this.schedule();
    return { ok: true };
  }

  onExit(listener: (exit: ProducerExit) => void): void {
    this.exitListener = listener;
  }

  kill(): void {
    this.halt({ reason: "killed" });
  }

  newestSequence(): number | null {
    return this.nextSegment > 0 ? this.nextSegment - 1 : null;
  }

  private halt(exit: ProducerExit): void {
    if (!this.running) return;
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    // Reported after the caller's turn, as a process's exit would be.
    queueMicrotask(() => this.exitListener(exit));
  }

  /** performance.now() at which segment g is due: once its last frame is. */
  private dueAt(g: number): number {
    return this.startMono + loopPosition(g, this.parts, this.loopS).endS * 1000;
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      // Catch up on every segment now due (after a stalled event loop), in order.
      const now = performance.now();
      try {
        while (this.running && this.dueAt(this.nextSegment) <= now) {
          this.publish(this.nextSegment);
          this.nextSegment++;
        }
      } catch (err) {
        return this.halt({ reason: `could not publish ${segmentFileName(this.nextSegment)}`, detail: (err as Error).message });
      }
      this.schedule();
    }, Math.max(0, this.dueAt(this.nextSegment) - performance.now()));
  }

  private publish(g: number): void {
    const pos = loopPosition(g, this.parts, this.loopS);
    const part = this.parts[pos.part]!;
    const name = segmentFileName(g);
    const target = join(this.dir, name);
    try {
      linkSync(part.file, target);
    } catch {
      copyFileSync(part.file, target);
    }
    if (pos.discontinuity) this.stats.loops++;
    this.window.push({
      sequence: g,
      uri: name,
      durationS: part.durationS,
      programDateTimeMs: this.startWallMs + pos.startS * 1000,
      discontinuity: pos.discontinuity,
      loop: pos.loop,
    });
    // The playlist lists listSize segments; one more stays on disk for clients that just read the last playlist.
    while (this.window.length > this.config.listSize) this.window.shift();
    const gone = g - this.config.listSize - 1;
    if (gone >= 0) rmSync(join(this.dir, segmentFileName(gone)), { force: true });
    const first = this.window[0]!;
    const text = renderLivePlaylist(this.window, first.loop - (first.discontinuity ? 1 : 0));
    const tmp = join(this.dir, `${PLAYLIST_NAME}.tmp`);
    writeFileSync(tmp, text);
    renameSync(tmp, join(this.dir, PLAYLIST_NAME));
    this.stats.segmentsPublished++;
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    rmSync(this.work, { recursive: true, force: true });
  }

  /** Wall-clock start of the loop now playing and of the next one, ms since the epoch (server clock). */
  loopTimes(nowMs = Date.now()): { currentMs: number | null; nextMs: number | null; index: number | null } {
    if (!this.clockStarted || this.loopS === 0) return { currentMs: null, nextMs: null, index: null };
    const k = Math.max(0, Math.floor((nowMs - this.startWallMs) / (this.loopS * 1000)));
    return { currentMs: this.startWallMs + k * this.loopS * 1000, nextMs: this.startWallMs + (k + 1) * this.loopS * 1000, index: k };
  }

  signal(): StreamSignal {
    const c = this.config;
    const d = this.description;
    return {
      streamId: d?.signalId ?? c.streamId,
      fps: d?.fps ?? c.fps,
      size: d?.size ?? c.size.name,
      width: d?.width ?? c.size.width,
      height: d?.height ?? c.size.height,
      segmentS: d?.keyframeIntervalS ?? c.segmentS,
      preset: d?.preset ?? c.preset,
      crf: d?.crf ?? c.crf,
      layout: d?.layout ?? null,
    };
  }

  extraParams(): Record<string, unknown> {
    const d = this.description;
    const loop = this.loopTimes();
    return {
      source: d ? { video: d.video, frames: d.frames, durationS: this.loopS, segments: this.parts.length } : null,
      loop: { startedAtMs: loop.currentMs, index: loop.index, nextStartsAtMs: loop.nextMs, firstStartedAtMs: this.clockStarted ? this.startWallMs : null },
    };
  }

  counters(): Record<string, number | null> {
    return { ...this.stats };
  }

  statusParts(): string[] {
    return [`loop ${this.loopTimes().index}`, `segments published ${this.stats.segmentsPublished}`];
  }
}
