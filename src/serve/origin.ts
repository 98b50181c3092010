import { SIZE_NAMES, type SizeProfile } from "../signal/profiles.ts";
import { VERSION } from "../version.ts";
import { judgeHealth, staleAfterMs, type HealthVerdict } from "./health.ts";
import { LiveProducer } from "./live-producer.ts";
import { LlStream } from "./ll-stream.ts";
import { UTC_TIMING_PATH } from "./encoder.ts";
import { PrerecordedProducer } from "./prerecorded.ts";
import type { SegmentProducer } from "./producer.ts";
import { segmentNames, type SegmentNames } from "./segment-names.ts";
import { isLowLatency, renditionCapKbps, type Rendition, type StreamFormat } from "./stream-format.ts";
import { measureFolder, openSegmentFolder, removeFolder, type SegmentFolder } from "./segment-folder.ts";
import {
  describeSupervision,
  initialSupervisor,
  restartsOf,
  superviseStep,
  supervisionView,
  type Action,
  type Observation,
  type SupervisorSettings,
  type SupervisorState,
} from "./supervisor.ts";

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
  format: StreamFormat;
  /** ll-hls and ll-dash: the part length (LL-HLS parts; LL-DASH's latency target is set from it). */
  partS: number;
  /** A ladder's renditions, largest (the signal size) first; empty without one (live only). */
  renditions: readonly Rendition[];
  /** What flags or environment set explicitly (a source video must agree with them). */
  asked?: { fps?: number; size?: string; streamId?: string };
  cpu?: string;
  memory?: string;
  ffmpeg: string;
}

export type Log = (line: string) => void;

/** How often the origin looks for new segments and lets the supervisor act on the time. */
const TICK_MS = 100;

/**
 * The origin: owns the segment folder and one segment producer (the live encoder or the looped prerecorded video),
 * supervises it (src/serve/supervisor.ts decides, this class only carries out), and reports for it: /params, /health
 * and the status line are written here once, the producer supplies what differs.
 */
export class Origin {
  readonly dir: string;
  readonly names: SegmentNames;
  readonly startedAtMs = Date.now();
  private supervisor: SupervisorState;
  private ticker: Timer | null = null;
  private running = false;
  private lastSequence: number | null = null;
  private lastNewSegmentAtMs: number | null = null;

  private constructor(
    readonly config: ServeConfig,
    private readonly folder: SegmentFolder,
    private readonly producer: SegmentProducer,
    private readonly log: Log,
    /** The low-latency formats' media, served from memory; null for the others. */
    readonly ll: LlStream | null = null,
  ) {
    this.dir = folder.dir;
    this.names = segmentNames(config.format, Math.max(1, config.renditions.length));
    this.supervisor = initialSupervisor(this.supervisorSettings(), this.startedAtMs);
    producer.onExit((exit) => this.observe({ kind: "exited", ...exit }));
  }

  /** Opens the segment folder (refusing one that cannot be written) and the producer the config asks for. */
  static open(config: ServeConfig, log: Log): Origin {
    const folder = openSegmentFolder(config.dir);
    const ll = isLowLatency(config.format) ? openLlStream(config) : null;
    const producer =
      config.videoType === "prerecorded" ? new PrerecordedProducer(config, folder.dir, log) : new LiveProducer(config, folder.dir, log, ll);
    return new Origin(config, folder, producer, log, ll);
  }

  /** Work before the stream can start (a prerecorded source is rendered and cut); stops early on a signal. */
  prepare(cancelled: () => string | null): Promise<void> {
    return this.producer.prepare(cancelled);
  }

