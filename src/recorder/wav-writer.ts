import { endianness } from 'node:os';
import { AppError } from '../errors.js';
import type { PcmSink } from './pcm-sink.js';
import { silenceByte, type WavFormat } from './wav-format.js';
import { BacklogWatch } from './wav-writer-backlog.js';
import { onSharedTick } from './wav-writer-clock.js';
import { WavFile } from './wav-writer-file.js';
import type { WavFileSummary, WavWriterOptions } from './wav-writer-options.js';
import { BatchPool, silenceBlock } from './wav-writer-pool.js';

export type { WavBacklog, WavFileSummary, WavWriterOptions } from './wav-writer-options.js';

/** A batch of audio on its way to the file; `offset` is its position in the data chunk. */
type WriteOp =
  | { readonly kind: 'data'; readonly buf: Buffer; readonly len: number; readonly offset: number }
  | { readonly kind: 'silence'; readonly bytes: number }
  | { readonly kind: 'patch' };

const LITTLE_ENDIAN_HOST = endianness() === 'LE';

/**
 * Streams one WAV file in constant memory: callers copy samples into a batch buffer (from a pool
 * shared by all writers); full batches are written in order, one write in flight, off the
 * caller's path. The header is patched every `patchIntervalMs` (one timer shared by all writers)
 * and at close, and becomes RF64 past the threshold. A disk slower than the audio raises
 * `onBacklog` once per episode; past `maxPendingBytes` the oldest waiting batch becomes silence,
 * so memory stays bounded and the caller is never blocked. Disk errors never throw into the write
 * methods: the first is kept, reported once, and later audio is dropped.
 */
export class WavWriter implements PcmSink {
  readonly path: string;
  readonly format: WavFormat;
  readonly channels: number;
  readonly sampleRate: number;
  readonly #file: WavFile;
  readonly #blockAlign: number;
  readonly #batchBytes: number;
  readonly #pool: BatchPool;
  readonly #maxPendingBytes: number;
  readonly #backlog: BacklogWatch;
  readonly #patchIntervalMs: number;
  readonly #onError: ((error: AppError) => void) | undefined;
  readonly #stopTicking: () => void;
  readonly #queue: WriteOp[] = [];
  #batch: Buffer | undefined;
  #batch16: Int16Array | undefined;
  #fill = 0;
  #queuedBytes = 0;
  /** Bytes of the data batches queued or being written (the memory the backlog holds). */
  #heldDataBytes = 0;
  /** Bytes handed to the queue so far: the data offset of the next op. */
  #queuedTotal = 0;
  #gapBytes = 0;
  #droppedBytes = 0;
  #patchQueued = false;
  /** performance.now() when the op being written started, 0 while idle. */
  #opStartedAt = 0;
  #nextPatchAt: number;
  #pump: Promise<void> | undefined;
  #error: AppError | undefined;
  #closing: Promise<WavFileSummary> | undefined;

