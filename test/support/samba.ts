import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findFreePort } from '../../src/cli/free-port.js';
import { skipOutsideCi } from './skip.js';

const run = promisify(execFile);

/** A real `smbd` on 127.0.0.1 with Samba's default security (NTLMv2 only, async I/O on). */
export interface SambaServer {
  readonly host: string;
  readonly port: number;
  /** The share's name (`archive`). */
  readonly share: string;
  /** The share's directory on disk, to inspect files from the server side. */
  readonly dir: string;
  readonly username: string;
  readonly password: string;
  /** Workgroup for the test user (the server's own accounts). */
  readonly domain: string;
  /** The smb.conf the server runs with. */
  readonly configPath: string;
  /** smbd's log file (`auth_audit:3` lists every authentication with its NTLM version). */
  readonly logPath: string;
  /** Stops smbd and its children, keeping config, user and files (target down). */
  suspend(): Promise<void>;
  /** Starts smbd again after `suspend()` (target back). */
  resume(): Promise<void>;
  /** Stops smbd, removes the system user and the temp directory. Idempotent. */
  stop(): Promise<void>;
}

const BINARIES = ['/usr/sbin/smbd', '/usr/bin/smbpasswd', '/usr/sbin/useradd', '/usr/sbin/userdel'];

/** Why a real Samba cannot be started here (`undefined` when it can): needs root and Debian's samba. */
export function sambaSkipReason(): string | undefined {
  return skipOutsideCi(sambaMissing());
}

function sambaMissing(): string | undefined {
  if (process.getuid?.() !== 0) return 'Samba tests need root (useradd, smbd)';
  for (const binary of BINARIES) {
    try {
      accessSync(binary, constants.X_OK);
    } catch {
      return `${binary} not installed (Debian packages samba, passwd)`;
    }
  }
  return undefined;
}

function smbConf(root: string, port: number, shareDir: string, username: string): string {
  return [
    '[global]',
    'server role = standalone server',
    `smb ports = ${port}`,
    'interfaces = 127.0.0.1',
    'bind interfaces only = yes',
    'server min protocol = SMB2_02',
    'disable netbios = yes',
    'load printers = no',
    'printcap name = /dev/null',
    'disable spoolss = yes',
    `passdb backend = tdbsam:${join(root, 'private', 'passdb.tdb')}`,
    `private dir = ${join(root, 'private')}`,
    `lock directory = ${join(root, 'lock')}`,
    `state directory = ${join(root, 'state')}`,
    `cache directory = ${join(root, 'cache')}`,
    `pid directory = ${join(root, 'pid')}`,
    `ncalrpc dir = ${join(root, 'ncalrpc')}`,
    `log file = ${join(root, 'smbd.log')}`,
    'logging = file',
    'log level = 1 auth_audit:3',
    // `ntlm auth` (ntlmv2-only), SMB signing and async I/O stay at Samba's defaults.
    '',
    '[archive]',
    `path = ${shareDir}`,
    'read only = no',
    'browseable = yes',
    `valid users = ${username}`,
    '',
  ].join('\n');
}

function waitForPort(host: string, port: number, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      if (child.exitCode !== null || child.signalCode !== null) {
        reject(new Error(`smbd exited (${child.exitCode ?? child.signalCode}): ${output()}`));
        return;
      }
      const socket = connect({ host, port });
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`smbd not listening on ${host}:${port}: ${output()}`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

/**
 * Starts smbd on a free port with its own smb.conf, tdbsam passdb and state in a temp dir, a
 * throwaway system user `callrec-smb-<hex>` with a random password, and a share `[archive]`.
 */
export async function startSamba(): Promise<SambaServer> {
  const reason = sambaSkipReason();
  if (reason !== undefined) throw new Error(reason);
  const host = '127.0.0.1';
  const root = await mkdtemp(join(tmpdir(), 'callrec-samba-'));
  await chmod(root, 0o711); // smbd serves the share as the test user, who must traverse root
  const dir = join(root, 'share');
  const username = `callrec-smb-${randomBytes(4).toString('hex')}`;
  const password = `Pw ${randomBytes(9).toString('base64url')}!`;
  const domain = 'WORKGROUP';
  const configPath = join(root, 'smb.conf');
  const logPath = join(root, 'smbd.log');
  let userCreated = false;
  let child: ChildProcess | undefined;
  let output = '';

  const killGroup = (): void => {
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  const suspend = async (): Promise<void> => {
    const current = child;
    if (current === undefined) return;
    child = undefined;
    process.removeListener('exit', killGroup);
    if (current.exitCode !== null || current.signalCode !== null) return;
    const closed = new Promise((resolve) => current.once('close', resolve));
    try {
      process.kill(-(current.pid ?? 0), 'SIGTERM');
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-(current.pid ?? 0), 'SIGKILL');
      } catch {
        // already gone
      }
    }, 3000);
    await closed;
    clearTimeout(timer);
  };
  const resume = async (): Promise<void> => {
    if (child !== undefined) return;
    output = '';
    // Own process group (detached) so stop() also ends the per-connection children.
    const started = spawn('/usr/sbin/smbd', ['--foreground', '--no-process-group', '-s', configPath], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    child = started;
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-8192);
    };
    started.stdout?.on('data', keep);
    started.stderr?.on('data', keep);
    process.once('exit', killGroup);
    try {
      const log = async (): Promise<string> => (await readFile(logPath, 'utf8').catch(() => '')).slice(-4096);
      await waitForPort(host, port, started, () => output).catch(async (error: unknown) => {
        throw new Error(`${String(error)}\n${await log()}`);
      });
    } catch (error) {
      await suspend();
      throw error;
    }
  };
  const stop = async (): Promise<void> => {
    await suspend();
    if (userCreated) {
      userCreated = false;
      await run('/usr/sbin/userdel', [username]).catch(() => undefined);
    }
    await rm(root, { recursive: true, force: true });
  };

  let port = 0;
  try {
    for (const sub of ['private', 'lock', 'state', 'cache', 'pid', 'ncalrpc']) {
      await mkdir(join(root, sub), { mode: 0o700 });
    }
    await run('/usr/sbin/useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', username]);
    userCreated = true;
    const uid = Number((await run('id', ['-u', username])).stdout.trim());
    const gid = Number((await run('id', ['-g', username])).stdout.trim());
    await mkdir(dir, { mode: 0o755 });
    await chown(dir, uid, gid);
    port = await findFreePort(host);
    await writeFile(configPath, smbConf(root, port, dir, username));
    // The password goes in on stdin (twice, as smbpasswd -s expects), never in argv.
    const added = spawnSync('/usr/bin/smbpasswd', ['-c', configPath, '-a', '-s', username], {
      input: `${password}\n${password}\n`,
      encoding: 'utf8',
    });
    if (added.status !== 0) throw new Error(`smbpasswd failed: ${added.stderr}`);
    await resume();
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    host,
    port,
    share: 'archive',
    dir,
    username,
    password,
    domain,
    configPath,
    logPath,
    suspend,
    resume,
    stop,
  };
}

/** smbd's authentication audit lines (`Auth: [SMB2,...] user [...] with [NTLMv2] status [...]`). */
export async function sambaAuthLog(server: SambaServer): Promise<string[]> {
  const text = await readFile(server.logPath, 'utf8').catch(() => '');
  return text.split('\n').filter((line) => line.includes('Auth: ['));
}