  start(): void {
    this.running = true;
    // Settled only now: a prerecorded source's keyframe interval (its segment length) is known once it is prepared.
    this.supervisor = initialSupervisor(this.supervisorSettings(), Date.now());
    this.tick();
    this.ticker = setInterval(() => this.tick(), TICK_MS);
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.ticker) clearInterval(this.ticker);
    await this.producer.stop();
    removeFolder(this.folder);
  }

  params(): Record<string, unknown> {
    const c = this.config;
    const s = this.producer.signal();
    return {
      // The prototype's keys, read by its notebooks and by `vat client` into stream_params.
      ID: s.streamId,
      FPS: s.fps,
      IMAGE_SIZE: SIZE_NAMES.indexOf(s.size as SizeProfile["name"]),
      CPU: numberOrNull(c.cpu),
      MEMORY: numberOrNull(c.memory),
      VIDEO_TYPE: c.videoType.toUpperCase(),
      vat: {
        version: VERSION,
        streamId: s.streamId,
        fps: s.fps,
        size: s.size,
        width: s.width,
        height: s.height,
        segmentS: s.segmentS,
        listSize: c.listSize,
        preset: s.preset,
        crf: s.crf,
        videoType: c.videoType,
        format: c.format,
        manifestPath: this.manifestPath,
        partS: this.ll ? c.partS : null,
        ...(this.ll
          ? c.format === "ll-hls"
            ? { partHoldBackS: this.ll.partHoldBackS }
            : { latencyTargetMs: this.ll.dashLatencyTargetMs }
          : {}),
        ladder: c.renditions.map((r) => ({ width: r.width, height: r.height, bandwidthBps: r.maxrateKbps * 1000 })),
        ...this.producer.extraParams(),
        startedAtMs: this.startedAtMs,
        layout: s.layout,
      },
    };
  }

  /** Where players open the stream. */
  get manifestPath(): string {
    return `/video/${this.names.manifest}`;
  }

  health(): HealthVerdict & Record<string, unknown> {
    const now = Date.now();
    const progress = { startedAtMs: this.startedAtMs, lastNewSegmentAtMs: this.lastNewSegmentAtMs, lastSequence: this.lastSequence };
    const verdict = judgeHealth(progress, this.producer.signal().segmentS, now);
    const doing = describeSupervision(this.supervisor, now);
    return {
      ...verdict,
      reason: !verdict.healthy && doing ? `${verdict.reason}; ${doing}` : verdict.reason,
      sequence: this.lastSequence,
      ...this.producer.counters(),
      [`${this.producer.name}Restarts`]: restartsOf(this.supervisor),
      supervisor: supervisionView(this.supervisor, now),
      uptimeS: Math.round((now - this.startedAtMs) / 1000),
      segmentFolder: measureFolder(this.dir),
    };
  }

  statusLine(): string {
    const h = this.health();
    const folder = h.segmentFolder as ReturnType<typeof measureFolder>;
    return [
      `status: ${h.healthy ? "live" : `NOT LIVE (${h.reason})`}`,
      `segment ${h.sequence}`,
      ...this.producer.statusParts(),
      `${this.producer.name} restarts ${restartsOf(this.supervisor)}`,
      folder.files === null ? "folder unreadable" : `folder ${folder.files} files / ${((folder.bytes ?? 0) / 1e6).toFixed(1)} MB`,
    ].join(", ");
  }

  private supervisorSettings(): SupervisorSettings {
    return {
      name: this.producer.name,
      watchdogMs: staleAfterMs(this.producer.signal().segmentS) + 5000,
      firstDelayMs: 250,
      maxDelayMs: 5000,
      steadyAfterMs: 30_000,
      killGraceMs: 5000,
    };
  }

  private tick(): void {
    if (!this.running) return;
    const newest = this.producer.newestSequence();
    if (newest !== null && newest !== this.lastSequence) {
      this.lastSequence = newest;
      this.lastNewSegmentAtMs = Date.now();
      this.observe({ kind: "segment" });
    }
    this.observe({ kind: "tick" });
  }

  private observe(o: Observation): void {
    if (!this.running) return;
    const step = superviseStep(this.supervisor, o, Date.now());
    this.supervisor = step.state;
    for (const a of step.actions) this.act(a);
  }

  private act(a: Action): void {
    switch (a.kind) {
      case "log":
        return this.log(a.line);
      case "kill":
        return this.producer.kill();
      case "start":
        void this.producer.start((this.lastSequence ?? -1) + 1).then(
          (r) => this.observe(r.ok ? { kind: "started" } : { kind: "start-failed", reason: r.reason }),
          (err: Error) => this.observe({ kind: "start-failed", reason: err.message }),
        );
    }
  }
}

/** The in-memory packager for a low-latency format: segments of one GOP (x264's keyframe interval, in frames). */
function openLlStream(c: ServeConfig): LlStream {
  return new LlStream({
    format: c.format === "ll-dash" ? "ll-dash" : "ll-hls",
    partS: c.partS,
    fps: c.fps,
    framesPerSegment: Math.max(1, Math.round(c.fps * c.segmentS)),
    listSize: c.listSize,
    width: c.size.width,
    height: c.size.height,
    bandwidthBps: renditionCapKbps(c.size.width, c.size.height, c.fps) * 1000,
    utcTimingPath: UTC_TIMING_PATH,
  });
}

export function numberOrNull(v: string | undefined): number | string | null {
  if (v === undefined) return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : v;
}
