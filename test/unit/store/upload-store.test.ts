/**
 * The upload queue in the database (SPEC §6, migration 005-uploads): one row per recording and
 * target that survives reopening; claims are atomic and honour the due time and the limit;
 * failures keep their error and next attempt; a crash's `uploading` rows come back as pending;
 * `uploads status` and `uploads retry` work per target.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AppError } from '../../../src/errors.js';
import {
  MIGRATIONS,
  migrationLabel,
  openDatabase,
  SqliteUploadStore,
  type SqliteDatabase,
  type UploadRequest,
} from '../../../src/store/index.js';

let root: string;
let counter = 0;
const open: SqliteDatabase[] = [];

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'callrec-upload-store-'));
});

after(async () => {
  await Promise.all(open.map((db) => db.close()));
  await rm(root, { recursive: true, force: true });
});

function freshPath(): string {
  return join(root, `uploads-${++counter}.db`);
}

async function database(path = freshPath()): Promise<SqliteDatabase> {
  const db = await openDatabase(path);
  open.push(db);
  return db;
}

const T0 = new Date('2024-06-01T10:00:00.000Z');
const at = (seconds: number): Date => new Date(T0.getTime() + seconds * 1000);

function request(id: string, targets = ['nas', 'sftp']): UploadRequest {
  return {
    recordingId: id,
    dir: `/var/callrec/recordings/${id}`,
    profile: 'trading',
    start: '2024-06-01T09:59:00+02:00',
    targets: targets.map((targetId) => ({ targetId, folder: `${targetId}/2024/06` })),
  };
}

async function conflict(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof AppError);
    assert.equal(error.code, 'STORE_CONFLICT');
    assert.match(error.message, pattern);
    return true;
  });
}

describe('migration 005-uploads', () => {
  it('is the fifth step and creates recordings and uploads', async () => {
    assert.equal(migrationLabel(MIGRATIONS[4]!), '005-uploads');
    const db = await database();
    const tables = await db.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'");
    for (const table of ['recordings', 'uploads'])
      assert.ok(
        tables.some((t) => t.name === table),
        table,
      );
  });
});

describe('SqliteUploadStore', () => {
  it('queues a pending row per target, due at once, and keeps existing rows on a second enqueue', async () => {
    const store = new SqliteUploadStore(await database());
    await store.enqueue(request('rec-1'), T0);
    await store.enqueue(request('rec-1'), at(99));
    const rows = await store.uploadsOf('rec-1');
    assert.deepEqual(
      rows.map((r) => [r.targetId, r.state, r.attempts, r.folder, r.dir, r.nextAttemptAt]),
      [
        ['nas', 'pending', 0, 'nas/2024/06', '/var/callrec/recordings/rec-1', T0.toISOString()],
        ['sftp', 'pending', 0, 'sftp/2024/06', '/var/callrec/recordings/rec-1', T0.toISOString()],
      ],
    );
  });

  it('claims due rows of one target atomically, up to the limit, oldest first, counting an attempt', async () => {
    const store = new SqliteUploadStore(await database());
    await store.enqueue(request('rec-a'), at(0));
    await store.enqueue(request('rec-b'), at(1));
    await store.enqueue(request('rec-c'), at(2));
    assert.deepEqual(await store.claimDue('nas', at(-1), 5), [], 'nothing is due before it was queued');
    const [first, second] = await Promise.all([store.claimDue('nas', at(10), 2), store.claimDue('nas', at(10), 2)]);
    assert.deepEqual(
      first?.map((j) => [j.recordingId, j.state, j.attempts]),
      [
        ['rec-a', 'uploading', 1],
        ['rec-b', 'uploading', 1],
      ],
    );
    assert.deepEqual(
      second?.map((j) => j.recordingId),
      ['rec-c'],
    );
    assert.deepEqual(await store.claimDue('nas', at(10), 2), []);
    assert.equal((await store.claimDue('sftp', at(10), 10)).length, 3, 'other targets are independent');
    assert.deepEqual(await store.claimDue('nas', at(10), 0), []);
  });

  it('keeps a failure with its error and next attempt, and claims it again only when due', async () => {
    const store = new SqliteUploadStore(await database());
    await store.enqueue(request('rec-1', ['nas']), T0);
    await store.claimDue('nas', T0, 1);
    await store.markFailed('rec-1', 'nas', 'ARCHIVE_CONNECT: connection refused', at(60), at(1));
    const [row] = await store.uploadsOf('rec-1');
    assert.equal(row?.state, 'failed');
    assert.equal(row?.lastError, 'ARCHIVE_CONNECT: connection refused');
    assert.equal(row?.nextAttemptAt, at(60).toISOString());
    assert.deepEqual(await store.claimDue('nas', at(59), 1), []);
    const [again] = await store.claimDue('nas', at(60), 1);
    assert.equal(again?.attempts, 2);
    await store.markDone('rec-1', 'nas', at(61));
    const [done] = await store.uploadsOf('rec-1');
    assert.equal(done?.state, 'done');
    assert.equal(done?.doneAt, at(61).toISOString());
    assert.equal(done?.lastError, null);
    assert.equal(await store.allDone('rec-1'), true);
  });

  it('accepts state changes only of uploading rows', async () => {
    const store = new SqliteUploadStore(await database());
    await store.enqueue(request('rec-1', ['nas']), T0);
    await conflict(store.markDone('rec-1', 'nas', T0), /is pending, not uploading/);
    await conflict(store.markFailed('rec-1', 'smb', 'x', T0, T0), /no upload of recording rec-1 to smb/);
  });

  it('puts uploads a crash left uploading back to pending, due at once', async () => {
    const path = freshPath();
    const before = new SqliteUploadStore(await database(path));
    await before.enqueue(request('rec-1'), T0);
    await before.claimDue('nas', T0, 1);
    const reopened = new SqliteUploadStore(await database(path));
    assert.equal(await reopened.resetInterrupted(at(300)), 1);
    const rows = await reopened.uploadsOf('rec-1');
    assert.deepEqual(
      rows.map((r) => [r.targetId, r.state, r.attempts]),
      [
        ['nas', 'pending', 1],
        ['sftp', 'pending', 0],
      ],
    );
    assert.equal((await reopened.claimDue('nas', at(300), 1)).length, 1);
  });

  it('reports per target: counts, oldest not done, last error, next attempt', async () => {
    const store = new SqliteUploadStore(await database());
    await store.enqueue(request('rec-1'), at(0));
    await store.enqueue(request('rec-2'), at(10));
    await store.claimDue('nas', at(20), 2);
    await store.markDone('rec-1', 'nas', at(21));
    await store.markFailed('rec-2', 'nas', 'ARCHIVE_AUTH: logon failure', at(120), at(22));
    await store.claimDue('sftp', at(20), 1);
    assert.deepEqual(await store.status(), [
      {
        targetId: 'nas',
        pending: 0,
        uploading: 0,
        failed: 1,
        done: 1,
        oldestPendingSince: at(10).toISOString(),
        lastError: 'ARCHIVE_AUTH: logon failure',
        lastErrorAt: at(22).toISOString(),
        nextAttemptAt: at(120).toISOString(),
      },
      {
        targetId: 'sftp',
        pending: 1,
        uploading: 1,
        failed: 0,
        done: 0,
        oldestPendingSince: at(0).toISOString(),
        lastError: null,
        lastErrorAt: null,
        nextAttemptAt: null,
      },
    ]);
  });

  it('retries failed uploads now, of one target or all', async () => {
    const store = new SqliteUploadStore(await database());
    await store.enqueue(request('rec-1'), T0);
    for (const target of ['nas', 'sftp']) {
      await store.claimDue(target, T0, 1);
      await store.markFailed('rec-1', target, 'down', at(3600), T0);
    }
    assert.equal(await store.retryAll(at(5), 'nas'), 1);
    assert.deepEqual(
      (await store.claimDue('nas', at(5), 1)).map((j) => j.attempts),
      [2],
    );
    assert.deepEqual(await store.claimDue('sftp', at(5), 1), []);
    assert.equal(await store.retryAll(at(6)), 1);
    assert.equal((await store.claimDue('sftp', at(6), 1)).length, 1);
  });

  it('knows when every target has a recording and archives it exactly once', async () => {
    const store = new SqliteUploadStore(await database());
    assert.equal(await store.allDone('unknown'), false);
    await store.enqueue(request('rec-1'), T0);
    await store.claimDue('nas', T0, 1);
    await store.markDone('rec-1', 'nas', T0);
    assert.equal(await store.allDone('rec-1'), false);
    assert.deepEqual(await store.archivable(), []);
    await store.claimDue('sftp', T0, 1);
    await store.markDone('rec-1', 'sftp', T0);
    assert.equal(await store.allDone('rec-1'), true);
    assert.deepEqual(await store.archivable(), [{ recordingId: 'rec-1', dir: '/var/callrec/recordings/rec-1' }]);
    assert.equal(await store.markArchived('rec-1', true, at(1)), true);
    assert.equal(await store.markArchived('rec-1', true, at(2)), false);
    assert.deepEqual(await store.archivable(), []);
    await conflict(store.markArchived('nope', false), /never queued/);
  });

  it('rejects invalid times with STORE_QUERY', async () => {
    const store = new SqliteUploadStore(await database());
    await assert.rejects(store.enqueue({ ...request('x'), start: 'yesterday' }), { code: 'STORE_QUERY' });
    await assert.rejects(store.claimDue('nas', new Date('nope'), 1), { code: 'STORE_QUERY' });
  });
});
