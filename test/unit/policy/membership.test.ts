/**
 * Membership (SPEC §3): configured group members are active unless switched off; the answer is
 * synchronous (the B2BUA decides without awaiting); login/logout write through the store (with
 * an audit entry) before the cache changes; the state survives a restart; a change committed by
 * another process (`callrec group logout`) is picked up by `refreshIfChanged`.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AppError } from '../../../src/errors.js';
import {
  Membership,
  MembershipError,
  membershipProblem,
  type MembershipDirectory,
  type MembershipProblem,
} from '../../../src/policy/membership.js';
import {
  openDatabase,
  SqliteAuditLog,
  SqliteMembershipStore,
  type MembershipChange,
  type MembershipRecord,
  type MembershipStore,
  type SqliteDatabase,
} from '../../../src/store/index.js';

const DIRECTORY: MembershipDirectory = {
  groups: [
    { id: 'trading', members: ['alice', 'bob'] },
    { id: 'sales', members: ['carol', 'alice'] },
  ],
  users: [{ id: 'alice' }, { id: 'bob' }, { id: 'carol' }, { id: 'dave' }],
};

let root: string;
let counter = 0;
const open: SqliteDatabase[] = [];

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'callrec-membership-'));
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

function problem(expected: MembershipProblem, text: RegExp) {
  return (error: unknown) =>
    error instanceof MembershipError &&
    error instanceof AppError &&
    error.problem === expected &&
    text.test(error.message);
}

describe('Membership', () => {
  it('answers configured members as active by default, everyone else as inactive', async () => {
    const membership = await Membership.load(new SqliteMembershipStore(await database()), DIRECTORY);
    assert.equal(membership.isActive('trading', 'alice'), true);
    assert.equal(membership.isActive('trading', 'bob'), true);
    assert.equal(membership.isActive('trading', 'carol'), false, 'not a member');
    assert.equal(membership.isActive('trading', 'nobody'), false);
    assert.equal(membership.isActive('canteen', 'alice'), false, 'unknown group');
    assert.deepEqual(membership.status('trading', 'alice'), {
      groupId: 'trading',
      userId: 'alice',
      active: true,
      changedAt: null,
      changedBy: null,
    });
    assert.deepEqual(membership.groupsOf('alice'), ['trading', 'sales']);
    assert.deepEqual(membership.groupsOf('dave'), []);
  });

  it('logs out and in per group, writing through the store with an audit entry before answering', async () => {
    const db = await database();
    const store = new SqliteMembershipStore(db, { now: () => new Date('2024-06-01T09:00:00Z') });
    const membership = await Membership.load(store, DIRECTORY);
    const out = await membership.logout('trading', 'alice', 'extension:201');
    assert.deepEqual(out, {
      groupId: 'trading',
      userId: 'alice',
      active: false,
      changedAt: '2024-06-01T09:00:00.000Z',
      changedBy: 'extension:201',
      wasActive: true,
    });
    assert.equal(membership.isActive('trading', 'alice'), false);
    assert.equal(membership.isActive('sales', 'alice'), true, 'other groups are unaffected');
    assert.equal(await store.isActive('trading', 'alice'), false);
    assert.equal((await membership.logout('trading', 'alice', 'cli:root')).wasActive, false);
    const back = await membership.login('trading', 'alice', 'cli:root');
    assert.equal(back.wasActive, false);
    assert.equal(membership.isActive('trading', 'alice'), true);
    assert.deepEqual(
      (await new SqliteAuditLog(db).list()).map((entry) => `${entry.actor} ${entry.action} ${entry.subject}`),
      [
        'extension:201 membership.logout group:trading/user:alice',
        'cli:root membership.logout group:trading/user:alice',
        'cli:root membership.login group:trading/user:alice',
      ],
    );
  });

  it('rejects an unknown group, an unknown user and a non-member with a MembershipError, touching nothing', async () => {
    const db = await database();
    const membership = await Membership.load(new SqliteMembershipStore(db), DIRECTORY);
    await assert.rejects(
      membership.logout('canteen', 'alice', 'cli:root'),
      problem('unknown-group', /unknown group "canteen"/),
    );
    await assert.rejects(
      membership.logout('trading', 'zoe', 'cli:root'),
      problem('unknown-user', /unknown user "zoe"/),
    );
    await assert.rejects(
      membership.login('trading', 'dave', 'cli:root'),
      problem('not-member', /user "dave" is not a member of group "trading"/),
    );
    assert.throws(() => membership.status('trading', 'carol'), problem('not-member', /carol/));
    assert.deepEqual(await new SqliteAuditLog(db).list(), []);
    assert.equal(membershipProblem(DIRECTORY, 'canteen', 'alice'), 'unknown-group');
    assert.equal(membershipProblem(DIRECTORY, 'trading', 'zoe'), 'unknown-user');
    assert.equal(membershipProblem(DIRECTORY, 'trading', 'carol'), 'not-member');
    assert.equal(membershipProblem(DIRECTORY, 'trading', 'bob'), undefined);
  });

  it('keeps its state across a restart (database closed and reopened)', async () => {
    const path = freshPath();
    const first = await openDatabase(path);
    const before = await Membership.load(new SqliteMembershipStore(first), DIRECTORY);
    await before.logout('trading', 'bob', 'extension:202');
    await before.logout('sales', 'carol', 'cli:root');
    await before.login('sales', 'carol', 'cli:root');
    await first.close();

    const after = await Membership.load(new SqliteMembershipStore(await database(path)), DIRECTORY);
    assert.equal(after.isActive('trading', 'bob'), false);
    assert.equal(after.isActive('sales', 'carol'), true);
    assert.equal(after.isActive('trading', 'alice'), true);
    assert.equal(after.status('trading', 'bob').changedBy, 'extension:202');
  });

  it('refreshIfChanged picks up a change committed by another connection, and only then reloads', async () => {
    const path = freshPath();
    const server = await Membership.load(new SqliteMembershipStore(await database(path)), DIRECTORY);
    const cli = await Membership.load(new SqliteMembershipStore(await database(path)), DIRECTORY);
    assert.equal(await server.refreshIfChanged(), false);

    await cli.logout('trading', 'alice', 'cli:root');
    assert.equal(server.isActive('trading', 'alice'), true, 'the cache is stale until refreshed');
    assert.equal(await server.refreshIfChanged(), true);
    assert.equal(server.isActive('trading', 'alice'), false);
    assert.equal(await server.refreshIfChanged(), false);

    await server.logout('trading', 'bob', 'extension:202');
    assert.equal(await server.refreshIfChanged(), false, 'its own writes are already in the cache');
    assert.equal(await cli.refreshIfChanged(), true);
    assert.equal(cli.isActive('trading', 'bob'), false);

    await cli.login('trading', 'alice', 'cli:root');
    await server.refresh();
    assert.equal(server.isActive('trading', 'alice'), true);
  });

  it('does not lose a local switch that lands while a reload is reading', async () => {
    const records = new Map<string, MembershipRecord>();
    let releaseList: (() => void) | undefined;
    let version = 1;
    const store: MembershipStore = {
      setActive(groupId, userId, active, actor): Promise<MembershipChange> {
        const previous = records.get(`${groupId}/${userId}`)?.active;
        const record = { groupId, userId, active, changedAt: '2024-06-01T00:00:00.000Z', changedBy: actor };
        records.set(`${groupId}/${userId}`, record);
        return Promise.resolve({ record, previous });
      },
      isActive: (groupId, userId) => Promise.resolve(records.get(`${groupId}/${userId}`)?.active),
      async list() {
        const snapshot = [...records.values()];
        if (releaseList !== undefined) await new Promise<void>((resolve) => (releaseList = resolve));
        return snapshot;
      },
      dataVersion: () => Promise.resolve(version),
    };
    const membership = await Membership.load(store, DIRECTORY);
    releaseList = () => undefined; // the next list() waits, holding a snapshot without the switch
    version = 2;
    const reload = membership.refreshIfChanged();
    await new Promise((resolve) => setImmediate(resolve));
    await membership.logout('trading', 'alice', 'extension:201');
    releaseList();
    releaseList = undefined;
    assert.equal(await reload, true);
    assert.equal(membership.isActive('trading', 'alice'), false);
  });

  it('follows a new configuration: added members are active, removed ones inactive, stored switches kept', async () => {
    const membership = await Membership.load(new SqliteMembershipStore(await database()), DIRECTORY);
    await membership.logout('trading', 'bob', 'cli:root');
    membership.reconfigure({
      groups: [{ id: 'trading', members: ['bob', 'dave'] }],
      users: DIRECTORY.users,
    });
    assert.equal(membership.isActive('trading', 'dave'), true);
    assert.equal(membership.isActive('trading', 'alice'), false);
    assert.equal(membership.isActive('trading', 'bob'), false);
    assert.equal(membership.isActive('sales', 'carol'), false);
  });
});
