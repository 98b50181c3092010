/**
 * When a live HLS playlist is asked for next. Pure.
 *
 * A segment is stamped when its playlist lists it, so the playlist is polled often (--poll, 50 ms): a new segment is
 * seen within one poll of its appearance. But a segment can only appear once its media has been made: at 1 s
 * segments nineteen polls in twenty bring the same text, and each costs the client about a millisecond of CPU. So
 * between segments the polls pause, and resume a margin before the next segment can be due:
 *
 * - Each segment that appears between two polls at the poll cadence tells when the stream's media started, at the
 *   earliest: the start of the poll before it, less the media listed up to its end (the sum of EXTINF). The earliest
 *   of the last few such starts is the stream's clock. A start that moved the clock earlier by more than half the
 *   margin says the clock is still moving (a transcoder catching up after its start lists each segment less late
 *   than the one before): no pause until a segment seen at the cadence leaves it where it was, give or take that.
 * - The next segment is due when that clock reaches its end (its length taken as the shortest of the last few).
 *   Polling resumes at the poll cadence `marginMs` before that: a quarter of a segment, at least 200 ms and two polls.
 * - A segment that is late (a relay holds it, a provider stalls) is polled for at the cadence until it comes, as
 *   before. One after a failed poll or an answer set aside (an older copy), a gap in the numbering or a restart says
 *   nothing of the clock: it is learnt again at the cadence. Until two segments have told it (after joining, after
 *   each relearning), every poll is at the cadence.
 * - Anything new that came while the polls were paused (a segment sooner than the clock said by more than the
 *   margin, one cut short as at a splice; a restart; a gap) may have been seen late, by up to the pause: `listed`
 *   says so (the source reports it), and the polls do not pause again in this run (unless polls failed after the
 *   pause: then the lateness may be theirs, as it would be without pauses). Media listed as a little longer than it
 *   plays does not: each segment seen gives an earlier start, and the clock follows it. Listed longer by more than
 *   half the margin a segment (an eighth of a segment at 1 s and longer), every segment moves the clock by more than
 *   that, and the polls keep the cadence: more polls, nothing seen late.
 * - Answers that may come from a cache keep the cadence for good (keepCadence), as an older copy does: a cache
 *   whose refresh these polls cause would be refreshed later after a pause, its new segments seen later, and nothing
 *   would tell. Only the signs the answers carry are known (an Age header, a positive max-age or s-maxage): an edge
 *   that sends none of them is taken for an origin.
 *
 * So a segment on time or late is seen exactly as without the pause, from an origin, and any segment a pause could
 * have made late is said.
 */

export interface ListedSegment {
  sequence: number;
  durationS: number;
}

/** What came during a pause: from this segment on, seen up to lateByMs late (since the poll before the pause). */
export interface EarlySegment {
  sequence: number;
  lateByMs: number;
  /** Polls failed after the pause too: the lateness may be theirs (polls that never paused would have had it). */
  failedPollsToo: boolean;
}

/** How many of the last segments the clock and the shortest segment are taken from. */
const KEPT = 8;
/** Segments seen at the cadence before the first pause: one late one alone would set the clock late. */
const STARTS_BEFORE_PAUSING = 2;

export class PollSchedule {
  /** The last answered poll: when it started, the last segment it listed, and that segment's end on the media clock. */
  private last: { startedAtMs: number; sequence: number; endS: number } | null = null;
  /**
   * The time since the last answered poll was not watched at the cadence: a pause (after the poll started at
   * pausedAtMs), failed polls, or both.
   */
  private blind: { pausedAtMs: number | null; failed: boolean } | null = null;
  /** A segment came during a pause, or the answers may come from a cache: the polls keep the cadence from then on. */
  private off = false;
  /** Earliest media starts (ms) told by segments seen at the cadence, newest last. */
  private starts: number[] = [];
  /** How much the newest start moved the clock earlier (ms): a clock still moving by much is not one yet. */
  private movedMs = 0;
  /** Lengths of the newest segments (s). */
  private lengths: number[] = [];

  constructor(private readonly pollMs: number) {}

