import { createHash } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import SftpClient from 'ssh2-sftp-client';

/*
 * The connection side of the SFTP target (sftp-target.ts): one SSH connection with its SFTP
 * session, and the small helpers that turn ssh2's callbacks and status replies into promises.
 */

/** The SFTP session of an ssh2-sftp-client connection, and what its callbacks hand over. */
export type SftpSession = Awaited<ReturnType<SftpClient['connect']>>;
export type ConnectConfig = SftpClient.ConnectOptions;
export type RemoteStats = Parameters<Parameters<SftpSession['stat']>[1]>[1];
export type RemoteEntry = Parameters<Parameters<SftpSession['readdir']>[1]>[1][number];

/** SFTP status codes (draft-ietf-secsh-filexfer-02 §7) as ssh2 reports them in `err.code`. */
const NO_SUCH_FILE = 2;

/** Message, code and ssh2's `level` ('client-authentication', 'client-timeout', ...) of an error. */
export function raw(error: unknown): { message: string; code: unknown; level: unknown } {
  const record: { message?: unknown; code?: unknown; level?: unknown } =
    typeof error === 'object' && error !== null ? error : {};
  return { message: String(record.message ?? error), code: record.code, level: record.level };
}

/** An SFTP status reply (numeric code): the server answered, the connection is fine. */
export function isStatus(error: unknown): boolean {
  return typeof raw(error).code === 'number';
}

/** `work`'s result, `undefined` for an SFTP "no such file" reply. */
export async function unlessMissing<T>(work: Promise<T>): Promise<T | undefined> {
  try {
    return await work;
  } catch (error) {
    if (raw(error).code === NO_SUCH_FILE) return undefined;
    throw error;
  }
}

export function statOf(session: SftpSession, path: string): Promise<RemoteStats | undefined> {
  return unlessMissing(callback<RemoteStats>((done) => session.stat(path, done)));
}

/** `SHA256:<base64 without padding>` of an SSH public key blob, as `ssh-keygen -lf` prints it. */
export function sshFingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** Ignores a callback or a rejection on purpose. */
export function noop(): void {}

/** One SSH connection with its SFTP session; `lost` rejects once it is unusable. */
export class SftpConnection {
  readonly client: SftpClient;
  readonly lost: Promise<never>;
  session: SftpSession | undefined;
  alive = false;
  lastError: unknown;
  offeredHostKey: string | undefined;
  hostKeyRejected = false;
  #lose: (error: Error) => void = noop;

  constructor(name: string) {
    this.lost = new Promise<never>((_, reject) => (this.#lose = reject));
    this.lost.catch(noop);
    // Own callbacks: the library's defaults print to the console.
    this.client = new SftpClient(name, { error: noop, end: noop, close: noop });
    // Raw ssh2 listeners see every event (the library's own ones skip events an operation handled).
    this.client.on('error', (error: unknown) => {
      this.lastError = error;
      this.markLost(new Error(`connection error: ${raw(error).message}`));
    });
    this.client.on('end', () => this.markLost(new Error('connection ended by the server')));
    this.client.on('close', () => this.markLost(new Error('connection closed')));
  }

  markLost(error: Error): void {
    this.alive = false;
    this.#lose(error);
  }

  /** `work`, or the connection's loss if that comes first (ssh2 drops requests on a dead channel). */
  guard<T>(work: Promise<T>): Promise<T> {
    work.catch(noop);
    return Promise.race([work, this.lost]);
  }

  /** Ends the connection; waits at most `graceMs` for the close. */
  async end(graceMs: number): Promise<void> {
    this.markLost(new Error('connection closed by callrec'));
    await Promise.race([this.client.end().then(noop, noop), delay(graceMs, undefined, { ref: false })]);
  }
}

/** A promise for an ssh2 callback-style call. */
export function callback<T = void>(
  start: (done: (error: Error | null | undefined, value?: T) => void) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    start((error, value) => (error ? reject(error) : resolve(value as T)));
  });
}
