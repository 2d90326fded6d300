/** Fixed-bucket millisecond histograms of the `media.bench.ts` load generator, mergeable across processes. */
/** Serialised form of a `Histogram` (sparse [index, count] pairs). */
export interface HistogramData {
  readonly bucketMs: number;
  readonly size: number;
  readonly buckets: readonly number[];
  readonly count: number;
  readonly sum: number;
  readonly max: number;
}

/** Millisecond values in fixed buckets (10 µs wide up to 2 s; larger values in the last one). */
export class Histogram {
  readonly bucketMs: number;
  readonly #counts: Uint32Array;
  count = 0;
  sum = 0;
  max = 0;

  constructor(bucketMs = 0.01, size = 200_000) {
    this.bucketMs = bucketMs;
    this.#counts = new Uint32Array(size);
  }

  add(ms: number): void {
    const v = ms < 0 ? 0 : ms;
    let i = Math.floor(v / this.bucketMs);
    if (i >= this.#counts.length) i = this.#counts.length - 1;
    this.#counts[i] = (this.#counts[i] as number) + 1;
    this.count += 1;
    this.sum += v;
    if (v > this.max) this.max = v;
  }

  /**
   * The upper edge of the bucket holding the p-th percentile; NaN when empty, Infinity when it is
   * in the last bucket (beyond the histogram's range).
   */
  percentile(p: number): number {
    if (this.count === 0) return NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    const last = this.#counts.length - 1;
    let seen = 0;
    for (let i = 0; i < last; i++) {
      seen += this.#counts[i] as number;
      if (seen >= rank) return Math.min((i + 1) * this.bucketMs, this.max);
    }
    return Infinity;
  }

  get mean(): number {
    return this.count === 0 ? NaN : this.sum / this.count;
  }

  merge(other: HistogramData): void {
    if (other.bucketMs !== this.bucketMs || other.size !== this.#counts.length) {
      throw new Error('histograms with different buckets');
    }
    for (let k = 0; k + 1 < other.buckets.length; k += 2) {
      const i = other.buckets[k] as number;
      this.#counts[i] = (this.#counts[i] as number) + (other.buckets[k + 1] as number);
    }
    this.count += other.count;
    this.sum += other.sum;
    if (other.max > this.max) this.max = other.max;
  }

  toData(): HistogramData {
    const buckets: number[] = [];
    for (let i = 0; i < this.#counts.length; i++) {
      const c = this.#counts[i] as number;
      if (c !== 0) buckets.push(i, c);
    }
    return {
      bucketMs: this.bucketMs,
      size: this.#counts.length,
      buckets,
      count: this.count,
      sum: this.sum,
      max: this.max,
    };
  }
}
