/**
 * L16 (RFC 3551 §4.5.11): uncompressed 16-bit signed samples in network (big-endian) byte order,
 * at whatever clock rate the SDP rtpmap gives. Mono only; the registry refuses more channels.
 */
import { AppError } from '../../errors.js';
import type { AudioDecoder } from './audio-codec.js';

/** L16 mono decoder; sample rate equals the RTP clock rate. */
export class L16Decoder implements AudioDecoder {
  readonly encoding = 'L16';
  readonly sampleRate: number;
  readonly clockRate: number;

  /** Throws AppError MEDIA_CODEC unless `clockRate` is a positive integer. */
  constructor(clockRate: number) {
    if (!Number.isInteger(clockRate) || clockRate <= 0) {
      throw new AppError('MEDIA_CODEC', `L16 needs a positive integer clock rate, got ${clockRate}`);
    }
    this.clockRate = clockRate;
    this.sampleRate = clockRate;
  }

  /** Two octets per sample; a stray odd octet is ignored. */
  samplesFor(payloadBytes: number): number {
    return payloadBytes >>> 1;
  }

  decode(payload: Uint8Array, out: Int16Array, outOffset: number): number {
    const samples = payload.length >>> 1;
    for (let i = 0; i < samples; i++) {
      // Int16Array stores the low 16 bits, so the unsigned big-endian word becomes signed.
      out[outOffset + i] = ((payload[2 * i] as number) << 8) | (payload[2 * i + 1] as number);
    }
    return samples;
  }

  reset(): void {
    // L16 carries no state between samples.
  }
}
