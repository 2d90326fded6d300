import { createWriteStream } from 'node:fs';
import { chmod, unlink } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { AppError } from '../../errors.js';

/** Mode of a downloaded recording file: personal data, readable by its owner only (SPEC §7). */
export const DOWNLOAD_FILE_MODE = 0o600;

/**
 * Writes a download to `localPath`: the file is replaced (created anew with mode 0600) and handed
 * to `write` as a stream; `write` resolves `false` when the remote file does not exist. On `false`
 * or an error the partial local file is removed. A local write failure (disk full) rejects with
 * `AppError('ARCHIVE_IO')`, not retriable: it is not the target's fault.
 */
export async function downloadTo(localPath: string, write: (sink: Writable) => Promise<boolean>): Promise<boolean> {
  await removeLocal(localPath);
  const sink = createWriteStream(localPath, { flags: 'wx', mode: DOWNLOAD_FILE_MODE });
  const done = finished(sink);
  done.catch(() => undefined); // observed below; a failure before that must not be unhandled
  let found: boolean;
  try {
    found = await write(sink);
    sink.end();
    await done;
  } catch (error) {
    sink.destroy();
    await removeLocal(localPath);
    if (error instanceof AppError) throw error;
    throw new AppError('ARCHIVE_IO', `cannot write ${localPath}: ${messageOf(error)}`, { cause: error });
  }
  if (!found) {
    await removeLocal(localPath);
    return false;
  }
  await chmod(localPath, DOWNLOAD_FILE_MODE); // the creation mode went through the umask
  return true;
}

/** Removes a local file; a missing one is fine. */
export async function removeLocal(localPath: string): Promise<void> {
  try {
    await unlink(localPath);
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ENOENT') {
      throw new AppError('ARCHIVE_IO', `cannot replace ${localPath}: ${messageOf(error)}`, { cause: error });
    }
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
