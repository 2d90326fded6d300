import { open, unlink, type FileHandle } from 'node:fs/promises';
import { endianness } from 'node:os';
import { dirname } from 'node:path';
import { AppError } from '../errors.js';
import type { PcmSink } from './pcm-sink.js';
import type { WavFileSummary, WavWriterOptions } from './wav-writer-options.js';
import { syncDirectory, writeAll } from './write-all.js';
import {
  buildWavHeader,
  bytesPerSample,
  setWavSizes,
  silenceByte,
  wavHeaderLayout,
  type WavFormat,
  type WavLayout,
} from './wav-format.js';

export type { WavFileSummary, WavWriterOptions } from './wav-writer-options.js';

type WriteOp =
  | { readonly kind: 'data'; readonly buf: Buffer; readonly len: number }
  | { readonly kind: 'silence'; readonly bytes: number }
  | { readonly kind: 'patch' };

const LITTLE_ENDIAN_HOST = endianness() === 'LE';

/**
 * Streams one WAV file in constant memory: callers copy samples into a preallocated batch buffer;
 * full batches are written in order, one write in flight, off the caller's path. The header is
 * patched every `patchIntervalMs` and at close, and becomes RF64 past the threshold. Disk errors
 * never throw into the write methods: the first is kept, reported once, and later audio is dropped.
 */
export class WavWriter implements PcmSink {
  readonly path: string;
  readonly format: WavFormat;
  readonly channels: number;
  readonly sampleRate: number;
  readonly #handle: FileHandle;
  readonly #layout: WavLayout;
  readonly #header: Buffer;
  readonly #blockAlign: number;
  readonly #threshold: number;
  readonly #batchBytes: number;
  readonly #maxBatches: number;
  readonly #onError: ((error: AppError) => void) | undefined;
  readonly #timer: NodeJS.Timeout;
  readonly #free: Buffer[] = [];
  readonly #queue: WriteOp[] = [];
  #batches = 0;
  #batch: Buffer | undefined;
  #batch16: Int16Array | undefined;
  #fill = 0;
  #queuedBytes = 0;
  #gapBytes = 0;
  #bytesWritten = 0;
  #droppedBytes = 0;
  #patchedBytes = 0;
  #patchQueued = false;
  #rf64 = false;
  #silence: Buffer | undefined;
  #pump: Promise<void> | undefined;
  #error: AppError | undefined;
  #closing: Promise<WavFileSummary> | undefined;

  private constructor(path: string, handle: FileHandle, header: Buffer, options: WavWriterOptions) {
    this.path = path;
    this.format = options.format;
    this.channels = options.channels;
    this.sampleRate = options.sampleRate;
    this.#handle = handle;
    this.#header = header;
    this.#layout = wavHeaderLayout(options.format);
    this.#blockAlign = options.channels * bytesPerSample(options.format);
    this.#threshold = options.rf64ThresholdBytes ?? 0xffffffff - header.length;
    this.#batchBytes = Math.max(4, Math.floor((options.batchBytes ?? 32768) / 4) * 4);
    this.#maxBatches = Math.max(2, Math.floor((options.maxPendingBytes ?? 4 << 20) / this.#batchBytes));
    this.#onError = options.onError;
    this.#acquire();
    this.#timer = setInterval(() => this.#tick(), options.patchIntervalMs ?? 5000);
    this.#timer.unref();
  }

  /** Creates `path` (never replacing a file, mode 0640) and writes the header. Rejects with RECORDING_IO. */
  static async open(path: string, options: WavWriterOptions): Promise<WavWriter> {
    const header = buildWavHeader({
      format: options.format,
      channels: options.channels,
      sampleRate: options.sampleRate,
    });
    let handle: FileHandle | undefined;
    try {
      handle = await open(path, 'wx', 0o640);
      await writeAll(handle, header, header.length, 0);
      return new WavWriter(path, handle, header, options);
    } catch (error) {
      if (handle !== undefined) {
        await handle.close().catch(() => undefined);
        await unlink(path).catch(() => undefined); // we created it ('wx'): leave no headless file
      }
      throw new AppError('RECORDING_IO', `cannot create ${path}: ${String(error)}`, { cause: error });
    }
  }

