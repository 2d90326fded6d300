/**
 * Reads the WAV files callrec writes (RIFF, or RF64 per EBU Tech 3306; PCM 16-bit, or G.711 kept
 * as WAVE_FORMAT_ALAW/MULAW; any rate; mono or stereo) and finds tones in them: Goertzel power at
 * given frequencies over 20 ms windows. Independent of src/ on purpose: it checks callrec's output.
 */
import { readFile } from 'node:fs/promises';
import { decodeALaw, decodeMuLaw } from '../../bench/tools/tone-pcap.js';

const WAVE_FORMAT_PCM = 0x0001;
const WAVE_FORMAT_ALAW = 0x0006;
const WAVE_FORMAT_MULAW = 0x0007;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

/** One channel of a recording. */
export interface AudioChannel {
  readonly samples: Int16Array;
  readonly sampleRate: number;
}

export interface Wav {
  /** 'RIFF' or 'RF64'. */
  readonly container: 'RIFF' | 'RF64';
  /** The format tag (WAVE_FORMAT_EXTENSIBLE resolved to its sub-format). */
  readonly format: number;
  readonly sampleRate: number;
  readonly channelCount: number;
  readonly bitsPerSample: number;
  /** Size of the data chunk as the header declares it (ds64 for RF64). */
  readonly declaredDataBytes: number;
  /** Sample frames actually present. */
  readonly frames: number;
  readonly durationMs: number;
  /** The chunk ids in file order (e.g. ['ds64', 'fmt ', 'LIST', 'data']). */
  readonly chunks: readonly string[];
  /** One entry per channel (0 = left/caller, 1 = right/callee), decoded to 16-bit. */
  readonly channels: readonly AudioChannel[];
}

/** Parses a WAV file (path or bytes). Throws on anything but the formats callrec writes. */
export async function readWav(source: string | Uint8Array): Promise<Wav> {
  return parseWav(typeof source === 'string' ? await readFile(source) : Buffer.from(source));
}

/** Parses WAV bytes; see `readWav`. */
export function parseWav(bytes: Buffer): Wav {
  const container = bytes.toString('latin1', 0, 4);
  if ((container !== 'RIFF' && container !== 'RF64') || bytes.toString('latin1', 8, 12) !== 'WAVE') {
    throw new Error(`not a WAV file (starts with ${JSON.stringify(bytes.toString('latin1', 0, 12))})`);
  }
  let ds64DataBytes: number | undefined;
  let fmt: Buffer | undefined;
  let data: { offset: number; declared: number } | undefined;
  const chunks: string[] = [];
  for (let offset = 12; offset + 8 <= bytes.length && data === undefined;) {
    const id = bytes.toString('latin1', offset, offset + 4);
    let size = bytes.readUInt32LE(offset + 4);
    chunks.push(id);
    if (id === 'ds64') {
      // riffSize(8), dataSize(8), sampleCount(8), table...: EBU Tech 3306 §3.
      ds64DataBytes = Number(bytes.readBigUInt64LE(offset + 16));
    } else if (id === 'fmt ') {
      fmt = bytes.subarray(offset + 8, offset + 8 + size);
    } else if (id === 'data') {
      if (size === 0xffffffff && container === 'RF64') size = ds64DataBytes ?? size;
      data = { offset: offset + 8, declared: size };
      break;
    }
    offset += 8 + size + (size % 2); // chunks are word-aligned
  }
  if (container === 'RF64' && ds64DataBytes === undefined) throw new Error('RF64 without a ds64 chunk');
  if (fmt === undefined || fmt.length < 16) throw new Error('no fmt chunk before the data chunk');
  if (data === undefined) throw new Error('no data chunk');
  let format = fmt.readUInt16LE(0);
  if (format === WAVE_FORMAT_EXTENSIBLE && fmt.length >= 26) format = fmt.readUInt16LE(24); // SubFormat GUID
  const channelCount = fmt.readUInt16LE(2);
  const sampleRate = fmt.readUInt32LE(4);
  const bitsPerSample = fmt.readUInt16LE(14);
  const bytesPerSample =
    format === WAVE_FORMAT_PCM && bitsPerSample === 16
      ? 2
      : (format === WAVE_FORMAT_ALAW || format === WAVE_FORMAT_MULAW) && bitsPerSample === 8
        ? 1
        : 0;
  if (bytesPerSample === 0) throw new Error(`unsupported WAV format ${format} with ${bitsPerSample} bits`);
  if (channelCount < 1 || sampleRate < 1) throw new Error(`bad fmt: ${channelCount} channels at ${sampleRate} Hz`);
  // A header patched "every few seconds" may lag the samples (or declare more than is there).
  const available = Math.min(data.declared, bytes.length - data.offset);
  const frames = Math.floor(available / (bytesPerSample * channelCount));
  const channels = Array.from({ length: channelCount }, () => new Int16Array(frames));
  for (let f = 0; f < frames; f++) {
    for (let c = 0; c < channelCount; c++) {
      const at = data.offset + (f * channelCount + c) * bytesPerSample;
      channels[c]![f] =
        bytesPerSample === 2
          ? bytes.readInt16LE(at)
          : format === WAVE_FORMAT_ALAW
            ? decodeALaw(bytes[at]!)
            : decodeMuLaw(bytes[at]!);
    }
  }
  return {
    container,
    format,
    sampleRate,
    channelCount,
    bitsPerSample,
    declaredDataBytes: data.declared,
    frames,
    durationMs: (frames * 1000) / sampleRate,
    chunks,
    channels: channels.map((samples) => ({ samples, sampleRate })),
  };
}

