/**
 * Announcement audio: a WAV file (PCM 16-bit, A-law or μ-law, mono or stereo, 8–48 kHz) decoded
 * once into linear PCM, then encoded once per RTP payload format into 20 ms payloads. Both steps
 * are cached, so a call only looks the clip up (and checks the file has not changed).
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { AppError } from '../errors.js';
import type { PayloadFormat } from './codec/audio-codec.js';
import { alawToLinear, linearToAlaw, linearToUlaw, ulawToLinear } from './codec/g711.js';
import { G722Encoder } from './codec/g722-encoder.js';

/** RTP packetisation interval of every clip (RFC 3551 §4.2 default ptime). */
export const PACKET_MS = 20;
/** Files above this are refused: an announcement is seconds long, not a recording. */
const MAX_FILE_BYTES = 16 * 1024 * 1024;

const WAVE_FORMAT_PCM = 0x0001;
const WAVE_FORMAT_ALAW = 0x0006;
const WAVE_FORMAT_MULAW = 0x0007;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

/** A clip decoded to 16-bit linear mono PCM at its own rate. */
export interface PcmClip {
  /** File name without folders (what the metadata names), or the tone's name. */
  readonly name: string;
  /** SHA-256 (hex) of the file as read; of the PCM for generated tones. */
  readonly sha256: string;
  readonly sampleRate: number;
  readonly samples: Int16Array;
}

/** A clip ready to send: one payload per 20 ms packet in one payload format. */
export interface EncodedClip {
  readonly name: string;
  readonly sha256: string;
  /** Upper-case encoding, e.g. "PCMA". */
  readonly encoding: string;
  readonly clockRate: number;
  /** RTP timestamp units per packet. */
  readonly timestampStep: number;
  readonly payloads: readonly Buffer[];
  readonly durationMs: number;
}

/** The encodings a clip can be sent in (telephone-event and CN are not audio). */
export function isPlayableFormat(format: PayloadFormat): boolean {
  const encoding = format.encoding.toUpperCase();
  if (format.channels > 1) return false;
  if (encoding === 'PCMU' || encoding === 'PCMA' || encoding === 'G722') return format.clockRate === 8000;
  return encoding === 'L16' && Number.isInteger(format.clockRate / (1000 / PACKET_MS)) && format.clockRate >= 8000;
}

