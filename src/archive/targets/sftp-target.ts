import { createHash } from 'node:crypto';
import { chmod, stat as statLocal, unlink } from 'node:fs/promises';
import { AppError, type ErrorCode } from '../../errors.js';
import { temporaryName, type ArchiveTarget } from './archive-target.js';
import { DOWNLOAD_FILE_MODE, removeLocal } from './download-file.js';
import {
  callback,
  isStatus,
  noop,
  raw,
  SftpConnection,
  statOf,
  sshFingerprint,
  unlessMissing,
  type ConnectConfig,
  type RemoteEntry,
  type RemoteStats,
  type SftpSession,
} from './sftp-connection.js';

export { sshFingerprint };

/** Options of one `sftp` target (SPEC §6); paths are relative to the login's home directory. */
export interface SftpTargetOptions {
  readonly id: string;
  readonly host: string;
  /** @default 22 */
  readonly port?: number;
  readonly username: string;
  readonly password?: string;
  /** Private key in PEM / OpenSSH format. */
  readonly privateKey?: string;
  /** Passphrase of an encrypted `privateKey`. */
  readonly passphrase?: string;
  /** Pinned host key, `SHA256:<base64>` as `ssh-keygen -lf` prints it; unset = any host key. */
  readonly hostKey?: string;
  /** Handshake and login must finish within this. @default 20000 */
  readonly readyTimeoutMs?: number;
  /** SSH keepalive interval (3 unanswered = connection lost). @default 10000 */
  readonly keepaliveIntervalMs?: number;
  /** Bytes per SFTP read/write request (OpenSSH serves up to 255 KiB). @default 131072 */
  readonly chunkSize?: number;
  /** SFTP requests in flight per transfer (upload and read-back). @default 16 */
  readonly requestsInFlight?: number;
}

/**
 * Archive target on an SFTP server (`ssh2-sftp-client` for the connection, the ssh2 SFTP session
 * for the file operations). One connection, opened on first use and reused; operations run one
 * at a time; after a connection loss the next operation reconnects, and an operation that found
 * its reused connection dead is retried once on a fresh one. Uploads pipeline `requestsInFlight`
 * writes (`fastPut`), go to `temporaryName(name)` and are renamed over `name` with OpenSSH's
 * atomic `posix-rename` (delete + rename on servers without it).
 */
