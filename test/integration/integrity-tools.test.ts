/**
 * Issue 6 "Done when", checked with the real tools a compliance officer has, not our code:
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
import { mkdtemp, readdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { checksumFileText, parseChecksumFile, sha256File, signatureFileText } from '../../src/integrity/index.js';
import {
  run,
  VERIFY_SH,
  makeSigner,
  wav,
  tool,
  callrecVerify,
  root,
  certPath,
  good,
  ID,
  newLedger,
  recording,
  copyOfGood,
  useSealedFolder,
} from './integrity-tools-fixtures.js';

useSealedFolder();

describe('a sealed recording folder, checked with standard tools', () => {
  it('passes `shasum -a 256 -c` and `sha256sum -c`', async () => {
    const shasum = await tool('shasum', ['-a', '256', '-c', `${ID}.sha256`], { cwd: good });
    assert.equal(shasum.code, 0, shasum.stdout + shasum.stderr);
    assert.deepEqual(shasum.stdout.trim().split('\n'), [
      `${ID}.json: OK`,
      `${ID}-caller.wav: OK`,
      `${ID}-callee.wav: OK`,
    ]);
    assert.equal((await tool('sha256sum', ['-c', `${ID}.sha256`], { cwd: good })).code, 0);
  });

  it("verifies with `openssl dgst -sha256 -verify` and the certificate's public key: Verified OK", async () => {
    const work = await mkdtemp(join(root, 'openssl-'));
    await writeFile(
      join(work, 'pub.pem'),
      (await tool('openssl', ['x509', '-in', certPath, '-pubkey', '-noout'])).stdout,
    );
    const decoded = await run('base64', ['-d', join(good, `${ID}.sha256.SHA256withRSA.sig`)], { encoding: 'buffer' });
    await writeFile(join(work, 'sig.bin'), decoded.stdout);
    const verified = await tool('openssl', [
      'dgst',
      '-sha256',
      '-verify',
      join(work, 'pub.pem'),
      '-signature',
      join(work, 'sig.bin'),
      join(good, `${ID}.sha256`),
    ]);
    assert.equal(verified.stdout.trim(), 'Verified OK');
    assert.equal(verified.code, 0);
  });

  it('is accepted by callrec verify (exit 0) and bin/verify.sh (exit 0)', async () => {
    const ours = await callrecVerify(good, certPath);
    assert.equal(ours.code, 0, ours.output);
    assert.match(ours.output, new RegExp(`^OK ${ID}: 3 files match, signature valid$`, 'm'));
    const script = await tool(VERIFY_SH, [good, certPath]);
    assert.equal(script.code, 0, script.stdout + script.stderr);
    assert.match(script.stdout, new RegExp(`^OK ${ID}$`, 'm'));
  });
});

describe('tampering is rejected by callrec verify and bin/verify.sh', () => {
  const cases: Record<string, { mutate: (dir: string) => Promise<void>; ours: RegExp; script: RegExp }> = {
    'a flipped byte in a WAV': {
      mutate: async (dir) => {
        const path = join(dir, `${ID}-caller.wav`);
        const data = await readFile(path);
        data[1000] = (data[1000] ?? 0) ^ 0x01;
        await writeFile(path, data);
      },
      ours: /-caller\.wav does not match its checksum/,
      script: /-caller\.wav does not match its checksum/,
    },
    'a rewritten checksum file (hashes recomputed after changing a file)': {
      mutate: async (dir) => {
        const audio = join(dir, `${ID}-callee.wav`);
        const data = await readFile(audio);
        data.fill(0, 44, 1044); // silence a stretch of the conversation
        await writeFile(audio, data);
        const parsed = parseChecksumFile(await readFile(join(dir, `${ID}.sha256`), 'utf8'));
        assert.ok(parsed.ok);
        const entries = await Promise.all(
          parsed.entries.map(async (entry) => ({
            name: entry.name,
            sha256Hex: (await sha256File(join(dir, entry.name))).sha256Hex,
          })),
        );
        await writeFile(join(dir, `${ID}.sha256`), checksumFileText(entries));
        const recheck = await tool('shasum', ['-a', '256', '-c', `${ID}.sha256`], { cwd: dir });
        assert.equal(recheck.code, 0, 'the forged checksum file is self-consistent');
      },
      ours: /signature does not verify/,
      script: /signature does not verify/,
    },
    "a signature from another installation's key": {
      mutate: async (dir) => {
        const other = makeSigner('another-installation');
        const checksum = await readFile(join(dir, `${ID}.sha256`));
        await writeFile(join(dir, `${ID}.sha256.SHA256withRSA.sig`), signatureFileText(other.sign(checksum)));
      },
      ours: /signature does not verify/,
      script: /signature does not verify/,
    },
    'a missing file': {
      mutate: (dir) => unlink(join(dir, `${ID}-callee.wav`)),
      ours: /-callee\.wav is missing/,
      script: /-callee\.wav is missing/,
    },
    'an extra file': {
      mutate: (dir) => writeFile(join(dir, `${ID}-callee-2.wav`), wav(100, 9)),
      ours: /extra file .*-callee-2\.wav/,
      script: /extra file .*-callee-2\.wav/,
    },
    'a missing signature file': {
      mutate: (dir) => unlink(join(dir, `${ID}.sha256.SHA256withRSA.sig`)),
      ours: /no signature file/,
      script: /no signature file/,
    },
    'a checksum file listing a path outside the folder': {
      mutate: async (dir) => {
        await writeFile(join(dir, `${ID}.sha256`), `${'0'.repeat(64)}  ../${ID}.json\n`);
      },
      ours: /not in 'shasum|is not "<sha256-hex>|name "\.\.\//,
      script: /is not in shasum -a 256 form/,
    },
  };

  for (const [what, { mutate, ours, script }] of Object.entries(cases)) {
    it(`rejects ${what}`, async () => {
      const dir = await copyOfGood();
      await mutate(dir);
      const verdict = await callrecVerify(dir, certPath);
      assert.equal(verdict.code, 1, verdict.output);
      assert.match(verdict.output, new RegExp(`^FAIL ${ID}: .*${ours.source}`, 'm'));
      const shell = await tool(VERIFY_SH, [dir, certPath]);
      assert.equal(shell.code, 1, shell.stdout + shell.stderr);
      assert.match(shell.stdout, new RegExp(`^FAIL ${ID}: .*${script.source}`, 'm'));
    });
  }

  it('reports audio whose checksum and signature files were removed', async () => {
    const dir = await copyOfGood();
    await unlink(join(dir, `${ID}.sha256`));
    await unlink(join(dir, `${ID}.sha256.SHA256withRSA.sig`));
    await recording(dir, 'rec-other');
    const verdict = await callrecVerify(dir, certPath);
    assert.equal(verdict.code, 1);
    assert.match(verdict.output, new RegExp(`^FAIL ${ID}: .*not covered by any checksum file`, 'm'));
    const shell = await tool(VERIFY_SH, [dir, certPath]);
    assert.equal(shell.code, 1);
    assert.match(shell.stdout, new RegExp(`^FAIL ${ID}-caller\\.wav: not covered by any checksum file`, 'm'));
    assert.match(shell.stdout, /^OK rec-other$/m);
  });
});

describe('the chain', () => {
  it('reveals a recording removed from the middle of three', async () => {
    const dir = join(root, 'chain');
    const ledger = await newLedger();
    const ids = ['chain-a', 'chain-b', 'chain-c'];
    for (const id of ids) await recording(dir, id, { ledger });
    const intact = await callrecVerify(dir, certPath);
    assert.equal(intact.code, 0, intact.output);
    assert.match(intact.output, /^OK chain 7d4c2f1e-install: sequences 1\.\.3 linked$/m);

    for (const name of await readdir(dir)) if (name.startsWith('chain-b')) await unlink(join(dir, name));
    const removed = await callrecVerify(dir, certPath);
    assert.equal(removed.code, 1, removed.output);
    assert.match(
      removed.output,
      /^FAIL chain 7d4c2f1e-install: recording 2 missing from this folder \(between chain-a and chain-c\)$/m,
    );
    assert.match(removed.output, /^OK chain-a: /m);
    assert.match(removed.output, /^OK chain-c: /m);
  });
});

describe('signing: false', () => {
  it('produces neither checksum nor signature', async () => {
    const dir = join(root, 'unsigned');
    const summary = await recording(dir, 'plain', { signed: false });
    assert.equal(summary.signed, false);
    assert.deepEqual((await readdir(dir)).sort(), ['plain-callee.wav', 'plain-caller.wav', 'plain.json']);
  });
});
