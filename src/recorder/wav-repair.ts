import { open } from 'node:fs/promises';
import { AppError } from '../errors.js';
import { parseWavHeader, RIFF_SIZE_LIMIT, setWavSizes, type WavInfo } from './wav-format.js';
import type { WavFileSummary } from './wav-writer-options.js';

/** Result of {@link repairWavFile}: the header as it now stands. */
export interface WavRepairResult {
  /** Whether the file was changed. */
  readonly repaired: boolean;
  readonly info: WavInfo;
  /** The file's length before the repair. */
  readonly fileBytesBefore: number;
  /** The file's length now (a partial frame cut off, or a pad byte added). */
  readonly fileBytes: number;
}

/** How much of the file start is read to find the header (ours needs < 100 bytes). */
const HEADER_READ_BYTES = 64 * 1024;

/**
 * After a crash, makes a WAV file's header describe the audio actually on disk. The data chunk is
 * taken to run to the end of the file (as {@link WavWriter} writes it); a trailing partial frame is
 * cut off, a pad byte added after odd-sized data, and a file whose data no longer fits 32-bit sizes
 * becomes RF64 through its JUNK reserve. A file whose sizes already match is left untouched.
 * Rejects with RECORDING_FORMAT (not a usable WAV header) or RECORDING_IO.
 */
export async function repairWavFile(path: string): Promise<WavRepairResult> {
  let handle;
  try {
    handle = await open(path, 'r+');
  } catch (error) {
    throw ioError(path, error);
  }
  try {
    const fileSize = (await handle.stat()).size;
    const head = Buffer.alloc(Math.min(fileSize, HEADER_READ_BYTES));
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    const parsed = parseWavHeader(head.subarray(0, bytesRead), fileSize);
    if (!parsed.ok) throw new AppError('RECORDING_FORMAT', `cannot repair ${path}: ${parsed.error.message}`);
    const info = parsed.info;
    if (info.sizesMatch === true) return { repaired: false, info, fileBytesBefore: fileSize, fileBytes: fileSize };

    const onDisk = fileSize - info.dataOffset;
    const dataBytes = onDisk - (onDisk % info.blockAlign);
    const fileBytes = info.dataOffset + dataBytes + (dataBytes & 1);
    const rf64 = info.container === 'RF64' || fileBytes - 8 > RIFF_SIZE_LIMIT;
    if (rf64 && info.ds64Offset === undefined) {
      throw new AppError('RECORDING_FORMAT', `cannot repair ${path}: needs RF64 but has no ds64/JUNK reserve`);
    }
    const header = Buffer.from(head.subarray(0, info.dataOffset));
    setWavSizes(header, info, { dataBytes, frames: dataBytes / info.blockAlign, rf64 });
    await handle.truncate(fileBytes); // drops a partial frame, or appends the zero pad byte
    await writeAll(handle, header);
    await handle.sync();
    const reparsed = parseWavHeader(header, fileBytes);
    if (!reparsed.ok) throw new Error(`repaired header does not parse: ${reparsed.error.message}`);
    return { repaired: true, info: reparsed.info, fileBytesBefore: fileSize, fileBytes };
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw ioError(path, error);
  } finally {
    await handle.close().catch(() => undefined); // a close error cannot undo the synced repair
  }
}

/** What a WAV file holds, as {@link WavWriter.close} reports it, from its (repaired) header. */
export function wavFileSummary(path: string, info: WavInfo): WavFileSummary {
  return {
    path,
    format: info.format,
    channels: info.channels,
    sampleRate: info.sampleRate,
    container: info.container,
    frames: info.frames,
    dataBytes: info.dataBytes,
    fileBytes: info.dataOffset + info.dataBytes + (info.dataBytes & 1),
    droppedBytes: 0,
    durationMs: (info.frames * 1000) / info.sampleRate,
  };
}

async function writeAll(handle: Awaited<ReturnType<typeof open>>, buf: Buffer): Promise<void> {
  for (let done = 0; done < buf.length;) {
    done += (await handle.write(buf, done, buf.length - done, done)).bytesWritten;
  }
}

function ioError(path: string, cause: unknown): AppError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code ?? String(cause);
  return new AppError('RECORDING_IO', `cannot repair ${path}: ${code}`, { cause });
}
