/**
 * A live player that holds a target latency: it shows frame n when the server's clock reads its generation time plus
 * the target (plus any rebuffering so far). A frame that has not arrived by then stalls the picture until it does —
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

  /**
   * joining: the player starts when its first frame is there (a late first frame is startup, not a rebuffer), as one
   * joining a stream at its advertised latency does: the frames it fetches at once were waiting on the server.
   */
  constructor(
    readonly targetLatencyMs: number,
    private readonly joining = false,
  ) {}

  /** A new frame: generated (server clock) and arrived (client clock shifted to the server's). */
  push(generatedAtMs: number, arrivedAtServerMs: number): Rebuffer | null {
    const first = this.firstGen === null;
    this.firstGen ??= generatedAtMs;
    this.lastGen = generatedAtMs;
    if (first && this.joining) this.shiftMs = Math.max(0, arrivedAtServerMs - generatedAtMs - this.targetLatencyMs);
    const due = generatedAtMs + this.targetLatencyMs + this.shiftMs;
    if (arrivedAtServerMs <= due) return null;
    const wait = arrivedAtServerMs - due;
    this.rebuffers++;
    this.rebufferMs += wait;
    this.shiftMs += wait;
    return { atMs: due, durationMs: wait };
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