/** Parses WAV bytes into mono linear PCM; AppError MEDIA_CODEC for anything else. */
export function decodeWav(bytes: Buffer, name: string): PcmClip {
  if (bytes.length < 12 || bytes.toString('latin1', 0, 4) !== 'RIFF' || bytes.toString('latin1', 8, 12) !== 'WAVE')
    throw new AppError('MEDIA_CODEC', `${name}: not a RIFF/WAVE file`);
  let fmt: Buffer | undefined;
  let data: Buffer | undefined;
  for (let offset = 12; offset + 8 <= bytes.length;) {
    const id = bytes.toString('latin1', offset, offset + 4);
    const size = bytes.readUInt32LE(offset + 4);
    const body = bytes.subarray(offset + 8, Math.min(bytes.length, offset + 8 + size));
    if (id === 'fmt ') fmt = body;
    else if (id === 'data') data = body;
    offset += 8 + size + (size % 2); // RIFF chunks are word-aligned
  }
  if (fmt === undefined || fmt.length < 16) throw new AppError('MEDIA_CODEC', `${name}: no fmt chunk`);
  if (data === undefined) throw new AppError('MEDIA_CODEC', `${name}: no data chunk`);
  let format = fmt.readUInt16LE(0);
  if (format === WAVE_FORMAT_EXTENSIBLE && fmt.length >= 26) format = fmt.readUInt16LE(24);
  const channels = fmt.readUInt16LE(2);
  const sampleRate = fmt.readUInt32LE(4);
  const bits = fmt.readUInt16LE(14);
  const width = format === WAVE_FORMAT_PCM && bits === 16 ? 2 : format !== WAVE_FORMAT_PCM && bits === 8 ? 1 : 0;
  if (width === 0 || (format !== WAVE_FORMAT_PCM && format !== WAVE_FORMAT_ALAW && format !== WAVE_FORMAT_MULAW))
    throw new AppError(
      'MEDIA_CODEC',
      `${name}: WAV format ${format} with ${bits} bits is not PCM 16-bit, A-law or μ-law`,
    );
  if (channels < 1 || channels > 2) throw new AppError('MEDIA_CODEC', `${name}: ${channels} channels (mono or stereo)`);
  if (sampleRate < 8000 || sampleRate > 48000)
    throw new AppError('MEDIA_CODEC', `${name}: sample rate ${sampleRate} Hz (8000 to 48000)`);
  const frames = Math.floor(data.length / (width * channels));
  const samples = new Int16Array(frames);
  const sampleAt = (index: number): number => {
    if (width === 2) return data.readInt16LE(index * 2);
    const code = data[index] ?? 0;
    return format === WAVE_FORMAT_ALAW ? alawToLinear(code) : ulawToLinear(code);
  };
  for (let f = 0; f < frames; f++) {
    // Stereo is mixed down: the caller hears one channel.
    samples[f] = channels === 1 ? sampleAt(f) : (sampleAt(2 * f) + sampleAt(2 * f + 1)) >> 1;
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return { name, sha256, sampleRate, samples };
}

/**
 * `samples` at `to` Hz: halving averages sample pairs (a crude low-pass that keeps speech
 * intelligible), other ratios interpolate linearly.
 */
export function resample(samples: Int16Array, from: number, to: number): Int16Array {
  if (from === to) return samples;
  if (from === 2 * to) {
    const out = new Int16Array(samples.length >> 1);
    for (let i = 0; i < out.length; i++) out[i] = ((samples[2 * i] ?? 0) + (samples[2 * i + 1] ?? 0)) >> 1;
    return out;
  }
  const length = Math.floor((samples.length * to) / from);
  const out = new Int16Array(length);
  for (let i = 0; i < length; i++) {
    const position = (i * from) / to;
    const left = Math.floor(position);
    const fraction = position - left;
    const a = samples[left] ?? 0;
    const b = samples[left + 1] ?? a;
    out[i] = Math.round(a + (b - a) * fraction);
  }
  return out;
}

/** Encodes a PCM clip into 20 ms payloads of `format`; AppError MEDIA_CODEC when it cannot be played. */
export function encodeClip(clip: PcmClip, format: PayloadFormat): EncodedClip {
  if (!isPlayableFormat(format))
    throw new AppError('MEDIA_CODEC', `cannot play ${format.encoding}/${format.clockRate}/${format.channels}`);
  const encoding = format.encoding.toUpperCase();
  const payloads: Buffer[] = [];
  if (encoding === 'G722') {
    // RFC 3551 §4.5.2: 16 kHz audio, RTP clock 8000, 160 octets per 20 ms
    const pcm = padToFrames(resample(clip.samples, clip.sampleRate, 16000), 320);
    const encoder = new G722Encoder();
    for (let at = 0; at < pcm.length; at += 320) {
      const payload = Buffer.alloc(160);
      encoder.encode(pcm.subarray(at, at + 320), payload, 0);
      payloads.push(payload);
    }
    return finish(clip, encoding, 8000, 160, payloads);
  }
  const rate = encoding === 'L16' ? format.clockRate : 8000;
  const perPacket = (rate * PACKET_MS) / 1000;
  const pcm = padToFrames(resample(clip.samples, clip.sampleRate, rate), perPacket);
  for (let at = 0; at < pcm.length; at += perPacket) {
    const frame = pcm.subarray(at, at + perPacket);
    if (encoding === 'L16') {
      const payload = Buffer.alloc(perPacket * 2);
      for (let i = 0; i < perPacket; i++) payload.writeInt16BE(frame[i] ?? 0, 2 * i); // RFC 3551 §4.5.11
      payloads.push(payload);
    } else {
      const toCode = encoding === 'PCMU' ? linearToUlaw : linearToAlaw;
      const payload = Buffer.alloc(perPacket);
      for (let i = 0; i < perPacket; i++) payload[i] = toCode(frame[i] ?? 0);
      payloads.push(payload);
    }
  }
  return finish(clip, encoding, rate, perPacket, payloads);
}

function finish(clip: PcmClip, encoding: string, clockRate: number, step: number, payloads: Buffer[]): EncodedClip {
  return {
    name: clip.name,
    sha256: clip.sha256,
    encoding,
    clockRate,
    timestampStep: step,
    payloads,
    durationMs: payloads.length * PACKET_MS,
  };
}

function padToFrames(samples: Int16Array, frame: number): Int16Array {
  const length = Math.ceil(samples.length / frame) * frame;
  if (length === samples.length) return samples;
  const padded = new Int16Array(length);
  padded.set(samples);
  return padded;
}

/** One tone segment of a generated signal; 0 Hz is a pause. */
export interface ToneStep {
  readonly hz: number | readonly number[];
  readonly ms: number;
}

/** A generated tone sequence at 8 kHz (feature-code confirmations), with 5 ms fades against clicks. */
export function synthesizeTones(name: string, steps: readonly ToneStep[], amplitude = 8000): PcmClip {
  const rate = 8000;
  const total = steps.reduce((n, step) => n + Math.round((step.ms * rate) / 1000), 0);
  const samples = new Int16Array(total);
  let at = 0;
  for (const step of steps) {
    const length = Math.round((step.ms * rate) / 1000);
    const freqs = typeof step.hz === 'number' ? [step.hz] : step.hz;
    const fade = Math.min(40, length >> 1);
    for (let n = 0; n < length; n++) {
      if (freqs.every((hz) => hz === 0)) break;
      const envelope = Math.min(1, n / fade, (length - 1 - n) / fade);
      let value = 0;
      for (const hz of freqs) value += Math.sin((2 * Math.PI * hz * n) / rate);
      samples[at + n] = Math.round((amplitude * envelope * value) / freqs.length);
    }
    at += length;
  }
  const sha256 = createHash('sha256')
    .update(Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength))
    .digest('hex');
  return { name, sha256, sampleRate: rate, samples };
}

