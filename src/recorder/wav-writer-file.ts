import { open, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AppError } from '../errors.js';
import { buildWavHeader, bytesPerSample, setWavSizes, wavHeaderLayout, type WavLayout } from './wav-format.js';
import type { WavFileSummary, WavWriterOptions } from './wav-writer-options.js';
import { syncDirectory, writeAll } from './write-all.js';

const PAD_BYTE = Buffer.alloc(1);

const createExclusive = (path: string): Promise<FileHandle> => open(path, 'wx', 0o640);

/**
 * The file side of a WavWriter: the open handle, data appended at the end of the `data` chunk,
 * header size patches (RIFF, converted to RF64 in place past the threshold) and the final sync.
 */
export class WavFile {
  readonly path: string;
  /** Bytes per frame. */
  readonly blockAlign: number;
  readonly #options: WavWriterOptions;
  readonly #handle: FileHandle;
  readonly #header: Buffer;
  readonly #layout: WavLayout;
  readonly #threshold: number;
  #bytesWritten = 0;
  #patchedBytes = 0;
  #rf64 = false;

  private constructor(path: string, handle: FileHandle, header: Buffer, options: WavWriterOptions) {
    this.path = path;
    this.#options = options;
    this.#handle = handle;
    this.#header = header;
    this.#layout = wavHeaderLayout(options.format);
    this.blockAlign = options.channels * bytesPerSample(options.format);
    this.#threshold = options.rf64ThresholdBytes ?? 0xffffffff - header.length;
  }

  /** Creates `path` (never replacing a file, mode 0640) and writes the header. Rejects with RECORDING_IO. */
  static async create(path: string, options: WavWriterOptions): Promise<WavFile> {
    const header = buildWavHeader({
      format: options.format,
      channels: options.channels,
      sampleRate: options.sampleRate,
    });
    let handle: FileHandle | undefined;
    try {
      handle = await (options.createFile ?? createExclusive)(path);
      await writeAll(handle, header, header.length, 0);
      return new WavFile(path, handle, header, options);
    } catch (error) {
      if (handle !== undefined) {
        await handle.close().catch(() => undefined);
        await unlink(path).catch(() => undefined); // we created it ('wx'): leave no headless file
      }
      throw new AppError('RECORDING_IO', `cannot create ${path}: ${String(error)}`, { cause: error });
    }
  }

  /** Data bytes on the file. */
  get bytesWritten(): number {
    return this.#bytesWritten;
  }

  /** Data bytes the header states. */
  get patchedBytes(): number {
    return this.#patchedBytes;
  }

  /** Whether the data passed the threshold but the header is still RIFF. */
  get needsRf64(): boolean {
    return !this.#rf64 && this.#bytesWritten > this.#threshold;
  }

  /** Appends `buf[0..len)` to the data chunk. */
  async append(buf: Buffer, len: number): Promise<void> {
    let done = 0;
    while (done < len) {
      const position = this.#layout.dataOffset + this.#bytesWritten;
      const { bytesWritten } = await this.#handle.write(buf, done, len - done, position);
      done += bytesWritten;
      this.#bytesWritten += bytesWritten;
    }
  }

  /** Rewrites the header sizes for the whole frames on disk; the final patch also writes the pad byte. */
  async patch(final: boolean): Promise<void> {
    const dataBytes = this.#wholeFrameBytes();
    if (dataBytes === this.#patchedBytes && !final) return;
    this.#rf64 ||= dataBytes > this.#threshold;
    setWavSizes(this.#header, this.#layout, { dataBytes, frames: dataBytes / this.blockAlign, rf64: this.#rf64 });
    if (final && (dataBytes & 1) === 1) await writeAll(this.#handle, PAD_BYTE, 1, this.#layout.dataOffset + dataBytes);
    await writeAll(this.#handle, this.#header, this.#header.length, 0);
    this.#patchedBytes = dataBytes;
  }

  /**
   * The final patch (best effort after a failure: the sizes of what did reach the disk), fsync of
   * file and folder, close. Every failure goes to `onFailure`; the handle is closed regardless.
   */
  async close(failedBefore: boolean, onFailure: (error: unknown) => void): Promise<void> {
    try {
      if (failedBefore) await this.patch(true).catch(() => undefined);
      else await this.patch(true);
      await this.#handle.sync();
    } catch (error) {
      onFailure(error);
    }
    await this.#handle.close().catch(onFailure);
    await syncDirectory(dirname(this.path)).catch(onFailure);
  }

  /** What the closed file holds. */
  summary(extra: Pick<WavFileSummary, 'droppedBytes' | 'droppedSpans' | 'backlogEpisodes'>): WavFileSummary {
    const dataBytes = this.#wholeFrameBytes();
    const { format, channels, sampleRate } = this.#options;
    return {
      path: this.path,
      format,
      channels,
      sampleRate,
      container: this.#rf64 ? 'RF64' : 'RIFF',
      frames: dataBytes / this.blockAlign,
      dataBytes,
      fileBytes: this.#header.length + dataBytes + (dataBytes & 1),
      ...extra,
      durationMs: ((dataBytes / this.blockAlign) * 1000) / sampleRate,
    };
  }

  #wholeFrameBytes(): number {
    return this.#bytesWritten - (this.#bytesWritten % this.blockAlign);
  }
}
