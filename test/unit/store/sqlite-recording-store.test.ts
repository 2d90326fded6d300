/**
 * The recording catalogue (SPEC §7, migrations 006-recording-lifecycle and 007-disposal-log): one
 * row per recording from its start; transitions recording → finalizing → spooled (→ archived by the
 * upload store) → deleted, each refusing the wrong state; a legal hold blocks deletion; list
 * filters by time, numbers and state; retention due dates are exact to the millisecond. (Migration
 * from a version-5 database: recording-catalogue-migration.test.ts.)
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AppError } from '../../../src/errors.js';
import {
  openDatabase,
  SqliteCallStore,
  SqliteRecordingStore,
  SqliteUploadStore,
  type RecordingStart,
  type SqliteDatabase,
} from '../../../src/store/index.js';

let root: string;
let counter = 0;
const open: SqliteDatabase[] = [];

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'callrec-recording-store-'));
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

async function catalogue(db?: SqliteDatabase): Promise<SqliteRecordingStore> {
  return new SqliteRecordingStore(db ?? (await database()), { now: () => NOW });
}

function start(id: string, overrides: Partial<RecordingStart> = {}): RecordingStart {
  return {
    id,
    dir: `/var/callrec/recordings/${id}`,
    profile: 'trading',
    direction: 'inbound',
    caller: '+4930111',
    callee: '+4930222',
    start: '2024-06-01T10:00:00.000Z',
    retentionDays: 30,
    statutory: false,
    ...overrides,
  };
}

/** Expects a rejection with `code` whose message matches `pattern`. */
async function rejectsWith(promise: Promise<unknown>, code: string, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof AppError, String(error));
    assert.equal(error.code, code);
    assert.match(error.message, pattern);
    return true;
  });
}

/** Registers `id` and brings it to `spooled`. */
async function spooled(
  store: SqliteRecordingStore,
  id: string,
  overrides: Partial<RecordingStart> = {},
): Promise<void> {
  await store.register(start(id, overrides));
  await store.markFinalizing(id, '2024-06-01T10:05:00Z', 'caller hung up');
  assert.equal(await store.markSpooled(id), true);
}

