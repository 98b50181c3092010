/**
 * A live player that holds a target latency: it shows frame n when the server's clock reads its generation time plus
 * the target (plus any rebuffering so far, and what its first frame came later than the target). A frame that has not arrived by then stalls the picture until it does —
 * one rebuffer, lasting the wait — and everything after it plays that much later (a player that does not skip ahead
 * to catch up, as hls.js and Safari do by default). Pure: times in, counts out.
 */
export interface Rebuffer {
  /** When the frame was due (server clock). */
  atMs: number;
  durationMs: number;
}

export class PlayerModel {
  rebuffers = 0;
  rebufferMs = 0;
  private shiftMs = 0;
  private firstGen: number | null = null;
  private lastGen: number | null = null;

  constructor(readonly targetLatencyMs: number) {}

  /** A new frame: generated (server clock) and arrived (client clock shifted to the server's). */
  push(generatedAtMs: number, arrivedAtServerMs: number): Rebuffer | null {
    const first = this.firstGen === null;
    this.firstGen ??= generatedAtMs;
    this.lastGen = generatedAtMs;
    // It starts when its first frame is there: one that comes later than the target (the newest frame a joining
    // player can fetch was already that old) is startup, not a rebuffer, and the player plays that much later.
    if (first) this.shiftMs = Math.max(0, arrivedAtServerMs - generatedAtMs - this.targetLatencyMs);
    return this.waitUntil(generatedAtMs + this.targetLatencyMs + this.shiftMs, arrivedAtServerMs);
  }

  /** A frame due at `due` that is there only at `at`: a rebuffer of the difference, and all after plays that late. */
  private waitUntil(due: number, at: number): Rebuffer | null {
    if (at <= due) return null;
    const wait = at - due;
    this.rebuffers++;
    this.rebufferMs += wait;
    this.shiftMs += wait;
    return { atMs: due, durationMs: wait };
  }

  /**
   * The run ends (server clock): a player still waiting for the frame after the last one (due one interval after it)
   * has been rebuffering since it was due.
   */
  end(nowServerMs: number, intervalMs: number): Rebuffer | null {
    if (this.lastGen === null) return null;
    return this.waitUntil(this.lastGen + intervalMs + this.targetLatencyMs + this.shiftMs, nowServerMs);
  }

  /** Rebuffering time ÷ (time playing + rebuffering). */
  get ratio(): number | null {
    if (this.firstGen === null || this.lastGen === null) return null;
    const total = this.lastGen - this.firstGen + this.rebufferMs;
    return total > 0 ? this.rebufferMs / total : 0;
  }

  /** The latency the player ends at: the target plus all rebuffering. */
  get latencyNowMs(): number {
    return this.targetLatencyMs + this.shiftMs;
  }
}
