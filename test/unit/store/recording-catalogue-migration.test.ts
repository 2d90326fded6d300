/**
 * Migrations 006-recording-lifecycle and 007-disposal-log on a version-5 database (the upload
 * queue's `recordings`): spooled and archived rows keep their state, get their parties and
 * direction from `calls`, carry no retention period (kept), and work as catalogue rows; the state
 * trigger refuses an unknown state written behind the store.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  MIGRATIONS,
  openDatabase,
  schemaVersion,
  SqliteCallStore,
  SqliteRecordingStore,
  SqliteUploadStore,
  type SqliteDatabase,
} from '../../../src/store/index.js';

let root: string;
let counter = 0;
const open: SqliteDatabase[] = [];

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'callrec-catalogue-migration-'));
});

after(async () => {
  await Promise.all(open.map((db) => db.close()));
  await rm(root, { recursive: true, force: true });
});

async function database(path = join(root, `catalogue-${++counter}.db`)): Promise<SqliteDatabase> {
  const db = await openDatabase(path);
  open.push(db);
  return db;
}

const NOW = new Date('2024-06-01T12:00:00.000Z');

function catalogue(db: SqliteDatabase): SqliteRecordingStore {
  return new SqliteRecordingStore(db, { now: () => NOW });
}

describe('migration from a version-5 database', () => {
  it('keeps spooled and archived rows, fills their parties from calls, and they work as catalogue rows', async () => {
    const path = join(root, `v5-${++counter}.db`);
    const v5 = await openDatabase(path, { migrations: MIGRATIONS.slice(0, 5) });
    assert.equal(await schemaVersion(v5), 5);
    const uploads = new SqliteUploadStore(v5, { now: () => NOW });
    await new SqliteCallStore(v5).recordCallStart({
      id: 'old1',
      direction: 'outbound',
      callIdA: 'a@x',
      caller: '201',
      callee: '+4940555',
      decisionProfile: 'trading',
      decisionReason: 'user',
      startedAt: '2024-01-01T09:59:00Z',
    });
    for (const id of ['old1', 'old2']) {
      await uploads.enqueue({
        recordingId: id,
        dir: `/var/callrec/recordings/${id}`,
        profile: 'trading',
        start: '2024-01-01T10:00:00Z',
        targets: [{ targetId: 'nas', folder: 'Rec/2024' }],
      });
    }
    await uploads.claimDue('nas', NOW, 1);
    await uploads.markDone('old1', 'nas', NOW);
    assert.equal(await uploads.markArchived('old1', true, NOW), true);
    await v5.close();

    const db = await database(path);
    assert.equal(await schemaVersion(db), MIGRATIONS.length);
    const store = catalogue(db);
    const old1 = await store.find('old1');
    assert.deepEqual(
      [old1?.state, old1?.direction, old1?.caller, old1?.callee, old1?.retentionDays, old1?.statutory, old1?.hold],
      ['archived', 'outbound', '201', '+4940555', null, false, null],
    );
    assert.equal(old1?.localRemovedAt, NOW.toISOString());
    const old2 = await store.find('old2');
    assert.deepEqual([old2?.state, old2?.caller, old2?.direction], ['spooled', null, null]);
    assert.deepEqual(
      (await store.list({ numbers: ['+4940555'] })).map((r) => r.id),
      ['old1'],
    );
    await store.hold('old2', 'case', 'cli:alice');
    await store.markDeleted('old1', 'retention');
    assert.equal((await store.find('old1'))?.state, 'deleted');
    assert.deepEqual(await store.dueForRetention('2100-01-01T00:00:00Z'), [], 'no retention period: kept');
  });

  it('refuses an unknown state written behind the store', async () => {
    const db = await database();
    const store = catalogue(db);
    await store.register({
      id: 'r1',
      dir: '/x',
      profile: null,
      direction: 'inbound',
      caller: null,
      callee: null,
      start: '2024-06-01T10:00:00Z',
      retentionDays: null,
      statutory: false,
    });
    await assert.rejects(db.run("UPDATE recordings SET state = 'lost' WHERE id = 'r1'"), /unknown state/);
  });
});
