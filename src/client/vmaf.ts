import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { badInput, failed } from "../errors.ts";
import { CHROMA_TO_FULL, LUMA_TO_FULL, mapPlane } from "./full-range.ts";
import { percentile, spread } from "./stats.ts";

/** An ffmpeg with the libvmaf filter, and how to name the VMAF v0.6.1 model to it. */
export interface VmafTool {
  ffmpeg: string;
  /** libvmaf 1.x: `model_path=<file>`; 2.x and later: `model=version=vmaf_v0.6.1` (built in). */
  modelOption: string;
  threads: number;
}

/** What `ffmpeg -h filter=libvmaf` says about an ffmpeg: no filter, the 1.x options, or the 2.x ones. Pure. */
export function libvmafKind(help: string): "none" | "v1" | "v2" {
  if (!/Filter libvmaf/.test(help)) return "none";
  return /\bmodel_path\b/.test(help) ? "v1" : "v2";
}

/**
 * Finds an ffmpeg that can compute VMAF, once at start: VAT_VMAF_FFMPEG if set, else the ffmpeg in use. A libvmaf 1.x
 * build needs the model file (VAT_VMAF_MODEL, or --vmaf-model). Refuses with what is missing and how to get it.
 */
export function detectVmaf(mainFfmpeg: string, o: { vmafFfmpeg?: string; model?: string; threads: number }): VmafTool {
  const candidates = o.vmafFfmpeg ? [o.vmafFfmpeg] : [mainFfmpeg];
  for (const ffmpeg of candidates) {
    const r = spawnSync(ffmpeg, ["-hide_banner", "-h", "filter=libvmaf"], { encoding: "utf8" });
    const kind = r.error ? "none" : libvmafKind(`${r.stdout}${r.stderr}`);
    if (kind === "v2") return { ffmpeg, modelOption: "model=version=vmaf_v0.6.1", threads: o.threads };
    if (kind === "v1") {
      if (!o.model) {
        throw badInput(
          `--vmaf: ${ffmpeg} has libvmaf 1.x, which needs the VMAF v0.6.1 model file: set VAT_VMAF_MODEL (or --vmaf-model) ` +
            "to vmaf_v0.6.1.pkl (with vmaf_v0.6.1.pkl.model beside it)",
        );
      }
      if (!existsSync(o.model) || !existsSync(`${o.model}.model`)) {
        throw badInput(`--vmaf: model '${o.model}' or '${o.model}.model' does not exist: give the path of vmaf_v0.6.1.pkl`);
      }
      return { ffmpeg, modelOption: `model_path=${o.model}`, threads: o.threads };
    }
  }
  throw badInput(
    `--vmaf needs an ffmpeg with the libvmaf filter, and ${candidates[0]} has none (Debian's ffmpeg is built without it): ` +
      "set VAT_VMAF_FFMPEG to one that has it, e.g. the static ffmpeg of npm @ffmpeg-installer/linux-x64 " +
      "(with VAT_VMAF_MODEL=…/vmaf_v0.6.1.pkl); PSNR and SSIM (--quality) work without it",
  );
}

/**
 * VMAF of one frame, exactly as a continuous libvmaf run scores it: libvmaf's motion feature for frame i looks at
 * frames i−1 and i+1, so each sample is a three-frame clip (i−1, i, i+1) of received frames and their references,
 * and the middle frame's score is kept. Call it for one clip at a time.
 */
export class VmafScorer {
  private readonly dir = mkdtempSync(join(tmpdir(), "vat-vmaf-"));

  constructor(private readonly tool: VmafTool) {}

