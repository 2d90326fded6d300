import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AppError } from '../../../src/errors.js';
import { resolveSecret } from '../../../src/config/index.js';
import { dir, useTempDir } from './load-config-fixtures.js';

useTempDir();

describe('resolveSecret', () => {
  it('returns a literal secret as is', async () => {
    assert.equal(await resolveSecret('plain', dir), 'plain');
  });

  it('reads an environment variable', async () => {
    assert.equal(
      await resolveSecret({ env: 'CALLREC_TEST_SECRET' }, dir, { env: { CALLREC_TEST_SECRET: 'v4lue' } }),
      'v4lue',
    );
  });

  it('names a missing environment variable', async () => {
    await assert.rejects(resolveSecret({ env: 'CALLREC_TEST_UNSET' }, dir, { env: {} }), (error: unknown) => {
      assert.ok(error instanceof AppError);
      assert.equal(error.code, 'CONFIG_SECRET');
      assert.equal(error.message, 'environment variable CALLREC_TEST_UNSET is not set');
      return true;
    });
  });

  it('rejects an empty environment variable', async () => {
    await assert.rejects(resolveSecret({ env: 'X' }, dir, { env: { X: '' } }), { code: 'CONFIG_SECRET' });
  });

  it('reads a file relative to the base directory, without its trailing newline', async () => {
    await mkdir(join(dir, 'secrets'), { recursive: true });
    await writeFile(join(dir, 'secrets', 'smb'), 'p@ss word\n');
    assert.equal(await resolveSecret({ file: 'secrets/smb' }, dir), 'p@ss word');
  });

  it('names an unreadable file and never the value', async () => {
    const missing = join(dir, 'secrets', 'missing');
    await assert.rejects(resolveSecret({ file: 'secrets/missing' }, dir), (error: unknown) => {
      assert.ok(error instanceof AppError);
      assert.equal(error.code, 'CONFIG_SECRET');
      assert.equal(error.message, `cannot read secret file ${missing} (ENOENT)`);
      return true;
    });
  });

  it('rejects an empty secret file without printing its content', async () => {
    await writeFile(join(dir, 'empty-secret'), '\n');
    await assert.rejects(resolveSecret({ file: 'empty-secret' }, dir), (error: unknown) => {
      assert.ok(error instanceof AppError);
      assert.equal(error.message, `secret file ${join(dir, 'empty-secret')} is empty`);
      return true;
    });
  });
});
