// Keystore requirements (SPEC §5, §11; issue 6), checked with the real openssl:
// - first start: `<dataDir>/keystore.p12`, PKCS#12 with the key in a
//   pbeWithSHAAnd3-KeyTripleDES-CBC shrouded key bag and a SHA-1 MAC, mode 0600, dataDir 0700;
//   self-signed certificate `CN=callrec <installation-id>`, 100 years, CA:false, key usage
//   digitalSignature + nonRepudiation, 2048/3072-bit keys;
// - reopening with the password gives the same installation, key and certificate;
// - a wrong, empty or corrupt keystore is refused with a clear error and never written;
// - sign() makes what `openssl dgst -sha256 -verify` accepts with the exported certificate;
// - CSR for a CA, import of the CA-signed certificate + chain; a certificate for another key,
//   an expired one or a stray chain member is refused and nothing changes.
//
// OpenSSL flag: Debian's OpenSSL 3.0 reads this keystore WITHOUT `-legacy`: 3DES and the SHA-1
// PKCS#12 KDF/MAC are in the default provider. `-legacy` (legacy provider) is needed only for
// RC2-40/RC4/DES keystores, e.g. what OpenSSL 1.1 wrote by default; it does no harm here either.
import assert from 'node:assert/strict';
import { X509Certificate, createHash } from 'node:crypto';
import { chmod, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { KEYSTORE_FILE, openKeyStore } from '../../../src/integrity/key-store.js';
import {
  PASSWORD,
  shared,
  openssl,
  mustOpenssl,
  freshDir,
  copyOfShared,
  write,
  rejectsWith,
  useTempRoot,
} from './key-store-fixtures.js';

useTempRoot({ sharedKeyStore: true });

describe('first start', () => {
  it('creates keystore.p12 with mode 0600 in a data directory of mode 0700', async () => {
    assert.equal(shared.keyStore.created, true);
    assert.equal((await stat(join(shared.dataDir, KEYSTORE_FILE))).mode & 0o777, 0o600);
    assert.equal((await stat(shared.dataDir)).mode & 0o777, 0o700);
    assert.deepEqual(await readdir(shared.dataDir), [KEYSTORE_FILE], 'no temporary file left behind');
  });

  it('writes a PKCS#12 that openssl opens with the password: 3DES key bag, SHA-1 MAC', () => {
    const path = join(shared.dataDir, KEYSTORE_FILE);
    const certs = mustOpenssl(['pkcs12', '-in', path, '-passin', `pass:${PASSWORD}`, '-nokeys']);
    assert.match(certs, /-----BEGIN CERTIFICATE-----/);
    const info = openssl(['pkcs12', '-in', path, '-passin', `pass:${PASSWORD}`, '-info', '-noout']);
    assert.equal(info.status, 0, info.stderr);
    assert.match(info.stderr, /MAC: sha1/);
    assert.match(info.stderr, /Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC/);
    const key = mustOpenssl(['pkcs12', '-in', path, '-passin', `pass:${PASSWORD}`, '-nocerts', '-nodes']);
    assert.match(key, /friendlyName: callrec [0-9a-f-]{36}/);
    assert.match(key, /-----BEGIN PRIVATE KEY-----/);
  });

  it('is not opened by openssl with a wrong or an empty password', () => {
    const path = join(shared.dataDir, KEYSTORE_FILE);
    for (const password of ['wrong', '']) {
      const result = openssl(['pkcs12', '-in', path, '-passin', `pass:${password}`, '-nokeys']);
      assert.notEqual(result.status, 0, `password ${JSON.stringify(password)} must not open it`);
      assert.match(result.stderr, /Mac verify error|invalid password/i);
    }
  });

  it('creates a self-signed certificate CN=callrec <installation-id>, valid 100 years, for signing only', async () => {
    const { keyStore } = shared;
    assert.match(keyStore.installationId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const certFile = await write('cert.pem', keyStore.certificatePem);
    const text = mustOpenssl(['x509', '-in', certFile, '-noout', '-text']);
    assert.match(text, new RegExp(`Subject: O = callrec, CN = callrec ${keyStore.installationId}\\n`));
    assert.match(text, new RegExp(`Issuer: O = callrec, CN = callrec ${keyStore.installationId}\\n`));
    assert.match(text, /Version: 3 \(0x2\)/);
    assert.match(text, /Public-Key: \(2048 bit\)/);
    assert.match(text, /Signature Algorithm: sha256WithRSAEncryption/);
    assert.match(text, /X509v3 Basic Constraints: critical\s+CA:FALSE/);
    assert.match(text, /X509v3 Key Usage: critical\s+Digital Signature, Non Repudiation\n/);
    assert.match(text, /X509v3 Subject Key Identifier:/);
    const info = keyStore.describe();
    const notBefore = new Date(info.notBefore);
    const notAfter = new Date(info.notAfter);
    assert.ok(Math.abs(Date.now() - notBefore.getTime()) < 60_000, 'valid from now');
    assert.equal(notAfter.getUTCFullYear() - notBefore.getUTCFullYear(), 100);
    assert.equal(notAfter.getUTCMonth(), notBefore.getUTCMonth());
    assert.equal(notAfter.getUTCDate(), notBefore.getUTCDate());
    const dates = mustOpenssl(['x509', '-in', certFile, '-noout', '-startdate', '-enddate']);
    assert.equal(new Date(/notAfter=(.*)/.exec(dates)?.[1] ?? '').toISOString(), info.notAfter);
    assert.equal(info.selfSigned, true);
    assert.deepEqual(keyStore.chainPem, []);
    // A self-signed certificate trusted as itself verifies (no keyCertSign needed).
    assert.match(mustOpenssl(['verify', '-CAfile', certFile, certFile]), /: OK/);
  });

  it('reports the serial and the SHA-256 fingerprint exactly as openssl x509 prints them', async () => {
    const info = shared.keyStore.describe();
    const certFile = await write('cert.pem', info.pem);
    const fingerprint = mustOpenssl(['x509', '-in', certFile, '-noout', '-fingerprint', '-sha256']);
    assert.equal(fingerprint.trim(), `sha256 Fingerprint=${info.sha256Fingerprint}`);
    const serial = mustOpenssl(['x509', '-in', certFile, '-noout', '-serial']);
    assert.equal(serial.trim(), `serial=${info.serialHex}`);
    assert.match(info.serialHex, /^[0-9A-F]{32}$/, '16-byte serial');
    assert.ok(Number.parseInt(info.serialHex.slice(0, 2), 16) < 0x80, 'positive serial');
  });

  it('generates a 3072-bit key when configured', async () => {
    const dataDir = await freshDir('3072');
    const keyStore = await openKeyStore({ dataDir, password: PASSWORD, keySize: 3072 });
    assert.equal(keyStore.keySize, 3072);
    const text = mustOpenssl(['x509', '-in', await write('cert.pem', keyStore.certificatePem), '-noout', '-text']);
    assert.match(text, /Public-Key: \(3072 bit\)/);
  });

  it('refuses an empty password and writes nothing', async () => {
    const dataDir = join(await freshDir('empty'), 'data');
    const error = await rejectsWith(openKeyStore({ dataDir, password: '' }), 'INTEGRITY_KEYSTORE_PASSWORD');
    assert.match(error.message, /no keystore password/);
    await assert.rejects(stat(dataDir), { code: 'ENOENT' });
  });

  it('does not replace a keystore another process created meanwhile: both opens get the same installation', async () => {
    const dataDir = await freshDir('race');
    const [a, b] = await Promise.all([
      openKeyStore({ dataDir, password: PASSWORD }),
      openKeyStore({ dataDir, password: PASSWORD }),
    ]);
    assert.equal(a.installationId, b.installationId);
    assert.equal(a.describe().sha256Fingerprint, b.describe().sha256Fingerprint);
    assert.deepEqual(await readdir(dataDir), [KEYSTORE_FILE]);
  });
});

describe('reopening', () => {
  it('gives the same installation id, key, serial and fingerprint, and writes nothing', async () => {
    const path = join(shared.dataDir, KEYSTORE_FILE);
    const before = await readFile(path);
    const { mtimeMs } = await stat(path);
    const again = await openKeyStore({ dataDir: shared.dataDir, password: PASSWORD, keySize: 4096 });
    assert.equal(again.created, false);
    assert.equal(again.installationId, shared.keyStore.installationId);
    assert.equal(again.keySize, 2048, 'an existing key keeps its size');
    assert.deepEqual(again.describe(), shared.keyStore.describe());
    assert.equal(again.certificatePem, shared.keyStore.certificatePem);
    const data = Buffer.from('same key');
    assert.deepEqual(again.sign(data), shared.keyStore.sign(data), 'PKCS#1 v1.5 is deterministic: same key');
    assert.deepEqual(await readFile(path), before);
    assert.equal((await stat(path)).mtimeMs, mtimeMs);
  });

  it('refuses a wrong password with a clear error that does not contain it, and leaves the file byte-identical', async () => {
    const dataDir = await copyOfShared();
    const path = join(dataDir, KEYSTORE_FILE);
    const before = await readFile(path);
    const wrong = 'Tr0ub4dor&3-not-the-password';
    const error = await rejectsWith(openKeyStore({ dataDir, password: wrong }), 'INTEGRITY_KEYSTORE_PASSWORD');
    assert.match(error.message, /wrong keystore password/);
    assert.match(error.message, /keystore\.p12/);
    assert.ok(!error.message.includes(wrong) && !error.message.includes(PASSWORD));
    assert.ok(!String(error.stack).includes(wrong));
    assert.ok(!String(error.cause ?? '').includes(wrong));
    assert.deepEqual(await readFile(path), before);
    assert.deepEqual(await readdir(dataDir), [KEYSTORE_FILE]);
  });

  it('refuses an empty password for an existing keystore and leaves it alone', async () => {
    const dataDir = await copyOfShared();
    const before = await readFile(join(dataDir, KEYSTORE_FILE));
    await rejectsWith(openKeyStore({ dataDir, password: '' }), 'INTEGRITY_KEYSTORE_PASSWORD');
    assert.deepEqual(await readFile(join(dataDir, KEYSTORE_FILE)), before);
  });

  it('refuses a corrupt keystore (garbage, truncated, empty) and never overwrites it', async () => {
    const original = await readFile(join(shared.dataDir, KEYSTORE_FILE));
    const cases: Array<[string, Buffer]> = [
      ['garbage', Buffer.from('this is not a PKCS#12 file\n')],
      ['truncated', original.subarray(0, original.length - 100)],
      ['empty', Buffer.alloc(0)],
    ];
    for (const [name, bytes] of cases) {
      const dataDir = await freshDir(`corrupt-${name}`);
      const path = join(dataDir, KEYSTORE_FILE);
      await writeFile(path, bytes, { mode: 0o600 });
      const error = await rejectsWith(openKeyStore({ dataDir, password: PASSWORD }), 'INTEGRITY_KEYSTORE_CORRUPT');
      assert.match(error.message, /keystore .*keystore\.p12 is unreadable/);
      assert.deepEqual(await readFile(path), bytes, name);
    }
  });

  it('refuses a keystore with a flipped byte (the MAC fails: wrong password or altered file)', async () => {
    const dataDir = await copyOfShared();
    const path = join(dataDir, KEYSTORE_FILE);
    const bytes = await readFile(path);
    const index = bytes.indexOf(Buffer.from('callrec', 'ascii')); // inside the certificate
    assert.ok(index > 0);
    bytes[index] = 'C'.charCodeAt(0);
    await writeFile(path, bytes);
    const error = await rejectsWith(openKeyStore({ dataDir, password: PASSWORD }), 'INTEGRITY_KEYSTORE_PASSWORD');
    assert.match(error.message, /or the file was altered/);
    assert.deepEqual(await readFile(path), bytes);
  });

  it('warns, without changing anything, when the keystore is readable by others', async () => {
    const dataDir = await copyOfShared();
    const path = join(dataDir, KEYSTORE_FILE);
    await chmod(path, 0o644);
    const keyStore = await openKeyStore({ dataDir, password: PASSWORD });
    assert.equal(keyStore.warnings.length, 1);
    assert.match(keyStore.warnings[0] ?? '', /mode 0644; run chmod 600/);
    assert.equal((await stat(path)).mode & 0o777, 0o644);
  });

  it('reads a keystore whose password has non-ASCII characters, as openssl does', async () => {
    const dataDir = await freshDir('unicode');
    const password = 'Kennwört-✓-пароль-😀';
    const keyStore = await openKeyStore({ dataDir, password });
    const again = await openKeyStore({ dataDir, password });
    assert.equal(again.installationId, keyStore.installationId);
    const path = join(dataDir, KEYSTORE_FILE);
    mustOpenssl(['pkcs12', '-in', path, '-passin', `pass:${password}`, '-nokeys', '-out', join(dataDir, 'x.pem')]);
    await rejectsWith(openKeyStore({ dataDir, password: 'Kennwort-✓-пароль-😀' }), 'INTEGRITY_KEYSTORE_PASSWORD');
  });
});

describe('sign', () => {
  it('makes an RSA PKCS#1 v1.5 SHA-256 signature that openssl dgst -verify accepts with the certificate key', async () => {
    const dir = await freshDir('sign');
    const data = Buffer.from('abc123  rec-1.wav\n'.repeat(50));
    const dataFile = join(dir, 'data');
    const sigFile = join(dir, 'data.sig');
    const certFile = join(dir, 'cert.pem');
    const pubFile = join(dir, 'pub.pem');
    await writeFile(dataFile, data);
    await writeFile(sigFile, shared.keyStore.sign(data));
    await writeFile(certFile, shared.keyStore.exportCertificatePem());
    mustOpenssl(['x509', '-in', certFile, '-noout', '-pubkey', '-out', pubFile]);
    const verified = mustOpenssl(['dgst', '-sha256', '-verify', pubFile, '-signature', sigFile, dataFile]);
    assert.equal(verified.trim(), 'Verified OK');
    // A changed byte no longer verifies.
    await writeFile(dataFile, Buffer.concat([data, Buffer.from('x')]));
    const tampered = openssl(['dgst', '-sha256', '-verify', pubFile, '-signature', sigFile, dataFile]);
    assert.notEqual(tampered.status, 0);
    assert.match(tampered.stdout, /Verification failure/);
  });

  it('exposes no private key: not as a property, not in JSON', () => {
    const keyStore = shared.keyStore as unknown as Record<string, unknown>;
    const json = JSON.stringify(shared.keyStore);
    assert.ok(!/PRIVATE KEY/.test(json));
    assert.ok(!json.includes(PASSWORD));
    for (const name of Object.keys(keyStore)) assert.ok(!/private|password|key$/i.test(name), name);
    assert.equal(keyStore['privateKey'], undefined);
  });
});

// The fingerprint is SHA-256 over the DER, as openssl computes it.
describe('fingerprint', () => {
  it('is the SHA-256 of the certificate DER', () => {
    const der = new X509Certificate(shared.keyStore.certificatePem).raw;
    const hex = createHash('sha256').update(der).digest('hex').toUpperCase();
    assert.equal(shared.keyStore.describe().sha256Fingerprint.replace(/:/g, ''), hex);
  });
});