  /** dist and ref: three yuv420p frames each, back to back, full range. */
  async score(dist: Uint8Array, ref: Uint8Array, width: number, height: number): Promise<number> {
    try {
      const d = join(this.dir, "dist.yuv");
      const r = join(this.dir, "ref.yuv");
      const log = join(this.dir, "vmaf.json");
      writeFileSync(d, dist);
      writeFileSync(r, ref);
      rmSync(log, { force: true });
      const raw = ["-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", `${width}x${height}`, "-r", "25"];
      const args = [
        "-hide_banner", "-nostats", "-loglevel", "error", ...raw, "-i", d, ...raw, "-i", r,
        "-lavfi", `[0:v][1:v]libvmaf=${this.tool.modelOption}:log_fmt=json:log_path=${log}:n_threads=${this.tool.threads}`,
        "-f", "null", "-",
      ];
      const code = await new Promise<number | null>((resolve) => {
        const child = spawn(this.tool.ffmpeg, args, { stdio: ["ignore", "ignore", "ignore"] });
        child.once("exit", (c) => resolve(c));
        child.once("error", () => resolve(-1));
      });
      if (code !== 0) throw new Error(`libvmaf exited with ${code}`);
      const frames = (JSON.parse(readFileSync(log, "utf8")) as { frames: { metrics: { vmaf: number } }[] }).frames;
      const middle = frames[1]?.metrics.vmaf;
      if (typeof middle !== "number") throw new Error("libvmaf gave no score for the middle frame");
      return middle;
    } finally {
      rmSync(join(this.dir, "dist.yuv"), { force: true });
      rmSync(join(this.dir, "ref.yuv"), { force: true });
    }
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** VMAF clips waiting to be scored at most (three frames each, with their references). */
const MAX_VMAF_QUEUE = 4;

/**
 * Picks every Nth new frame for VMAF with its neighbours (a three-frame clip of consecutive frames: libvmaf's motion
 * feature needs them) and scores the clips in the background, one at a time. Up to MAX_VMAF_QUEUE clips wait their
 * turn (a file decodes faster than libvmaf scores); a sample that finds the queue full is skipped and counted.
 */
export class VmafSampling {
  private clip: { dist: Uint8Array; ref: Uint8Array; frameNumber: number; index: number; arrivedAtMs: number }[] = [];
  private seen = 0;
  private running: Promise<void> = Promise.resolve();
  private queued = 0;
  private scores: number[] = [];
  private skipped = 0;
  private failed = false;

  constructor(
    private readonly scorer: VmafScorer,
    private readonly every: number,
  ) {}

  offer(
    f: { gray: Uint8Array; u: Uint8Array; v: Uint8Array; limitedRange?: boolean; width: number; height: number },
    referenceY: Uint8Array,
    rec: { frameNumber: number | null; index: number; arrivedAtMs: number },
    write: (s: { frameIndex: number; frameNumber: number; arrivedAtMs: number; vmaf: number }) => void,
    info: (line: string) => void,
  ): void {
    const at = this.seen++ % this.every;
    // Frames every-1, every, every+1 … of each period: the middle one is the sample.
    if (at !== this.every - 1 && this.clip.length === 0) return;
    const last = this.clip.at(-1);
    if (last && rec.frameNumber !== last.frameNumber + 1) {
      this.clip = []; // not consecutive: this sample is lost
      return;
    }
    const n = f.width * f.height;
    // Full range, as the reference is drawn (a limited-range decode mapped as ffmpeg's scale=out_range=full maps it).
    const dist = new Uint8Array(n * 1.5);
    const luma = dist.subarray(0, n);
    const u = dist.subarray(n, n * 1.25);
    const v = dist.subarray(n * 1.25);
    if (f.limitedRange) {
      mapPlane(f.gray.subarray(0, n), luma, LUMA_TO_FULL);
      mapPlane(f.u, u, CHROMA_TO_FULL);
      mapPlane(f.v, v, CHROMA_TO_FULL);
    } else {
      luma.set(f.gray.subarray(0, n));
      u.set(f.u);
      v.set(f.v);
    }
    const ref = new Uint8Array(n * 1.5).fill(128);
    ref.set(referenceY.subarray(0, n));
    this.clip.push({ dist, ref, frameNumber: rec.frameNumber!, index: rec.index, arrivedAtMs: rec.arrivedAtMs });
    if (this.clip.length < 3) return;
    const clip = this.clip;
    this.clip = [];
    if (this.queued >= MAX_VMAF_QUEUE || this.failed) {
      this.skipped++;
      return;
    }
    this.queued++;
    const middle = clip[1]!;
    const join = (k: "dist" | "ref") => {
      const out = new Uint8Array(n * 1.5 * 3);
      clip.forEach((c, i) => out.set(c[k], i * n * 1.5));
      return out;
    };
    const clipDist = join("dist");
    const clipRef = join("ref");
    const { width, height } = f;
    this.running = this.running
      .then(async () => {
        if (this.failed) return;
        const vmaf = await this.scorer.score(clipDist, clipRef, width, height);
        this.scores.push(vmaf);
        write({ frameIndex: middle.index, frameNumber: middle.frameNumber, arrivedAtMs: middle.arrivedAtMs, vmaf });
      })
      .catch((err: unknown) => {
        this.failed = true;
        info(`VMAF stopped: ${(err as Error).message}`);
      })
      .finally(() => this.queued--);
  }

  async settle(): Promise<void> {
    await this.running;
    this.scorer.close();
  }

  summary() {
    const s = spread(this.scores);
    return { samples: this.scores.length, skipped: this.skipped, mean: s.mean, min: s.min, p5: percentile(this.scores, 5) };
  }
}
