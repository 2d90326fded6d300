/**
 * A real OpenSSH server for SFTP tests and benchmarks: Debian's /usr/sbin/sshd on 127.0.0.1, a
 * free port chosen at run time, its own sshd_config, ed25519 host key, authorized_keys and log
 * in a temp dir, and two throwaway system users (one with a password, one with keys) whose home
 * directories live in that temp dir. Needs root (useradd, chpasswd, userdel); `sshdSkipReason()`
 * says why not when it cannot run. `stop()` ends sshd and every session process it started,
 * removes the users and the temp dir; an exit hook does the same if a test run dies first.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findFreePort } from '../../src/cli/free-port.js';
import { skipOutsideCi } from './skip.js';

const run = promisify(execFile);
const SSHD = '/usr/sbin/sshd';
const USER_PREFIX = 'callrec-sftp-';
const TOOLS = [SSHD, '/usr/bin/ssh-keygen', '/usr/sbin/useradd', '/usr/sbin/userdel', '/usr/sbin/chpasswd'];

/** A throwaway system user of the test server. */
export interface SshdUser {
  readonly username: string;
  /** Home directory (the SFTP root of relative paths), readable by the tests as root. */
  readonly home: string;
  readonly uid: number;
  readonly gid: number;
}

export interface SshdPasswordUser extends SshdUser {
  readonly password: string;
}

export interface SshdKeyUser extends SshdUser {
  /** Unencrypted ed25519 key, OpenSSH format (`ssh-keygen -t ed25519`). */
  readonly privateKeyPem: string;
  /** AES-256-CBC encrypted RSA key (PKCS#1 PEM), also authorized for this user. */
  readonly encryptedPrivateKeyPem: string;
  readonly passphrase: string;
}

/** A running test sshd. */
export interface SshdServer {
  readonly host: string;
  readonly port: number;
  /** `SHA256:<base64>` of the host key, as `ssh-keygen -lf` prints it. */
  readonly hostKeyFingerprint: string;
  readonly users: { readonly password: SshdPasswordUser; readonly key: SshdKeyUser };
  /** The sshd_config text in use. */
  readonly config: string;
  readonly logPath: string;
  /** How many logins of `username` sshd has accepted so far (from its log). */
  acceptedLogins(username: string): number;
  /** Ends sshd and all its sessions, then starts it again on the same port with the same keys. */
  restart(): Promise<void>;
  /** Ends sshd and all its sessions, removes the users and the temp dir; idempotent. */
  stop(): Promise<void>;
}

/** Why the test sshd cannot run here (not root, a tool missing), or `undefined` when it can. */
export function sshdSkipReason(): string | undefined {
  return skipOutsideCi(sshdMissing());
}

function sshdMissing(): string | undefined {
  if (process.platform !== 'linux') return 'the test sshd needs Linux';
  if (process.getuid?.() !== 0) return 'the test sshd creates system users: run the tests as root';
  const missing = TOOLS.filter((tool) => !existsSync(tool));
  if (missing.length > 0) return `missing ${missing.join(', ')} (apt-get install openssh-server passwd)`;
  return undefined;
}

