import { open, unlink, type FileHandle } from 'node:fs/promises';
import { AppError } from '../errors.js';
import { bytesPerSample, parseWavHeader, type WavFormat } from './wav-format.js';
import { WavWriter, type WavFileSummary, type WavWriterOptions } from './wav-writer.js';

/** Options of {@link mergeToStereo}. */
export interface MergeToStereoOptions {
  /** Mono WAV (PCM16, A-law or μ-law) of the caller: the left channel. */
  readonly left: string;
  /** Mono WAV of the callee: the right channel. */
  readonly right: string;
  /** The stereo PCM16 WAV to create (must not exist). */
  readonly out: string;
  /**
   * Output frames per read/write step (4 s at 8 kHz): every step is a few disk round trips through
   * the event loop, which a busy relay makes slow, so few large steps. @default 32768
   */
  readonly chunkFrames?: number;
  /** Passed on to the output's {@link WavWriter}. */
  readonly writer?: Pick<WavWriterOptions, 'rf64ThresholdBytes' | 'patchIntervalMs' | 'batchBytes'>;
}

/** Backlog at which the merge waits for the writer instead of reading on. */
const MAX_BACKLOG_BYTES = 1 << 20;

/**
 * Merges two mono recordings of one call into a stereo PCM16 WAV (caller left, callee right) in
 * constant memory. Both inputs start at frame 0 of the shared timeline; the lower-rate input is
 * upsampled to the higher rate by linear interpolation (8 kHz G.711 beside a 16 kHz G.722 leg),
 * and the shorter input is padded with silence. G.711 inputs are decoded. The inputs' declared data
 * sizes are trusted (clamped to the file): repair a crashed input first. On failure `out` is removed.
 */
export async function mergeToStereo(options: MergeToStereoOptions): Promise<WavFileSummary> {
  const chunkFrames = options.chunkFrames ?? 32768;
  const left = await MonoSource.open(options.left, chunkFrames);
  let right: MonoSource | undefined;
  try {
    right = await MonoSource.open(options.right, chunkFrames);
    const outRate = Math.max(left.sampleRate, right.sampleRate);
    const total = Math.max(left.outFrames(outRate), right.outFrames(outRate));
    const writer = await WavWriter.open(options.out, {
      batchBytes: chunkFrames * 4, // one write per step
      ...options.writer,
      format: 'pcm16',
      channels: 2,
      sampleRate: outRate,
      maxPendingBytes: Math.max(4 << 20, 4 * chunkFrames * 4 + MAX_BACKLOG_BYTES),
    });
    try {
      const frames = new Int16Array(chunkFrames * 2);
      for (let k = 0; k < total && !writer.failed; k += chunkFrames) {
        const n = Math.min(chunkFrames, total - k);
        await left.render(frames, 0, k, n, outRate);
        await right.render(frames, 1, k, n, outRate);
        writer.writeSamples(frames, 0, n);
        if (writer.pendingBytes >= MAX_BACKLOG_BYTES) await writer.flush();
      }
      return await writer.close();
    } catch (error) {
      await writer.close().catch(() => undefined); // the merge error is the one to report
      await unlink(options.out).catch(() => undefined);
      throw error;
    }
  } finally {
    await left.close();
    await right?.close();
  }
}

/** One mono input read in chunks and resampled on demand; holds one window of input frames. */
class MonoSource {
  readonly sampleRate: number;
  readonly #path: string;
  readonly #handle: FileHandle;
  readonly #format: WavFormat;
  readonly #dataOffset: number;
  readonly #frames: number;
  readonly #raw: Buffer;
  readonly #window: Int16Array;
  #windowStart = 0; // input frame index of window[0]
  #windowLength = 0;
  #nextRead = 0; // next input frame to read from the file

  private constructor(path: string, handle: FileHandle, info: Info, chunkFrames: number) {
    this.#path = path;
    this.#handle = handle;
    this.sampleRate = info.sampleRate;
    this.#format = info.format;
    this.#dataOffset = info.dataOffset;
    this.#frames = info.frames;
    this.#window = new Int16Array(chunkFrames + 2); // n output frames need at most n + 2 input frames
    this.#raw = Buffer.alloc(this.#window.length * bytesPerSample(info.format));
  }

