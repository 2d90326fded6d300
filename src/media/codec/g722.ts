/**
 * ITU-T G.722 decoder, 64 kbit/s (mode 1): each octet carries a 6-bit lower sub-band ADPCM code
 * (bits 5–0) and a 2-bit higher sub-band code (bits 7–6); the receive QMF turns each pair of
 * sub-band samples into two 16 kHz output samples. RFC 3551 §4.5.2: the RTP clock stays 8000 Hz.
 * Block names in comments (INVQAL, LOGSCL, UPPOL2 …) are those of G.722's computational details.
 * The ADPCM band state and tables are exported for the encoder (g722-encoder.ts), not re-exported
 * from the codec index.
 */
import type { AudioDecoder } from './audio-codec.js';

/** Transmit and receive QMF coefficients h0…h11 of G.722, scaled by 2^13; h(23−i) = h(i). */
const QMF_HALF = [3, -11, -11, 53, 12, -156, 32, 362, -210, -805, 951, 3876];

/** All 24 QMF coefficients h0…h23. */
export const G722_QMF: Int32Array = Int32Array.from({ length: 24 }, (_, i) => QMF_HALF[i < 12 ? i : 23 - i] ?? 0);

/** Lower sub-band 4-bit inverse quantizer output levels, indexed by the 6-bit code >> 2 (INVQAL). */
// prettier-ignore
const QM4 = Int32Array.of(
  0, -20456, -12896, -8968, -6288, -4240, -2584, -1200,
  20456, 12896, 8968, 6288, 4240, 2584, 1200, 0,
);

/** Lower sub-band 6-bit inverse quantizer output levels, indexed by the 6-bit code (INVQBL, mode 1). */
// prettier-ignore
const QM6 = Int32Array.of(
  -136, -136, -136, -136, -24808, -21904, -19008, -16704,
  -14984, -13512, -12280, -11192, -10232, -9360, -8576, -7856,
  -7192, -6576, -6000, -5456, -4944, -4464, -4008, -3576,
  -3168, -2776, -2400, -2032, -1688, -1360, -1040, -728,
  24808, 21904, 19008, 16704, 14984, 13512, 12280, 11192,
  10232, 9360, 8576, 7856, 7192, 6576, 6000, 5456,
  4944, 4464, 4008, 3576, 3168, 2776, 2400, 2032,
  1688, 1360, 1040, 728, 432, 136, -432, -136,
);

/** Higher sub-band 2-bit inverse quantizer output levels (INVQAH). */
const G722_QM2 = Int32Array.of(-7408, -1616, 7408, 1616);

/** Lower sub-band log scale factor multipliers (LOGSCL), indexed via RL42. */
const WL = Int32Array.of(-60, -30, 58, 172, 334, 538, 1198, 3042);
const RL42 = Int32Array.of(0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0);
/** Higher sub-band log scale factor multipliers (LOGSCH), indexed via RH2. */
const WH = Int32Array.of(0, -214, 798);
const RH2 = Int32Array.of(2, 1, 2, 1);
/** Inverse log2 table for the scale factor (SCALEL / SCALEH). */
// prettier-ignore
const ILB = Int32Array.of(
  2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383,
  2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834,
  2896, 2960, 3025, 3091, 3158, 3228, 3298, 3371,
  3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008,
);

/** Lower and higher band scale factors at reset (G.722 initial values DETL = 32, DETH = 8). */
const LOW_INITIAL_DET = 32;
const HIGH_INITIAL_DET = 8;

/** Saturates to the 16-bit two's complement range, like every G.722 "limited" operation. */
export function saturate16(value: number): number {
  return value > 32767 ? 32767 : value < -32768 ? -32768 : value;
}

/** Limits a reconstructed sub-band signal to 15 bits (G.722 blocks 6L/6H, LIMIT). */
function limit15(value: number): number {
  return value > 16383 ? 16383 : value < -16384 ? -16384 : value;
}

/**
 * The adaptive state of one sub-band: quantizer scale factor and the pole-zero predictor. The
 * encoder and decoder run identical copies, driven by the transmitted codes.
 */
