/**
 * SPEC §6 / issue 8, the `smb` target against a real smbd with Samba's defaults (`ntlm auth =
 * ntlmv2-only`, async I/O on, SMB2_02 minimum) on loopback:
 *  - the server really refuses NTLMv1 and SMB1, and our target authenticates with NTLMv2;
 *  - nested folders (also with spaces and non-ASCII) are created; 1 KB and 30 MB uploads read back
 *    with the local SHA-256; the final name never shows a partial file and no temporary remains;
 *  - an existing file and a leftover temporary are replaced; size, delete and list;
 *  - wrong password → ARCHIVE_AUTH (not retriable, no password in the message); server down →
 *    ARCHIVE_CONNECT (retriable), then back; missing share → ARCHIVE_CONFIG;
 *  - the password never appears in any process's argv or environment.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chown, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { temporaryName } from '../../../src/archive/targets/archive-target.js';
import { parseSmbListing, SmbTarget, type SmbTargetOptions } from '../../../src/archive/targets/smb-target.js';
import { AppError } from '../../../src/errors.js';
import { findFreePort } from '../../../src/cli/free-port.js';
import { sambaAuthLog, sambaSkipReason, startSamba, type SambaServer } from '../../support/samba.js';

const run = promisify(execFile);
const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** Awaits a rejection with AppError `code` and the given `retriable`; returns the error. */
async function rejection(promise: Promise<unknown>, code: string, retriable: boolean): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof AppError, `expected AppError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.equal(error.retriable, retriable, error.message);
    return error;
  }
  assert.fail('expected a rejection');
}

describe('parseSmbListing', () => {
  it('reads names with spaces, capitals and digits, attributes and sizes; skips . and ..', () => {
    const text = [
      '  .                                   D        0  Mon Nov 23 13:27:30 2026',
      '  ..                                  D        0  Mon Nov 23 13:25:55 2026',
      '  .big.callrec-partial               AH 30000000  Mon Nov 23 13:27:30 2026',
      '  Rec A 2026                          A        7  Tue Dec  1 09:05:01 2026',
      '  Grüße ü                          D        0  Mon Nov 23 13:26:32 2026',
      '',
      '\t\t264212084 blocks of size 1024. 82868724 blocks available',
    ].join('\n');
    assert.deepEqual(parseSmbListing(text), [
      { name: '.big.callrec-partial', attributes: 'AH', size: 30000000 },
      { name: 'Rec A 2026', attributes: 'A', size: 7 },
      { name: 'Grüße ü', attributes: 'D', size: 0 },
    ]);
  });
});

describe('SmbTarget process handling (fake smbclient)', () => {
  const base = { id: 'fake', host: '127.0.0.1', port: 445, share: 's', domain: '', username: 'u', password: 'p w' };
  let work: string;
  let sleeper: string;
  const targets: SmbTarget[] = [];
  const fake = (extra: Partial<SmbTargetOptions>): SmbTarget => {
    targets.push(new SmbTarget({ ...base, smbclientPath: sleeper, ...extra }));
    return targets[targets.length - 1]!;
  };

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'callrec-smb-fake-'));
    sleeper = join(work, 'sleeping-smbclient');
    await writeFile(sleeper, '#!/bin/sh\nexec sleep 30\n', { mode: 0o755 });
  });
  after(async () => {
    await Promise.all(targets.map((t) => t.close()));
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it('kills a silent smbclient after the timeout → ARCHIVE_CONNECT retriable', async () => {
    await rejection(fake({ timeoutSeconds: 0.3 }).list(''), 'ARCHIVE_CONNECT', true);
  });

  it('close() ends running smbclient processes; their operations reject retriably', async () => {
    const target = fake({});
    const pending = rejection(target.list(''), 'ARCHIVE_IO', true);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await target.close();
    await pending;
  });

  it('a missing smbclient binary → ARCHIVE_CONFIG', async () => {
    await rejection(fake({ smbclientPath: join(work, 'no-such-smbclient') }).list(''), 'ARCHIVE_CONFIG', false);
  });

  it('rejects options smbclient cannot take safely with ARCHIVE_CONFIG, never echoing the password', () => {
    for (const bad of [
      { share: 'share/sub' },
      { host: 'a b' },
      { port: 0 },
      { password: ' leading blank' },
      { password: 'two\nlines' },
    ]) {
      assert.throws(
        () => new SmbTarget({ ...base, ...bad }),
        (error: unknown) =>
          error instanceof AppError &&
          error.code === 'ARCHIVE_CONFIG' &&
          !error.message.includes('leading blank') &&
          !error.message.includes('lines'),
      );
    }
  });
});

const skip = sambaSkipReason();

describe('SmbTarget against a real smbd (NTLMv2 only, SMB2/SMB3)', { skip }, () => {
  let server: SambaServer;
  let work: string;
  let options: SmbTargetOptions;
  let target: SmbTarget;
  const others: SmbTarget[] = [];
  /** Another target on the same server with some options changed; closed in after(). */
  const other = (extra: Partial<SmbTargetOptions>): SmbTarget => {
    others.push(new SmbTarget({ ...options, ...extra }));
    return others[others.length - 1]!;
  };

  /** smbclient with extra options and a 0600 authentication file, for the server-side proofs. */
  async function smbclient(extra: string[]): Promise<{ code: number; text: string }> {
    const auth = join(work, `auth-${randomBytes(4).toString('hex')}`);
    await writeFile(auth, `username = ${server.username}\npassword = ${server.password}\n`, { mode: 0o600 });
    try {
      const args = [`//${server.host}/${server.share}`, '-p', String(server.port), '-A', auth, '-E', ...extra];
      const { stdout, stderr } = await run('smbclient', [...args, '-c', 'ls']);
      return { code: 0, text: stdout + stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, text: failed.stdout + failed.stderr };
    } finally {
      await rm(auth, { force: true });
    }
  }

  async function localFile(name: string, bytes: number): Promise<{ path: string; hash: string }> {
    const data = randomBytes(bytes);
    const path = join(work, name);
    await writeFile(path, data);
    return { path, hash: sha256(data) };
  }

  before(async () => {
    server = await startSamba();
    work = await mkdtemp(join(tmpdir(), 'callrec-smb-test-'));
    const { host, port, share, domain, username, password } = server;
    options = { id: 'nas', host, port, share, domain, username, password, timeoutSeconds: 10 };
    target = new SmbTarget(options);
  });

  after(async () => {
    await Promise.all([target, ...others].map((t) => t?.close()));
    await server?.stop();
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it('the server runs with ntlm auth = ntlmv2-only, async I/O on and SMB2_02 as its minimum', async () => {
    const effective = async (name: string): Promise<string> =>
      (await run('testparm', ['-s', `--parameter-name=${name}`, server.configPath])).stdout.trim();
    assert.equal(await effective('ntlm auth'), 'ntlmv2-only');
    assert.equal(await effective('server min protocol'), 'SMB2_02');
    assert.notEqual(await effective('aio read size'), '0');
    assert.notEqual(await effective('aio write size'), '0');
  });

  it('the server refuses NTLMv1 and SMB1 with the right password; the target signs in with NTLMv2', async () => {
    const v1 = await smbclient(['-m', 'SMB3', '--option=client ntlmv2 auth=no']);
    assert.notEqual(v1.code, 0);
    assert.match(v1.text, /NT_STATUS_LOGON_FAILURE/);
    const smb1 = await smbclient(['-m', 'NT1', '--option=client min protocol=NT1']);
    assert.notEqual(smb1.code, 0);
    assert.match(smb1.text, /protocol negotiation failed/);
    assert.deepEqual(await target.list(''), []);
    const log = (await sambaAuthLog(server)).filter((line) => line.includes(`[${server.username}]`));
    assert.ok(
      log.some((line) => /with \[NTLMv1\] status \[NT_STATUS_WRONG_PASSWORD\]/.test(line)),
      log.join('\n'),
    );
    assert.ok(
      log.some((line) => /with \[NTLMv2\] status \[NT_STATUS_OK\]/.test(line)),
      log.join('\n'),
    );
    assert.ok(!log.some((line) => /with \[NTLMv1\] status \[NT_STATUS_OK\]/.test(line)));
  });

  it('creates nested folders, idempotently', async () => {
    await target.ensureFolder('Record-2026_11_23/13/05');
    await target.ensureFolder('Record-2026_11_23/13/05');
    await target.ensureFolder('Record-2026_11_23/14');
    assert.ok((await stat(join(server.dir, 'Record-2026_11_23', '13', '05'))).isDirectory());
    assert.deepEqual((await target.list('Record-2026_11_23')).sort(), ['13', '14']);
  });

  it('uploads 1 KB; read back, the SHA-256 equals the local one and no temporary remains', async () => {
    const file = await localFile('small.wav', 1024);
    await target.ensureFolder('small');
    await target.upload(file.path, 'small', 'call-1.wav');
    assert.equal(await target.sha256('small', 'call-1.wav'), file.hash);
    assert.equal(await target.size('small', 'call-1.wav'), 1024);
    assert.deepEqual(await target.list('small'), ['call-1.wav']);
    assert.deepEqual(await readdir(join(server.dir, 'small')), ['call-1.wav']);
  });

  it('uploads 30 MB under async I/O; the final name never shows a partial file, no password in ps', async () => {
    const file = await localFile('big.wav', 30 * 1024 * 1024);
    await target.ensureFolder('big');
    const folder = join(server.dir, 'big');
    const seen = new Set<string>();
    const partialFinals: number[] = [];
    let psLines = 0;
    let done = false;
    const watch = (async () => {
      while (!done) {
        for (const name of await readdir(folder)) {
          seen.add(name);
          if (name !== 'call.wav') continue;
          const size = await stat(join(folder, name)).then(
            (s) => s.size,
            () => undefined,
          );
          if (size !== undefined && size !== 30 * 1024 * 1024) partialFinals.push(size);
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const ps = (async () => {
      while (!done) {
        const { stdout } = await run('ps', ['-eww', '-o', 'args=']);
        assert.ok(!stdout.includes(server.password), 'password in a command line');
        psLines += stdout.split('\n').filter((l) => l.includes('smbclient') && l.includes(' -A ')).length;
      }
    })();
    try {
      await target.upload(file.path, 'big', 'call.wav');
    } finally {
      done = true;
      await Promise.all([watch, ps]);
    }
    assert.deepEqual(partialFinals, []);
    assert.ok(seen.has(temporaryName('call.wav')), `temporary never observed: ${[...seen].join(', ')}`);
    assert.ok(psLines > 0, 'smbclient never seen in ps');
    assert.equal(await target.sha256('big', 'call.wav'), file.hash);
    assert.deepEqual(await readdir(folder), ['call.wav']);
  });

  it('replaces an existing file with a new upload of the same name', async () => {
    const first = await localFile('first.wav', 4000);
    const second = await localFile('second.wav', 1500);
    await target.ensureFolder('replace');
    await target.upload(first.path, 'replace', 'call.wav');
    await target.upload(second.path, 'replace', 'call.wav');
    assert.equal(await target.sha256('replace', 'call.wav'), second.hash);
    assert.equal(await target.size('replace', 'call.wav'), 1500);
    assert.deepEqual(await target.list('replace'), ['call.wav']);
  });

  it('replaces a larger temporary left by an interrupted upload', async () => {
    const file = await localFile('retry.wav', 2048);
    await target.ensureFolder('leftover');
    const leftover = join(server.dir, 'leftover', temporaryName('call.wav'));
    await writeFile(leftover, randomBytes(100_000));
    const owner = await stat(server.dir);
    await chown(leftover, owner.uid, owner.gid);
    assert.deepEqual(await target.list('leftover'), [temporaryName('call.wav')]);
    await target.upload(file.path, 'leftover', 'call.wav');
    assert.equal(await target.sha256('leftover', 'call.wav'), file.hash);
    assert.deepEqual(await readdir(join(server.dir, 'leftover')), ['call.wav']);
  });

  it('handles folder and file names with spaces and non-ASCII letters', async () => {
    const file = await localFile('spaces.wav', 3000);
    await target.ensureFolder('Aufnahmen 2026/Grüße März');
    await target.upload(file.path, 'Aufnahmen 2026/Grüße März', 'Anruf von Zoë.wav');
    assert.deepEqual(await target.list('Aufnahmen 2026/Grüße März'), ['Anruf von Zoë.wav']);
    assert.equal(await target.sha256('Aufnahmen 2026/Grüße März', 'Anruf von Zoë.wav'), file.hash);
    assert.equal(await target.size('Aufnahmen 2026/Grüße März', 'Anruf von Zoë.wav'), 3000);
    assert.ok((await stat(join(server.dir, 'Aufnahmen 2026', 'Grüße März', 'Anruf von Zoë.wav'))).isFile());
  });

  it('size, sha256, list and delete of missing things; delete removes the file', async () => {
    assert.equal(await target.size('nowhere', 'x.wav'), undefined);
    assert.equal(await target.sha256('nowhere', 'x.wav'), undefined);
    assert.equal(await target.sha256('small', 'x.wav'), undefined);
    assert.deepEqual(await target.list('nowhere/deeper'), []);
    await target.delete('nowhere', 'x.wav');
    const file = await localFile('gone.wav', 10);
    await target.ensureFolder('gone');
    await target.upload(file.path, 'gone', 'a.wav');
    await target.upload(file.path, 'gone', 'b.wav');
    await target.delete('gone', 'a.wav');
    await target.delete('gone', 'a.wav');
    assert.deepEqual(await readdir(join(server.dir, 'gone')), ['b.wav']);
    assert.deepEqual(await target.list('gone'), ['b.wav']);
  });

  it('runs parallel uploads, each in its own smbclient', async () => {
    await target.ensureFolder('parallel');
    const files = await Promise.all([0, 1, 2, 3, 4].map((i) => localFile(`p${i}.wav`, 50_000 + i)));
    await Promise.all(files.map((f, i) => target.upload(f.path, 'parallel', `p${i}.wav`)));
    const hashes = await Promise.all(files.map((_, i) => target.sha256('parallel', `p${i}.wav`)));
    assert.deepEqual(
      hashes,
      files.map((f) => f.hash),
    );
    assert.equal((await readdir(join(server.dir, 'parallel'))).length, 5);
  });

  it('rejects names smbclient cannot quote or that escape the folder with ARCHIVE_PATH', async () => {
    const file = await localFile('bad.wav', 10);
    for (const [folder, name] of [
      ['ok', 'a"b.wav'],
      ['ok', 'a;b.wav'],
      ['ok', 'x*.wav'],
      ['ok', 'tab\there.wav'],
      ['../up', 'x.wav'],
      ['/abs', 'x.wav'],
      ['ok', 'sub/x.wav'],
    ] as const) {
      await rejection(target.upload(file.path, folder, name), 'ARCHIVE_PATH', false);
    }
  });

  it('wrong password → ARCHIVE_AUTH, not retriable, without the password in the message', async () => {
    const wrong = `Wrong ${randomBytes(6).toString('hex')}`;
    const error = await rejection(other({ password: wrong }).list(''), 'ARCHIVE_AUTH', false);
    assert.match(error.message, /NT_STATUS_LOGON_FAILURE/);
    assert.ok(!error.message.includes(wrong) && !error.message.includes(server.password));
    assert.ok(!String(error.stack).includes(wrong));
  });

  it('server down → ARCHIVE_CONNECT retriable; back up → works again', async () => {
    await server.suspend();
    try {
      const error = await rejection(target.list(''), 'ARCHIVE_CONNECT', true);
      assert.match(error.message, /NT_STATUS_CONNECTION_REFUSED/);
    } finally {
      await server.resume();
    }
    assert.ok((await target.list('')).includes('small'));
    const nobody = other({ port: await findFreePort('127.0.0.1') });
    await rejection(nobody.ensureFolder('x'), 'ARCHIVE_CONNECT', true);
  });

  it('a missing share → ARCHIVE_CONFIG, not retriable', async () => {
    await rejection(other({ share: 'nosuchshare' }).list(''), 'ARCHIVE_CONFIG', false);
  });

  it('passes the password only in a 0600 auth file in a 0700 dir, removed by close()', async () => {
    const log = join(work, 'argv.log');
    const wrapper = join(work, 'smbclient-wrapper');
    const script = [
      '#!/bin/bash',
      `log=${JSON.stringify(log)}`,
      'printf "argv %s\\n" "$@" >> "$log"',
      'env | sed "s/^/env /" >> "$log"',
      'prev=',
      'for a in "$@"; do',
      '  if [ "$prev" = "-A" ]; then',
      '    echo "authfile $a" >> "$log"',
      '    stat -c "authmode %a" "$a" >> "$log"; stat -c "dirmode %a" "$(dirname "$a")" >> "$log"',
      '  fi',
      '  prev=$a',
      'done',
      'exec /usr/bin/smbclient "$@"',
      '',
    ].join('\n');
    await writeFile(wrapper, script, { mode: 0o755 });
    const wrapped = new SmbTarget({ ...options, smbclientPath: wrapper });
    const file = await localFile('wrapped.wav', 5000);
    await wrapped.ensureFolder('wrapped');
    await wrapped.upload(file.path, 'wrapped', 'call.wav');
    assert.equal(await wrapped.sha256('wrapped', 'call.wav'), file.hash);
    await wrapped.close();
    const text = await readFile(log, 'utf8');
    assert.ok(!text.includes(server.password), 'password in argv or environment');
    assert.match(text, /^authmode 600$/m);
    assert.match(text, /^dirmode 700$/m);
    assert.doesNotMatch(text, /^authmode (?!600)/m);
    const authFile = /^authfile (.+)$/m.exec(text)?.[1];
    assert.ok(authFile !== undefined);
    await assert.rejects(stat(authFile), { code: 'ENOENT' });
    await assert.rejects(wrapped.list(''), { code: 'ARCHIVE_IO' });
  });
});
