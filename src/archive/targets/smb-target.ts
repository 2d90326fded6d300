import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { AppError } from '../../errors.js';
import { temporaryName, type ArchiveTarget } from './archive-target.js';
import { downloadTo } from './download-file.js';
import {
  classifyStatus,
  COLLISION,
  folderSegments,
  NONE,
  NOT_FOUND,
  parseSmbListing,
  quote,
  remotePath,
  statusLines,
  type StatusLine,
} from './smb-output.js';

export { parseSmbListing, type SmbListEntry } from './smb-output.js';

/** Options of an SMB target; the password reaches smbclient only through a 0600 authentication file. */
export interface SmbTargetOptions {
  readonly id: string;
  /** Server name or IP address. */
  readonly host: string;
  /** TCP port, normally 445. */
  readonly port: number;
  /** Share name, without subfolders. */
  readonly share: string;
  /** Domain or workgroup; empty for the server's own accounts. */
  readonly domain: string;
  readonly username: string;
  readonly password: string;
  /** smbclient's per-request timeout, also the watchdog for a silent child. @default 30 */
  readonly timeoutSeconds?: number;
  /**
   * The smbclient binary (with `rename -f`, else del + rename, the final name briefly absent).
   * @default 'smbclient' (from PATH)
   */
  readonly smbclientPath?: string;
}

/** Slowest transfer rate the watchdog of a `put` still waits for (smbclient prints nothing until done). */
const MIN_BYTES_PER_SECOND = 64 * 1024;

interface RunResult {
  readonly code: number | null;
  readonly text: string;
  readonly statuses: readonly StatusLine[];
}

interface RunOptions {
  readonly idleMs?: number;
  readonly onStdout?: (chunk: Buffer) => void;
  /** Where stdout goes, with backpressure (a download); instead of `onStdout`. */
  readonly stdout?: Writable;
}

/**
 * SPEC §6 `smb` target driving Debian's `smbclient` (NTLMv2, SMB2/SMB3 only; `-A` authentication
 * file, never a password in argv). One short smbclient process per operation, so several may run
 * at once; each upload writes `temporaryName(name)` and then renames it over `name`.
 */
export class SmbTarget implements ArchiveTarget {
  readonly id: string;
  readonly type = 'smb';
  readonly #options: SmbTargetOptions;
  readonly #timeoutMs: number;
  readonly #children = new Set<ChildProcess>();
  #authFile: Promise<{ dir: string; file: string }> | undefined;
  #closed = false;