describe('SqliteRecordingStore: register and transitions', () => {
  it('registers a recording in state recording with its facts, times in UTC', async () => {
    const store = await catalogue();
    await store.register(start('r1', { start: '2024-06-01T12:00:00+02:00', statutory: true }));
    const row = await store.find('r1');
    assert.deepEqual(row, {
      id: 'r1',
      dir: '/var/callrec/recordings/r1',
      profile: 'trading',
      direction: 'inbound',
      caller: '+4930111',
      callee: '+4930222',
      start: '2024-06-01T10:00:00.000Z',
      end: null,
      endReason: null,
      state: 'recording',
      retentionDays: 30,
      statutory: true,
      hold: null,
      archivedAt: null,
      localRemovedAt: null,
      deletedAt: null,
      deletionReason: null,
    });
  });

  it('is idempotent for the same id and keeps the first registration', async () => {
    const store = await catalogue();
    await store.register(start('r1'));
    await store.register(start('r1', { profile: 'other', caller: '+49999' }));
    const row = await store.find('r1');
    assert.equal(row?.profile, 'trading');
    assert.equal(row?.caller, '+4930111');
  });

  it('takes unknown parties from the call row, at registration and at later transitions', async () => {
    const db = await database();
    const store = await catalogue(db);
    const calls = new SqliteCallStore(db);
    const call = {
      direction: 'inbound' as const,
      callIdA: 'a@x',
      caller: '+4930333',
      callee: '201',
      decisionProfile: 'trading',
      decisionReason: 'group',
      startedAt: '2024-06-01T10:00:00Z',
    };
    await calls.recordCallStart({ ...call, id: 'early' });
    await store.register(start('early', { caller: null, callee: null }));
    assert.deepEqual([(await store.find('early'))?.caller, (await store.find('early'))?.callee], ['+4930333', '201']);
    await store.register(start('late', { caller: null, callee: null }));
    assert.equal((await store.find('late'))?.caller, null);
    await calls.recordCallStart({ ...call, id: 'late' });
    await store.markFinalizing('late', '2024-06-01T10:01:00Z', 'bye');
    assert.deepEqual([(await store.find('late'))?.caller, (await store.find('late'))?.callee], ['+4930333', '201']);
  });

  it('rejects a negative or fractional retention and bad times', async () => {
    const store = await catalogue();
    await rejectsWith(store.register(start('r1', { retentionDays: -1 })), 'STORE_QUERY', /retentionDays/);
    await rejectsWith(store.register(start('r1', { retentionDays: 1.5 })), 'STORE_QUERY', /retentionDays/);
    await rejectsWith(store.register(start('r1', { start: 'yesterday' })), 'STORE_QUERY', /start/);
    assert.equal(await store.find('r1'), undefined);
  });

  it('moves recording → finalizing → spooled, setting the end once', async () => {
    const store = await catalogue();
    await store.register(start('r1'));
    await store.markFinalizing('r1', '2024-06-01T10:05:00+00:00', 'caller hung up');
    await store.markFinalizing('r1', '2024-06-01T10:09:00Z', 'again'); // a repeat is a no-op
    let row = await store.find('r1');
    assert.deepEqual(
      [row?.state, row?.end, row?.endReason],
      ['finalizing', '2024-06-01T10:05:00.000Z', 'caller hung up'],
    );
    assert.equal(await store.markSpooled('r1'), true);
    row = await store.find('r1');
    assert.deepEqual([row?.state, row?.end, row?.endReason], ['spooled', '2024-06-01T10:05:00.000Z', 'caller hung up']);
    assert.equal(await store.markSpooled('r1'), false, 'already past finalizing');
  });

  it('marks a recording spooled straight from recording with the end given (recovery)', async () => {
    const store = await catalogue();
    await store.register(start('r1'));
    assert.equal(await store.markSpooled('r1', { at: '2024-06-01T11:00:00Z', reason: 'recovered' }), true);
    const row = await store.find('r1');
    assert.deepEqual([row?.state, row?.end, row?.endReason], ['spooled', '2024-06-01T11:00:00.000Z', 'recovered']);
  });

  it('refuses transitions of unknown recordings and from the wrong state', async () => {
    const store = await catalogue();
    await rejectsWith(store.markFinalizing('nope', '2024-06-01T10:00:00Z', 'x'), 'STORE_CONFLICT', /no recording nope/);
    await rejectsWith(store.markSpooled('nope'), 'STORE_CONFLICT', /no recording nope/);
    await spooled(store, 'r1');
    await rejectsWith(store.markFinalizing('r1', '2024-06-01T10:00:00Z', 'x'), 'STORE_CONFLICT', /r1 is spooled/);
  });

  it('lists unfinished recordings (recording, finalizing) oldest first', async () => {
    const store = await catalogue();
    await store.register(start('b', { start: '2024-06-01T10:02:00Z' }));
    await store.register(start('a', { start: '2024-06-01T10:01:00Z' }));
    await spooled(store, 'c');
    await store.markFinalizing('b', '2024-06-01T10:03:00Z', 'bye');
    assert.deepEqual(
      (await store.unfinished()).map((row) => [row.id, row.state]),
      [
        ['a', 'recording'],
        ['b', 'finalizing'],
      ],
    );
  });
});

