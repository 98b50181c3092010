/**
 * The low-latency packager: movie fragments (one frame each, as the encoder writes them) grouped into parts of a
 * fixed number of frames and segments of a GOP, numbered on across encoder restarts (a restart starts a new run with
 * its own init segment and a discontinuity). It keeps a bounded window: complete segments past `keepSegments` are
 * dropped. LL-HLS serves its parts and segments, LL-DASH its segments as CMAF chunks (one fragment each). Pure: no
 * clock, no I/O; when each fragment's first frame was made comes in with it, as a number.
 *
 * Media time runs on without the frames the producer skipped, so a segment is dated by its own first frame, never by
 * its decode time: a DASH period maps media time to the wall clock, so where the media has fallen behind that mapping
 * a new period begins at the next segment.
 */
import { concat, type FragmentPiece } from "../mp4/fragment-splitter.ts";

export interface PackagerSettings {
  framesPerPart: number;
  /** The GOP: a segment is whole once it has this many frames (or when the next keyframe comes early). */
  framesPerSegment: number;
  /** Complete segments kept in memory. */
  keepSegments: number;
  /**
   * How far a segment's first frame may come after the time its period maps its media time to before it begins a
   * new period. Lateness below it is the producer's own jitter (it catches up); past it, frames were skipped.
   */
  periodSlackMs: number;
}

/** One encoder run: its init segment and its first segment's number. */
export interface LlRun {
  id: number;
  init: Uint8Array;
  /** The video track's ticks per second. */
  timescale: number;
  firstMsn: number | null;
}

/**
 * A stretch of one run whose media time keeps pace with the wall clock from its first segment on (a DASH period):
 * a run begins one, and so does a segment whose first frame came later than the period's mapping says.
 */
export interface LlPeriod {
  id: number;
  run: LlRun;
  /** Its first segment: number (startNumber), decode time (presentationTimeOffset), first frame's generation time. */
  firstMsn: number;
  firstDecodeTime: number;
  firstWallMs: number;
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
  /** When its first frame was made (EXT-X-PROGRAM-DATE-TIME). */
  startWallMs: number;
  period: LlPeriod;
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
  private readonly periods: LlPeriod[] = [];
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
  beginRun(init: Uint8Array, timescale: number): PackagerChange[] {
    const changes = this.endRun();
    this.runs.push({ id: (this.run?.id ?? -1) + 1, init, timescale, firstMsn: null });
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

  /** Adds the next fragment of the current run; wallMs: when its first frame was made. */
  add(f: FragmentPiece, wallMs: number): PackagerChange[] {
    const run = this.run;
    if (!run) throw new Error("a fragment before its run's init segment");
    const changes: PackagerChange[] = [];
    let seg = this.openSegment();
    if (seg && f.keyframe && seg.frames > 0) {
      this.closeOpenPart(seg, changes);
      this.closeSegment(seg, changes);
      seg = null;
    }
    if (!seg) seg = this.openNewSegment(run, f.decodeTime, wallMs);
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

  /** The periods whose segments are in the window, oldest first. */
  listedPeriods(): LlPeriod[] {
    return this.periods.filter((p) => this.segments.some((s) => s.period === p));
  }

  private openNewSegment(run: LlRun, decodeTime: number, startWallMs: number): LlSegment {
    this.originWallMs ??= startWallMs;
    run.firstMsn ??= this.nextMsn;
    const msn = this.nextMsn++;
    let period = this.periods.at(-1);
    if (!period || period.run !== run || lateByMs(period, decodeTime, startWallMs) > this.settings.periodSlackMs) {
      period = { id: (period?.id ?? -1) + 1, run, firstMsn: msn, firstDecodeTime: decodeTime, firstWallMs: startWallMs };
      this.periods.push(period);
    }
    const seg: LlSegment = {
      msn,
      run,
      discontinuity: this.segments.length > 0 && this.segments.at(-1)!.run !== run,
      decodeTime,
      startWallMs,
      period,
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
    const keepPeriods = new Set(this.segments.map((s) => s.period));
    for (let i = this.periods.length - 2; i >= 0; i--) if (!keepPeriods.has(this.periods[i]!)) this.periods.splice(i, 1);
  }
}

/** How much later than its period maps decodeTime to a frame made at wallMs came (negative: earlier). */
function lateByMs(period: LlPeriod, decodeTime: number, wallMs: number): number {
  return wallMs - (period.firstWallMs + ((decodeTime - period.firstDecodeTime) * 1000) / period.run.timescale);
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
