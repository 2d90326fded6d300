/**
 * `<dataDir>/callrec.pid` (issue 10): one callrec process per data directory. A live holder makes
 * a second acquisition fail with a message naming it; a lock left by a dead process (kill -9) or
 * by a pid now used by another process is taken over; release removes only its own lock.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  acquireDataDirLock,
  DATA_DIR_LOCK_FILE,
  dataDirLockHolder,
  DataDirLockedError,
} from '../../../src/cli/data-dir-lock.js';

let root: string;
let counter = 0;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'callrec-lock-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});
const freshDir = (): string => join(root, `data-${counter++}`);

/** The pid of a process that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  const pid = child.pid;
  assert.ok(pid !== undefined);
  await new Promise((resolve) => child.once('exit', resolve));
  return pid;
}

describe('data directory lock', () => {
  it('creates the data directory and a 0600 lock naming this process', async () => {
    const dataDir = freshDir();
    const lock = await acquireDataDirLock(dataDir, 'run');
    const path = join(dataDir, DATA_DIR_LOCK_FILE);
    assert.equal(lock.path, path);
    const holder = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
    assert.equal(holder['pid'], process.pid);
    assert.equal(holder['command'], 'run');
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.equal((await dataDirLockHolder(dataDir))?.pid, process.pid);
    await lock.release();
    await assert.rejects(stat(path), { code: 'ENOENT' });
    assert.equal(await dataDirLockHolder(dataDir), undefined);
  });

  it('refuses a second holder while the first is alive, naming it', async () => {
    const dataDir = freshDir();
    const first = await acquireDataDirLock(dataDir, 'run');
    await assert.rejects(acquireDataDirLock(dataDir, 'recover'), (error) => {
      assert.ok(error instanceof DataDirLockedError);
      assert.equal(error.holder.pid, process.pid);
      assert.match(error.message, new RegExp(`in use by another callrec \\(pid ${process.pid}, "callrec run" since `));
      return true;
    });
    await first.release();
    const second = await acquireDataDirLock(dataDir, 'recover');
    await second.release();
  });

  it('takes over a lock left by a process that is gone (kill -9, power loss)', async () => {
    const dataDir = freshDir();
    const first = await acquireDataDirLock(dataDir, 'run');
    const path = first.path;
    const pid = await deadPid();
    await writeFile(path, JSON.stringify({ pid, startTicks: null, command: 'run', since: '2020-01-01T00:00:00.000Z' }));
    const lock = await acquireDataDirLock(dataDir, 'run');
    assert.equal((JSON.parse(await readFile(path, 'utf8')) as { pid: number }).pid, process.pid);
    await lock.release();
  });

  it('takes over a lock whose pid now belongs to another process (different start time)', async () => {
    const dataDir = freshDir();
    const lock = await acquireDataDirLock(dataDir, 'run');
    await writeFile(
      lock.path,
      JSON.stringify({ pid: process.pid, startTicks: '1', command: 'run', since: '2020-01-01T00:00:00.000Z' }),
    );
    const again = await acquireDataDirLock(dataDir, 'run');
    assert.equal(again.holder.pid, process.pid);
    await again.release();
  });

  it('takes over an unreadable lock file', async () => {
    const dataDir = freshDir();
    const lock = await acquireDataDirLock(dataDir, 'run');
    await writeFile(lock.path, 'not json at all');
    const again = await acquireDataDirLock(dataDir, 'run');
    await again.release();
    await assert.rejects(stat(lock.path), { code: 'ENOENT' });
  });

  it('release leaves a lock that another process took over in the meantime, and is idempotent', async () => {
    const dataDir = freshDir();
    const lock = await acquireDataDirLock(dataDir, 'run');
    const foreign = JSON.stringify({ pid: 1, startTicks: null, command: 'run', since: '2020-01-01T00:00:00.000Z' });
    await writeFile(lock.path, foreign);
    await lock.release();
    await lock.release();
    assert.equal(await readFile(lock.path, 'utf8'), foreign);
  });
});