describe('SqliteRecordingStore: legal hold and deletion', () => {
  it('holds with reason, time and actor; a second hold replaces only the reason', async () => {
    const store = await catalogue();
    await spooled(store, 'r1');
    const held = await store.hold('r1', 'case 4711', 'cli:alice');
    assert.deepEqual(held.hold, { reason: 'case 4711', since: NOW.toISOString(), by: 'cli:alice' });
    const again = await store.hold('r1', 'case 4711 and 4712', 'cli:bob', '2024-07-01T00:00:00Z');
    assert.deepEqual(again.hold, { reason: 'case 4711 and 4712', since: NOW.toISOString(), by: 'cli:alice' });
  });

  it('refuses a hold without reason, of an unknown or a deleted recording', async () => {
    const store = await catalogue();
    await spooled(store, 'r1');
    await rejectsWith(store.hold('r1', '  ', 'cli:alice'), 'STORE_QUERY', /reason/);
    await rejectsWith(store.hold('nope', 'x', 'cli:alice'), 'STORE_CONFLICT', /no recording nope/);
    await store.markDeleted('r1', 'retention');
    await rejectsWith(store.hold('r1', 'x', 'cli:alice'), 'STORE_CONFLICT', /r1 is deleted/);
  });

  it('releases a hold, false when there was none, rejects an unknown id', async () => {
    const store = await catalogue();
    await spooled(store, 'r1');
    await store.hold('r1', 'case', 'cli:alice');
    assert.equal(await store.release('r1'), true);
    assert.equal((await store.find('r1'))?.hold, null);
    assert.equal(await store.release('r1'), false);
    await rejectsWith(store.release('nope'), 'STORE_CONFLICT', /no recording nope/);
  });

  it('refuses to delete a held recording and deletes it once released', async () => {
    const store = await catalogue();
    await spooled(store, 'r1');
    await store.hold('r1', 'case 4711', 'cli:alice');
    await rejectsWith(store.markDeleted('r1', 'retention'), 'STORE_CONFLICT', /legal hold \(case 4711\)/);
    assert.equal((await store.find('r1'))?.state, 'spooled');
    await store.release('r1');
    await store.markDeleted('r1', 'retention', '2024-07-01T00:00:00+02:00');
    const row = await store.find('r1');
    assert.deepEqual(
      [row?.state, row?.deletedAt, row?.deletionReason, row?.caller],
      ['deleted', '2024-06-30T22:00:00.000Z', 'retention', '+4930111'],
    );
  });

  it('pseudonymises the numbers when asked (erasure)', async () => {
    const store = await catalogue();
    await spooled(store, 'r1');
    await store.markDeleted('r1', 'erasure: request 12', undefined, { caller: 'erased:1', callee: null });
    const row = await store.find('r1');
    assert.deepEqual([row?.caller, row?.callee, row?.deletedAt], ['erased:1', null, NOW.toISOString()]);
  });

  it('refuses to delete an unsealed, deleted or unknown recording', async () => {
    const store = await catalogue();
    await store.register(start('live'));
    await rejectsWith(store.markDeleted('live', 'retention'), 'STORE_CONFLICT', /live is recording/);
    await spooled(store, 'r1');
    await store.markDeleted('r1', 'retention');
    await rejectsWith(store.markDeleted('r1', 'retention'), 'STORE_CONFLICT', /r1 is deleted/);
    await rejectsWith(store.markDeleted('nope', 'retention'), 'STORE_CONFLICT', /no recording nope/);
  });

  it('drops the pending and failed uploads of a deleted recording, keeps the done ones', async () => {
    const db = await database();
    const store = await catalogue(db);
    const uploads = new SqliteUploadStore(db, { now: () => NOW });
    await spooled(store, 'r1');
    await uploads.enqueue({
      recordingId: 'r1',
      dir: '/x',
      start: '2024-06-01T10:00:00Z',
      targets: [
        { targetId: 'nas', folder: 'a' },
        { targetId: 'sftp', folder: 'b' },
      ],
    });
    await uploads.claimDue('nas', NOW);
    await uploads.markDone('r1', 'nas', NOW);
    await store.markDeleted('r1', 'retention');
    assert.deepEqual(
      (await uploads.uploadsOf('r1')).map((u) => [u.targetId, u.state]),
      [['nas', 'done']],
    );
  });
});