  static async open(path: string, chunkFrames: number): Promise<MonoSource> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      throw new AppError('RECORDING_IO', `cannot read ${path}: ${String(error)}`, { cause: error });
    }
    try {
      const size = (await handle.stat()).size;
      const head = Buffer.alloc(Math.min(size, 64 * 1024));
      const { bytesRead } = await handle.read(head, 0, head.length, 0);
      const parsed = parseWavHeader(head.subarray(0, bytesRead), size);
      if (!parsed.ok) throw new AppError('RECORDING_FORMAT', `${path}: ${parsed.error.message}`);
      const { channels, sampleRate, format, dataOffset, blockAlign } = parsed.info;
      if (channels !== 1) throw new AppError('RECORDING_FORMAT', `${path}: ${channels} channels, expected mono`);
      const dataBytes = Math.min(parsed.info.dataBytes, size - dataOffset);
      const info = { sampleRate, format, dataOffset, frames: Math.floor(dataBytes / blockAlign) };
      return new MonoSource(path, handle, info, chunkFrames);
    } catch (error) {
      await handle.close().catch(() => undefined);
      if (error instanceof AppError) throw error;
      throw new AppError('RECORDING_IO', `cannot read ${path}: ${String(error)}`, { cause: error });
    }
  }

  /** Output frames this input covers at `outRate` (≥ its own rate). */
  outFrames(outRate: number): number {
    return Math.ceil((this.#frames * outRate) / this.sampleRate);
  }

  /** Writes output frames [k0, k0 + n) at `outRate` into `out[2j + channel]`; silence past the end. */
  async render(out: Int16Array, channel: number, k0: number, n: number, outRate: number): Promise<void> {
    const inRate = this.sampleRate;
    const first = Math.floor((k0 * inRate) / outRate);
    const last = Math.min(this.#frames - 1, Math.floor(((k0 + n - 1) * inRate) / outRate) + 1);
    await this.#load(first, last);
    const end = this.outFrames(outRate);
    for (let j = 0; j < n; j++) {
      const k = k0 + j;
      if (k >= end) {
        out[2 * j + channel] = 0;
        continue;
      }
      const t = k * inRate; // input position t / outRate, exact in integers
      const i = Math.floor(t / outRate);
      const a = this.#sample(i);
      const b = i + 1 < this.#frames ? this.#sample(i + 1) : a; // hold the last frame
      out[2 * j + channel] = Math.round(a + ((b - a) * (t - i * outRate)) / outRate);
    }
  }

  async close(): Promise<void> {
    await this.#handle.close().catch(() => undefined); // read-only: nothing to lose
  }

  #sample(i: number): number {
    const index = i - this.#windowStart;
    return index >= 0 && index < this.#windowLength ? (this.#window[index] ?? 0) : 0;
  }

  /** Makes the window hold input frames [first, last] (as far as the file has them). */
  async #load(first: number, last: number): Promise<void> {
    const drop = first - this.#windowStart;
    if (drop >= this.#windowLength) {
      this.#windowStart = first;
      this.#windowLength = 0;
      this.#nextRead = first;
    } else if (drop > 0) {
      this.#window.copyWithin(0, drop, this.#windowLength);
      this.#windowStart = first;
      this.#windowLength -= drop;
    }
    const width = bytesPerSample(this.#format);
    while (this.#windowStart + this.#windowLength <= last) {
      const want = Math.min(this.#window.length - this.#windowLength, this.#frames - this.#nextRead);
      if (want <= 0) return;
      const position = this.#dataOffset + this.#nextRead * width;
      let got: number;
      try {
        got = Math.floor((await this.#handle.read(this.#raw, 0, want * width, position)).bytesRead / width);
      } catch (error) {
        throw new AppError('RECORDING_IO', `cannot read ${this.#path}: ${String(error)}`, { cause: error });
      }
      if (got === 0) return; // shorter than declared: the rest reads as silence
      this.#decode(got);
      this.#nextRead += got;
    }
  }

  #decode(count: number): void {
    const w = this.#window;
    const base = this.#windowLength;
    const raw = this.#raw;
    if (this.#format === 'pcm16') for (let i = 0; i < count; i++) w[base + i] = raw.readInt16LE(2 * i);
    else {
      const table = this.#format === 'alaw' ? ALAW : MULAW;
      for (let i = 0; i < count; i++) w[base + i] = table[raw[i] ?? 0] ?? 0;
    }
    this.#windowLength += count;
  }
}

type Info = { sampleRate: number; format: WavFormat; dataOffset: number; frames: number };

/** ITU-T G.711 expansion tables (the classic Sun reference decoder). */
const ALAW = new Int16Array(256);
const MULAW = new Int16Array(256);
for (let code = 0; code < 256; code++) {
  const a = code ^ 0x55;
  const segment = (a & 0x70) >> 4;
  let t = (a & 0x0f) << 4;
  t = segment === 0 ? t + 8 : (t + 0x108) << Math.max(0, segment - 1);
  ALAW[code] = a & 0x80 ? t : -t;
  const u = ~code & 0xff;
  const m = (((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4);
  MULAW[code] = u & 0x80 ? 0x84 - m : m - 0x84;
}
