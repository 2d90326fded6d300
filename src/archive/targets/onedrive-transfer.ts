import type { FileHandle } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { AppError } from '../../errors.js';

/* Transfer helpers of the OneDrive target (onedrive-target.ts): local reads, Graph answers, downloads. */

/** The fields of a Graph driveItem the target reads. */
export interface DriveItem {
  readonly id: string;
  readonly name?: string;
  readonly size?: number;
  readonly folder?: unknown;
}

/**
 * Runs `consume` over a download body; a broken transfer is `ARCHIVE_CONNECT` (retriable), a
 * failure of the local `sink` is passed on as it is.
 */
export async function receive(
  body: Dispatcher.ResponseData['body'],
  what: string,
  consume: (chunks: Dispatcher.ResponseData['body']) => Promise<void>,
  sink?: Writable,
): Promise<void> {
  try {
    await consume(body);
  } catch (error) {
    if (sink !== undefined && sink.errored !== null) throw error; // the local file failed
    throw new AppError('ARCHIVE_CONNECT', `${what}: download interrupted`, { cause: error, retriable: true });
  }
}

/** `length` bytes of the local file at `position`. */
export async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buffer, done, length - done, position + done);
    if (bytesRead === 0) throw new AppError('ARCHIVE_IO', 'the local file shrank during the upload');
    done += bytesRead;
  }
  return buffer;
}

/** Start of the first missing range of `{"nextExpectedRanges": ["26-", "…"]}`. */
export function nextExpectedOffset(body: Record<string, unknown>): number | undefined {
  const ranges = body.nextExpectedRanges;
  if (!Array.isArray(ranges) || typeof ranges[0] !== 'string') return undefined;
  const start = Number.parseInt(ranges[0].split('-')[0] ?? '', 10);
  return Number.isFinite(start) && start >= 0 ? start : undefined;
}

/** A driveItem from a Graph answer; one without id is a (retriable) service fault. */
export function driveItem(body: Record<string, unknown>, what: string): DriveItem {
  if (typeof body.id !== 'string') throw new AppError('ARCHIVE_IO', `${what}: item without id`, { retriable: true });
  return body as unknown as DriveItem;
}