describe('SqliteRecordingStore: list and retention', () => {
  async function fixture(): Promise<SqliteRecordingStore> {
    const store = await catalogue();
    await spooled(store, 'old', { start: '2024-01-01T00:00:00Z', caller: '+4930111', callee: '201' });
    await spooled(store, 'mid', { start: '2024-03-01T00:00:00Z', caller: '+4930999', callee: '+4930111' });
    await store.register(start('new', { start: '2024-05-01T00:00:00Z', caller: '202', callee: '+4940555' }));
    await spooled(store, 'gone', { start: '2024-02-01T00:00:00Z', caller: '+4930111' });
    await store.markDeleted('gone', 'retention');
    return store;
  }

  it('lists every recording but deleted ones, oldest start first', async () => {
    const store = await fixture();
    assert.deepEqual(
      (await store.list()).map((r) => r.id),
      ['old', 'mid', 'new'],
    );
  });

  it('filters by since (inclusive) and until (exclusive) in any ISO form', async () => {
    const store = await fixture();
    const ids = async (query: Parameters<SqliteRecordingStore['list']>[0]): Promise<string[]> =>
      (await store.list(query)).map((r) => r.id);
    assert.deepEqual(await ids({ since: '2024-03-01T01:00:00+01:00' }), ['mid', 'new']);
    assert.deepEqual(await ids({ until: '2024-03-01T00:00:00Z' }), ['old']);
    assert.deepEqual(await ids({ since: '2024-01-01T00:00:00Z', until: '2024-05-01T00:00:00Z' }), ['old', 'mid']);
    await rejectsWith(store.list({ since: 'last week' }), 'STORE_QUERY', /since/);
  });

  it('filters by numbers as caller or callee; none matches an empty list', async () => {
    const store = await fixture();
    const ids = async (numbers: string[]): Promise<string[]> => (await store.list({ numbers })).map((r) => r.id);
    assert.deepEqual(await ids(['+4930111']), ['old', 'mid']);
    assert.deepEqual(await ids(['201', '202']), ['old', 'new']);
    assert.deepEqual(await ids(['+4912345']), []);
    assert.deepEqual(await ids([]), []);
  });

  it('filters by states; deleted recordings only when asked', async () => {
    const store = await fixture();
    const ids = async (states: Parameters<SqliteRecordingStore['list']>[0]): Promise<string[]> =>
      (await store.list(states)).map((r) => r.id);
    assert.deepEqual(await ids({ states: ['deleted'] }), ['gone']);
    assert.deepEqual(await ids({ states: ['recording', 'spooled', 'deleted'], numbers: ['+4930111'] }), [
      'old',
      'gone',
      'mid',
    ]);
    assert.deepEqual(await ids({ states: [] }), []);
  });

  it('is due for retention exactly when start + retentionDays × 24 h ≤ as-of, held ones included', async () => {
    const store = await catalogue();
    await spooled(store, 'a', { start: '2024-01-01T10:00:00.123Z', retentionDays: 30 });
    await spooled(store, 'b', { start: '2024-01-01T10:00:00.123Z', retentionDays: 31 });
    await spooled(store, 'keep', { start: '2020-01-01T00:00:00Z', retentionDays: null });
    await spooled(store, 'zero', { start: '2024-01-31T10:00:00.123Z', retentionDays: 0 });
    await store.register(start('live', { start: '2020-01-01T00:00:00Z', retentionDays: 1 }));
    await spooled(store, 'held', { start: '2020-01-01T00:00:00Z', retentionDays: 1 });
    await store.hold('held', 'case', 'cli:alice');
    const due = async (asOf: string): Promise<string[]> => (await store.dueForRetention(asOf)).map((r) => r.id);
    assert.deepEqual(await due('2024-01-31T10:00:00.122Z'), ['held']);
    assert.deepEqual(await due('2024-01-31T10:00:00.123Z'), ['held', 'a', 'zero']);
    assert.deepEqual(await due('2024-02-01T11:00:00.123+01:00'), ['held', 'a', 'b', 'zero']);
    await rejectsWith(store.dueForRetention('soon'), 'STORE_QUERY', /asOf/);
  });
});
