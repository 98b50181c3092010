import { NumberList, spread } from "./stats.ts";

/**
 * How a low-latency stream was delivered (LL-HLS parts, LL-DASH chunks), as stored with the run (client/columns.ts):
 * its part or chunk duration, the latency it advertises, the blocking reloads it took and how many the server answered
 * early, and how early or late parts arrived against the time its own dates say they were there to be had.
 */
export interface DeliveryFigures {
  /** PART-TARGET (LL-HLS) or the chunk duration (LL-DASH). */
  partDurationS: number | null;
  /** PART-HOLD-BACK (LL-HLS) or ServiceDescription's Latency@target (LL-DASH). */
  advertisedLatencyMs: number | null;
  /** Blocking playlist reloads and their round trips (request to last byte of the answer). */
  reloads: number | null;
  reloadP50Ms: number | null;
  reloadP95Ms: number | null;
  /** Blocking reloads answered before the part asked for existed (a server or CDN that does not block). */
  earlyReloads: number | null;
  /** A part's last byte's arrival − its advertised availability (server clock), of parts asked for before it: negative = early. */
  partLateP50Ms: number | null;
  partLateP95Ms: number | null;
  /** The player model at the advertised latency: its rebuffers and their time. */
  advertisedRebuffers: number | null;
  advertisedRebufferMs: number | null;
}

export const NO_DELIVERY: DeliveryFigures = {
  partDurationS: null, advertisedLatencyMs: null, reloads: null, reloadP50Ms: null, reloadP95Ms: null, earlyReloads: null,
  partLateP50Ms: null, partLateP95Ms: null, advertisedRebuffers: null, advertisedRebufferMs: null,
};

/** Parts remembered for their lateness: a day of 200 ms parts (a few MB at most). */
const MAX_PARTS = 432_000;

/** What a low-latency source notes as it goes; figures() turns it into the run's figures. Pure. */
export class DeliveryLog {
  partDurationS: number | null = null;
  advertisedLatencyMs: number | null = null;
  earlyReloads = 0;
  private readonly reloadMs = new NumberList();
  /**
   * Per part: client-clock request and arrival, server-clock availability; the clock offset is applied once known.
   * Only parts asked for before they were available count: one fetched later (the parts a join takes at once) says
   * when the client asked, not when the server delivered.
   */
  private readonly parts: { requestedAtMs: number; arrivedAtMs: number; availableAtServerMs: number }[] = [];

  reload(roundTripMs: number, early: boolean): void {
    this.reloadMs.push(roundTripMs);
    if (early) this.earlyReloads++;
  }

  /** A part (or segment) asked for at requestedAtMs whose last byte came at arrivedAtMs (client clock). */
  part(requestedAtMs: number, arrivedAtMs: number, availableAtServerMs: number | null): void {
    if (availableAtServerMs !== null && this.parts.length < MAX_PARTS) this.parts.push({ requestedAtMs, arrivedAtMs, availableAtServerMs });
  }

  get reloads(): number {
    return this.reloadMs.length;
  }

  /** clockOffsetMs: server − client; player: the model at the advertised latency, when one ran. */
  figures(clockOffsetMs: number, player: { rebuffers: number; rebufferMs: number } | null): DeliveryFigures {
    const reload = spread(this.reloadMs.view());
    const late = spread(
      this.parts.filter((p) => p.requestedAtMs + clockOffsetMs <= p.availableAtServerMs).map((p) => p.arrivedAtMs + clockOffsetMs - p.availableAtServerMs),
    );
    const blocking = this.reloadMs.length > 0;
    return {
      partDurationS: this.partDurationS,
      advertisedLatencyMs: this.advertisedLatencyMs,
      reloads: blocking ? this.reloadMs.length : null,
      reloadP50Ms: reload.p50,
      reloadP95Ms: reload.p95,
      earlyReloads: blocking ? this.earlyReloads : null,
      partLateP50Ms: late.p50,
      partLateP95Ms: late.p95,
      advertisedRebuffers: player?.rebuffers ?? null,
      advertisedRebufferMs: player?.rebufferMs ?? null,
    };
  }
}
