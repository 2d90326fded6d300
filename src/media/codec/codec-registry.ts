/**
 * Which SDP payload formats the recorder can decode, and the RFC 3551 static payload types that
 * may appear in an m= line without an rtpmap.
 */
import type { AudioDecoder, PayloadFormat } from './audio-codec.js';
import { PcmaDecoder, PcmuDecoder } from './g711.js';
import { G722Decoder } from './g722.js';
import { L16Decoder } from './l16.js';

/** Encodings `createDecoder` supports (upper case). */
const RECORDABLE_ENCODINGS: ReadonlySet<string> = new Set(['PCMU', 'PCMA', 'G722', 'L16']);

function staticFormat(payloadType: number, encoding: string, clockRate: number, channels: number): PayloadFormat {
  return Object.freeze({ payloadType, encoding, clockRate, channels });
}

/**
 * RFC 3551 §6 Table 4, the audio static payload types callrec understands, keyed by payload type.
 * PT 9 is G722/8000: §4.5.2 keeps the RTP clock at 8000 Hz although G.722 samples at 16 kHz.
 */
export const STATIC_PAYLOAD_FORMATS: ReadonlyMap<number, PayloadFormat> = new Map([
  [0, staticFormat(0, 'PCMU', 8000, 1)],
  [8, staticFormat(8, 'PCMA', 8000, 1)],
  [9, staticFormat(9, 'G722', 8000, 1)],
  [10, staticFormat(10, 'L16', 44100, 2)],
  [11, staticFormat(11, 'L16', 44100, 1)],
  [13, staticFormat(13, 'CN', 8000, 1)],
]);

/**
 * A fresh decoder for `format`, or undefined when callrec cannot record it: unknown encodings,
 * L16 with more than one channel, or PCMU/PCMA/G722 at a clock rate other than 8000
 * (RFC 3551 §4.5.2, §4.5.14). Encoding names compare case-insensitively.
 */
export function createDecoder(format: PayloadFormat): AudioDecoder | undefined {
  const encoding = format.encoding.toUpperCase();
  switch (encoding) {
    case 'PCMU':
      return format.clockRate === 8000 && format.channels === 1 ? new PcmuDecoder() : undefined;
    case 'PCMA':
      return format.clockRate === 8000 && format.channels === 1 ? new PcmaDecoder() : undefined;
    case 'G722':
      return format.clockRate === 8000 && format.channels === 1 ? new G722Decoder() : undefined;
    case 'L16':
      return format.channels === 1 && Number.isInteger(format.clockRate) && format.clockRate > 0
        ? new L16Decoder(format.clockRate)
        : undefined;
    default:
      return undefined;
  }
}

/** Whether `createDecoder` knows the encoding at all (case-insensitive). */
export function isRecordableEncoding(encoding: string): boolean {
  return RECORDABLE_ENCODINGS.has(encoding.toUpperCase());
}

/** RFC 3389 comfort noise ("CN"): carries no audio to decode; the recorder fills silence. */
export function isComfortNoise(encoding: string): boolean {
  return encoding.toUpperCase() === 'CN';
}

/** RFC 4733 named events ("telephone-event"): DTMF and tones, not audio. */
export function isTelephoneEvent(encoding: string): boolean {
  return encoding.toUpperCase() === 'TELEPHONE-EVENT';
}