export class SftpTarget implements ArchiveTarget {
  readonly id: string;
  readonly type = 'sftp';
  readonly #options: SftpTargetOptions & { port: number; chunkSize: number; requestsInFlight: number };
  #connection: SftpConnection | undefined;
  #tail: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(options: SftpTargetOptions) {
    this.id = options.id;
    const { port = 22, chunkSize = 131072, requestsInFlight = 16 } = options;
    this.#options = { ...options, port, chunkSize, requestsInFlight };
    if (options.password === undefined && options.privateKey === undefined) {
      throw new AppError('ARCHIVE_CONFIG', `sftp target "${options.id}": needs a password or a private key`);
    }
    if (options.hostKey !== undefined && !/^SHA256:[A-Za-z0-9+/]{43}$/.test(options.hostKey)) {
      throw new AppError('ARCHIVE_CONFIG', `sftp target "${options.id}": hostKey must be SHA256:<base64>`);
    }
  }

  async ensureFolder(folder: string): Promise<void> {
    const parts = this.#segments(folder);
    return this.#run(`create folder "${folder}"`, async (session) => {
      if (parts.length === 0 || (await this.#kind(session, parts.join('/'))) === 'directory') return;
      for (let depth = 1; depth <= parts.length; depth++) {
        const path = parts.slice(0, depth).join('/');
        const kind = await this.#kind(session, path);
        if (kind === 'directory') continue;
        if (kind === 'other') throw this.#error('ARCHIVE_PATH', `"${path}" exists and is not a folder`, false);
        await callback((done) => session.mkdir(path, done)).catch(async (error: unknown) => {
          // Created meanwhile by someone else is fine.
          if (!isStatus(error) || (await this.#kind(session, path)) !== 'directory') throw error;
        });
      }
    });
  }

  async upload(localPath: string, folder: string, name: string): Promise<void> {
    const finalPath = this.#join(folder, name);
    const partialPath = this.#join(folder, temporaryName(name));
    const local = await statLocal(localPath).catch(() => undefined);
    if (!local?.isFile()) throw this.#error('ARCHIVE_IO', `local file ${localPath} is missing`, false);
    await this.#run(`upload "${finalPath}"`, async (session) => {
      const transfer = { concurrency: this.#options.requestsInFlight, chunkSize: this.#options.chunkSize };
      // Mode "w" truncates a temporary left by an interrupted upload.
      await callback((done) => session.fastPut(localPath, partialPath, transfer, done));
      await this.#replace(session, partialPath, finalPath);
    });
  }

  async sha256(folder: string, name: string): Promise<string | undefined> {
    const path = this.#join(folder, name);
    return this.#run(`read back "${path}"`, async (session) => {
      const handle = await unlessMissing(callback<Buffer>((done) => session.open(path, 'r', done)));
      if (handle === undefined) return undefined;
      try {
        return await this.#hashHandle(session, handle);
      } finally {
        session.close(handle, noop);
      }
    });
  }

  async size(folder: string, name: string): Promise<number | undefined> {
    const path = this.#join(folder, name);
    return this.#run(`stat "${path}"`, async (session) => (await statOf(session, path))?.size);
  }

  async download(folder: string, name: string, localPath: string): Promise<boolean> {
    const path = this.#join(folder, name);
    const transfer = {
      concurrency: this.#options.requestsInFlight,
      chunkSize: this.#options.chunkSize,
      mode: DOWNLOAD_FILE_MODE, // ssh2 fchmods the local file before the first byte
    };
    await removeLocal(localPath);
    try {
      const found = await this.#run(`download "${path}"`, async (session) => {
        // A missing remote file fails the open before the local file is created.
        const fetched = callback((done) => session.fastGet(path, localPath, transfer, done)).then(
          () => true,
          (error: unknown) => {
            // Local file system errors name the local path; anything else is the server's or the connection's.
            if ((error as { path?: unknown } | undefined)?.path !== localPath) throw error;
            throw this.#error('ARCHIVE_IO', `cannot write ${localPath}: ${raw(error).message}`, false, error);
          },
        );
        return (await unlessMissing(fetched)) === true;
      });
      if (!found) await removeLocal(localPath);
      else await chmod(localPath, DOWNLOAD_FILE_MODE); // ssh2 skips its fchmod for an empty file
      return found;
    } catch (error) {
      await unlink(localPath).catch(noop);
      throw error;
    }
  }

  async delete(folder: string, name: string): Promise<void> {
    const path = this.#join(folder, name);
    return this.#run(`delete "${path}"`, async (session) => {
      await unlessMissing(callback((done) => session.unlink(path, done)));
    });
  }

  async list(folder: string): Promise<string[]> {
    const path = this.#segments(folder).join('/') || '.';
    return this.#run(`list "${path}"`, async (session) => {
      const entries = await unlessMissing(callback<RemoteEntry[]>((done) => session.readdir(path, done)));
      return (entries ?? []).map((entry) => entry.filename).filter((entry) => entry !== '.' && entry !== '..');
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#tail;
    await this.#connection?.end(2000);
    this.#connection = undefined;
  }

  /** Renames `from` over `to`: atomic posix-rename where offered, else delete + rename. */
  async #replace(session: SftpSession, from: string, to: string): Promise<void> {
    const posix = await new Promise<'renamed' | 'unsupported'>((resolve, reject) => {
      try {
        session.ext_openssh_rename(from, to, (error) => (error ? reject(error) : resolve('renamed')));
      } catch {
        resolve('unsupported'); // thrown synchronously: no posix-rename@openssh.com on this server
      }
    });
    if (posix === 'renamed') return;
    await unlessMissing(callback((done) => session.unlink(to, done)));
    await callback((done) => session.rename(from, to, done));
  }

  /** SHA-256 of an open remote file, reading `requestsInFlight` chunks ahead. */
  async #hashHandle(session: SftpSession, handle: Buffer): Promise<string> {
    const size = (await callback<RemoteStats>((done) => session.fstat(handle, done))).size;
    const read = (position: number, length: number): Promise<Buffer> =>
      callback<Buffer>((done) =>
        session.read(handle, Buffer.allocUnsafe(length), 0, length, position, (error, bytes, buffer) =>
          error ? done(error) : done(undefined, buffer.subarray(0, bytes)),
        ),
      );
    const hash = createHash('sha256');
    const pending: { position: number; length: number; data: Promise<Buffer> }[] = [];
    let issued = 0;
    const issue = (): void => {
      while (pending.length < this.#options.requestsInFlight && issued < size) {
        const length = Math.min(this.#options.chunkSize, size - issued);
        const data = read(issued, length);
        data.catch(noop);
        pending.push({ position: issued, length, data });
        issued += length;
      }
    };
    issue();
    for (let head = pending.shift(); head !== undefined; head = pending.shift()) {
      let chunk = await head.data;
      let got = 0;
      while (chunk.length > 0) {
        hash.update(chunk);
        got += chunk.length;
        if (got >= head.length) break;
        chunk = await read(head.position + got, head.length - got); // short read
      }
      if (got < head.length) break; // end of file: the file shrank while being read
      issue();
    }
    return hash.digest('hex');
  }

  async #kind(session: SftpSession, path: string): Promise<'directory' | 'other' | undefined> {
    const stats = await statOf(session, path);
    return stats === undefined ? undefined : stats.isDirectory() ? 'directory' : 'other';
  }

  /** Queues `work`; maps errors; reconnects and retries once when a reused connection died. */
  #run<T>(what: string, work: (session: SftpSession) => Promise<T>): Promise<T> {
    const attempt = async (): Promise<T> => {
      if (this.#closed) throw new Error(`sftp target "${this.id}" is closed`);
      const reused = this.#connection?.alive === true;
      const lost = (error: unknown): AppError =>
        error instanceof AppError ? error : this.#error('ARCHIVE_IO', `${what}: ${raw(error).message}`, true, error);
      try {
        return await this.#attempt(what, work);
      } catch (error) {
        if (!reused || error instanceof AppError) throw lost(error);
        return this.#attempt(what, work).catch((again: unknown) => {
          throw lost(again);
        });
      }
    };
    const result = this.#tail.then(attempt, attempt);
    this.#tail = result.catch(noop);
    return result;
  }

  /** One try; throws AppError for status replies, a raw error when the connection was lost. */
  async #attempt<T>(what: string, work: (session: SftpSession) => Promise<T>): Promise<T> {
    const connection = await this.#connect();
    const session = connection.session;
    if (session === undefined) throw new Error('sftp session missing after connect');
    try {
      return await connection.guard(work(session));
    } catch (error) {
      if (error instanceof AppError) throw error;
      if (connection.alive && isStatus(error)) {
        throw this.#error('ARCHIVE_IO', `${what}: ${raw(error).message}`, true, error);
      }
      this.#drop(connection);
      throw error;
    }
  }

  async #connect(): Promise<SftpConnection> {
    if (this.#connection?.alive === true) return this.#connection;
    if (this.#connection !== undefined) this.#drop(this.#connection);
    const o = this.#options;
    const connection = new SftpConnection(`callrec-${this.id}`);
    const pin = o.hostKey;
    const verifyHostKey = (key: Buffer): boolean => {
      connection.offeredHostKey = sshFingerprint(key);
      connection.hostKeyRejected = connection.offeredHostKey !== pin;
      return !connection.hostKeyRejected;
    };
    const config: ConnectConfig = {
      host: o.host,
      port: o.port,
      username: o.username,
      readyTimeout: o.readyTimeoutMs ?? 20000,
      keepaliveInterval: o.keepaliveIntervalMs ?? 10000,
      keepaliveCountMax: 3,
      tryKeyboard: false,
      password: o.password,
      privateKey: o.privateKey,
      passphrase: o.passphrase,
      ...(pin === undefined ? {} : { hostVerifier: verifyHostKey }),
    };
    try {
      connection.session = await connection.guard(connection.client.connect(config));
    } catch (error) {
      void connection.end(0);
      throw this.#connectError(connection, error);
    }
    connection.alive = true;
    connection.session.on('close', () => connection.markLost(new Error('sftp session closed')));
    this.#connection = connection;
    return connection;
  }

  #connectError(connection: SftpConnection, error: unknown): AppError {
    const cause = connection.lastError ?? error;
    const { message, level } = raw(cause);
    if (connection.hostKeyRejected) {
      const detail = `host key mismatch: server offered ${connection.offeredHostKey ?? '?'}, pinned ${this.#options.hostKey ?? '?'}`;
      return this.#error('ARCHIVE_AUTH', detail, false, cause);
    }
    if (level === 'client-authentication') {
      return this.#error('ARCHIVE_AUTH', `login refused: ${message}`, false, cause);
    }
    if (/privateKey|passphrase/i.test(raw(error).message)) {
      return this.#error('ARCHIVE_CONFIG', `unusable private key: ${raw(error).message}`, false, error);
    }
    const kind = level === 'client-timeout' ? 'timed out' : 'failed';
    return this.#error('ARCHIVE_CONNECT', `connect ${kind}: ${message}`, true, cause);
  }

  #drop(connection: SftpConnection): void {
    if (this.#connection === connection) this.#connection = undefined;
    void connection.end(0);
  }

  #error(code: ErrorCode, detail: string, retriable: boolean, cause?: unknown): AppError {
    const o = this.#options;
    let message = `sftp target "${this.id}" (${o.username}@${o.host}:${o.port}): ${detail}`;
    for (const secret of [o.password, o.passphrase]) {
      if (secret !== undefined && secret.length > 0) message = message.split(secret).join('***');
    }
    return new AppError(code, message, { cause, retriable });
  }

  /** Checks a relative folder path (SPEC §6: relative to the home directory) into segments. */
  #segments(folder: string): string[] {
    if (folder.startsWith('/') || folder.includes('\\') || folder.includes('\0')) {
      throw this.#error('ARCHIVE_PATH', `folder "${folder}" must be a relative path`, false);
    }
    const parts = folder.split('/').filter((part) => part !== '' && part !== '.');
    if (parts.includes('..')) throw this.#error('ARCHIVE_PATH', `folder "${folder}" must not contain ".."`, false);
    return parts;
  }

  #join(folder: string, name: string): string {
    if (name === '' || name === '.' || name === '..' || /[/\\\0]/.test(name)) {
      throw this.#error('ARCHIVE_PATH', `file name "${name}" is not a plain name`, false);
    }
    return [...this.#segments(folder), name].join('/');
  }
}
