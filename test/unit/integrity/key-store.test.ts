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
import { spawnSync } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AppError } from '../../../src/errors.js';
import { writeFileAtomic } from '../../../src/integrity/atomic-file.js';
import { KEYSTORE_FILE, openKeyStore, type KeyStore } from '../../../src/integrity/key-store.js';

const PASSWORD = 'correct horse battery staple';

let root: string;
let counter = 0;
/** One keystore created in `before`; tests that change it work on a copy. */
let shared: { dataDir: string; keyStore: KeyStore };

function openssl(args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync('openssl', args, { encoding: 'utf8', input });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function mustOpenssl(args: string[]): string {
  const result = openssl(args);
  assert.equal(result.status, 0, `openssl ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

async function freshDir(name: string): Promise<string> {
  const dir = join(root, `${++counter}-${name}`);
  await mkdir(dir);
  return dir;
}

/** A data dir holding a copy of the shared keystore. */
async function copyOfShared(): Promise<string> {
  const dataDir = await freshDir('copy');
  await copyFile(join(shared.dataDir, KEYSTORE_FILE), join(dataDir, KEYSTORE_FILE));
  return dataDir;
}

async function write(name: string, content: string | Buffer): Promise<string> {
  const file = join(root, `${++counter}-${name}`);
  await writeFile(file, content);
  return file;
}

/** A throwaway CA made with openssl: key + self-signed CA certificate. */
async function makeCa(
  name: string,
  keyArgs: string[] = ['-newkey', 'rsa:2048'],
): Promise<{ key: string; cert: string }> {
  const key = join(root, `${++counter}-${name}.key`);
  const cert = join(root, `${counter}-${name}.pem`);
  mustOpenssl([
    'req',
    '-x509',
    ...keyArgs,
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-subj',
    `/O=Test/CN=${name}`,
    '-days',
    '3650',
  ]);
  return { key, cert };
}

/** Our CSR signed by `ca` with `openssl x509 -req`, PEM. */
async function signCsr(keyStore: KeyStore, ca: { key: string; cert: string }, days = 3650): Promise<string> {
  const csr = await write('request.csr', keyStore.createCsr());
  const out = join(root, `${++counter}-signed.pem`);
  mustOpenssl([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-CAcreateserial',
    '-days',
    String(days),
    '-out',
    out,
  ]);
  return readFile(out, 'utf8');
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof AppError, `expected AppError ${code}, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return error;
  }
  assert.fail(`expected AppError ${code}, but it resolved`);
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'callrec-key-store-'));
  const dataDir = join(root, 'shared', 'data');
  shared = { dataDir, keyStore: await openKeyStore({ dataDir, password: PASSWORD }) };
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

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