  private constructor(file: WavFile, options: WavWriterOptions) {
    this.path = file.path;
    this.format = options.format;
    this.channels = options.channels;
    this.sampleRate = options.sampleRate;
    this.#file = file;
    this.#blockAlign = file.blockAlign;
    this.#batchBytes = Math.max(4, Math.floor((options.batchBytes ?? 16384) / 4) * 4);
    this.#pool = BatchPool.of(this.#batchBytes);
    this.#maxPendingBytes = options.maxPendingBytes ?? 1 << 20;
    const bytesPerSecond = options.sampleRate * this.#blockAlign;
    this.#backlog = new BacklogWatch({
      path: file.path,
      bytesPerSecond,
      alarmBytes: options.backlogAlarmBytes ?? Math.max(4 * this.#batchBytes, 5 * bytesPerSecond),
      slowWriteMs: options.slowWriteMs ?? 2000,
      onBacklog: options.onBacklog,
    });
    this.#onError = options.onError;
    this.#patchIntervalMs = options.patchIntervalMs ?? 5000;
    this.#nextPatchAt = performance.now() + this.#patchIntervalMs;
    this.#stopTicking = onSharedTick(this.#patchIntervalMs, this);
  }

  /** Creates `path` (never replacing a file, mode 0640) and writes the header. Rejects with RECORDING_IO. */
  static async open(path: string, options: WavWriterOptions): Promise<WavWriter> {
    return new WavWriter(await WavFile.create(path, options), options);
  }

  /** Frames that reached the file. */
  get framesWritten(): number {
    return Math.floor(this.#file.bytesWritten / this.#blockAlign);
  }
  /** Data bytes that reached the file. */
  get bytesWritten(): number {
    return this.#file.bytesWritten;
  }
  /** Audio bytes lost: after a failure, or replaced by silence under backlog. */
  get droppedBytes(): number {
    return this.#droppedBytes;
  }
  /** Accepted bytes not yet on the file (silence included): the backlog behind the disk. */
  get pendingBytes(): number {
    return this.#fill + this.#queuedBytes + this.#gapBytes;
  }
  /** Audio bytes held in memory until the disk takes them (what `maxPendingBytes` bounds). */
  get heldBytes(): number {
    return this.#fill + this.#heldDataBytes;
  }
  /** Backlog episodes so far (see `onBacklog`). */
  get backlogEpisodes(): number {
    return this.#backlog.episodes;
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

  /** The shared clock's tick: a stuck write starts a backlog episode; the periodic submit and patch. */
  tick(nowMs: number): void {
    if (this.#closing !== undefined || this.#error !== undefined) return;
    if (this.#opStartedAt > 0) this.#backlog.check(nowMs - this.#opStartedAt, this.heldBytes, this.#droppedBytes);
    if (nowMs < this.#nextPatchAt) return;
    this.#nextPatchAt = nowMs + this.#patchIntervalMs;
    this.#submit();
    this.#queueGap();
    this.#queuePatch();
  }

  async #finish(): Promise<WavFileSummary> {
    this.#stopTicking();
    this.#submit();
    this.#queueGap();
    while (this.#pump !== undefined) await this.#pump;
    this.#releaseBatch();
    await this.#file.close(this.#error !== undefined, (error) => this.#fail(error));
    if (this.#error !== undefined) throw this.#error;
    return this.#file.summary({
      droppedBytes: this.#droppedBytes,
      droppedSpans: this.#backlog.spans(),
      backlogEpisodes: this.#backlog.episodes,
    });
  }

  #checkWrite(units: number, format: WavFormat): void {
    if (this.#closing !== undefined) throw new AppError('RECORDING_CLOSED', `${this.path} is closed`);
    if (format !== this.format) throw new Error(`${this.path} is ${this.format}, not ${format}`);
    if (units % this.channels !== 0) throw new RangeError(`${units} samples are not whole frames`);
  }

  /** Takes a batch buffer from the shared pool; false once the writer failed. */
  #acquire(): boolean {
    if (this.#error !== undefined) return false;
    const buf = this.#pool.take();
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
    const len = this.#fill;
    this.#batch = undefined;
    this.#batch16 = undefined;
    this.#fill = 0;
    this.#heldDataBytes += len;
    this.#enqueue({ kind: 'data', buf: batch, len, offset: this.#queuedTotal }, len);
    while (this.#heldDataBytes > this.#maxPendingBytes && this.#dropOldestBatch());
    this.#backlog.queued(this.heldBytes, this.#droppedBytes);
  }

  /** Past the cap: the oldest batch not yet being written becomes silence of its length. */
  #dropOldestBatch(): boolean {
    const index = this.#queue.findIndex((op) => op.kind === 'data');
    const op = this.#queue[index];
    if (op?.kind !== 'data') return false;
    const previous = this.#queue[index - 1];
    if (previous?.kind === 'silence') {
      this.#queue[index - 1] = { kind: 'silence', bytes: previous.bytes + op.len };
      this.#queue.splice(index, 1);
    } else {
      this.#queue[index] = { kind: 'silence', bytes: op.len };
    }
    this.#heldDataBytes -= op.len;
    this.#droppedBytes += op.len;
    this.#backlog.dropped(op.offset, op.len);
    this.#pool.give(op.buf);
    return true;
  }

  /** Gives the current batch back to the pool (closing, failed). */
  #releaseBatch(): void {
    if (this.#batch !== undefined) this.#pool.give(this.#batch);
    this.#batch = this.#batch16 = undefined;
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
    this.#queuedTotal += bytes;
    this.#pump ??= this.#run();
  }

  #queuePatch(): void {
    if (this.#patchQueued || this.#error !== undefined) return;
    if (this.#file.bytesWritten + this.#queuedBytes === this.#file.patchedBytes) return;
    this.#patchQueued = true;
    this.#enqueue({ kind: 'patch' }, 0);
  }

  async #run(): Promise<void> {
    try {
      for (let op = this.#queue.shift(); op !== undefined && this.#error === undefined; op = this.#queue.shift()) {
        const started = performance.now();
        this.#opStartedAt = started;
        await this.#perform(op);
        this.#opStartedAt = 0;
        this.#backlog.wrote(performance.now() - started, this.heldBytes, this.#droppedBytes);
        if (this.#file.needsRf64) await this.#file.patch(false); // convert promptly
      }
    } catch (error) {
      this.#fail(error);
    } finally {
      this.#opStartedAt = 0;
      this.#pump = undefined;
    }
  }

  async #perform(op: WriteOp): Promise<void> {
    if (op.kind === 'patch') {
      this.#patchQueued = false;
      await this.#file.patch(false);
    } else if (op.kind === 'data') {
      try {
        await this.#writeData(op.buf, op.len);
      } finally {
        this.#heldDataBytes -= op.len;
        this.#pool.give(op.buf);
      }
    } else {
      const silence = silenceBlock(this.format);
      for (let left = op.bytes; left > 0; left -= silence.length) {
        await this.#writeData(silence, Math.min(left, silence.length));
      }
    }
  }

  /** Appends to the file; what reached it leaves the queue's count even when a later write fails. */
  async #writeData(buf: Buffer, len: number): Promise<void> {
    const before = this.#file.bytesWritten;
    try {
      await this.#file.append(buf, len);
    } finally {
      this.#queuedBytes -= this.#file.bytesWritten - before;
    }
  }

  #fail(cause: unknown): void {
    if (this.#error !== undefined) return;
    const code = (cause as NodeJS.ErrnoException | undefined)?.code ?? String(cause);
    this.#error = new AppError('RECORDING_IO', `cannot write ${this.path}: ${code}`, { cause, retriable: false });
    this.#droppedBytes += this.#fill + this.#queuedBytes + this.#gapBytes;
    this.#queuedBytes = this.#gapBytes = 0;
    for (const op of this.#queue) {
      if (op.kind !== 'data') continue;
      this.#heldDataBytes -= op.len;
      this.#pool.give(op.buf);
    }
    this.#queue.length = 0;
    this.#releaseBatch();
    try {
      this.#onError?.(this.#error);
    } catch {
      // listener exceptions are isolated (DESIGN): the error stays available as `error`
    }
  }
}
