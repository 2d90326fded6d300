/**
 * SftpTarget (SPEC §6 `sftp`, issue 8) against a real OpenSSH sshd on loopback
 * (test/support/sshd.ts):
 *  - password, key and encrypted-key logins; paths relative to the home directory; nested
 *    folders created; one connection reused;
 *  - upload → read-back SHA-256 equals the local file's; an existing file is replaced; a
 *    temporary left by an interrupted upload is replaced; while an upload runs only the
 *    temporary name is visible, and none is left afterwards;
 *  - wrong password / unknown key / host key pin mismatch → ARCHIVE_AUTH, not retriable, no
 *    secret in the message; nothing listening or no SSH greeting → ARCHIVE_CONNECT, retriable;
 *  - size / delete / list of missing things; path checks; reconnect after an sshd restart.
 */
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { chownSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { inspect } from 'node:util';
import { temporaryName } from '../../../src/archive/targets/archive-target.js';
import { SftpTarget, sshFingerprint, type SftpTargetOptions } from '../../../src/archive/targets/sftp-target.js';
import { findFreePort } from '../../../src/cli/free-port.js';
import { AppError, type ErrorCode } from '../../../src/errors.js';
import { sshdSkipReason, startSshd, type SshdServer } from '../../support/sshd.js';

function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function isAppError(code: ErrorCode, retriable: boolean, check?: (error: AppError) => void) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof AppError, `expected AppError, got ${inspect(error)}`);
    assert.equal(error.code, code, error.message);
    assert.equal(error.retriable, retriable, error.message);
    check?.(error);
    return true;
  };
}

