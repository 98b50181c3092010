/**
 * The low-latency packager: movie fragments (one frame each, as the encoder writes them) grouped into parts of a
 * fixed number of frames and segments of a GOP, numbered on across encoder restarts (a restart starts a new run with
 * its own init segment and a discontinuity). It keeps a bounded window: complete segments past `keepSegments` are
 * dropped. LL-HLS serves its parts and segments, LL-DASH its segments as CMAF chunks (one fragment each). Pure: no
 * clock, no I/O; the wall-clock time of a run's first frame comes in as a number.
 */
import { concat, type FragmentPiece } from "../mp4/fragment-splitter.ts";

export interface PackagerSettings {
  framesPerPart: number;
  /** The GOP: a segment is whole once it has this many frames (or when the next keyframe comes early). */
  framesPerSegment: number;
  /** Complete segments kept in memory. */
  keepSegments: number;
}

/** One encoder run: its init segment and when its first frame was made. */
export interface LlRun {
  id: number;
  init: Uint8Array;
  /** The video track's ticks per second. */
  timescale: number;
  /** Wall-clock time of the frame at decode time `firstDecodeTime`. */
  anchorWallMs: number;
  firstDecodeTime: number | null;
  /** Its first segment's number and wall-clock start (a DASH period's startNumber and start). */
  firstMsn: number | null;
  firstWallMs: number | null;
}

export interface LlPart {
  index: number;
  /** The fragments written so far, each a CMAF chunk (moof + mdat). */
  fragments: Uint8Array[];
  frames: number;
  durationTicks: number;
  /** It starts with a keyframe. */
  independent: boolean;
  complete: boolean;
}

export interface LlSegment {
  msn: number;
  run: LlRun;
  /** The first segment of a run after an earlier one. */
  discontinuity: boolean;
  decodeTime: number;
  /** Wall-clock time of its first frame (EXT-X-PROGRAM-DATE-TIME). */
  startWallMs: number;
  parts: LlPart[];
  frames: number;
  durationTicks: number;
  complete: boolean;
}

/** What one step changed, for whoever waits on it. */
export type PackagerChange =
  | { kind: "fragment"; msn: number; part: number }
  | { kind: "part"; msn: number; part: number }
  | { kind: "segment"; msn: number };

/** The next part to be written: the preload hint. */
export interface PartRef {
  msn: number;
  part: number;
}

export class LlPackager {
  /** Oldest first; only the last one may be incomplete. */
  readonly segments: LlSegment[] = [];
  private readonly runs: LlRun[] = [];
  private nextMsn: number;
  /** Discontinuities of the segments dropped from the window (EXT-X-DISCONTINUITY-SEQUENCE). */
  droppedDiscontinuities = 0;
  /** Wall-clock time of the first segment ever: the DASH availabilityStartTime. */
  originWallMs: number | null = null;

  constructor(
    readonly settings: PackagerSettings,
    firstMsn = 0,
  ) {
    this.nextMsn = firstMsn;
  }

  get run(): LlRun | null {
    return this.runs.at(-1) ?? null;
  }

  /** A new encoder run: what is open is closed as it stands; its first segment starts a discontinuity. */
  beginRun(init: Uint8Array, timescale: number, anchorWallMs: number): PackagerChange[] {
    const changes = this.endRun();
    this.runs.push({ id: (this.run?.id ?? -1) + 1, init, timescale, anchorWallMs, firstDecodeTime: null, firstMsn: null, firstWallMs: null });
    return changes;
  }

  /** The encoder stopped: the open part and segment are closed as they stand. */
  endRun(): PackagerChange[] {
    const open = this.openSegment();
    if (!open) return [];
    const changes: PackagerChange[] = [];
    const part = open.parts.at(-1);
    if (part && !part.complete) {
      part.complete = true;
      changes.push({ kind: "part", msn: open.msn, part: part.index });
    }
    this.closeSegment(open, changes);
    return changes;
  }

