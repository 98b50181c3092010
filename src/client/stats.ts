/** Small numeric helpers over plain arrays. Pure. */

/** Nearest-rank percentile (p in 0..100) of unsorted values; null for none. */
export function percentile(values: ArrayLike<number>, p: number): number | null {
  if (values.length === 0) return null;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export interface Spread {
  min: number | null;
  p50: number | null;
  p95: number | null;
  max: number | null;
  mean: number | null;
}

/** Min, median, p95, max and mean with one sort. */
export function spread(values: ArrayLike<number>): Spread {
  if (values.length === 0) return { min: null, p50: null, p95: null, max: null, mean: null };
  const sorted = Float64Array.from(values).sort();
  const rank = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
  return { min: sorted[0]!, p50: rank(50), p95: rank(95), max: sorted[sorted.length - 1]!, mean: mean(sorted) };
}

export function mean(values: ArrayLike<number>): number | null {
  if (values.length === 0) return null;
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i]!;
  return s / values.length;
}

export function median(values: ArrayLike<number>): number | null {
  return percentile(values, 50);
}

/** A growable list of numbers that does not box them. */
export class NumberList {
  private data = new Float64Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  view(): Float64Array {
    return this.data.subarray(0, this.length);
  }
}