/** Reads files for {@link AudioClips} (tests inject their own). */
export interface ClipFiles {
  readFile(path: string): Promise<Buffer>;
  /** A fingerprint that changes when the file changes (size and modification time). */
  version(path: string): Promise<string>;
}

const DISK: ClipFiles = {
  readFile: (path) => readFile(path),
  version: async (path) => {
    const info = await stat(path);
    if (info.size > MAX_FILE_BYTES) throw new AppError('MEDIA_CODEC', `${path}: ${info.size} bytes is too large`);
    return `${info.size}:${info.mtimeMs}`;
  },
};

/** Options of {@link AudioClips}. */
export interface AudioClipsOptions {
  /** @default the file system */
  readonly files?: ClipFiles;
  /** A cached file is checked for changes at most this often (a call start must not wait on disk). @default 1000 */
  readonly recheckMs?: number;
  /** Monotonic ms. @default performance.now */
  readonly now?: () => number;
}

interface CachedClip {
  readonly version: string;
  readonly clip: Promise<PcmClip>;
  checkedMs: number;
}

/**
 * The clip cache: each file is read and decoded once per version, each (clip, format) encoded
 * once. Concurrent requests for the same file share one read; a changed file (an admin replaced
 * the announcement) is noticed within `recheckMs`.
 */
export class AudioClips {
  readonly #files: ClipFiles;
  readonly #recheckMs: number;
  readonly #now: () => number;
  readonly #decoded = new Map<string, CachedClip>();
  readonly #encoded = new WeakMap<PcmClip, Map<string, EncodedClip>>();

  constructor(options: AudioClipsOptions = {}) {
    this.#files = options.files ?? DISK;
    this.#recheckMs = options.recheckMs ?? 1000;
    this.#now = options.now ?? (() => performance.now());
  }

  /** The decoded file; re-read when it changed. */
  async load(path: string): Promise<PcmClip> {
    const cached = this.#decoded.get(path);
    const now = this.#now();
    if (cached !== undefined && now - cached.checkedMs < this.#recheckMs) return cached.clip;
    const version = await this.#files.version(path);
    // Another call may have read the file meanwhile
    const current = this.#decoded.get(path);
    if (current !== undefined && current.version === version) {
      current.checkedMs = now;
      return current.clip;
    }
    const clip = this.#files.readFile(path).then((bytes) => decodeWav(bytes, basename(path)));
    this.#decoded.set(path, { version, clip, checkedMs: now });
    clip.catch(() => {
      if (this.#decoded.get(path)?.clip === clip) this.#decoded.delete(path);
    });
    return clip;
  }

  /** `clip` in `format`, encoded on first use. */
  encode(clip: PcmClip, format: PayloadFormat): EncodedClip {
    let byFormat = this.#encoded.get(clip);
    if (byFormat === undefined) {
      byFormat = new Map();
      this.#encoded.set(clip, byFormat);
    }
    const key = `${format.encoding.toUpperCase()}/${format.clockRate}`;
    let encoded = byFormat.get(key);
    if (encoded === undefined) {
      encoded = encodeClip(clip, format);
      byFormat.set(key, encoded);
    }
    return encoded;
  }
}
