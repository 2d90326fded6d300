/**
 * The local target (SPEC §6, `type: "local"`): nested folders created 0750, uploads through a
 * temporary name in the same folder and a rename (a leftover temporary is replaced), read-back
 * by hashing, size/list/delete, and paths that cannot leave the root.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LocalTarget, temporaryName } from '../../../src/archive/index.js';
import { AppError } from '../../../src/errors.js';

let dir: string;
let counter = 0;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'callrec-local-target-'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A fresh root folder and a local source file with `content`. */
async function setup(content = 'RIFF....WAVE'): Promise<{ root: string; source: string; target: LocalTarget }> {
  const n = ++counter;
  const root = join(dir, `root-${n}`);
  await mkdir(root);
  const source = join(dir, `source-${n}.wav`);
  await writeFile(source, content);
  return { root, source, target: new LocalTarget({ id: 'mounted', root }) };
}

async function rejectsWith(promise: Promise<unknown>, code: string, retriable?: boolean): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof AppError, String(error));
    assert.equal(error.code, code);
    if (retriable !== undefined) assert.equal(error.retriable, retriable);
    return true;
  });
}

describe('LocalTarget', () => {
  it('creates nested folders with mode 0750, idempotently', async () => {
    const { root, target } = await setup();
    await target.ensureFolder('2024/06/Record-2024_06_01');
    await target.ensureFolder('2024/06/Record-2024_06_01');
    for (const folder of ['2024', '2024/06', '2024/06/Record-2024_06_01']) {
      const info = await stat(join(root, folder));
      assert.ok(info.isDirectory());
      assert.equal(info.mode & 0o777 & ~process.umask(), 0o750 & ~process.umask());
    }
  });

  it('uploads a file under its name, leaving no temporary, and hashes it back', async () => {
    const { root, source, target } = await setup('hello archive');
    await target.ensureFolder('a/b');
    await target.upload(source, 'a/b', 'rec-1.wav');
    assert.equal(await readFile(join(root, 'a/b/rec-1.wav'), 'utf8'), 'hello archive');
    assert.deepEqual(await target.list('a/b'), ['rec-1.wav']);
    assert.equal(await target.sha256('a/b', 'rec-1.wav'), createHash('sha256').update('hello archive').digest('hex'));
    assert.equal(await target.size('a/b', 'rec-1.wav'), 13);
    assert.equal((await stat(join(root, 'a/b/rec-1.wav'))).mode & 0o777, 0o640);
  });

  it('replaces an earlier copy and a temporary an interrupted upload left', async () => {
    const { root, source, target } = await setup('new content');
    await target.ensureFolder('f');
    await writeFile(join(root, 'f', 'rec.wav'), 'old');
    await writeFile(join(root, 'f', temporaryName('rec.wav')), 'partial garbage from a crash');
    await target.upload(source, 'f', 'rec.wav');
    assert.deepEqual(await target.list('f'), ['rec.wav']);
    assert.equal(await readFile(join(root, 'f', 'rec.wav'), 'utf8'), 'new content');
  });

  it('answers undefined / [] for what is missing and deletes idempotently', async () => {
    const { source, target } = await setup();
    assert.equal(await target.sha256('nowhere', 'x.wav'), undefined);
    assert.equal(await target.size('nowhere', 'x.wav'), undefined);
    assert.deepEqual(await target.list('nowhere'), []);
    await target.ensureFolder('f');
    await target.upload(source, 'f', 'x.wav');
    await target.delete('f', 'x.wav');
    await target.delete('f', 'x.wav');
    assert.deepEqual(await target.list('f'), []);
  });

  it('puts uploads into the root for the "" folder', async () => {
    const { root, source, target } = await setup('root file');
    await target.ensureFolder('');
    await target.upload(source, '', 'r.json');
    assert.equal(await readFile(join(root, 'r.json'), 'utf8'), 'root file');
  });

  it('refuses folders and names that would leave the root', async () => {
    const { source, target } = await setup();
    await rejectsWith(target.ensureFolder('../escape'), 'ARCHIVE_PATH');
    await rejectsWith(target.ensureFolder('/etc'), 'ARCHIVE_PATH');
    await rejectsWith(target.upload(source, 'ok', '../x.wav'), 'ARCHIVE_PATH');
    await rejectsWith(target.sha256('a/../..', 'x'), 'ARCHIVE_PATH');
  });

  it('fails retriably when the root is missing (an unmounted share) and creates nothing', async () => {
    const root = join(dir, `unmounted-${++counter}`);
    const target = new LocalTarget({ id: 'nas', root });
    await rejectsWith(target.ensureFolder('2024'), 'ARCHIVE_CONNECT', true);
    await assert.rejects(stat(root));
  });

  it('fails without retry for a missing local file and leaves no temporary behind', async () => {
    const { target } = await setup();
    await target.ensureFolder('f');
    await rejectsWith(target.upload(join(dir, 'does-not-exist.wav'), 'f', 'x.wav'), 'ARCHIVE_IO', false);
    assert.deepEqual(await target.list('f'), []);
  });

  it('requires an absolute root and rejects calls after close', async () => {
    assert.throws(() => new LocalTarget({ id: 'x', root: 'relative/dir' }), /not absolute/);
    const { target } = await setup();
    await target.close();
    await target.close();
    await rejectsWith(target.ensureFolder('f'), 'ARCHIVE_IO');
  });
});