describe('certificate signing request and import', () => {
  it('makes a CSR that openssl req -verify accepts, subject as the certificate', async () => {
    const csrPem = shared.keyStore.createCsr();
    const csrFile = await write('req.csr', csrPem);
    const result = openssl(['req', '-in', csrFile, '-noout', '-verify', '-subject', '-text']);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout + result.stderr, /verify OK/i);
    assert.match(result.stdout, new RegExp(`subject=O = callrec, CN = callrec ${shared.keyStore.installationId}`));
    assert.match(result.stdout, /Signature Algorithm: sha256WithRSAEncryption/);
    assert.match(result.stdout, /Digital Signature, Non Repudiation/);
    // The CSR's key is the certificate's key.
    const csrKey = mustOpenssl(['req', '-in', csrFile, '-noout', '-pubkey']);
    const certKey = mustOpenssl([
      'x509',
      '-in',
      await write('c.pem', shared.keyStore.certificatePem),
      '-noout',
      '-pubkey',
    ]);
    assert.equal(csrKey, certKey);
  });

  it('installs a CA-signed certificate with its chain; signatures verify under it; it survives reopening', async () => {
    const dataDir = await copyOfShared();
    const keyStore = await openKeyStore({ dataDir, password: PASSWORD });
    const ca = await makeCa('Throwaway CA');
    const leafPem = await signCsr(keyStore, ca);
    const caPem = await readFile(ca.cert, 'utf8');

    const info = await keyStore.importCertificate(`${leafPem}${caPem}`);
    assert.equal(info.issuer, 'O=Test, CN=Throwaway CA');
    assert.equal(info.subject, `O=callrec, CN=callrec ${keyStore.installationId}`);
    assert.equal(info.selfSigned, false);
    assert.deepEqual(keyStore.describe(), info);
    const canonical = (pem: string): string => new X509Certificate(pem).toString();
    assert.equal(keyStore.certificatePem, canonical(leafPem));
    assert.deepEqual(keyStore.chainPem, [canonical(caPem)]);
    assert.equal(keyStore.exportCertificatePem(), canonical(leafPem) + canonical(caPem));

    // The chain verifies with openssl; the signature verifies with the new certificate's key.
    const exported = await write('chain.pem', keyStore.exportCertificatePem());
    assert.match(mustOpenssl(['verify', '-CAfile', ca.cert, await write('leaf.pem', keyStore.certificatePem)]), /: OK/);
    const pub = join(root, `${++counter}-pub.pem`);
    mustOpenssl(['x509', '-in', exported, '-noout', '-pubkey', '-out', pub]);
    const data = await write('data', 'signed after import\n');
    const sig = await write('data.sig', keyStore.sign(Buffer.from('signed after import\n')));
    assert.equal(mustOpenssl(['dgst', '-sha256', '-verify', pub, '-signature', sig, data]).trim(), 'Verified OK');

    // On disk: mode 0600, both certificates in the PKCS#12, same installation after reopening.
    const path = join(dataDir, KEYSTORE_FILE);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.deepEqual(await readdir(dataDir), [KEYSTORE_FILE]);
    const p12Certs = mustOpenssl(['pkcs12', '-in', path, '-passin', `pass:${PASSWORD}`, '-nokeys']);
    assert.equal(p12Certs.match(/-----BEGIN CERTIFICATE-----/g)?.length, 2);
    const reopened = await openKeyStore({ dataDir, password: PASSWORD });
    assert.equal(reopened.installationId, keyStore.installationId);
    assert.equal(reopened.exportCertificatePem(), keyStore.exportCertificatePem());
    assert.deepEqual(reopened.describe(), info);
  });

  it('puts a bundle given CA first into chain order', async () => {
    const dataDir = await copyOfShared();
    const keyStore = await openKeyStore({ dataDir, password: PASSWORD });
    const ca = await makeCa('Order CA');
    const leafPem = await signCsr(keyStore, ca);
    const caPem = await readFile(ca.cert, 'utf8');
    await keyStore.importCertificate(`subject=some text openssl printed\n${caPem}\n\n${leafPem}`);
    assert.equal(keyStore.certificatePem, new X509Certificate(leafPem).toString());
    assert.deepEqual(keyStore.chainPem, [new X509Certificate(caPem).toString()]);
  });

  it('refuses a certificate for another key with INTEGRITY_CERT_MISMATCH and changes nothing', async () => {
    const dataDir = await copyOfShared();
    const path = join(dataDir, KEYSTORE_FILE);
    const before = await readFile(path);
    const keyStore = await openKeyStore({ dataDir, password: PASSWORD });
    const describedBefore = keyStore.describe();
    const other = await openKeyStore({ dataDir: await freshDir('other'), password: PASSWORD });
    const ca = await makeCa('Mismatch CA');
    const foreign = await signCsr(other, ca);
    const error = await rejectsWith(
      keyStore.importCertificate(foreign + (await readFile(ca.cert, 'utf8'))),
      'INTEGRITY_CERT_MISMATCH',
    );
    assert.match(error.message, /not for this installation's key/);
    await rejectsWith(keyStore.importCertificate(other.certificatePem), 'INTEGRITY_CERT_MISMATCH');
    assert.deepEqual(await readFile(path), before);
    assert.deepEqual(keyStore.describe(), describedBefore);
    assert.deepEqual(keyStore.chainPem, []);
  });

  it('refuses an expired or not yet valid certificate with INTEGRITY_CERT_INVALID and changes nothing', async () => {
    const dataDir = await copyOfShared();
    const path = join(dataDir, KEYSTORE_FILE);
    const before = await readFile(path);
    const ca = await makeCa('Validity CA');
    const probe = await openKeyStore({ dataDir, password: PASSWORD });
    const leafPem = await signCsr(probe, ca, 30); // valid for 30 days from now
    const later = await openKeyStore({
      dataDir,
      password: PASSWORD,
      now: () => new Date(Date.now() + 31 * 86_400_000),
    });
    const expired = await rejectsWith(later.importCertificate(leafPem), 'INTEGRITY_CERT_INVALID');
    assert.match(expired.message, /expired at/);
    const earlier = await openKeyStore({ dataDir, password: PASSWORD, now: () => new Date(Date.now() - 86_400_000) });
    const early = await rejectsWith(earlier.importCertificate(leafPem), 'INTEGRITY_CERT_INVALID');
    assert.match(early.message, /not valid before/);
    assert.deepEqual(await readFile(path), before);
  });

  it('refuses a certificate that is not part of the chain, and input without any certificate', async () => {
    const dataDir = await copyOfShared();
    const path = join(dataDir, KEYSTORE_FILE);
    const before = await readFile(path);
    const keyStore = await openKeyStore({ dataDir, password: PASSWORD });
    const ca = await makeCa('Real CA');
    const unrelated = await makeCa('Unrelated CA');
    const leafPem = await signCsr(keyStore, ca);
    const stray = await rejectsWith(
      keyStore.importCertificate(leafPem + (await readFile(unrelated.cert, 'utf8'))),
      'INTEGRITY_CERT_INVALID',
    );
    assert.match(stray.message, /not part of the chain.*Unrelated CA/);
    const none = await rejectsWith(keyStore.importCertificate('hello\n'), 'INTEGRITY_CERT_INVALID');
    assert.match(none.message, /no PEM certificate found/);
    const broken = await rejectsWith(
      keyStore.importCertificate('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'),
      'INTEGRITY_CERT_INVALID',
    );
    assert.match(broken.message, /certificate 1 of the PEM is not a valid X\.509 certificate/);
    assert.deepEqual(await readFile(path), before);
  });

  it('refuses, unchanged, a chain node-forge cannot store byte for byte (an ECDSA CA)', async () => {
    const dataDir = await copyOfShared();
    const path = join(dataDir, KEYSTORE_FILE);
    const before = await readFile(path);
    const keyStore = await openKeyStore({ dataDir, password: PASSWORD });
    const ca = await makeCa('EC CA', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']);
    const leafPem = await signCsr(keyStore, ca);
    const error = await rejectsWith(
      keyStore.importCertificate(leafPem + (await readFile(ca.cert, 'utf8'))),
      'INTEGRITY_CERT_INVALID',
    );
    assert.match(error.message, /cannot store certificate/);
    assert.deepEqual(await readFile(path), before);
    assert.deepEqual(keyStore.chainPem, []);
  });
});

describe('writeFileAtomic', () => {
  it('writes with the exact mode whatever the umask, replaces atomically and leaves no temporary file', async () => {
    const dir = await freshDir('atomic');
    const path = join(dir, 'file');
    const umask = process.umask(0o077);
    try {
      await writeFileAtomic(path, 'one', { mode: 0o644 });
    } finally {
      process.umask(umask);
    }
    assert.equal((await stat(path)).mode & 0o777, 0o644);
    await writeFileAtomic(path, Buffer.from('two'), { mode: 0o600 });
    assert.equal(await readFile(path, 'utf8'), 'two');
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.deepEqual(await readdir(dir), ['file']);
  });

  it('with exclusive, refuses to replace an existing file (cause EEXIST) and changes nothing', async () => {
    const dir = await freshDir('atomic-exclusive');
    const path = join(dir, 'file');
    await writeFileAtomic(path, 'first', { exclusive: true });
    const error = await rejectsWith(writeFileAtomic(path, 'second', { exclusive: true }), 'INTEGRITY_IO');
    assert.equal((error.cause as NodeJS.ErrnoException).code, 'EEXIST');
    assert.equal(await readFile(path, 'utf8'), 'first');
    assert.deepEqual(await readdir(dir), ['file']);
  });

  it('rejects with INTEGRITY_IO when the directory does not exist', async () => {
    const path = join(root, 'no-such-dir', 'file');
    const error = await rejectsWith(writeFileAtomic(path, 'x'), 'INTEGRITY_IO');
    assert.match(error.message, /cannot write .*no-such-dir/);
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
