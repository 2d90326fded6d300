/**
 * Sample-rate conversion by linear interpolation, continuous across blocks (a leg whose codec
 * changes from 8 kHz to 16 kHz still writes at its file's rate). Allocates nothing; a block of
 * n input frames yields n × out/in frames (exactly, for integer ratios).
 */
export class LinearResampler {
  #inRate = 0;
  #outRate = 0;
  #step = 1;
  /** Position of the next output frame in input frames, relative to the next block (-1: #prev). */
  #phase = 0;
  #prev = 0;
  #fresh = true;

  /** Room `process` needs in `output` for `count` input frames. */
  static capacityFor(count: number, inRate: number, outRate: number): number {
    return Math.ceil((count * outRate) / inRate) + 2;
  }

  /** Starts afresh: the next block is not interpolated with the previous one. */
  reset(): void {
    this.#fresh = true;
  }

  /** Converts `count` frames of `input` at `inRate` into `output` at `outRate`; returns frames written. */
  process(
    input: Int16Array,
    inOffset: number,
    count: number,
    inRate: number,
    outRate: number,
    output: Int16Array,
    outOffset: number,
  ): number {
    if (count <= 0) return 0;
    if (inRate !== this.#inRate || outRate !== this.#outRate) {
      this.#inRate = inRate;
      this.#outRate = outRate;
      this.#step = inRate / outRate;
      this.#fresh = true;
    }
    if (this.#fresh) {
      this.#fresh = false;
      this.#phase = this.#step - 1;
      this.#prev = input[inOffset] ?? 0;
    }
    const last = count - 1;
    const step = this.#step;
    const prev = this.#prev;
    let t = this.#phase;
    let o = outOffset;
    // Between the previous block's last frame and this block's first.
    for (const first = input[inOffset] ?? 0; t < 0; t += step) output[o++] = Math.round(first + (prev - first) * -t);
    for (; t <= last; t += step) {
      const i = Math.trunc(t);
      const f = t - i;
      const a = input[inOffset + i] ?? 0;
      output[o++] = f === 0 ? a : Math.round(a + ((input[inOffset + i + 1] ?? a) - a) * f);
    }
    this.#phase = t - count;
    this.#prev = input[inOffset + last] ?? 0;
    return o - outOffset;
  }
}