  constructor(options: SmbTargetOptions) {
    const bad = (message: string): AppError => new AppError('ARCHIVE_CONFIG', `smb ${options.id}: ${message}`);
    if (options.host === '' || /[\s/\\]/.test(options.host)) throw bad('host must be a plain host name or address');
    if (options.share === '' || /[/\\]/.test(options.share)) throw bad('share must be a name without subfolders');
    if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) throw bad('port out of range');
    if (options.username === '' || /[\r\n\0]/.test(options.username + options.domain)) {
      throw bad('username and domain must be non-empty single-line values');
    }
    // smbclient's authentication file is line based and drops leading blanks of a value.
    if (/[\r\n\0]/.test(options.password) || /^[ \t]/.test(options.password)) {
      throw bad('password must not contain line breaks or start with a blank (smbclient authentication file)');
    }
    const timeoutSeconds = options.timeoutSeconds ?? 30;
    if (!(timeoutSeconds > 0)) throw bad('timeoutSeconds must be positive');
    this.id = options.id;
    this.#options = options;
    this.#timeoutMs = timeoutSeconds * 1000;
  }

  async ensureFolder(folder: string): Promise<void> {
    const segments = folderSegments(folder);
    if (segments.length === 0) return;
    const commands = segments.map((_, i) => `mkdir ${quote(segments.slice(0, i + 1).join('/'))}`);
    commands.push(`cd ${quote(segments.join('/'))}`);
    this.#check('ensureFolder', folder, await this.#run(commands.join('; ')), COLLISION);
  }

  async upload(localPath: string, folder: string, name: string): Promise<void> {
    const target = remotePath(folder, name);
    const partial = remotePath(folder, temporaryName(name));
    const local = resolve(localPath);
    if (/[\u0000-\u001f\u007f";]/.test(local)) {
      throw new AppError(
        'ARCHIVE_PATH',
        `smb ${this.id}: local path ${JSON.stringify(local)} cannot be passed to smbclient`,
      );
    }
    let bytes: number;
    try {
      bytes = (await stat(local)).size;
    } catch (error) {
      throw new AppError('ARCHIVE_IO', `smb ${this.id}: cannot read ${local}`, { cause: error });
    }
    const idleMs = this.#timeoutMs + Math.ceil(bytes / MIN_BYTES_PER_SECOND) * 1000;
    // Two processes: within one `-c` smbclient goes on after a failed command and would rename a partial file.
    this.#check('upload', partial, await this.#run(`put ${quote(local)} ${quote(partial)}`, { idleMs }), NONE);
    const renamed = await this.#run(`rename ${quote(partial)} ${quote(target)} -f`);
    if (renamed.statuses.some((s) => COLLISION.has(s.status))) {
      // smbclient without `rename -f`: the final name is briefly absent, never partial.
      const fallback = await this.#run(`del ${quote(target)}; rename ${quote(partial)} ${quote(target)}`);
      this.#check('upload', target, fallback, NOT_FOUND);
      return;
    }
    this.#check('upload', target, renamed, NONE);
  }

  async sha256(folder: string, name: string): Promise<string | undefined> {
    const path = remotePath(folder, name);
    const hash = createHash('sha256');
    const result = await this.#run(`get ${quote(path)} -`, { onStdout: (chunk) => hash.update(chunk) });
    if (this.#check('sha256', path, result, NOT_FOUND)) return undefined;
    return hash.digest('hex');
  }

  async download(folder: string, name: string, localPath: string): Promise<boolean> {
    const path = remotePath(folder, name);
    return downloadTo(localPath, async (sink) => {
      // `get <file> -` streams to stdout, so the watchdog sees progress (a `get` to a file is silent).
      const result = await this.#run(`get ${quote(path)} -`, { stdout: sink });
      return !this.#check('download', path, result, NOT_FOUND);
    });
  }

  async size(folder: string, name: string): Promise<number | undefined> {
    const path = remotePath(folder, name);
    const result = await this.#run(`ls ${quote(path)}`);
    if (this.#check('size', path, result, NOT_FOUND)) return undefined;
    const entries = parseSmbListing(result.text).filter((e) => !e.attributes.includes('D'));
    const entry = entries.find((e) => e.name === name) ?? (entries.length === 1 ? entries[0] : undefined);
    return entry?.size;
  }

  async delete(folder: string, name: string): Promise<void> {
    const path = remotePath(folder, name);
    this.#check('delete', path, await this.#run(`del ${quote(path)}`), NOT_FOUND);
  }

  async list(folder: string): Promise<string[]> {
    const segments = folderSegments(folder);
    const mask = [...segments, '*'].join('/');
    const result = await this.#run(`ls ${quote(mask)}`);
    if (this.#check('list', folder, result, NOT_FOUND)) return [];
    return parseSmbListing(result.text).map((e) => e.name);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const child of this.#children) child.kill('SIGKILL');
    const auth = await this.#authFile?.catch(() => undefined);
    if (auth !== undefined) await rm(auth.dir, { recursive: true, force: true });
  }

  /** The authentication file, written once per target in a private (0700) directory, mode 0600. */
  #auth(): Promise<{ dir: string; file: string }> {
    this.#authFile ??= (async () => {
      const dir = await mkdtemp(join(tmpdir(), 'callrec-smb-'));
      const file = join(dir, 'auth');
      const { username, password, domain } = this.#options;
      const text = `username = ${username}\npassword = ${password}\n${domain === '' ? '' : `domain = ${domain}\n`}`;
      try {
        await writeFile(file, text, { mode: 0o600, flag: 'wx' });
      } catch (error) {
        await rm(dir, { recursive: true, force: true });
        throw new AppError('ARCHIVE_IO', `smb ${this.id}: cannot write the authentication file`, { cause: error });
      }
      return { dir, file };
    })();
    return this.#authFile;
  }

  /** Runs one smbclient process with `commands`; resolves with its exit code and messages. */
  async #run(commands: string, options: RunOptions = {}): Promise<RunResult> {
    if (this.#closed) throw new AppError('ARCHIVE_IO', `smb ${this.id}: target closed`, { retriable: true });
    const { file } = await this.#auth();
    if (this.#closed) throw new AppError('ARCHIVE_IO', `smb ${this.id}: target closed`, { retriable: true });
    const { host, port, share, smbclientPath } = this.#options;
    const args = [
      `//${host}/${share}`,
      '-p',
      String(port),
      '-A',
      file,
      '-m',
      'SMB3',
      '--option=client min protocol=SMB2',
      '-t',
      String(Math.ceil(this.#timeoutMs / 1000)),
      '-E',
      '-c',
      commands,
    ];
    const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LC_ALL: 'C.UTF-8' };
    for (const key of ['HOME', 'KRB5CCNAME', 'KRB5_CONFIG']) {
      if (process.env[key] !== undefined) env[key] = process.env[key];
    }
    const child = spawn(smbclientPath ?? 'smbclient', args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    this.#children.add(child);
    const idleMs = options.idleMs ?? this.#timeoutMs * 2;
    let text = '';
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, idleMs);
    };
    arm();
    const collect = (chunk: Buffer): void => {
      arm();
      if (text.length < 16 * 1024 * 1024) text += chunk.toString('utf8');
    };
    child.stderr.on('data', collect);
    const sink = options.stdout;
    sink?.once('error', () => child.kill('SIGKILL')); // the local file failed: stop reading
    child.stdout.on('data', (chunk: Buffer) => {
      arm();
      if (sink !== undefined) {
        if (!sink.write(chunk)) {
          child.stdout.pause();
          sink.once('drain', () => child.stdout.resume());
        }
      } else if (options.onStdout === undefined) collect(chunk);
      else options.onStdout(chunk);
    });
    try {
      const code = await new Promise<number | null>((resolvePromise, reject) => {
        child.once('error', reject);
        child.once('close', (exitCode) => resolvePromise(exitCode));
      });
      if (timedOut) {
        throw new AppError('ARCHIVE_CONNECT', `smb ${this.id}: smbclient silent for ${idleMs / 1000} s, killed`, {
          retriable: true,
        });
      }
      if (this.#closed && code === null) {
        throw new AppError('ARCHIVE_IO', `smb ${this.id}: target closed`, { retriable: true });
      }
      return { code, text, statuses: statusLines(text) };
    } catch (error) {
      if (error instanceof AppError) throw error;
      throw new AppError('ARCHIVE_CONFIG', `smb ${this.id}: cannot run ${smbclientPath ?? 'smbclient'}`, {
        cause: error,
      });
    } finally {
      clearTimeout(timer);
      this.#children.delete(child);
    }
  }

  /**
   * Throws the AppError for the first NT_STATUS not in `ignored`, or for a failed exit without one.
   * Returns whether an ignored status was reported (e.g. "not found").
   */
  #check(op: string, path: string, result: RunResult, ignored: ReadonlySet<string>): boolean {
    const failure = result.statuses.find((s) => !ignored.has(s.status));
    const sawIgnored = result.statuses.some((s) => ignored.has(s.status));
    if (failure !== undefined) throw this.#error(op, path, failure);
    if (result.code !== 0 && !sawIgnored) {
      const lines = result.text.trim().split('\n');
      const last = this.#redact(lines[lines.length - 1] ?? '');
      throw new AppError('ARCHIVE_IO', `smb ${this.id}: ${op} ${path} failed (exit ${result.code}): ${last}`, {
        retriable: true,
      });
    }
    return sawIgnored;
  }

  #error(op: string, path: string, failure: StatusLine): AppError {
    const { code, retriable } = classifyStatus(failure);
    return new AppError(code, `smb ${this.id}: ${op} ${path}: ${this.#redact(failure.line)}`, { retriable });
  }

  /** Messages never carry the password, even if a server echoed it. */
  #redact(text: string): string {
    return this.#options.password === '' ? text : text.split(this.#options.password).join('***');
  }
}
