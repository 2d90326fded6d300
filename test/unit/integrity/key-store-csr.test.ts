// Keystore requirements (SPEC §5, §11; issue 6), here the CSR and import, checked with the real openssl:
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
import { X509Certificate } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
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
  makeCa,
  signCsr,
  rejectsWith,
  tempPath,
  useTempRoot,
} from './key-store-fixtures.js';

useTempRoot({ sharedKeyStore: true });

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
    const pub = tempPath('pub.pem');
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