function sshdConfig(dir: string, port: number, usernames: readonly string[], penalties: boolean): string {
  return [
    '# callrec test sshd (test/support/sshd.ts)',
    'ListenAddress 127.0.0.1',
    `Port ${port}`,
    `HostKey ${join(dir, 'ssh_host_ed25519_key')}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    'UsePAM no',
    'StrictModes no',
    `AuthorizedKeysFile ${join(dir, 'authorized_keys', '%u')}`,
    'PubkeyAuthentication yes',
    'PasswordAuthentication yes',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin no',
    `AllowUsers ${usernames.join(' ')}`,
    'Subsystem sftp internal-sftp',
    'ForceCommand internal-sftp',
    'DisableForwarding yes',
    'PermitTTY no',
    'UseDNS no',
    'MaxStartups 100:30:200',
    'MaxSessions 20',
    'LoginGraceTime 30',
    'LogLevel VERBOSE',
    // OpenSSH >= 9.8 would otherwise lock 127.0.0.1 out after the wrong-password tests.
    ...(penalties ? ['PerSourcePenalties no'] : []),
    '',
  ].join('\n');
}

/** `ssh-rsa <base64>` public line for an RSA public key in JWK form. */
function sshRsaPublicLine(jwk: { n?: string; e?: string }, comment: string): string {
  const string = (data: Buffer): Buffer => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    return Buffer.concat([length, data]);
  };
  const mpint = (base64url: string | undefined): Buffer => {
    const bytes = Buffer.from(base64url ?? '', 'base64url');
    return string((bytes[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
  };
  const blob = Buffer.concat([string(Buffer.from('ssh-rsa')), mpint(jwk.e), mpint(jwk.n)]);
  return `ssh-rsa ${blob.toString('base64')} ${comment}`;
}

function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  const found: number[] = [];
  const queue = [root];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    for (const child of children.get(pid) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

function signal(pids: readonly number[], name: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, name);
    } catch {
      // already gone
    }
  }
}

/** Whether `pid` still runs (a zombie counts as gone). */
function alive(pid: number): boolean {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function userIds(username: string): Promise<{ uid: number; gid: number }> {
  const { stdout } = await run('getent', ['passwd', username]);
  const fields = stdout.trim().split(':');
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

function chpasswd(input: string, encrypted: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/sbin/chpasswd', encrypted ? ['-e'] : [], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`chpasswd failed: ${stderr.trim()}`))));
    child.stdin.end(input);
  });
}

/** Removes users of earlier runs that died before their cleanup (their home dir is gone). */
function removeStaleUsers(): void {
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const [name, , , , , home] = line.split(':');
    if (name?.startsWith(USER_PREFIX) && home !== undefined && !existsSync(home)) {
      spawnSync('/usr/sbin/userdel', [name], { stdio: 'ignore' });
    }
  }
}

/** Starts a test sshd (see the file comment). Throws when `sshdSkipReason()` gives a reason. */
export async function startSshd(): Promise<SshdServer> {
  const reason = sshdSkipReason();
  if (reason !== undefined) throw new Error(`test sshd unavailable: ${reason}`);
  removeStaleUsers();
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 }); // sshd's privilege separation dir
  const dir = await mkdtemp(join(tmpdir(), 'callrec-sshd-'));
  await chmod(dir, 0o711); // the users must reach their homes inside
  const suffix = randomBytes(3).toString('hex');
  const names = { password: `${USER_PREFIX}pw-${suffix}`, key: `${USER_PREFIX}key-${suffix}` };
  const created: string[] = [];
  const logPath = join(dir, 'sshd.log');
  let child: ChildProcess | undefined;
  let log = '';

  const killAll = (): number[] => {
    if (child?.pid === undefined) return [];
    const pids = [child.pid, ...descendants(child.pid)];
    signal(pids, 'SIGTERM');
    return pids;
  };
  const cleanupSync = (): void => {
    signal(killAll(), 'SIGKILL');
    for (const name of created) spawnSync('/usr/sbin/userdel', ['-f', name], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', cleanupSync);

  try {
    await run('ssh-keygen', [
      '-q',
      '-t',
      'ed25519',
      '-N',
      '',
      '-C',
      'callrec-test-host',
      '-f',
      join(dir, 'ssh_host_ed25519_key'),
    ]);
    const { stdout: printed } = await run('ssh-keygen', ['-lf', join(dir, 'ssh_host_ed25519_key.pub')]);
    const hostKeyFingerprint = printed.split(' ')[1] ?? '';
    await run('ssh-keygen', [
      '-q',
      '-t',
      'ed25519',
      '-N',
      '',
      '-C',
      'callrec-test-client',
      '-f',
      join(dir, 'client_ed25519'),
    ]);
    const privateKeyPem = await readFile(join(dir, 'client_ed25519'), 'utf8');
    const clientPublic = await readFile(join(dir, 'client_ed25519.pub'), 'utf8');
    const passphrase = randomBytes(12).toString('base64url');
    const rsa = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs1', format: 'pem', cipher: 'aes-256-cbc', passphrase },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const rsaLine = sshRsaPublicLine(createPublicKey(rsa.publicKey).export({ format: 'jwk' }), 'callrec-test-rsa');

    const homes = { password: join(dir, 'home-pw'), key: join(dir, 'home-key') };
    const keysDir = join(dir, 'authorized_keys');
    await mkdir(keysDir, { mode: 0o755 });
    const addUser = async (kind: 'password' | 'key'): Promise<SshdUser> => {
      await mkdir(homes[kind], { mode: 0o755 }); // before useradd: removeStaleUsers() checks homes
      await run('/usr/sbin/useradd', ['-M', '-d', homes[kind], '-s', '/usr/sbin/nologin', names[kind]]);
      created.push(names[kind]);
      const ids = await userIds(names[kind]);
      await chown(homes[kind], ids.uid, ids.gid);
      return { username: names[kind], home: homes[kind], ...ids };
    };
    const users = { password: await addUser('password'), key: await addUser('key') };
    const password = randomBytes(12).toString('base64url');
    await chpasswd(`${names.password}:${password}\n`, false);
    // `*`: no password, but not "locked" ("!"), which sshd without PAM refuses even for keys.
    await chpasswd(`${names.key}:*\n`, true);
    await writeFile(join(keysDir, names.key), `${clientPublic.trim()}\n${rsaLine}\n`, { mode: 0o644 });

    let penalties = true;
    let config = sshdConfig(dir, 22, [names.password, names.key], penalties); // -t binds nothing
    const configPath = join(dir, 'sshd_config');
    const check = async (): Promise<void> => {
      await writeFile(configPath, config);
      await run(SSHD, ['-t', '-f', configPath]);
    };
    await check().catch(async (error: unknown) => {
      if (!String(error).includes('PerSourcePenalties')) throw error;
      penalties = false;
      config = sshdConfig(dir, 22, [names.password, names.key], penalties);
      await check();
    });

    const launch = async (port: number): Promise<void> => {
      config = sshdConfig(dir, port, [names.password, names.key], penalties);
      await writeFile(configPath, config);
      const started = spawn(SSHD, ['-D', '-e', '-f', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
      child = started;
      await new Promise<void>((resolve, reject) => {
        let seen = '';
        started.stderr?.on('data', (chunk: Buffer) => {
          const text = chunk.toString();
          log += text;
          appendFileSync(logPath, text);
          seen += text;
          if (seen.includes(`Server listening on 127.0.0.1 port ${port}`)) resolve();
        });
        started.once('error', reject);
        started.once('exit', (code) => reject(new Error(`sshd exited (${code}) before listening:\n${seen}`)));
      });
    };
    let port = 0;
    for (let attempt = 1; ; attempt++) {
      port = await findFreePort('127.0.0.1');
      try {
        await launch(port);
        break;
      } catch (error) {
        if (attempt >= 3) throw error; // another program may have taken the port meanwhile
      }
    }

    const halt = async (): Promise<void> => {
      const main = child;
      if (main === undefined) return;
      const exited = new Promise<void>((resolve) => {
        if (main.exitCode !== null || main.signalCode !== null) resolve();
        else main.once('exit', () => resolve());
      });
      const pids = killAll();
      await exited;
      for (let round = 0; round < 100 && pids.some(alive); round++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      signal(pids.filter(alive), 'SIGKILL');
      child = undefined;
    };
    let stopped = false;
    return {
      host: '127.0.0.1',
      port,
      hostKeyFingerprint,
      users: {
        password: { ...users.password, password },
        key: { ...users.key, privateKeyPem, encryptedPrivateKeyPem: rsa.privateKey, passphrase },
      },
      get config() {
        return config;
      },
      logPath,
      acceptedLogins: (username) =>
        log.split('\n').filter((line) => line.includes(`Accepted `) && line.includes(` for ${username} from`)).length,
      restart: async () => {
        await halt();
        await launch(port);
      },
      stop: async () => {
        if (stopped) return;
        stopped = true;
        await halt();
        for (const name of created)
          await run('/usr/sbin/userdel', [name]).catch(() => run('/usr/sbin/userdel', ['-f', name]));
        rmSync(dir, { recursive: true, force: true });
        process.removeListener('exit', cleanupSync);
      },
    };
  } catch (error) {
    cleanupSync();
    process.removeListener('exit', cleanupSync);
    throw error;
  }
}
