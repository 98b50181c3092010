import { DELIVERY_FIELDS, RUNS, type RunRow } from "../client/columns.ts";
import type { DeliveryFigures } from "../client/delivery.ts";
import type { StreamFacts } from "../client/source.ts";
import { groupLabel, type RunFacts } from "./aggregate.ts";

/** The stream's format facts (schema 4), in the order of their columns. */
export const FORMAT_FIELDS = [
  "protocol", "container", "codecs", "rendition", "declaredBandwidthBps", "segmentDurationS",
] as const satisfies readonly (keyof StreamFacts)[];

/** Every format fact, for the runs of databases that store none (the prototype's). */
export const NO_FORMAT: StreamFacts = Object.fromEntries(FORMAT_FIELDS.map((f) => [f, null])) as unknown as StreamFacts;

export type DeliveryField = (typeof DELIVERY_FIELDS)[number];

/** What the report reads of a run's row for its format and delivery: the columns an older file lacks read as null. */
export const DELIVERY_READ = [...FORMAT_FIELDS, ...DELIVERY_FIELDS] as const;

type StoredDelivery = { [K in (typeof DELIVERY_READ)[number]]: RunRow[K] | null };

/**
 * A run's format facts and low-latency delivery from its stored row. Pure. The delivery is null when the run stored
 * none of its figures: a plain HLS or DASH run, or a file older than schema 5 (not measured, never zero).
 */
export function runFormat(row: StoredDelivery): { stream: StreamFacts; delivery: DeliveryFigures | null } {
  const stream = Object.fromEntries(FORMAT_FIELDS.map((f) => [f, row[f]])) as unknown as StreamFacts;
  const delivery = DELIVERY_FIELDS.some((f) => row[f] !== null)
    ? (Object.fromEntries(DELIVERY_FIELDS.map((f) => [f, row[f]])) as unknown as DeliveryFigures)
    : null;
  return { stream, delivery };
}

/** One row of the delivery table: a run that measured a low-latency stream. */
export interface DeliveryRow extends DeliveryFigures {
  configuration: string;
  database: string;
  run: number | string;
  protocol: string | null;
  container: string | null;
}

/**
 * The runs that stored delivery figures, one row each, in the order read. Per run, not per configuration: the round
 * trips and lateness behind a run's percentiles are not stored, so two runs' percentiles cannot be pooled. Pure.
 */
export function deliveryRows(runs: readonly RunFacts[]): DeliveryRow[] {
  return runs.flatMap((r) =>
    r.delivery
      ? [{ configuration: groupLabel(r), database: r.source, run: r.run, protocol: r.stream.protocol, container: r.stream.container, ...r.delivery }]
      : [],
  );
}

/** The stored column's name: the delivery figures' CSV/JSON names are those of the database, declared once. */
export function storedName(f: keyof RunRow): string {
  return RUNS.columns[f].name;
}