export class G722Band {
  /** Quantizer scale factor (DETL / DETH) for the next sample. */
  det: number;
  /** Signal estimate (SL / SH) for the next sample. */
  s = 0;
  readonly #lower: boolean;
  /** Log scale factor (NBL / NBH). */
  #nb = 0;
  /** Zero-section estimate SZ. */
  #sz = 0;
  /** Pole coefficients a1, a2; reconstructed signals r1, r2; partial reconstructions p1, p2. */
  #a1 = 0;
  #a2 = 0;
  #r1 = 0;
  #r2 = 0;
  #p1 = 0;
  #p2 = 0;
  /** Quantized differences d(1…6) and zero coefficients b(1…6); index 0 unused. */
  readonly #d = new Int32Array(7);
  readonly #b = new Int32Array(7);

  /** `lower` selects the lower sub-band's initial scale factor; the adapt methods pick the tables. */
  constructor(lower: boolean) {
    this.#lower = lower;
    this.det = lower ? LOW_INITIAL_DET : HIGH_INITIAL_DET;
  }

  reset(): void {
    this.det = this.#lower ? LOW_INITIAL_DET : HIGH_INITIAL_DET;
    this.s = this.#nb = this.#sz = 0;
    this.#a1 = this.#a2 = this.#r1 = this.#r2 = this.#p1 = this.#p2 = 0;
    this.#d.fill(0);
    this.#b.fill(0);
  }

