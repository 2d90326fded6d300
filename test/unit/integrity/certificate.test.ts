// Certificate helpers of the key store (SPEC §5): the self-signed verification certificate
// (subject/issuer `O=callrec, CN=callrec <installation-id>`, random positive 16-byte serial,
// 100 years from now, CA:false, digitalSignature + nonRepudiation, SHA-256 with RSA), the CSR,
// and the inspection helpers whose output must match what openssl prints.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate, generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AppError } from '../../../src/errors.js';
import {
  certificateMatchesKey,
  commonNameFor,
  createCertificationRequest,
  createSelfSignedCertificate,
  describeCertificate,
  installationIdFromCommonName,
  isIssuedBy,
  isSelfSigned,
  normalizePem,
  parseCertificate,
  sha256Fingerprint,
  splitPemCertificates,
  subjectCommonName,
  toForgeCertificate,
  type RsaKeyPair,
} from '../../../src/integrity/certificate.js';

let dir: string;
let counter = 0;
let keys: RsaKeyPair;
const installationId = randomUUID();
const NOW = new Date('2024-02-29T12:34:56.789Z');
let pem: string;

function openssl(args: string[]): string {
  const result = spawnSync('openssl', args, { encoding: 'utf8' });
  if (result.error) throw result.error;
  assert.equal(result.status, 0, `openssl ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

async function write(name: string, content: string): Promise<string> {
  const file = join(dir, `${++counter}-${name}`);
  await writeFile(file, content);
  return file;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'callrec-certificate-'));
  keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  pem = createSelfSignedCertificate(keys, installationId, NOW);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('createSelfSignedCertificate', () => {
  it('is valid from now (whole seconds) for 100 years, across a leap day', () => {
    const info = describeCertificate(pem);
    assert.equal(info.notBefore, '2024-02-29T12:34:56.000Z');
    // 2124-02-29 exists (2124 is a leap year).
    assert.equal(info.notAfter, '2124-02-29T12:34:56.000Z');
  });

  it('names the installation in subject and issuer and is self-signed', () => {
    const x509 = new X509Certificate(pem);
    assert.equal(subjectCommonName(x509), `callrec ${installationId}`);
    assert.equal(describeCertificate(pem).subject, `O=callrec, CN=callrec ${installationId}`);
    assert.equal(x509.issuer, x509.subject);
    assert.equal(isSelfSigned(x509), true);
    assert.equal(certificateMatchesKey(x509, keys.publicKey), true);
    assert.equal(x509.checkPrivateKey(keys.privateKey), true);
  });

  it('encodes the dates as openssl reads them (UTCTime now, GeneralizedTime after 2049)', async () => {
    const file = await write('cert.pem', pem);
    const text = openssl(['x509', '-in', file, '-noout', '-startdate', '-enddate']);
    assert.match(text, /notBefore=Feb 29 12:34:56 2024 GMT/);
    assert.match(text, /notAfter=Feb 29 12:34:56 2124 GMT/);
  });

  it('uses a fresh random positive 16-byte serial each time', () => {
    const serials = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const serial = describeCertificate(createSelfSignedCertificate(keys, installationId, NOW)).serialHex;
      assert.match(serial, /^[4-7][0-9A-F]{31}$/);
      serials.add(serial);
    }
    assert.equal(serials.size, 3);
  });

  it('carries CA:false, digitalSignature + nonRepudiation and key identifiers', async () => {
    const text = openssl(['x509', '-in', await write('cert.pem', pem), '-noout', '-text']);
    assert.match(text, /Basic Constraints: critical\s+CA:FALSE/);
    assert.match(text, /Key Usage: critical\s+Digital Signature, Non Repudiation\n/);
    assert.match(text, /Subject Key Identifier:\s+([0-9A-F:]+)/);
    assert.match(text, /Authority Key Identifier:/);
    assert.match(text, /Signature Algorithm: sha256WithRSAEncryption/);
  });
});

describe('createCertificationRequest', () => {
  it('is a PKCS#10 request that verifies, for our key and subject', async () => {
    const csr = createCertificationRequest(keys, installationId);
    assert.match(csr, /^-----BEGIN CERTIFICATE REQUEST-----\n/);
    assert.ok(!csr.includes('\r'));
    const file = await write('req.csr', csr);
    const result = spawnSync('openssl', ['req', '-in', file, '-noout', '-verify', '-subject'], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout + result.stderr, /verify OK/i);
    assert.match(result.stdout, new RegExp(`subject=O = callrec, CN = callrec ${installationId}`));
  });
});

describe('inspection helpers', () => {
  it('formats the fingerprint as openssl x509 -fingerprint -sha256 does', async () => {
    const printed = openssl(['x509', '-in', await write('cert.pem', pem), '-noout', '-fingerprint', '-sha256']);
    assert.equal(printed.trim(), `sha256 Fingerprint=${describeCertificate(pem).sha256Fingerprint}`);
    assert.equal(
      sha256Fingerprint(Buffer.from('abc')),
      'BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD',
    );
  });

  it('normalises PEM and DER to one canonical PEM block', () => {
    const der = new X509Certificate(pem).raw;
    assert.equal(normalizePem(der), pem);
    const body = der.toString('base64').replace(/.{1,76}/g, '  $&\r\n');
    const messy = `-----BEGIN CERTIFICATE-----\r\n${body}-----END CERTIFICATE-----`;
    assert.deepEqual(splitPemCertificates(messy), [pem]);
    assert.match(
      pem,
      /^-----BEGIN CERTIFICATE-----\n([A-Za-z0-9+/=]{64}\n)+[A-Za-z0-9+/=]{1,64}\n-----END CERTIFICATE-----\n$/,
    );
  });

  it('splits a bundle into its certificates and ignores text around them', () => {
    const other = createSelfSignedCertificate(keys, randomUUID(), NOW);
    const bundle = `Bag Attributes\n    friendlyName: x\nsubject=...\n${pem}\ntrailing words\n${other}`;
    assert.deepEqual(splitPemCertificates(bundle), [pem, other]);
    assert.deepEqual(splitPemCertificates('nothing here'), []);
  });

  it('rejects something that is not a certificate with INTEGRITY_CERT_INVALID', () => {
    assert.throws(
      () => parseCertificate('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'),
      (error: unknown) => {
        return error instanceof AppError && error.code === 'INTEGRITY_CERT_INVALID';
      },
    );
  });

  it('reads the installation id from a common name', () => {
    assert.equal(commonNameFor(installationId), `callrec ${installationId}`);
    assert.equal(installationIdFromCommonName(`callrec ${installationId}`), installationId);
    assert.equal(installationIdFromCommonName(`callrec ${installationId.toUpperCase()}`), installationId);
    assert.equal(installationIdFromCommonName('callrec not-a-uuid'), undefined);
    assert.equal(installationIdFromCommonName(`other ${installationId}`), undefined);
  });

  it('tells a matching key from another one and an issuer from a stranger', () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const x509 = new X509Certificate(pem);
    assert.equal(certificateMatchesKey(x509, other.publicKey), false);
    const stranger = new X509Certificate(createSelfSignedCertificate(other, randomUUID(), NOW));
    assert.equal(isIssuedBy(x509, stranger), false);
    assert.equal(isSelfSigned(stranger), true);
  });
});

describe('toForgeCertificate', () => {
  it('accepts our certificate: forge reproduces it byte for byte', () => {
    const x509 = new X509Certificate(pem);
    const forgeCert = toForgeCertificate(x509);
    assert.equal(forgeCert.serialNumber.toUpperCase(), x509.serialNumber.toUpperCase());
  });

  it('refuses a certificate with a non-RSA key rather than storing it altered', async () => {
    const key = join(dir, 'ec.key');
    const cert = join(dir, 'ec.pem');
    openssl([
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-subj',
      '/CN=EC',
      '-days',
      '1',
    ]);
    const x509 = parseCertificate(await readFile(cert));
    assert.throws(
      () => toForgeCertificate(x509),
      (error: unknown) =>
        error instanceof AppError && error.code === 'INTEGRITY_CERT_INVALID' && /CN=EC/.test(error.message),
    );
  });
});