describe('SftpTarget against OpenSSH sshd', { skip: sshdSkipReason() }, () => {
  let server: SshdServer;
  let work: string;
  const targets: SftpTarget[] = [];

  function target(overrides: Partial<SftpTargetOptions> = {}): SftpTarget {
    const user = server.users.password;
    const created = new SftpTarget({
      id: 'sftp-test',
      host: server.host,
      port: server.port,
      username: user.username,
      password: user.password,
      hostKey: server.hostKeyFingerprint,
      readyTimeoutMs: 10000,
      ...overrides,
    });
    targets.push(created);
    return created;
  }

  function keyTarget(overrides: Partial<SftpTargetOptions> = {}): SftpTarget {
    const user = server.users.key;
    return target({ username: user.username, password: undefined, privateKey: user.privateKeyPem, ...overrides });
  }

  function localFile(name: string, bytes: number): { path: string; data: Buffer } {
    const data = randomBytes(bytes);
    const path = join(work, name);
    writeFileSync(path, data);
    return { path, data };
  }

  before(async () => {
    server = await startSshd();
    work = await mkdtemp(join(tmpdir(), 'callrec-sftp-test-'));
  });

  after(async () => {
    await Promise.all(targets.map((each) => each.close()));
    await server?.stop();
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it('logs in with a password and creates nested folders relative to the home directory', async () => {
    const sftp = target();
    await sftp.ensureFolder('Record-2024_05_06/13/deep');
    await sftp.ensureFolder('Record-2024_05_06/13/deep'); // idempotent
    await sftp.ensureFolder('Record-2024_05_06/14');
    const home = server.users.password.home;
    assert.ok(statSync(join(home, 'Record-2024_05_06', '13', 'deep')).isDirectory());
    assert.deepEqual((await sftp.list('Record-2024_05_06')).sort(), ['13', '14']);
    assert.ok((await sftp.list('')).includes('Record-2024_05_06'));
  });

  it('reuses one connection for many operations', async () => {
    const user = server.users.key;
    const sftp = keyTarget();
    const before = server.acceptedLogins(user.username);
    await sftp.ensureFolder('reuse/a');
    const file = localFile('reuse.wav', 1000);
    for (let i = 0; i < 5; i++) await sftp.upload(file.path, 'reuse/a', `r${i}.wav`);
    assert.equal((await sftp.list('reuse/a')).length, 5);
    assert.equal(server.acceptedLogins(user.username), before + 1);
  });

  it('logs in with a private key and with an encrypted private key plus passphrase', async () => {
    const user = server.users.key;
    const plain = keyTarget();
    const encrypted = keyTarget({ privateKey: user.encryptedPrivateKeyPem, passphrase: user.passphrase });
    const file = localFile('key-login.wav', 12345);
    await plain.ensureFolder('keys');
    await plain.upload(file.path, 'keys', 'plain.wav');
    await encrypted.upload(file.path, 'keys', 'encrypted.wav');
    assert.equal(await encrypted.size('keys', 'plain.wav'), 12345);
    assert.deepEqual(readFileSync(join(user.home, 'keys', 'encrypted.wav')), file.data);
  });

  it('uploads a file whose read-back SHA-256 equals the local one', async () => {
    const sftp = target();
    const file = localFile('hash.wav', 3 * 1024 * 1024 + 17); // not a multiple of the chunk size
    await sftp.ensureFolder('hash');
    await sftp.upload(file.path, 'hash', 'call.wav');
    assert.equal(await sftp.sha256('hash', 'call.wav'), sha256Hex(file.data));
    assert.equal(await sftp.size('hash', 'call.wav'), file.data.length);
    assert.deepEqual(readFileSync(join(server.users.password.home, 'hash', 'call.wav')), file.data);
    const empty = localFile('empty.wav', 0);
    await sftp.upload(empty.path, 'hash', 'empty.wav');
    assert.equal(await sftp.sha256('hash', 'empty.wav'), sha256Hex(Buffer.alloc(0)));
  });

  it('shows only the temporary name while an upload runs, and leaves no temporary behind', async () => {
    // Small requests, one in flight: the 20 MB upload takes thousands of round trips.
    const uploader = target({ chunkSize: 8192, requestsInFlight: 1 });
    const observer = target();
    const file = localFile('large.wav', 20 * 1024 * 1024);
    const partial = temporaryName('large.wav');
    await uploader.ensureFolder('large');
    let done = false;
    const upload = uploader.upload(file.path, 'large', 'large.wav').finally(() => (done = true));
    let partialSeen = 0;
    while (!done) {
      const names = await observer.list('large');
      assert.ok(!(names.includes(partial) && names.includes('large.wav')), `both names listed: ${names.join(', ')}`);
      if (names.includes(partial)) partialSeen++;
      if (names.includes('large.wav')) {
        assert.equal(await observer.size('large', 'large.wav'), file.data.length, 'final name listed before complete');
      }
    }
    await upload;
    assert.ok(partialSeen > 0, 'the temporary name was never listed during the upload');
    assert.deepEqual(await observer.list('large'), ['large.wav']);
    assert.equal(await observer.sha256('large', 'large.wav'), sha256Hex(file.data));
  });

  it('replaces an existing file of the same name', async () => {
    const sftp = target();
    const first = localFile('first.wav', 200_000);
    const second = localFile('second.wav', 100_000);
    await sftp.ensureFolder('replace');
    await sftp.upload(first.path, 'replace', 'call.wav');
    await sftp.upload(second.path, 'replace', 'call.wav');
    assert.equal(await sftp.sha256('replace', 'call.wav'), sha256Hex(second.data));
    assert.equal(await sftp.size('replace', 'call.wav'), 100_000);
    assert.deepEqual(await sftp.list('replace'), ['call.wav']);
  });

  it('replaces a temporary left by an interrupted upload', async () => {
    const sftp = target();
    const user = server.users.password;
    await sftp.ensureFolder('interrupted');
    const leftover = join(user.home, 'interrupted', temporaryName('call.wav'));
    writeFileSync(leftover, randomBytes(2_000_000)); // larger than the real file: must be truncated
    chownSync(leftover, user.uid, user.gid);
    const file = localFile('interrupted.wav', 300_000);
    await sftp.upload(file.path, 'interrupted', 'call.wav');
    assert.equal(await sftp.sha256('interrupted', 'call.wav'), sha256Hex(file.data));
    assert.deepEqual(await sftp.list('interrupted'), ['call.wav']);
  });

  it('answers size, sha256, list and delete for missing things without failing', async () => {
    const sftp = keyTarget();
    assert.equal(await sftp.size('nowhere', 'x.wav'), undefined);
    assert.equal(await sftp.sha256('nowhere', 'x.wav'), undefined);
    assert.deepEqual(await sftp.list('nowhere/at/all'), []);
    await sftp.delete('nowhere', 'x.wav');
    const file = localFile('delete.wav', 5000);
    await sftp.ensureFolder('del');
    await sftp.upload(file.path, 'del', 'a.wav');
    await sftp.upload(file.path, 'del', 'b.wav');
    assert.equal(await sftp.size('del', 'a.wav'), 5000);
    await sftp.delete('del', 'a.wav');
    await sftp.delete('del', 'a.wav');
    assert.deepEqual(await sftp.list('del'), ['b.wav']);
    assert.ok(!existsSync(join(server.users.key.home, 'del', 'a.wav')));
  });

  it('rejects escaping paths and a file where a folder should be with ARCHIVE_PATH', async () => {
    const sftp = target();
    await assert.rejects(sftp.ensureFolder('../etc'), isAppError('ARCHIVE_PATH', false));
    await assert.rejects(sftp.list('/etc'), isAppError('ARCHIVE_PATH', false));
    await assert.rejects(sftp.size('ok', '../x'), isAppError('ARCHIVE_PATH', false));
    const file = localFile('blocker.wav', 10);
    await sftp.upload(file.path, '', 'blocker');
    await assert.rejects(sftp.ensureFolder('blocker/sub'), isAppError('ARCHIVE_PATH', false));
    await assert.rejects(sftp.upload(join(work, 'missing.wav'), '', 'x.wav'), isAppError('ARCHIVE_IO', false));
  });

  it('fails a wrong password with ARCHIVE_AUTH, not retriable, without the password anywhere', async () => {
    const wrong = `Wrong-${randomBytes(8).toString('hex')}`;
    const sftp = target({ password: wrong });
    await assert.rejects(
      sftp.list(''),
      isAppError('ARCHIVE_AUTH', false, (error) => {
        assert.ok(!inspect(error, { depth: 10 }).includes(wrong), inspect(error));
        assert.ok(!error.message.includes(server.users.password.password));
      }),
    );
    // Still refused on the next call (a fresh connection attempt each time).
    await assert.rejects(sftp.list(''), isAppError('ARCHIVE_AUTH', false));
  });

  it('fails an unauthorized key with ARCHIVE_AUTH', async () => {
    const { privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    await assert.rejects(keyTarget({ privateKey }).list(''), isAppError('ARCHIVE_AUTH', false));
  });

  it('fails a host key that does not match the pin with ARCHIVE_AUTH "host key mismatch"', async () => {
    const other = sshFingerprint(randomBytes(51));
    const sftp = target({ hostKey: other });
    await assert.rejects(
      sftp.list(''),
      isAppError('ARCHIVE_AUTH', false, (error) => {
        assert.match(error.message, /host key mismatch/);
        assert.ok(error.message.includes(server.hostKeyFingerprint));
      }),
    );
    assert.deepEqual(await target({ hostKey: undefined }).list('nowhere'), []); // no pin: any key
  });

  it('fails with ARCHIVE_CONNECT, retriable, when nothing listens on the port', async () => {
    const port = await findFreePort('127.0.0.1');
    await assert.rejects(
      target({ port }).list(''),
      isAppError('ARCHIVE_CONNECT', true, (e) => assert.match(e.message, /ECONNREFUSED/)),
    );
  });

  it('fails with ARCHIVE_CONNECT, retriable, when the server never greets', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = silent.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    try {
      await assert.rejects(target({ port, readyTimeoutMs: 300 }).list(''), isAppError('ARCHIVE_CONNECT', true));
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('rejects unusable options with ARCHIVE_CONFIG', async () => {
    assert.throws(() => target({ password: undefined }), isAppError('ARCHIVE_CONFIG', false));
    assert.throws(() => target({ hostKey: 'MD5:00:11' }), isAppError('ARCHIVE_CONFIG', false));
    const user = server.users.key;
    const wrongPassphrase = `pp-${randomBytes(6).toString('hex')}`;
    const sftp = keyTarget({ privateKey: user.encryptedPrivateKeyPem, passphrase: wrongPassphrase });
    await assert.rejects(
      sftp.list(''),
      isAppError('ARCHIVE_CONFIG', false, (error) => assert.ok(!error.message.includes(wrongPassphrase))),
    );
  });

  it('reconnects after the server restarted', async () => {
    const sftp = target();
    const file = localFile('restart.wav', 70_000);
    await sftp.ensureFolder('restart');
    await sftp.upload(file.path, 'restart', 'before.wav');
    const logins = server.acceptedLogins(server.users.password.username);
    await server.restart();
    await sftp.upload(file.path, 'restart', 'after.wav');
    assert.deepEqual((await sftp.list('restart')).sort(), ['after.wav', 'before.wav']);
    assert.equal(await sftp.sha256('restart', 'after.wav'), sha256Hex(file.data));
    assert.equal(server.acceptedLogins(server.users.password.username), logins + 1);
    assert.deepEqual(readdirSync(join(server.users.password.home, 'restart')).sort(), ['after.wav', 'before.wav']);
  });
});