  /** Lower band: adapts to a 6-bit code (INVQAL, LOGSCL, SCALEL, then block 4). */
  adaptLow(code6: number): void {
    const code4 = code6 >>> 2;
    const dlt = (this.det * (QM4[code4] as number)) >> 15;
    this.#nb = scaleLog(this.#nb, WL[RL42[code4] as number] as number, 18432);
    this.det = scaleFactor(this.#nb, 8);
    this.#predict(dlt);
  }

  /** Higher band: adapts to a 2-bit code (INVQAH, LOGSCH, SCALEH, then block 4). */
  adaptHigh(code2: number): void {
    const dh = (this.det * (G722_QM2[code2] as number)) >> 15;
    this.#nb = scaleLog(this.#nb, WH[RH2[code2] as number] as number, 22528);
    this.det = scaleFactor(this.#nb, 10);
    this.#predict(dh);
  }

  /** Block 4: reconstruction, predictor coefficient adaptation and the next signal estimate. */
  #predict(dq: number): void {
    const d = this.#d;
    const b = this.#b;
    const r0 = saturate16(this.s + dq); // RECONS
    const p0 = saturate16(this.#sz + dq); // PARREC
    const sg0 = p0 >> 15;
    const sg1 = this.#p1 >> 15;
    const sg2 = this.#p2 >> 15;

    // UPPOL2 (coefficients in Q14): a2 moves by ±2^-7 plus a1-dependent term, leakage 1 − 2^-7, |a2| ≤ 0.75.
    const wa1 = saturate16(this.#a1 * 4);
    let wa2 = sg0 === sg1 ? -wa1 : wa1;
    if (wa2 > 32767) wa2 = 32767;
    let a2 = (sg0 === sg2 ? 128 : -128) + (wa2 >> 7) + ((this.#a2 * 32512) >> 15);
    a2 = a2 > 12288 ? 12288 : a2 < -12288 ? -12288 : a2;

    // UPPOL1: a1 moves by ±3·2^-8, leakage 1 − 2^-8, |a1| ≤ 1 − 2^-4 − a2 for stability.
    let a1 = saturate16((sg0 === sg1 ? 192 : -192) + ((this.#a1 * 32640) >> 15));
    const a1Limit = saturate16(15360 - a2);
    a1 = a1 > a1Limit ? a1Limit : a1 < -a1Limit ? -a1Limit : a1;

    // UPZERO: b(i) moves by ±2^-7 as d(0) and d(i) agree in sign (not when d(0) = 0), leakage 1 − 2^-8.
    const step = dq === 0 ? 0 : 128;
    const sgd0 = dq >> 15;
    for (let i = 1; i < 7; i++) {
      const wd = (d[i] as number) >> 15 === sgd0 ? step : -step;
      b[i] = saturate16(wd + (((b[i] as number) * 32640) >> 15));
    }

    // DELAYA
    for (let i = 6; i > 1; i--) d[i] = d[i - 1] as number;
    d[1] = dq;
    this.#r2 = this.#r1;
    this.#r1 = r0;
    this.#p2 = this.#p1;
    this.#p1 = p0;
    this.#a2 = a2;
    this.#a1 = a1;

    // FILTEP: two-pole section on the reconstructed signal.
    const sp = saturate16(((a1 * saturate16(r0 * 2)) >> 15) + ((a2 * saturate16(this.#r2 * 2)) >> 15));
    // FILTEZ: six-zero section on the quantized difference.
    let sz = 0;
    for (let i = 6; i > 0; i--) sz += ((b[i] as number) * saturate16((d[i] as number) * 2)) >> 15;
    this.#sz = saturate16(sz);
    this.s = saturate16(sp + this.#sz); // PREDIC
  }
}

/** LOGSCL / LOGSCH: nb = nb·(1 − 2^-7) + w, limited to [0, max]. */
function scaleLog(nb: number, w: number, max: number): number {
  const next = ((nb * 127) >> 7) + w;
  return next < 0 ? 0 : next > max ? max : next;
}

/** SCALEL / SCALEH: det = 2^(nb / 2048 + 2 − shift) from the ILB table, times 4. */
function scaleFactor(nb: number, shift: number): number {
  const mantissa = ILB[(nb >> 6) & 31] as number;
  const exponent = shift - (nb >> 11);
  return (exponent < 0 ? mantissa << -exponent : mantissa >> exponent) << 2;
}

/** G.722 64 kbit/s decoder producing 16 kHz PCM, two samples per octet. */
export class G722Decoder implements AudioDecoder {
  readonly encoding = 'G722';
  readonly sampleRate = 16000;
  readonly clockRate = 8000;
  readonly #low = new G722Band(true);
  readonly #high = new G722Band(false);
  /**
   * Receive QMF histories of xd = rl − rh and xs = rl + rh, each stored twice (positions p and
   * p + 12) so that the 12 most recent values are contiguous at [pos, pos + 12), newest first.
   */
  readonly #xd = new Int32Array(24);
  readonly #xs = new Int32Array(24);
  #pos = 0;

  samplesFor(payloadBytes: number): number {
    return payloadBytes * 2;
  }

  decode(payload: Uint8Array, out: Int16Array, outOffset: number): number {
    const low = this.#low;
    const high = this.#high;
    const xd = this.#xd;
    const xs = this.#xs;
    let o = outOffset;
    for (let j = 0; j < payload.length; j++) {
      const code = payload[j] as number;
      const il = code & 0x3f;
      const ih = code >>> 6;
      // INVQBL + RECONS + LIMIT use the scale factor and estimate from before this sample.
      const rl = limit15(low.s + ((low.det * (QM6[il] as number)) >> 15));
      low.adaptLow(il);
      const rh = limit15(high.s + ((high.det * (G722_QM2[ih] as number)) >> 15));
      high.adaptHigh(ih);

      // Receive QMF: y(2n) = 2·Σ h(2i)·xd(n−i), y(2n+1) = 2·Σ h(2i+1)·xs(n−i). The sub-band
      // signals are at half of 16-bit full scale, hence the shift of 11 for coefficients of 2^13.
      const pos = (this.#pos = (this.#pos + 11) % 12);
      xd[pos] = xd[pos + 12] = rl - rh;
      xs[pos] = xs[pos + 12] = rl + rh;
      let even = 0;
      let odd = 0;
      for (let i = 0; i < 12; i++) {
        even += (G722_QMF[2 * i] as number) * (xd[pos + i] as number);
        odd += (G722_QMF[2 * i + 1] as number) * (xs[pos + i] as number);
      }
      out[o++] = saturate16(even >> 11);
      out[o++] = saturate16(odd >> 11);
    }
    return o - outOffset;
  }

  reset(): void {
    this.#low.reset();
    this.#high.reset();
    this.#xd.fill(0);
    this.#xs.fill(0);
    this.#pos = 0;
  }
}
