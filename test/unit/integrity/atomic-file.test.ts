// Keystore requirements (SPEC §5, §11; issue 6), here writeFileAtomic that writes the keystore:
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
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { writeFileAtomic } from '../../../src/integrity/atomic-file.js';
import { root, freshDir, rejectsWith, useTempRoot } from './key-store-fixtures.js';

useTempRoot();

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
