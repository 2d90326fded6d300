/** Fakes shared by the recorder tests: a sink that records what it is told, byte decoders. */
import type { AudioDecoder, PayloadFormat } from '../../../src/media/codec/audio-codec.js';
import type { PcmSink } from '../../../src/recorder/pcm-sink.js';
import type { RecorderPacket } from '../../../src/recorder/recorder-packet.js';

export interface SinkRun {
  readonly kind: 'audio' | 'silence';
  /** Frame position on the timeline where the run starts. */
  readonly offset: number;
  readonly count: number;
}

/** Records every write as (offset, kind, count) and keeps the audio samples. */
export class RecordingSink implements PcmSink {
  readonly writes: SinkRun[] = [];
  readonly samples: number[] = [];
  frames = 0;

  writeSamples(pcm: Int16Array, offset: number, count: number): void {
    this.writes.push({ kind: 'audio', offset: this.frames, count });
    for (let i = 0; i < count; i++) this.samples.push(pcm[offset + i] ?? NaN);
    this.frames += count;
  }

  writeSilence(frames: number): void {
    this.writes.push({ kind: 'silence', offset: this.frames, count: frames });
    this.frames += frames;
  }

  /** Consecutive writes of the same kind merged. */
  runs(): SinkRun[] {
    const runs: SinkRun[] = [];
    for (const w of this.writes) {
      const last = runs.at(-1);
      if (last !== undefined && last.kind === w.kind) runs[runs.length - 1] = { ...last, count: last.count + w.count };
      else runs.push(w);
    }
    return runs;
  }

  /** Frames of silence / audio in total. */
  total(kind: 'audio' | 'silence'): number {
    return this.writes.filter((w) => w.kind === kind).reduce((sum, w) => sum + w.count, 0);
  }
}

/** A decoder writing each payload byte as `samplesPerByte` samples of that value. */
export class ByteDecoder implements AudioDecoder {
  resets = 0;
  constructor(
    readonly encoding: string,
    readonly clockRate: number,
    readonly sampleRate: number,
    readonly samplesPerByte = 1,
  ) {}

  samplesFor(payloadBytes: number): number {
    return payloadBytes * this.samplesPerByte;
  }

  decode(payload: Uint8Array, out: Int16Array, outOffset: number): number {
    let o = outOffset;
    for (const byte of payload) for (let k = 0; k < this.samplesPerByte; k++) out[o++] = byte;
    return o - outOffset;
  }

  reset(): void {
    this.resets++;
  }
}

export const PT_LIN8 = 96;
export const PT_LIN16 = 97;
/** G.722-like: RTP clock 8000, 16 kHz samples. */
export const PT_WIDE = 98;
export const PT_OPUS = 111;
export const PT_CN = 13;
export const PT_EVENT = 101;

function format(payloadType: number, encoding: string, clockRate: number): PayloadFormat {
  return { payloadType, encoding, clockRate, channels: 1 };
}

export const FORMATS: ReadonlyMap<number, PayloadFormat> = new Map([
  [PT_LIN8, format(PT_LIN8, 'LIN8', 8000)],
  [PT_LIN16, format(PT_LIN16, 'LIN16', 16000)],
  [PT_WIDE, format(PT_WIDE, 'WIDE', 8000)],
  [PT_OPUS, format(PT_OPUS, 'OPUS', 48000)],
  [PT_CN, format(PT_CN, 'CN', 8000)],
  [PT_EVENT, format(PT_EVENT, 'TELEPHONE-EVENT', 8000)],
]);

export function fakeDecoderFor(f: PayloadFormat): AudioDecoder | undefined {
  switch (f.encoding) {
    case 'LIN8':
      return new ByteDecoder('LIN8', 8000, 8000);
    case 'LIN16':
      return new ByteDecoder('LIN16', 16000, 16000);
    case 'WIDE':
      return new ByteDecoder('WIDE', 8000, 16000, 2);
    default:
      return undefined;
  }
}

export interface PacketOptions {
  readonly pt?: number;
  readonly ssrc?: number;
  readonly marker?: boolean;
  /** Payload length. @default 160 */
  readonly bytes?: number;
  /** Payload byte value. @default seq & 0x7f */
  readonly fill?: number;
  readonly payload?: Uint8Array;
}

export function rtp(seq: number, timestamp: number, arrivalMs: number, options: PacketOptions = {}): RecorderPacket {
  const payload = options.payload ?? new Uint8Array(options.bytes ?? 160).fill(options.fill ?? seq & 0x7f);
  return {
    payloadType: options.pt ?? PT_LIN8,
    sequenceNumber: seq & 0xffff,
    timestamp: timestamp >>> 0,
    ssrc: options.ssrc ?? 0x1234,
    marker: options.marker ?? false,
    payload,
    arrivalMs,
  };
}

/** `count` packets of 20 ms: sequence from `seq`, timestamps from `ts` (step `tsStep`), arrivals from `at`. */
export function stream(
  seq: number,
  ts: number,
  at: number,
  count: number,
  options: PacketOptions & { readonly tsStep?: number } = {},
): RecorderPacket[] {
  const step = options.tsStep ?? 160;
  const packets: RecorderPacket[] = [];
  for (let i = 0; i < count; i++) packets.push(rtp(seq + i, ts + i * step, at + i * 20, options));
  return packets;
}

/** An RFC 4733 payload: event, end bit, duration. */
export function eventPayload(event: number, end: boolean, duration: number): Uint8Array {
  return Uint8Array.of(event, end ? 0x80 | 10 : 10, (duration >> 8) & 0xff, duration & 0xff);
}
