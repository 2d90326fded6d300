/**
 * Issue 6 "Done when", checked with the real tools a compliance officer has; here bin/verify.sh:
 *  - `shasum -a 256 -c <id>.sha256` (and `sha256sum -c`) pass in a produced recording folder;
 *  - `openssl dgst -sha256 -verify <public key of the certificate>` says `Verified OK`;
 *  - `callrec verify` (runVerifyCommand) and `bin/verify.sh` accept the good folder and reject a
 *    flipped byte in a WAV, a rewritten checksum file, a signature from another installation's
 *    key, a missing file and an extra file;
 *  - a chain of three recordings with the middle one deleted is reported as a missing recording;
 *  - `signing: false` produces neither checksum nor signature;
 *  - RFC 3161: a local TSA (`openssl ts -reply`) time-stamps the checksum file, and
 *    `openssl ts -verify` accepts the stored `<id>.sha256.tsr`.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { signatureFileText } from '../../src/integrity/index.js';
import {
  VERIFY_SH,
  makeSigner,
  tool,
  root,
  signer,
  certPath,
  good,
  ID,
  newLedger,
  recording,
  copyOfGood,
  useSealedFolder,
} from './integrity-tools-fixtures.js';

useSealedFolder();

describe('bin/verify.sh', () => {
  it('exits 2 for usage errors, a missing folder and a file that is no certificate', async () => {
    assert.equal((await tool(VERIFY_SH, [])).code, 2);
    assert.equal((await tool(VERIFY_SH, [join(root, 'nowhere'), certPath])).code, 2);
    assert.equal((await tool(VERIFY_SH, [good, join(root, 'missing.pem')])).code, 2);
    const junk = join(root, 'junk.pem');
    await writeFile(junk, 'junk');
    assert.equal((await tool(VERIFY_SH, [good, junk])).code, 2);
  });

  const toolsets: Record<string, string[]> = {
    'only sha256sum and openssl base64 (no shasum, no base64)': ['sha256sum'],
    'only shasum and base64 (no sha256sum)': ['shasum', 'base64'],
  };
  for (const [what, extra] of Object.entries(toolsets)) {
    it(`works with ${what}, and leaves no temp files`, async () => {
      const bin = await mkdtemp(join(root, 'minimal-bin-'));
      const common = ['sh', 'awk', 'sed', 'grep', 'tail', 'tr', 'mktemp', 'rm', 'cat', 'openssl'];
      for (const name of [...common, ...extra]) {
        const path = execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
        await symlink(path, join(bin, name));
      }
      const tmp = await mkdtemp(join(root, 'tmpdir-'));
      const env = { PATH: bin, TMPDIR: tmp };
      const ok = await tool(join(bin, 'sh'), [VERIFY_SH, good, certPath], { env });
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      const bad = await copyOfGood();
      const wavPath = join(bad, `${ID}-callee.wav`);
      const data = await readFile(wavPath);
      data[50] = (data[50] ?? 0) ^ 0x80;
      await writeFile(wavPath, data);
      await writeFile(
        join(bad, `${ID}.sha256.SHA256withRSA.sig`),
        signatureFileText(makeSigner('x').sign(Buffer.from('y'))),
      );
      const failed = await tool(join(bin, 'sh'), [VERIFY_SH, bad, certPath], { env });
      assert.equal(failed.code, 1, failed.stdout + failed.stderr);
      assert.match(failed.stdout, /-callee\.wav does not match its checksum .*; signature does not verify/);
      assert.deepEqual(await readdir(tmp), [], 'mktemp -d folder removed by the trap');
    });
  }

  it('checks signed ledger checkpoints in the folder', async () => {
    const dir = await copyOfGood();
    const ledger = await newLedger();
    await recording(dir, 'cp-1', { ledger });
    const checkpoint = await ledger.checkpoint(signer);
    await cp(checkpoint.path, join(dir, checkpoint.fileName));
    await cp(checkpoint.signaturePath, join(dir, `${checkpoint.fileName}.SHA256withRSA.sig`));
    const shell = await tool(VERIFY_SH, [dir, certPath]);
    assert.equal(shell.code, 0, shell.stdout + shell.stderr);
    assert.match(shell.stdout, /^OK checkpoint-1\.json: signature valid \(chain head 1\)$/m);
    await writeFile(
      join(dir, checkpoint.fileName),
      (await readFile(join(dir, checkpoint.fileName), 'utf8')).replace('"sequence": 1', '"sequence": 0'),
    );
    assert.equal((await tool(VERIFY_SH, [dir, certPath])).code, 1);
  });
});
