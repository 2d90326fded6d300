/**
 * ITU-T G.711 PCMU (μ-law) and PCMA (A-law), 8000 samples/s, one octet per sample (RFC 3551
 * §4.5.14). Linear values are 16-bit: G.711's 14-bit μ-law and 13-bit A-law magnitudes shifted
 * left to full scale, as is conventional. Decoding is a table look-up; the tables are computed at
 * module load from the segment/mantissa rules below.
 */
import type { AudioDecoder } from './audio-codec.js';

/** μ-law bias added before segment search (G.711 §2: 33 in 14-bit units, here ×4). */
const ULAW_BIAS = 0x84;
/** Largest magnitude μ-law encodes before clipping, so that magnitude + bias stays below 2^15. */
const ULAW_CLIP = 32635;

/** Decodes one μ-law octet to 16-bit linear (G.711 Table 2a, transmitted octets are complemented). */
function decodeUlaw(code: number): number {
  const u = ~code & 0xff;
  const exponent = (u >>> 4) & 0x07;
  const mantissa = u & 0x0f;
  // Each segment doubles the step; the decoded value is the middle of the decision interval.
  const magnitude = (((mantissa << 3) + ULAW_BIAS) << exponent) - ULAW_BIAS;
  return (u & 0x80) !== 0 ? -magnitude : magnitude;
}

/** Decodes one A-law octet to 16-bit linear (G.711 Table 1a, even bits inverted by XOR 0x55). */
function decodeAlaw(code: number): number {
  const a = code ^ 0x55;
  const segment = (a >>> 4) & 0x07;
  const mantissa = a & 0x0f;
  // Segments 0 and 1 share the smallest step; the decoded value is the middle of the interval.
  const magnitude = segment === 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (segment - 1);
  // A-law: a set sign bit means positive.
  return (a & 0x80) !== 0 ? magnitude : -magnitude;
}

function buildTable(decodeOne: (code: number) => number): Int16Array {
  const table = new Int16Array(256);
  for (let code = 0; code < 256; code++) table[code] = decodeOne(code);
  return table;
}

const ULAW_TO_LINEAR = buildTable(decodeUlaw);
const ALAW_TO_LINEAR = buildTable(decodeAlaw);

/** 16-bit linear value of a μ-law octet. */
export function ulawToLinear(code: number): number {
  return ULAW_TO_LINEAR[code & 0xff] as number;
}

/** 16-bit linear value of an A-law octet. */
export function alawToLinear(code: number): number {
  return ALAW_TO_LINEAR[code & 0xff] as number;
}

/** Encodes a 16-bit linear sample (clamped to int16) as a μ-law octet. */
export function linearToUlaw(sample: number): number {
  const linear = clampInt16(sample);
  const sign = linear < 0 ? 0x80 : 0;
  // One's complement magnitude for negative values, as in the ITU-T G.191 reference encoder.
  let value = linear < 0 ? -linear - 1 : linear;
  if (value > ULAW_CLIP) value = ULAW_CLIP;
  value += ULAW_BIAS;
  // Segment = position of the highest set bit above bit 7 (value + bias is always ≥ 2^7).
  const exponent = 24 - Math.clz32(value);
  const mantissa = (value >>> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

/** Encodes a 16-bit linear sample (clamped to int16) as an A-law octet. */
export function linearToAlaw(sample: number): number {
  const value = clampInt16(sample);
  // One's complement magnitude for negative values (ITU-T G.191), so that -32768 still fits.
  const mask = value >= 0 ? 0xd5 : 0x55;
  const magnitude = value >= 0 ? value : -value - 1;
  let code: number;
  if (magnitude < 256) {
    code = magnitude >>> 4;
  } else {
    const segment = 24 - Math.clz32(magnitude); // 1 for [256, 512) … 7 for [16384, 32768)
    code = (segment << 4) | ((magnitude >>> (segment + 3)) & 0x0f);
  }
  return code ^ mask;
}

function clampInt16(sample: number): number {
  const value = Math.trunc(sample);
  return value > 32767 ? 32767 : value < -32768 ? -32768 : value;
}

function decodeWithTable(table: Int16Array, payload: Uint8Array, out: Int16Array, outOffset: number): number {
  const n = payload.length;
  for (let i = 0; i < n; i++) out[outOffset + i] = table[payload[i] as number] as number;
  return n;
}

/** PCMU decoder: stateless, one sample per octet. */
export class PcmuDecoder implements AudioDecoder {
  readonly encoding = 'PCMU';
  readonly sampleRate = 8000;
  readonly clockRate = 8000;

  samplesFor(payloadBytes: number): number {
    return payloadBytes;
  }

  decode(payload: Uint8Array, out: Int16Array, outOffset: number): number {
    return decodeWithTable(ULAW_TO_LINEAR, payload, out, outOffset);
  }

  reset(): void {
    // G.711 carries no state between samples.
  }
}

/** PCMA decoder: stateless, one sample per octet. */
export class PcmaDecoder implements AudioDecoder {
  readonly encoding = 'PCMA';
  readonly sampleRate = 8000;
  readonly clockRate = 8000;

  samplesFor(payloadBytes: number): number {
    return payloadBytes;
  }

  decode(payload: Uint8Array, out: Int16Array, outOffset: number): number {
    return decodeWithTable(ALAW_TO_LINEAR, payload, out, outOffset);
  }

  reset(): void {
    // G.711 carries no state between samples.
  }
}