  /** Frames that reached the file. */
  get framesWritten(): number {
    return Math.floor(this.#bytesWritten / this.#blockAlign);
  }
  /** Data bytes that reached the file. */
  get bytesWritten(): number {
    return this.#bytesWritten;
  }
  /** Audio bytes lost: after a failure, or replaced by silence under backlog. */
  get droppedBytes(): number {
    return this.#droppedBytes;
  }
  /** Accepted bytes not yet on the file: the backlog behind the disk. */
  get pendingBytes(): number {
    return this.#fill + this.#queuedBytes + this.#gapBytes;
  }
  /** Whether a disk error stopped the writer. */
  get failed(): boolean {
    return this.#error !== undefined;
  }
  /** The first disk error (AppError RECORDING_IO with the OS error as cause). */
  get error(): AppError | undefined {
    return this.#error;
  }

  /** Appends `frames` PCM16 frames (interleaved when stereo) from `pcm[offset..]`. Never allocates. */
  writeSamples(pcm: Int16Array, offset: number, frames: number): void {
    this.#checkWrite(0, 'pcm16');
    let i = offset;
    let left = frames * this.channels;
    while (left > 0) {
      const batch = this.#batch ?? (this.#acquire() ? this.#batch : undefined);
      if (batch === undefined) return this.#drop(left * 2);
      const n = Math.min(left, (this.#batchBytes - this.#fill) >> 1);
      const b16 = this.#batch16;
      if (b16 !== undefined) {
        const base = (this.#fill >> 1) - i;
        for (let k = i; k < i + n; k++) b16[base + k] = pcm[k] ?? 0;
      } else {
        for (let k = 0; k < n; k++) batch.writeInt16LE(pcm[i + k] ?? 0, this.#fill + 2 * k);
      }
      this.#advance(n * 2);
      i += n;
      left -= n;
    }
  }

  /** Appends already encoded A-law/μ-law bytes (whole frames) unchanged. */
  writeEncoded(bytes: Uint8Array, offset = 0, length = bytes.length - offset): void {
    this.#checkWrite(length, this.format === 'pcm16' ? 'alaw' : this.format);
    let i = offset;
    let left = length;
    while (left > 0) {
      const batch = this.#batch ?? (this.#acquire() ? this.#batch : undefined);
      if (batch === undefined) return this.#drop(left);
      const n = Math.min(left, this.#batchBytes - this.#fill);
      if (Buffer.isBuffer(bytes)) bytes.copy(batch, this.#fill, i, i + n);
      else for (let k = 0; k < n; k++) batch[this.#fill + k] = bytes[i + k] ?? 0;
      this.#advance(n);
      i += n;
      left -= n;
    }
  }

  /** Appends `frames` frames of silence; long runs are written from one shared block. */
  writeSilence(frames: number): void {
    this.#checkWrite(0, this.format);
    let left = frames * this.#blockAlign;
    if (this.#error !== undefined) return this.#drop(left);
    while (left > 0) {
      if (this.#fill === 0 && left >= this.#batchBytes) {
        const whole = left - (left % this.#batchBytes);
        this.#gapBytes += whole; // queued as one silence op; costs no memory
        left -= whole;
        continue;
      }
      const batch = this.#batch ?? (this.#acquire() ? this.#batch : undefined);
      if (batch === undefined) return this.#drop(left);
      const n = Math.min(left, this.#batchBytes - this.#fill);
      batch.fill(silenceByte(this.format), this.#fill, this.#fill + n);
      this.#advance(n);
      left -= n;
    }
    this.#queueGap();
  }

  /** Writes the partly filled batch and patches the header; resolves when all accepted data is on the file. */
  async flush(): Promise<void> {
    if (this.#closing !== undefined) throw new AppError('RECORDING_CLOSED', `${this.path} is closed`);
    this.#submit();
    this.#queueGap();
    this.#queuePatch();
    while (this.#pump !== undefined) await this.#pump;
  }

  /** Flushes, patches the header, fsyncs file and directory. Idempotent; rejects with RECORDING_IO on failure. */
  close(): Promise<WavFileSummary> {
    this.#closing ??= this.#finish();
    return this.#closing;
  }

  async #finish(): Promise<WavFileSummary> {
    clearInterval(this.#timer);
    this.#submit();
    this.#queueGap();
    while (this.#pump !== undefined) await this.#pump;
    const dataBytes = this.#bytesWritten - (this.#bytesWritten % this.#blockAlign);
    try {
      if (this.#error === undefined) await this.#patch(true);
      else await this.#patch(true).catch(() => undefined); // best effort: sizes of what did reach the disk
      await this.#handle.sync();
    } catch (error) {
      this.#fail(error);
    }
    await this.#handle.close().catch((error: unknown) => this.#fail(error));
    await syncDirectory(dirname(this.path)).catch((error: unknown) => this.#fail(error));
    if (this.#error !== undefined) throw this.#error;
    return {
      path: this.path,
      format: this.format,
      channels: this.channels,
      sampleRate: this.sampleRate,
      container: this.#rf64 ? 'RF64' : 'RIFF',
      frames: dataBytes / this.#blockAlign,
      dataBytes,
      fileBytes: this.#header.length + dataBytes + (dataBytes & 1),
      droppedBytes: this.#droppedBytes,
      durationMs: ((dataBytes / this.#blockAlign) * 1000) / this.sampleRate,
    };
  }

  #checkWrite(units: number, format: WavFormat): void {
    if (this.#closing !== undefined) throw new AppError('RECORDING_CLOSED', `${this.path} is closed`);
    if (format !== this.format) throw new Error(`${this.path} is ${this.format}, not ${format}`);
    if (units % this.channels !== 0) throw new RangeError(`${units} samples are not whole frames`);
  }

  /** Takes a batch buffer from the pool (allocating up to the backlog limit); false if the disk lags too far. */
  #acquire(): boolean {
    if (this.#error !== undefined) return false;
    let buf = this.#free.pop();
    if (buf === undefined && this.#batches < this.#maxBatches) {
      buf = Buffer.from(new ArrayBuffer(this.#batchBytes));
      this.#batches++;
    }
    if (buf === undefined) return false;
    this.#queueGap(); // silence standing in for dropped audio goes before the new batch
    this.#batch = buf;
    this.#batch16 =
      this.format === 'pcm16' && LITTLE_ENDIAN_HOST
        ? new Int16Array(buf.buffer, buf.byteOffset, buf.length >> 1)
        : undefined;
    this.#fill = 0;
    return true;
  }

  #advance(bytes: number): void {
    this.#fill += bytes;
    if (this.#fill === this.#batchBytes) this.#submit();
  }

  #drop(bytes: number): void {
    this.#droppedBytes += bytes;
    if (this.#error === undefined) this.#gapBytes += bytes; // keeps the timeline: becomes silence
  }

  #submit(): void {
    const batch = this.#batch;
    if (batch === undefined || this.#fill === 0 || this.#error !== undefined) return;
    this.#queueGap(); // pending silence was accepted before this batch's first byte
    this.#enqueue({ kind: 'data', buf: batch, len: this.#fill }, this.#fill);
    this.#batch = undefined;
    this.#batch16 = undefined;
    this.#fill = 0;
  }

  #queueGap(): void {
    if (this.#gapBytes === 0 || this.#error !== undefined) return;
    const bytes = this.#gapBytes;
    this.#gapBytes = 0;
    this.#enqueue({ kind: 'silence', bytes }, bytes);
  }

  #enqueue(op: WriteOp, bytes: number): void {
    this.#queue.push(op);
    this.#queuedBytes += bytes;
    this.#pump ??= this.#run();
  }

  #tick(): void {
    if (this.#closing !== undefined || this.#error !== undefined) return;
    this.#submit();
    this.#queueGap();
    this.#queuePatch();
  }

  #queuePatch(): void {
    if (this.#patchQueued || this.#error !== undefined) return;
    if (this.#bytesWritten + this.#queuedBytes === this.#patchedBytes) return;
    this.#patchQueued = true;
    this.#enqueue({ kind: 'patch' }, 0);
  }

  async #run(): Promise<void> {
    try {
      for (let op = this.#queue.shift(); op !== undefined && this.#error === undefined; op = this.#queue.shift()) {
        if (op.kind === 'patch') {
          this.#patchQueued = false;
          await this.#patch(false);
        } else if (op.kind === 'data') {
          await this.#writeData(op.buf, op.len);
          this.#free.push(op.buf);
        } else {
          this.#silence ??= Buffer.alloc(this.#batchBytes, silenceByte(this.format));
          for (let left = op.bytes; left > 0; left -= this.#batchBytes) {
            await this.#writeData(this.#silence, Math.min(left, this.#batchBytes));
          }
        }
        if (!this.#rf64 && this.#bytesWritten > this.#threshold) await this.#patch(false); // convert promptly
      }
    } catch (error) {
      this.#fail(error);
    } finally {
      this.#pump = undefined;
    }
  }

  async #writeData(buf: Buffer, len: number): Promise<void> {
    let done = 0;
    while (done < len) {
      const position = this.#layout.dataOffset + this.#bytesWritten;
      const { bytesWritten } = await this.#handle.write(buf, done, len - done, position);
      done += bytesWritten;
      this.#bytesWritten += bytesWritten;
      this.#queuedBytes -= bytesWritten;
    }
  }

  /** Rewrites the header sizes for the whole frames on disk; the final patch also writes the pad byte. */
  async #patch(final: boolean): Promise<void> {
    const dataBytes = this.#bytesWritten - (this.#bytesWritten % this.#blockAlign);
    if (dataBytes === this.#patchedBytes && !final) return;
    this.#rf64 ||= dataBytes > this.#threshold;
    setWavSizes(this.#header, this.#layout, { dataBytes, frames: dataBytes / this.#blockAlign, rf64: this.#rf64 });
    if (final && (dataBytes & 1) === 1)
      await writeAll(this.#handle, Buffer.alloc(1), 1, this.#layout.dataOffset + dataBytes);
    await writeAll(this.#handle, this.#header, this.#header.length, 0);
    this.#patchedBytes = dataBytes;
  }

  #fail(cause: unknown): void {
    if (this.#error !== undefined) return;
    const code = (cause as NodeJS.ErrnoException | undefined)?.code ?? String(cause);
    this.#error = new AppError('RECORDING_IO', `cannot write ${this.path}: ${code}`, { cause, retriable: false });
    this.#droppedBytes += this.#fill + this.#queuedBytes + this.#gapBytes;
    this.#fill = this.#queuedBytes = this.#gapBytes = 0;
    this.#queue.length = 0;
    this.#free.length = 0;
    this.#batch = this.#batch16 = undefined;
    try {
      this.#onError?.(this.#error);
    } catch {
      // listener exceptions are isolated (DESIGN): the error stays available as `error`
    }
  }
}