/** Level of a value relative to full scale (32768) in dB; -Infinity for 0. */
function dbfs(amplitude: number): number {
  return 20 * Math.log10(amplitude / 32768);
}

/**
 * Amplitude of the component at `frequencyHz` in `samples[start, start+length)` (Goertzel over a
 * Hann window), in sample units: a sine of peak A gives about A.
 */
export function goertzelAmplitude(
  samples: Int16Array,
  start: number,
  length: number,
  frequencyHz: number,
  sampleRate: number,
): number {
  const coefficient = 2 * Math.cos((2 * Math.PI * frequencyHz) / sampleRate);
  let s1 = 0;
  let s2 = 0;
  let windowSum = 0;
  for (let n = 0; n < length; n++) {
    const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / length);
    windowSum += w;
    const s0 = (samples[start + n] ?? 0) * w + coefficient * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const power = s1 * s1 + s2 * s2 - coefficient * s1 * s2;
  return windowSum === 0 ? 0 : (2 * Math.sqrt(Math.max(0, power))) / windowSum;
}

/** Peak-equivalent amplitude (√2 · RMS) of a window: a sine of peak A gives A. */
function windowAmplitude(samples: Int16Array, start: number, length: number): number {
  let sum = 0;
  for (let n = start; n < start + length; n++) sum += (samples[n] ?? 0) ** 2;
  return Math.sqrt((2 * sum) / Math.max(1, length));
}

export interface ToneAnalysisOptions {
  /** @default 20 */
  readonly windowMs?: number;
  /** A window below this level (dBFS, peak-equivalent) is silence. @default -45 */
  readonly silenceDbfs?: number;
  /** A tone is dominant when within this many dB of the window's whole level. @default 1.5 */
  readonly dominanceDb?: number;
}

/** What a window (or a run of windows) holds: one of the asked frequencies, silence, or anything else. */
export type ToneClass = number | 'silence' | 'other';

export interface ToneSegment {
  readonly freq: ToneClass;
  readonly startMs: number;
  readonly endMs: number;
}

function classifyWindows(
  samples: Int16Array,
  rate: number,
  freqs: readonly number[],
  options: ToneAnalysisOptions,
): { windowMs: number; classes: ToneClass[] } {
  const windowMs = options.windowMs ?? 20;
  const length = Math.max(1, Math.round((rate * windowMs) / 1000));
  const classes: ToneClass[] = [];
  for (let start = 0; start + length <= samples.length; start += length) {
    const level = dbfs(windowAmplitude(samples, start, length));
    if (level < (options.silenceDbfs ?? -45)) {
      classes.push('silence');
      continue;
    }
    let best: ToneClass = 'other';
    let bestLevel = -Infinity;
    for (const freq of freqs) {
      const toneLevel = dbfs(goertzelAmplitude(samples, start, length, freq, rate));
      if (toneLevel > bestLevel) [best, bestLevel] = [freq, toneLevel];
    }
    classes.push(bestLevel >= level - (options.dominanceDb ?? 1.5) ? best : 'other');
  }
  return { windowMs: (length * 1000) / rate, classes };
}