  /** Adds the next fragment of the current run. */
  add(f: FragmentPiece): PackagerChange[] {
    const run = this.run;
    if (!run) throw new Error("a fragment before its run's init segment");
    run.firstDecodeTime ??= f.decodeTime;
    const changes: PackagerChange[] = [];
    let seg = this.openSegment();
    if (seg && f.keyframe && seg.frames > 0) {
      this.closeOpenPart(seg, changes);
      this.closeSegment(seg, changes);
      seg = null;
    }
    if (!seg) seg = this.openNewSegment(run, f.decodeTime);
    let part = seg.parts.at(-1);
    if (!part || part.complete) {
      part = { index: seg.parts.length, fragments: [], frames: 0, durationTicks: 0, independent: f.keyframe, complete: false };
      seg.parts.push(part);
    }
    part.fragments.push(f.bytes);
    part.frames += f.frames;
    part.durationTicks += f.durationTicks;
    seg.frames += f.frames;
    seg.durationTicks += f.durationTicks;
    changes.push({ kind: "fragment", msn: seg.msn, part: part.index });
    if (part.frames >= this.settings.framesPerPart || seg.frames >= this.settings.framesPerSegment) this.closeOpenPart(seg, changes);
    if (seg.frames >= this.settings.framesPerSegment) this.closeSegment(seg, changes);
    return changes;
  }

  openSegment(): LlSegment | null {
    const last = this.segments.at(-1);
    return last && !last.complete ? last : null;
  }

  segment(msn: number): LlSegment | null {
    const first = this.segments[0];
    return first ? (this.segments[msn - first.msn] ?? null) : null;
  }

  part(ref: PartRef): LlPart | null {
    return this.segment(ref.msn)?.parts[ref.part] ?? null;
  }

  /** The newest whole segment's number, or null before the first. */
  newestComplete(): number | null {
    for (let i = this.segments.length - 1; i >= 0; i--) if (this.segments[i]!.complete) return this.segments[i]!.msn;
    return null;
  }

  /** The part the encoder writes next (or is writing): the open segment's open part, else the next one to begin. */
  nextPart(): PartRef {
    const open = this.openSegment();
    if (!open) return { msn: this.nextMsn, part: 0 };
    const last = open.parts.at(-1);
    return { msn: open.msn, part: !last ? 0 : last.complete ? last.index + 1 : last.index };
  }

  /** The runs whose segments are in the window, oldest first. */
  listedRuns(): LlRun[] {
    return this.runs.filter((r) => this.segments.some((s) => s.run === r));
  }

  private openNewSegment(run: LlRun, decodeTime: number): LlSegment {
    const startWallMs = run.anchorWallMs + ((decodeTime - (run.firstDecodeTime ?? decodeTime)) * 1000) / run.timescale;
    this.originWallMs ??= startWallMs;
    run.firstMsn ??= this.nextMsn;
    run.firstWallMs ??= startWallMs;
    const seg: LlSegment = {
      msn: this.nextMsn++,
      run,
      discontinuity: this.segments.length > 0 && this.segments.at(-1)!.run !== run,
      decodeTime,
      startWallMs,
      parts: [],
      frames: 0,
      durationTicks: 0,
      complete: false,
    };
    this.segments.push(seg);
    return seg;
  }

  private closeOpenPart(seg: LlSegment, changes: PackagerChange[]): void {
    const part = seg.parts.at(-1);
    if (!part || part.complete) return;
    part.complete = true;
    changes.push({ kind: "part", msn: seg.msn, part: part.index });
  }

  private closeSegment(seg: LlSegment, changes: PackagerChange[]): void {
    seg.complete = true;
    changes.push({ kind: "segment", msn: seg.msn });
    while (this.segments.filter((s) => s.complete).length > this.settings.keepSegments) {
      if (this.segments.shift()!.discontinuity) this.droppedDiscontinuities++;
    }
    const keep = new Set(this.segments.map((s) => s.run));
    const current = this.run;
    for (let i = this.runs.length - 1; i >= 0; i--) if (!keep.has(this.runs[i]!) && this.runs[i] !== current) this.runs.splice(i, 1);
  }
}

/** A part's bytes: its fragments in order. */
export function partBytes(part: LlPart): Uint8Array {
  return concat(part.fragments);
}

/** A segment's bytes: its parts' fragments in order. */
export function segmentBytes(seg: LlSegment): Uint8Array {
  return concat(seg.parts.flatMap((p) => p.fragments));
}

/** Seconds of a duration in a run's ticks. */
export function ticksToS(ticks: number, run: LlRun): number {
  return ticks / run.timescale;
}
