/**
 * Checksum files (SPEC §5, §11): `<hex>  <name>` lines exactly as `shasum -a 256` prints them,
 * metadata first; streaming SHA-256 in constant memory; names shasum would escape (or that leave
 * the folder) are refused; the strict parser the verifier uses.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AppError } from '../../../src/errors.js';
import {
  checksumFileText,
  hashFiles,
  parseChecksumFile,
  sha256File,
  writeChecksumFile,
} from '../../../src/integrity/index.js';

let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'callrec-checksum-'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const HEX = 'a'.repeat(64);

describe('sha256File', () => {
  for (const size of [0, 1, 1 << 20, (1 << 20) + 1, 3 * (1 << 20) - 7]) {
    it(`hashes a file of ${size} bytes like crypto does over the whole buffer`, async () => {
      const data = randomBytes(size);
      const path = join(dir, `blob-${size}.bin`);
      await writeFile(path, data);
      assert.deepEqual(await sha256File(path), {
        sha256Hex: createHash('sha256').update(data).digest('hex'),
        size,
      });
    });
  }

  it('rejects a missing file with INTEGRITY_IO', async () => {
    await assert.rejects(sha256File(join(dir, 'nope.wav')), { code: 'INTEGRITY_IO' });
  });
});

describe('checksumFileText', () => {
  it('prints exactly what `shasum -a 256 <names>` prints, in the given order', async () => {
    const names = ['rec-1.json', 'rec-1-caller.wav', 'rec-1-callee.wav', 'rec-1 with space.wav'];
    for (const name of names) await writeFile(join(dir, name), randomBytes(1000));
    const { entries, bytes } = await hashFiles(dir, names);
    assert.equal(bytes, 4000);
    const expected = execFileSync('shasum', ['-a', '256', ...names], { cwd: dir, encoding: 'utf8' });
    assert.equal(checksumFileText(entries), expected);
    assert.equal(execFileSync('sha256sum', names, { cwd: dir, encoding: 'utf8' }), expected);
  });

  for (const name of ['../escape.wav', 'sub/dir.wav', 'back\\slash.wav', 'line\nbreak.wav', '', '..', '-n.wav']) {
    it(`refuses the name ${JSON.stringify(name)} with INTEGRITY_FILE_NAME`, () => {
      assert.throws(
        () => checksumFileText([{ name, sha256Hex: HEX }]),
        (error: unknown) => error instanceof AppError && error.code === 'INTEGRITY_FILE_NAME',
      );
    });
  }

  it('refuses a name listed twice and a digest that is not lower-case hex', () => {
    assert.throws(
      () =>
        checksumFileText([
          { name: 'a', sha256Hex: HEX },
          { name: 'a', sha256Hex: HEX },
        ]),
      {
        code: 'INTEGRITY_FILE_NAME',
      },
    );
    assert.throws(() => checksumFileText([{ name: 'a', sha256Hex: HEX.toUpperCase() }]), /hex/);
  });
});

describe('parseChecksumFile', () => {
  it('reads back what checksumFileText writes', () => {
    const entries = [
      { name: 'r.json', sha256Hex: HEX },
      { name: 'r.wav', sha256Hex: 'b'.repeat(64) },
    ];
    assert.deepEqual(parseChecksumFile(checksumFileText(entries)), { ok: true, entries });
  });

  const bad: Record<string, string> = {
    empty: '',
    'no final line break': `${HEX}  r.wav`,
    'one space': `${HEX} r.wav\n`,
    'binary-mode star': `${HEX} *r.wav\n`,
    'upper-case hex': `${HEX.toUpperCase()}  r.wav\n`,
    'short digest': `${HEX.slice(1)}  r.wav\n`,
    'CRLF line end': `${HEX}  r.wav\r\n`,
    'a path': `${HEX}  ../r.wav\n`,
    'shasum escape': `\\${HEX}  r\\nx.wav\n`,
    'an empty line': `${HEX}  r.wav\n\n`,
    'a duplicate': `${HEX}  r.wav\n${HEX}  r.wav\n`,
  };
  for (const [what, text] of Object.entries(bad)) {
    it(`refuses a checksum file with ${what}`, () => {
      const result = parseChecksumFile(text);
      assert.equal(result.ok, false);
    });
  }
});

describe('writeChecksumFile', () => {
  it('writes the text atomically with mode 0600 and returns the exact bytes', async () => {
    const path = join(dir, 'w.sha256');
    const bytes = await writeChecksumFile(path, [{ name: 'w.json', sha256Hex: HEX }]);
    assert.deepEqual(await readFile(path), bytes);
    assert.equal(bytes.toString(), `${HEX}  w.json\n`);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
  });
});
