import { mkdtempSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { badInput } from "../errors.ts";
import { parseMediaPlaylist } from "../hls/playlist.ts";
import { encodePayload } from "../signal/payload.ts";
import type { SizeProfile } from "../signal/profiles.ts";
import { FrameRenderer, planLayout } from "../signal/render.ts";
import { VERSION } from "../version.ts";
import { Encoder, PLAYLIST_NAME, type EncoderSettings } from "./encoder.ts";
import { judgeHealth, staleAfterMs, type SegmentProgress } from "./health.ts";
import { nextStep } from "./pacing.ts";

export interface ServeConfig {
  streamId: string;
  size: SizeProfile;
  sizeIndex: number;
  fps: number;
  host: string;
  port: number;
  segmentS: number;
  listSize: number;
  preset: string;
  crf: number;
  /** Segment folder; a fresh temporary one (removed at exit) when not given. */
  dir?: string;
  videoType: "live" | "prerecorded";
  /** Prerecorded: the video to loop (made by `vat generate video`); rendered at start-up when not given. */
  source?: string;
  /** Prerecorded without a source: the length of the video rendered at start-up. */
  sourceDurationS: number;
  /** Ingest URLs that get the same encoded stream (live only). */
  push: readonly string[];
  /** What flags or environment set explicitly (a source video must agree with them). */
  asked?: { fps?: number; size?: string; streamId?: string };
  cpu?: string;
  memory?: string;
  ffmpeg: string;
}

export type Log = (line: string) => void;

/** The files the encoder writes (hlsEncoderArgs): segments, the playlist, and their temporary versions. */
const ENCODER_FILE = /^(seg_\d+\.ts|stream\.m3u8)(\.tmp)?$/;

/** Frames this far behind their slot are skipped rather than queued (2 s of video). */
const MAX_LAG_S = 2;

/**
 * The live origin: paces frames by a monotonic clock, renders them, feeds one ffmpeg encoder, watches the segments it
 * writes, and restarts ffmpeg (continuing the frame count and media sequence) whenever it dies or stops producing.
 */
export class Origin {
  readonly dir: string;
  private readonly ownsDir: boolean;
  private readonly renderer: FrameRenderer;
  private readonly settings: EncoderSettings;
  private encoder: Encoder | null = null;
  private running = false;
  private loopDone: Promise<void> = Promise.resolve();
  private watchTimer: Timer | null = null;
  private restartTimer: Timer | null = null;
  private restartDelayMs = 250;
  private encoderStartedAtMs = 0;
  readonly startedAtMs = Date.now();
  private progress: SegmentProgress;
  private lastPlaylistText = "";
  readonly stats = { framesRendered: 0, framesSkipped: 0, framesLostToEncoder: 0, encoderRestarts: 0, nextFrame: 0 };

  constructor(
    readonly config: ServeConfig,
    private readonly log: Log,
  ) {
    ({ dir: this.dir, owned: this.ownsDir } = openSegmentFolder(config.dir));
    this.renderer = new FrameRenderer(planLayout(config.size, config.streamId));
    this.settings = {
      ffmpeg: config.ffmpeg,
      width: config.size.width,
      height: config.size.height,
      fps: config.fps,
      segmentS: config.segmentS,
      listSize: config.listSize,
      preset: config.preset,
      crf: config.crf,
      dir: this.dir,
      push: config.push,
    };
    this.progress = { startedAtMs: this.startedAtMs, lastNewSegmentAtMs: null, lastSequence: null };
  }

  start(): void {
    this.running = true;
    this.startEncoder();
    this.watchTimer = setInterval(() => void this.watchSegments(), 100);
    this.loopDone = this.frameLoop();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.watchTimer) clearInterval(this.watchTimer);
    if (this.restartTimer) clearTimeout(this.restartTimer);
    await this.loopDone;
    await this.encoder?.stop(800);
    if (this.ownsDir) rmSync(this.dir, { recursive: true, force: true });
  }

  params(): Record<string, unknown> {
    const c = this.config;
    return {
      // The prototype's keys, read by its notebooks and by `vat client` into stream_params.
      ID: c.streamId,
      FPS: c.fps,
      IMAGE_SIZE: c.sizeIndex,
      CPU: numberOrNull(c.cpu),
      MEMORY: numberOrNull(c.memory),
      VIDEO_TYPE: c.videoType.toUpperCase(),
      vat: {
        version: VERSION,
        streamId: c.streamId,
        fps: c.fps,
        size: c.size.name,
        width: c.size.width,
        height: c.size.height,
        segmentS: c.segmentS,
        listSize: c.listSize,
        preset: c.preset,
        crf: c.crf,
        videoType: c.videoType,
        // Where it pushes, without paths or credentials (an RTMP path holds the stream key).
        push: c.push.map((u) => u.replace(/^([a-z]+:\/\/)(?:[^/@]*@)?([^/?#]*).*$/i, "$1$2")),
        startedAtMs: this.startedAtMs,
        layout: this.renderer.layout,
      },
    };
  }

  health() {
    const verdict = judgeHealth(this.progress, this.config.segmentS, Date.now());
    return {
      ...verdict,
      sequence: this.progress.lastSequence,
      framesRendered: this.stats.framesRendered,
      framesSkipped: this.stats.framesSkipped,
      framesLostToEncoder: this.stats.framesLostToEncoder,
      encoderRestarts: this.stats.encoderRestarts,
      uptimeS: Math.round((Date.now() - this.startedAtMs) / 1000),
      segmentFolder: this.diskUsage(),
    };
  }

  statusLine(): string {
    const h = this.health();
    return (
      `status: ${h.healthy ? "live" : `NOT LIVE (${h.reason})`}, segment ${h.sequence}, frames ${h.framesRendered}, ` +
      `skipped ${h.framesSkipped}, encoder restarts ${h.encoderRestarts}, ` +
      `folder ${h.segmentFolder.files} files / ${(h.segmentFolder.bytes / 1e6).toFixed(1)} MB`
    );
  }

  /** Stops the encoder as if it had crashed (for tests and the watchdog). */
  killEncoder(signal: NodeJS.Signals = "SIGKILL"): void {
    this.encoder?.child.kill(signal);
  }

  private startEncoder(): void {
    const startNumber = (this.progress.lastSequence ?? -1) + 1;
    const enc = new Encoder(this.settings, startNumber, (line) => this.log(`ffmpeg: ${line}`));
    this.encoder = enc;
    this.encoderStartedAtMs = Date.now();
    void enc.exited.then(({ code, signal }) => {
      if (!this.running || this.encoder !== enc) return;
      const why = signal ? `killed by ${signal}` : `exit code ${code}`;
      const last = enc.stderr.last;
      this.log(`encoder stopped (${why})${last ? `: ${last}` : ""}; restarting in ${this.restartDelayMs} ms`);
      this.scheduleRestart();
    });
  }

  private scheduleRestart(): void {
    this.encoder = null;
    this.restartTimer = setTimeout(() => {
      if (!this.running) return;
      this.stats.encoderRestarts++;
      this.startEncoder();
    }, this.restartDelayMs);
    this.restartDelayMs = Math.min(5000, this.restartDelayMs * 2);
  }

  private async frameLoop(): Promise<void> {
    const { fps } = this.config;
    const startMono = performance.now();
    const frame = new Uint8Array(this.renderer.frameBytes);
    let next = 0;
    while (this.running) {
      const step = nextStep(startMono, fps, next, performance.now(), MAX_LAG_S * fps);
      if (step.kind === "wait") {
        await Bun.sleep(step.ms);
        continue;
      }
      if (step.skipped > 0) {
        this.stats.framesSkipped += step.skipped;
        this.log(`fell ${step.skipped} frames behind the clock; skipped them`);
      }
      const n = step.frame;
      next = n + 1;
      this.stats.nextFrame = next;
      const enc = this.encoder;
      if (!enc?.alive) {
        this.stats.framesLostToEncoder++;
        continue;
      }
      const text = encodePayload({ streamId: this.config.streamId, frameNumber: n, generatedAtMs: Date.now() });
      this.renderer.render(n, text, frame);
      this.stats.framesRendered++;
      if (!(await enc.write(frame))) this.stats.framesLostToEncoder++;
    }
  }

  private async watchSegments(): Promise<void> {
    let text: string;
    try {
      text = await Bun.file(join(this.dir, PLAYLIST_NAME)).text();
    } catch {
      return this.watchdog();
    }
    if (text !== this.lastPlaylistText) {
      this.lastPlaylistText = text;
      try {
        const last = parseMediaPlaylist(text).segments.at(-1);
        if (last && last.sequence !== this.progress.lastSequence) {
          this.progress = { ...this.progress, lastNewSegmentAtMs: Date.now(), lastSequence: last.sequence };
          if (Date.now() - this.encoderStartedAtMs > 30_000) this.restartDelayMs = 250;
        }
      } catch {
        // ffmpeg writes the playlist atomically (temp_file); a parse failure means a foreign file: ignore it
      }
    }
    this.watchdog();
  }

  /** An encoder that is alive but has written nothing for too long is stuck: kill it so it restarts. */
  private watchdog(): void {
    const enc = this.encoder;
    if (!enc?.alive) return;
    const since = Math.max(this.encoderStartedAtMs, this.progress.lastNewSegmentAtMs ?? 0);
    const limit = staleAfterMs(this.config.segmentS) + 5000;
    if (Date.now() - since > limit) {
      this.log(`encoder wrote no segment for ${((Date.now() - since) / 1000).toFixed(1)} s; killing it`);
      enc.child.kill("SIGKILL");
    }
  }

  /** Files and bytes in the segment folder (the soak test and /health watch that it stays bounded). */
  diskUsage(): { files: number; bytes: number } {
    let files = 0;
    let bytes = 0;
    for (const f of readdirSync(this.dir)) {
      try {
        bytes += statSync(join(this.dir, f)).size;
        files++;
      } catch {
        // deleted between listing and stat
      }
    }
    return { files, bytes };
  }
}

/**
 * The folder segments are written to: the one given (cleared of what an earlier run's encoder wrote, and of nothing
 * else that lives there), or a fresh temporary one that the origin owns and removes.
 */
export function openSegmentFolder(dir: string | undefined): { dir: string; owned: boolean } {
  if (!dir) return { dir: mkdtempSync(join(tmpdir(), "vat-serve-")), owned: true };
  try {
    mkdirSync(dir, { recursive: true });
    for (const f of readdirSync(dir)) if (ENCODER_FILE.test(f)) rmSync(join(dir, f));
  } catch (err) {
    throw badInput(`cannot use segment folder '${dir}': ${(err as Error).message}`);
  }
  return { dir, owned: false };
}

export function numberOrNull(v: string | undefined): number | string | null {
  if (v === undefined) return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : v;
}
