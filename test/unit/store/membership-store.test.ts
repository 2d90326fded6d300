/**
 * Group membership in the database (SPEC §3, §7): a switch and its audit entry commit together
 * or not at all; the state survives reopening; `dataVersion` changes when another connection
 * commits (and only then), which is how a running server notices `callrec group logout`.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openDatabase, SqliteAuditLog, SqliteMembershipStore, type SqliteDatabase } from '../../../src/store/index.js';

let root: string;
let counter = 0;
const open: SqliteDatabase[] = [];

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'callrec-membership-store-'));
});

after(async () => {
  await Promise.all(open.map((db) => db.close()));
  await rm(root, { recursive: true, force: true });
});

function freshPath(): string {
  return join(root, `membership-${++counter}.db`);
}

async function database(path = freshPath()): Promise<SqliteDatabase> {
  const db = await openDatabase(path);
  open.push(db);
  return db;
}

const clock = (iso: string) => () => new Date(iso);

describe('SqliteMembershipStore', () => {
  it('knows nothing of a never switched user, then stores logout and login with time and actor', async () => {
    const store = new SqliteMembershipStore(await database(), { now: clock('2024-06-01T09:00:00Z') });
    assert.equal(await store.isActive('trading', 'alice'), undefined);
    const off = await store.setActive('trading', 'alice', false, 'extension:201');
    assert.deepEqual(off, {
      record: {
        groupId: 'trading',
        userId: 'alice',
        active: false,
        changedAt: '2024-06-01T09:00:00.000Z',
        changedBy: 'extension:201',
      },
      previous: undefined,
    });
    assert.equal(await store.isActive('trading', 'alice'), false);
    const on = await store.setActive('trading', 'alice', true, 'cli:root');
    assert.equal(on.previous, false);
    assert.equal(await store.isActive('trading', 'alice'), true);
    assert.equal(await store.isActive('trading', 'bob'), undefined);
  });

  it('writes one audit entry per request, in the same transaction, also when nothing changes', async () => {
    const db = await database();
    const store = new SqliteMembershipStore(db, { now: clock('2024-06-01T09:00:00Z') });
    await store.setActive('trading', 'alice', false, 'cli:root');
    const again = await store.setActive('trading', 'alice', false, 'extension:201');
    assert.equal(again.previous, false);
    assert.equal(again.record.changedBy, 'cli:root', 'an unchanged state keeps who changed it');
    await store.setActive('trading', 'alice', true, 'extension:201');
    const entries = await new SqliteAuditLog(db).list();
    assert.deepEqual(
      entries.map((entry) => [entry.actor, entry.action, entry.subject, entry.details]),
      [
        [
          'cli:root',
          'membership.logout',
          'group:trading/user:alice',
          { group: 'trading', user: 'alice', active: false, previous: null, changed: true },
        ],
        [
          'extension:201',
          'membership.logout',
          'group:trading/user:alice',
          { group: 'trading', user: 'alice', active: false, previous: false, changed: false },
        ],
        [
          'extension:201',
          'membership.login',
          'group:trading/user:alice',
          { group: 'trading', user: 'alice', active: true, previous: false, changed: true },
        ],
      ],
    );
    assert.ok(entries.every((entry) => entry.at === '2024-06-01T09:00:00.000Z'));
  });

  it('rolls the switch back when its audit entry cannot be written', async () => {
    const db = await database();
    const store = new SqliteMembershipStore(db);
    await assert.rejects(store.setActive('trading', 'alice', false, ''), /CHECK|constraint/i);
    assert.equal(await store.isActive('trading', 'alice'), undefined);
    assert.deepEqual(await store.list(), []);
    assert.deepEqual(await new SqliteAuditLog(db).list(), []);
  });

  it('lists stored states of all groups or one, ordered by group and user', async () => {
    const store = new SqliteMembershipStore(await database());
    await store.setActive('trading', 'bob', false, 'cli:root');
    await store.setActive('sales', 'carol', false, 'cli:root');
    await store.setActive('trading', 'alice', true, 'cli:root');
    assert.deepEqual(
      (await store.list()).map((r) => [r.groupId, r.userId, r.active]),
      [
        ['sales', 'carol', false],
        ['trading', 'alice', true],
        ['trading', 'bob', false],
      ],
    );
    assert.deepEqual(
      (await store.list('trading')).map((r) => r.userId),
      ['alice', 'bob'],
    );
    assert.deepEqual(await store.list('none'), []);
  });

  it('keeps the state across closing and reopening the database', async () => {
    const path = freshPath();
    const first = await openDatabase(path);
    await new SqliteMembershipStore(first).setActive('trading', 'alice', false, 'cli:root');
    await first.close();
    const store = new SqliteMembershipStore(await database(path));
    assert.equal(await store.isActive('trading', 'alice'), false);
    assert.equal((await store.list())[0]?.changedBy, 'cli:root');
  });

  it('changes dataVersion when another connection commits, not for its own writes or reads', async () => {
    const path = freshPath();
    const server = new SqliteMembershipStore(await database(path));
    const cli = new SqliteMembershipStore(await database(path));
    const v0 = await server.dataVersion();
    assert.equal(await server.dataVersion(), v0);
    await server.setActive('trading', 'bob', false, 'extension:202');
    await server.list();
    assert.equal(await server.dataVersion(), v0, 'own commits do not count');
    await cli.setActive('trading', 'alice', false, 'cli:root');
    const v1 = await server.dataVersion();
    assert.notEqual(v1, v0);
    assert.equal(await server.dataVersion(), v1);
  });
});
