import { randomBytes } from 'node:crypto';
import { link, open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { AppError } from '../errors.js';

/** Options of {@link writeFileAtomic}. */
export interface WriteFileAtomicOptions {
  /** Permission bits of the written file, applied exactly (not filtered by the umask). @default 0o644 */
  readonly mode?: number;
  /**
   * Never replace an existing file: if `path` exists the write rejects with `AppError('INTEGRITY_IO')`
   * whose `cause` has `code: 'EEXIST'`, and nothing changes. @default false
   */
  readonly exclusive?: boolean;
}

/**
 * Writes `data` to `path` so that a reader (or a crash) sees either the old file or the complete
 * new one: a temporary file beside it is written, fsynced and renamed over `path`, then the
 * directory is fsynced so the rename itself is durable. The temporary file is removed on failure.
 * Failures reject with `AppError('INTEGRITY_IO')`, the OS error as `cause`.
 */
export async function writeFileAtomic(
  path: string,
  data: Buffer | string,
  options: WriteFileAtomicOptions = {},
): Promise<void> {
  const mode = options.mode ?? 0o644;
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  let renamed = false;
  try {
    // 'wx': never follow or reuse an existing file under the temporary name.
    const handle = await open(temp, 'wx', mode);
    try {
      await handle.chmod(mode); // open()'s mode is filtered by the umask; chmod is exact
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (options.exclusive === true) await linkExclusive(temp, path);
    else await rename(temp, path);
    renamed = true;
    await syncDirectory(dir);
  } catch (error) {
    if (!renamed) await unlink(temp).catch(() => undefined);
    throw new AppError('INTEGRITY_IO', `cannot write ${path}: ${describeIoError(error)}`, { cause: error });
  }
}

/** Moves `temp` to `path` unless `path` exists (EEXIST), atomically where hard links work. */
async function linkExclusive(temp: string, path: string): Promise<void> {
  try {
    await link(temp, path); // fails with EEXIST, never replaces
    await unlink(temp).catch(() => undefined); // `path` is complete; a stray temp is harmless
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw error;
    // No hard links on this file system: check, then rename (a narrow race, but never a torn file).
    const exists = await stat(path).then(
      () => true,
      (statError: NodeJS.ErrnoException) => {
        if (statError.code === 'ENOENT') return false;
        throw statError;
      },
    );
    if (exists) throw Object.assign(new Error(`EEXIST: file already exists, ${path}`), { code: 'EEXIST' });
    await rename(temp, path);
  }
}

/** fsyncs a directory so that a rename in it survives a crash. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch (error) {
    // Some file systems cannot fsync a directory (EINVAL/EISDIR/EPERM); the rename still happened.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM') throw error;
  } finally {
    await handle.close();
  }
}

function describeIoError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