  /**
   * A playlist answered the poll started at startedAtMs, listing these segments (in order). Non-null when something
   * new (a segment, a restart, a gap) came during a pause: the polls no longer pause, unless polls failed after it.
   */
  listed(startedAtMs: number, segments: readonly ListedSegment[]): EarlySegment | null {
    const newest = segments.at(-1);
    const last = this.last;
    const blind = this.blind;
    this.blind = null;
    let early: EarlySegment | null = null;
    if (last && newest && newest.sequence !== last.sequence && blind?.pausedAtMs != null) {
      const first = segments.find((s) => s.sequence > last.sequence) ?? newest;
      early = { sequence: first.sequence, lateByMs: startedAtMs - blind.pausedAtMs, failedPollsToo: blind.failed };
      if (!blind.failed) this.off = true;
    }
    if (!newest) {
      this.forget();
      return early;
    }
    if (!last || newest.sequence < last.sequence) {
      this.restart(startedAtMs, newest.sequence);
      return early;
    }
    if (newest.sequence === last.sequence) {
      last.startedAtMs = startedAtMs;
      return early;
    }
    const fresh = segments.filter((s) => s.sequence > last.sequence);
    if (fresh.some((s, i) => s.sequence !== last.sequence + 1 + i)) {
      this.restart(startedAtMs, newest.sequence);
      return early;
    }
    let endS = last.endS;
    for (const s of fresh) endS += s.durationS;
    this.last = { startedAtMs, sequence: newest.sequence, endS };
    if (fresh.some((s) => !(s.durationS > 0))) {
      this.starts = [];
      this.movedMs = 0;
      return early;
    }
    // Lengths are the playlist's whatever the polls saw; a start only from a segment seen at the cadence.
    for (const s of fresh) keep(this.lengths, s.durationS);
    if (early || blind) {
      this.starts = [];
      this.movedMs = 0;
      return early;
    }
    const start = last.startedAtMs - endS * 1000;
    this.movedMs = this.starts.length > 0 ? Math.max(0, Math.min(...this.starts) - start) : 0;
    keep(this.starts, start);
    return null;
  }

  /** A poll failed, or its answer was set aside (an older copy): what happened since the last answer was not watched. */
  failed(): void {
    this.blind = { pausedAtMs: this.blind?.pausedAtMs ?? null, failed: true };
  }

  /** The answers may come from a cache, or one was an older copy (see above): the polls keep the cadence from now on. */
  keepCadence(): void {
    this.off = true;
  }

  /** The margin kept before a segment can be due, for segments of this length. */
  marginMs(lengthS: number): number {
    return Math.max(200, 2 * this.pollMs, 250 * lengthS);
  }

  /**
   * When the poll after the one started at startedAtMs should start, the time being nowMs (that poll's segments
   * may have taken long to fetch): at the cadence, or later when no segment can appear before then. A later time
   * marks a pause: whatever the next answer brings new was not watched for at the cadence.
   */
  nextPollAtMs(startedAtMs: number, nowMs: number = startedAtMs): number {
    const cadence = startedAtMs + this.pollMs;
    if (this.off || !this.last || this.starts.length < STARTS_BEFORE_PAUSING || this.lengths.length === 0) return cadence;
    const lengthS = Math.min(...this.lengths);
    if (this.movedMs > this.marginMs(lengthS) / 2) return cadence;
    const dueMs = Math.min(...this.starts) + (this.last.endS + lengthS) * 1000;
    const resumeMs = dueMs - this.marginMs(lengthS);
    if (resumeMs <= Math.max(cadence, nowMs)) return cadence;
    this.blind = { pausedAtMs: startedAtMs, failed: false };
    return resumeMs;
  }

  private restart(startedAtMs: number, sequence: number): void {
    this.forget();
    this.last = { startedAtMs, sequence, endS: 0 };
  }

  /** Everything but `off`: a run whose polls stopped pausing does not start again. */
  private forget(): void {
    this.last = null;
    this.blind = null;
    this.starts = [];
    this.movedMs = 0;
    this.lengths = [];
  }
}

function keep(values: number[], value: number): void {
  values.push(value);
  if (values.length > KEPT) values.shift();
}
