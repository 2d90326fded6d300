/**
 * Signature files (SPEC §5): `<checksum>.SHA256withRSA.sig` is the base64 RSA PKCS#1 v1.5
 * SHA-256 signature over the checksum file's exact bytes, on one line plus `\n`, decodable by
 * `base64 -d` and `openssl base64 -d`.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  parseSignatureFile,
  signatureFileText,
  signChecksumFile,
  verifySignature,
  type RecordingSigner,
} from '../../../src/integrity/index.js';

/** A throwaway installation key: node:crypto RSA key + `openssl req -x509` self-signed certificate. */
function makeSigner(installationId = 'test-installation'): RecordingSigner {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyDir = mkdtempSync(join(tmpdir(), 'callrec-key-'));
  try {
    const keyPath = join(keyDir, 'key.pem');
    writeFileSync(keyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const subject = `/CN=callrec ${installationId}`;
    const certificatePem = execFileSync(
      'openssl',
      ['req', '-x509', '-new', '-key', keyPath, '-subj', subject, '-days', '2', '-sha256'],
      { encoding: 'utf8' },
    );
    return { sign: (data) => sign('sha256', data, privateKey), certificatePem, chainPem: [], installationId };
  } finally {
    rmSync(keyDir, { recursive: true, force: true });
  }
}

let dir: string;
let signer: RecordingSigner;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'callrec-signer-'));
  signer = makeSigner();
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('signChecksumFile', () => {
  it('writes <checksum>.SHA256withRSA.sig: one base64 line over the exact bytes, mode 0600', async () => {
    const path = join(dir, 'rec.sha256');
    const content = Buffer.from(`${'c'.repeat(64)}  rec.json\n`);
    await writeFile(path, content);
    const { signaturePath, signature } = await signChecksumFile(path, signer);
    assert.equal(signaturePath, `${path}.SHA256withRSA.sig`);
    const text = await readFile(signaturePath, 'utf8');
    assert.match(text, /^[A-Za-z0-9+/]+=*\n$/);
    assert.equal(text, signatureFileText(signature));
    assert.equal(signature.length, 256, 'RSA-2048');
    assert.ok(verifySignature(content, signature, signer.certificatePem));
    assert.equal((await stat(signaturePath)).mode & 0o777, 0o600);
  });

  it('produces a file that `base64 -d` and `openssl base64 -d -A` both decode to the signature', async () => {
    const path = join(dir, 'decode.sha256');
    await writeFile(path, 'x\n');
    const { signaturePath, signature } = await signChecksumFile(path, signer);
    assert.deepEqual(execFileSync('base64', ['-d', signaturePath]), signature);
    assert.deepEqual(execFileSync('openssl', ['base64', '-d', '-A', '-in', signaturePath]), signature);
    assert.deepEqual(execFileSync('openssl', ['base64', '-d', '-in', signaturePath]), signature);
  });

  it('rejects with INTEGRITY_IO when the checksum file cannot be read', async () => {
    await assert.rejects(signChecksumFile(join(dir, 'missing.sha256'), signer), { code: 'INTEGRITY_IO' });
  });
});

describe('verifySignature', () => {
  it('holds for the signing key and fails for altered data, another key or garbage', () => {
    const data = Buffer.from('checksums\n');
    const signature = signer.sign(data);
    assert.equal(verifySignature(data, signature, signer.certificatePem), true);
    assert.equal(verifySignature(Buffer.from('checksumz\n'), signature, signer.certificatePem), false);
    assert.equal(verifySignature(data, makeSigner('other').sign(data), signer.certificatePem), false);
    assert.equal(verifySignature(data, Buffer.from('short'), signer.certificatePem), false);
  });

  it('throws INTEGRITY_CERT_INVALID for a PEM that is no certificate', () => {
    assert.throws(() => verifySignature(Buffer.from('x'), Buffer.alloc(256), 'nonsense'), {
      code: 'INTEGRITY_CERT_INVALID',
    });
  });
});

describe('parseSignatureFile', () => {
  it('accepts one base64 line with or without the final line break, nothing else', () => {
    assert.deepEqual(parseSignatureFile('AQID\n'), Buffer.from([1, 2, 3]));
    assert.deepEqual(parseSignatureFile('AQID'), Buffer.from([1, 2, 3]));
    for (const bad of ['', '\n', 'AQ ID\n', 'AQID\nAQID\n', 'AQI\n', '!!!!\n', 'AQID\r\n']) {
      assert.equal(parseSignatureFile(bad), undefined, JSON.stringify(bad));
    }
  });
});
