/**
 * ITU-T G.722 encoder, 64 kbit/s (mode 1), for tests, demo captures and the announcement player:
 * 16 kHz 16-bit PCM in, one octet per two samples out (high band code in bits 7–6, low band in
 * bits 5–0). It mirrors G722Decoder: the transmit QMF splits the signal into two 8 kHz sub-bands,
 * quantized by the same adaptive band state the decoder runs.
 */
import { G722Band, G722_QMF, saturate16 } from './g722.js';

/** Lower sub-band 6-bit quantizer decision levels (QUANTL), scaled by 2^12 / DETL. */
// prettier-ignore
const Q6 = Int32Array.of(
  0, 35, 72, 110, 150, 190, 233, 276, 323, 370,
  422, 473, 530, 587, 650, 714, 786, 858, 940, 1023,
  1121, 1219, 1339, 1458, 1612, 1765, 1980, 2195, 2557, 2919,
);
/** 6-bit codes for negative and positive differences by quantizer interval (QUANTL). */
// prettier-ignore
const ILN = Int32Array.of(
  0, 63, 62, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19,
  18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4,
);
// prettier-ignore
const ILP = Int32Array.of(
  0, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47,
  46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36, 35, 34, 33, 32,
);
/** Higher sub-band decision level (QUANTH), scaled by 2^12 / DETH. */
const Q2 = 564;

/** G.722 64 kbit/s encoder; stateful, one instance per stream. */
export class G722Encoder {
  readonly #low = new G722Band(true);
  readonly #high = new G722Band(false);
  /** Transmit QMF input history, stored twice so the 24 newest samples are contiguous at [pos, pos + 24). */
  readonly #x = new Int32Array(48);
  #pos = 0;

  /** Octets `encode` produces for this many samples. */
  bytesFor(samples: number): number {
    return samples >>> 1;
  }

  /**
   * Encodes `pcm` (16 kHz, even length; a trailing odd sample is ignored) into `out` from
   * `outOffset`; returns the number of octets written.
   */
  encode(pcm: Int16Array, out: Uint8Array, outOffset = 0): number {
    const low = this.#low;
    const high = this.#high;
    const x = this.#x;
    let o = outOffset;
    for (let j = 0; j + 1 < pcm.length; j += 2) {
      this.#push(pcm[j] as number);
      const pos = this.#push(pcm[j + 1] as number);
      // Transmit QMF: xl = Σ h(i)·x(n−i), xh = Σ (−1)^i·h(i)·x(n−i); the sub-bands carry half of
      // 16-bit full scale, hence the shift of 14 for coefficients summing to 2^13.
      let even = 0;
      let odd = 0;
      for (let i = 0; i < 24; i += 2) {
        even += (G722_QMF[i] as number) * (x[pos + i] as number);
        odd += (G722_QMF[i + 1] as number) * (x[pos + i + 1] as number);
      }
      const xl = (even + odd) >> 14;
      const xh = (even - odd) >> 14;

      // SUBTRA + QUANTL: find the interval of |el| among the decision levels scaled by DETL.
      const el = saturate16(xl - low.s);
      const wl = el >= 0 ? el : -(el + 1);
      let interval = 1;
      while (interval < 30 && wl >= ((Q6[interval] as number) * low.det) >> 12) interval++;
      const il = el < 0 ? (ILN[interval] as number) : (ILP[interval] as number);
      low.adaptLow(il);

      // SUBTRA + QUANTH: two magnitudes, one decision level.
      const eh = saturate16(xh - high.s);
      const wh = eh >= 0 ? eh : -(eh + 1);
      const large = wh >= (Q2 * high.det) >> 12;
      const ih = eh < 0 ? (large ? 0 : 1) : large ? 2 : 3;
      high.adaptHigh(ih);

      out[o++] = (ih << 6) | il;
    }
    return o - outOffset;
  }

  reset(): void {
    this.#low.reset();
    this.#high.reset();
    this.#x.fill(0);
    this.#pos = 0;
  }

  /** Stores one input sample as the newest; returns the window start. */
  #push(sample: number): number {
    const pos = (this.#pos = (this.#pos + 23) % 24);
    this.#x[pos] = this.#x[pos + 24] = sample;
    return pos;
  }
}