/** Runs of 20 ms windows by what dominates them: one of `freqs`, 'silence' or 'other'. */
export function dominantToneSegments(
  samples: Int16Array,
  rate: number,
  freqs: readonly number[],
  options: ToneAnalysisOptions = {},
): ToneSegment[] {
  const { windowMs, classes } = classifyWindows(samples, rate, freqs, options);
  const segments: ToneSegment[] = [];
  classes.forEach((freq, i) => {
    const last = segments[segments.length - 1];
    if (last !== undefined && last.freq === freq)
      segments[segments.length - 1] = { ...last, endMs: (i + 1) * windowMs };
    else segments.push({ freq, startMs: i * windowMs, endMs: (i + 1) * windowMs });
  });
  return segments;
}

/** Summed Goertzel power of two tones over the non-silent windows of a channel, and their ratio. */
export function toneEnergies(
  channel: AudioChannel,
  freq: number,
  otherFreq: number,
  options: ToneAnalysisOptions = {},
): { tone: number; other: number; ratioDb: number; activeMs: number } {
  const length = Math.max(1, Math.round((channel.sampleRate * (options.windowMs ?? 20)) / 1000));
  let tone = 0;
  let other = 0;
  let active = 0;
  for (let start = 0; start + length <= channel.samples.length; start += length) {
    if (dbfs(windowAmplitude(channel.samples, start, length)) < (options.silenceDbfs ?? -45)) continue;
    active++;
    tone += goertzelAmplitude(channel.samples, start, length, freq, channel.sampleRate) ** 2;
    other += goertzelAmplitude(channel.samples, start, length, otherFreq, channel.sampleRate) ** 2;
  }
  const ratioDb = 10 * Math.log10(tone / Math.max(other, 1e-9));
  return { tone, other, ratioDb, activeMs: (active * length * 1000) / channel.sampleRate };
}

/** The channel carries `freq` and (next to) nothing of `otherFreq`: ≥ `minRatioDb` between them. */
export function channelHasToneOnly(
  channel: AudioChannel,
  freq: number,
  otherFreq: number,
  minRatioDb = 30,
  options: ToneAnalysisOptions = {},
): boolean {
  const energies = toneEnergies(channel, freq, otherFreq, options);
  return energies.activeMs > 0 && energies.ratioDb >= minRatioDb;
}

/** How long the samples are above silence, in whole windows (ms). */
export function activeDurationMs(samples: Int16Array, rate: number, options: ToneAnalysisOptions = {}): number {
  const { windowMs, classes } = classifyWindows(samples, rate, [], options);
  return classes.filter((c) => c !== 'silence').length * windowMs;
}

/**
 * When `freq` first starts, in ms (sample resolution): the first window where it dominates, then the
 * first sample from one window earlier that reaches half the tone's amplitude. Undefined if never.
 * Assumes silence (or something much quieter) before the tone.
 */
export function firstToneOnsetMs(
  samples: Int16Array,
  rate: number,
  freq: number,
  options: ToneAnalysisOptions = {},
): number | undefined {
  const { windowMs, classes } = classifyWindows(samples, rate, [freq], options);
  const first = classes.indexOf(freq);
  if (first < 0) return undefined;
  const length = Math.round((rate * windowMs) / 1000);
  // The tone's amplitude where it is established (the window after the first, if any).
  const steady = Math.min(first + 1, classes.length - 1);
  const amplitude = goertzelAmplitude(samples, steady * length, length, freq, rate);
  for (let n = Math.max(0, (first - 1) * length); n < (first + 1) * length; n++) {
    if (Math.abs(samples[n] ?? 0) >= amplitude / 2) return (n * 1000) / rate;
  }
  return (first * length * 1000) / rate;
}
