import { copyFile, mkdir, open, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { AppError } from '../../errors.js';
import { sha256File } from '../../integrity/index.js';
import { normaliseFolder } from '../path-template.js';
import { temporaryName, type ArchiveTarget } from './archive-target.js';
import { downloadTo, removeLocal } from './download-file.js';

/** Options of {@link LocalTarget}. */
export interface LocalTargetOptions {
  /** The config id. */
  readonly id: string;
  /**
   * Absolute directory the folders are created in — typically a mount point. It must exist: a
   * missing root (an unmounted share) fails retriably instead of filling the local disk.
   */
  readonly root: string;
  /** Permission bits of created folders. @default 0o750 */
  readonly folderMode?: number;
  /** Permission bits of uploaded files. @default 0o640 */
  readonly fileMode?: number;
}

/**
 * An {@link ArchiveTarget} on a local or mounted directory (SPEC §6, `type: "local"`). Uploads
 * copy to a temporary name in the destination folder, fsync it and rename it over the final name,
 * then fsync the folder, so no partial file is ever visible under its name.
 */
export class LocalTarget implements ArchiveTarget {
  readonly id: string;
  readonly type = 'local';
  readonly root: string;
  readonly #folderMode: number;
  readonly #fileMode: number;
  #closed = false;

  constructor(options: LocalTargetOptions) {
    if (!isAbsolute(options.root)) {
      throw new AppError('ARCHIVE_CONFIG', `local target ${options.id}: root ${options.root} is not absolute`);
    }
    this.id = options.id;
    this.root = resolve(options.root);
    this.#folderMode = options.folderMode ?? 0o750;
    this.#fileMode = options.fileMode ?? 0o640;
  }

  async ensureFolder(folder: string): Promise<void> {
    const dir = this.#folderPath(folder);
    await this.#checkRoot();
    try {
      await mkdir(dir, { recursive: true, mode: this.#folderMode });
    } catch (error) {
      throw this.#ioError(`cannot create folder ${dir}`, error);
    }
  }

  async upload(localPath: string, folder: string, name: string): Promise<void> {
    const final = this.#filePath(folder, name);
    const temp = this.#filePath(folder, temporaryName(name));
    await this.#checkRoot();
    try {
      await copyFile(localPath, temp); // replaces a temporary left by an interrupted upload
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      if (errorCode(error) === 'ENOENT' && !(await exists(localPath))) {
        throw new AppError('ARCHIVE_IO', `local file ${localPath} is missing`, { cause: error });
      }
      throw this.#ioError(`cannot copy ${localPath} to ${temp}`, error);
    }
    try {
      const handle = await open(temp, 'r+');
      try {
        await handle.chmod(this.#fileMode);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, final);
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw this.#ioError(`cannot store ${final}`, error);
    }
    await syncDirectory(this.#folderPath(folder));
  }

  async sha256(folder: string, name: string): Promise<string | undefined> {
    const path = this.#filePath(folder, name);
    try {
      return (await sha256File(path)).sha256Hex;
    } catch (error) {
      const cause = error instanceof AppError ? error.cause : error;
      if (errorCode(cause) === 'ENOENT') return undefined;
      throw this.#ioError(`cannot read back ${path}`, cause);
    }
  }

  async size(folder: string, name: string): Promise<number | undefined> {
    const path = this.#filePath(folder, name);
    try {
      const info = await stat(path);
      return info.isFile() ? info.size : undefined;
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return undefined;
      throw this.#ioError(`cannot stat ${path}`, error);
    }
  }

  async download(folder: string, name: string, localPath: string): Promise<boolean> {
    const path = this.#filePath(folder, name);
    let source: FileHandle;
    try {
      source = await open(path, 'r');
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw this.#ioError(`cannot read ${path}`, error);
      await removeLocal(localPath);
      return false;
    }
    try {
      return await downloadTo(localPath, async (sink) => {
        await pipeline(source.createReadStream({ autoClose: false }), sink, { end: false });
        return true;
      });
    } finally {
      await source.close();
    }
  }

  async delete(folder: string, name: string): Promise<void> {
    const path = this.#filePath(folder, name);
    try {
      await unlink(path);
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw this.#ioError(`cannot delete ${path}`, error);
    }
  }

  async list(folder: string): Promise<string[]> {
    const dir = this.#folderPath(folder);
    try {
      return (await readdir(dir)).sort();
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return [];
      throw this.#ioError(`cannot list ${dir}`, error);
    }
  }

  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }

  /** The absolute directory of `folder`; throws `ARCHIVE_PATH` for a folder outside the root. */
  #folderPath(folder: string): string {
    if (this.#closed) throw new AppError('ARCHIVE_IO', `local target ${this.id} is closed`);
    const dir = join(this.root, normaliseFolder(folder));
    const inside = relative(this.root, dir);
    if (inside.startsWith(`..${sep}`) || inside === '..' || isAbsolute(inside)) {
      throw new AppError('ARCHIVE_PATH', `folder ${JSON.stringify(folder)} leaves ${this.root}`);
    }
    return dir;
  }

  #filePath(folder: string, name: string): string {
    if (name === '' || name === '.' || name === '..' || /[/\\\u0000-\u001f]/.test(name)) {
      throw new AppError('ARCHIVE_PATH', `file name ${JSON.stringify(name)} is not a plain name`);
    }
    return join(this.#folderPath(folder), name);
  }

  async #checkRoot(): Promise<void> {
    let isDirectory: boolean;
    try {
      isDirectory = (await stat(this.root)).isDirectory();
    } catch (error) {
      throw new AppError('ARCHIVE_CONNECT', `local target ${this.id}: root ${this.root} is missing (not mounted?)`, {
        cause: error,
        retriable: true,
      });
    }
    if (!isDirectory)
      throw new AppError('ARCHIVE_CONFIG', `local target ${this.id}: root ${this.root} is not a folder`);
  }

  #ioError(message: string, error: unknown): AppError {
    const code = errorCode(error);
    const detail = `${message}: ${error instanceof Error ? error.message : String(error)}`;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      return new AppError('ARCHIVE_AUTH', `local target ${this.id}: ${detail}`, { cause: error });
    }
    return new AppError('ARCHIVE_IO', `local target ${this.id}: ${detail}`, { cause: error, retriable: true });
  }
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** fsyncs a folder so that a rename in it survives a crash; tolerated where unsupported. */
async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Some file systems (and network mounts) cannot fsync a folder; the rename still happened.
  }
}
