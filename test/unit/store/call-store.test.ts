/**
 * The schema of issue 4 (SPEC §7) — migrations 002-calls, 003-group-membership, 004-audit-log
 * apply on a fresh database and on one that has only the ledger, once — and the call detail
 * records of SqliteCallStore: start, end (first end kept), legs, find, list by time and number.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AppError } from '../../../src/errors.js';
import {
  MIGRATIONS,
  openDatabase,
  schemaVersion,
  SqliteCallStore,
  SqliteLedgerStore,
  type CallStart,
  type SqliteDatabase,
} from '../../../src/store/index.js';

let root: string;
let counter = 0;
const open: SqliteDatabase[] = [];

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'callrec-call-store-'));
});

after(async () => {
  await Promise.all(open.map((db) => db.close()));
  await rm(root, { recursive: true, force: true });
});

function freshPath(): string {
  return join(root, `calls-${++counter}.db`);
}

async function database(path = freshPath()): Promise<SqliteDatabase> {
  const db = await openDatabase(path);
  open.push(db);
  return db;
}

async function tables(db: SqliteDatabase): Promise<string[]> {
  const rows = await db.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name");
  return rows.map((row) => row.name);
}

const conflict = (error: unknown) => error instanceof AppError && error.code === 'STORE_CONFLICT';

function start(overrides: Partial<CallStart> = {}): CallStart {
  return {
    direction: 'inbound',
    callIdA: `a-${++counter}@trunk`,
    caller: '+4917012345678',
    callee: '+4930123456500',
    decisionProfile: 'trading',
    decisionReason: 'called number +4930123456500 is group trading',
    startedAt: '2024-06-01T10:00:00.000Z',
    ...overrides,
  };
}

describe('migrations 002-calls, 003-group-membership, 004-audit-log', () => {
  it('create calls, legs, group_membership and audit_log on a fresh database', async () => {
    const db = await database();
    assert.equal(await schemaVersion(db), MIGRATIONS.length);
    const names = await tables(db);
    for (const table of ['calls', 'legs', 'group_membership', 'audit_log', 'ledger_entries']) {
      assert.ok(names.includes(table), `${table} in ${names.join(', ')}`);
    }
    const indexes = await db.all<{ name: string }>(
      "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'calls'",
    );
    for (const index of ['calls_started_at', 'calls_caller', 'calls_callee']) {
      assert.ok(
        indexes.some((row) => row.name === index),
        index,
      );
    }
    const labels = await db.all<{ version: number; name: string }>(
      'SELECT version, name FROM schema_migrations ORDER BY version',
    );
    assert.deepEqual(labels.slice(0, 4), [
      { version: 1, name: 'ledger' },
      { version: 2, name: 'calls' },
      { version: 3, name: 'group-membership' },
      { version: 4, name: 'audit-log' },
    ]);
  });

  it('upgrade a database that has only the ledger, keeping its entries, and apply each step once', async () => {
    const path = freshPath();
    const old = await openDatabase(path, { migrations: MIGRATIONS.slice(0, 1) });
    const entry = {
      sequence: 1,
      recordingId: 'rec-1',
      checksumSha256: 'a'.repeat(64),
      previousChecksumSha256: null,
      sealedAt: '2024-01-01T00:00:00.000Z',
    };
    await new SqliteLedgerStore(old).appendLedgerEntry(entry);
    assert.equal(await schemaVersion(old), 1);
    assert.ok(!(await tables(old)).includes('calls'));
    await old.close();

    const upgraded = await openDatabase(path);
    assert.equal(await schemaVersion(upgraded), MIGRATIONS.length);
    assert.ok((await tables(upgraded)).includes('audit_log'));
    assert.deepEqual(await new SqliteLedgerStore(upgraded).ledgerEntries(), [entry]);
    await new SqliteCallStore(upgraded).recordCallStart(start({ id: 'kept' }));
    await upgraded.close();

    const again = await database(path);
    assert.equal(await schemaVersion(again), MIGRATIONS.length);
    const applied = await again.get<{ n: number }>('SELECT COUNT(*) AS n FROM schema_migrations');
    assert.equal(applied?.n, MIGRATIONS.length);
    assert.equal((await new SqliteCallStore(again).findCall('kept'))?.id, 'kept');
  });

  it('enforces the CHECK constraints of calls and legs', async () => {
    const db = await database();
    await assert.rejects(
      db.run(
        "INSERT INTO calls (id, direction, call_id_a, decision_reason, started_at) VALUES ('x', 'sideways', 'c', 'r', 't')",
      ),
    );
    await assert.rejects(
      db.run("INSERT INTO legs (call_ref, leg, call_id) VALUES ('missing', 'a', 'c')"),
      /FOREIGN KEY/,
    );
  });
});

describe('SqliteCallStore', () => {
  it('records a call start with a generated UUID and finds it, still running', async () => {
    const store = new SqliteCallStore(await database());
    const input = start({ startedAt: '2024-06-01T12:00:00+02:00' });
    const id = await store.recordCallStart(input);
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.deepEqual(await store.findCall(id), {
      id,
      direction: 'inbound',
      callIdA: input.callIdA,
      callIdB: null,
      caller: '+4917012345678',
      callee: '+4930123456500',
      decisionProfile: 'trading',
      decisionReason: input.decisionReason,
      startedAt: '2024-06-01T10:00:00.000Z',
      answeredAt: null,
      endedAt: null,
      endedBy: null,
      endReason: null,
      finalStatus: null,
      legs: [],
    });
    assert.equal(await store.findCall('nope'), undefined);
  });

  it('keeps the given id, refuses a duplicate with STORE_CONFLICT and stores an unrecorded decision', async () => {
    const store = new SqliteCallStore(await database());
    assert.equal(
      await store.recordCallStart(start({ id: 'call-1', decisionProfile: null, caller: null, direction: 'outbound' })),
      'call-1',
    );
    await assert.rejects(store.recordCallStart(start({ id: 'call-1' })), conflict);
    const call = await store.findCall('call-1');
    assert.equal(call?.decisionProfile, null);
    assert.equal(call?.caller, null);
    assert.equal(call?.direction, 'outbound');
  });

  it('records the end once: the first end is kept, a second returns false, an unknown call is a conflict', async () => {
    const store = new SqliteCallStore(await database());
    const id = await store.recordCallStart(start());
    const end = {
      answeredAt: '2024-06-01T10:00:05.000Z',
      endedAt: '2024-06-01T10:03:00.000Z',
      endedBy: 'callee' as const,
      finalStatus: 200,
      reason: 'BYE',
      callIdB: 'b-1@callrec',
    };
    assert.equal(await store.recordCallEnd(id, end), true);
    assert.equal(await store.recordCallEnd(id, { ...end, endedBy: 'callrec', finalStatus: 500 }), false);
    const call = await store.findCall(id);
    assert.equal(call?.answeredAt, end.answeredAt);
    assert.equal(call?.endedAt, end.endedAt);
    assert.equal(call?.endedBy, 'callee');
    assert.equal(call?.endReason, 'BYE');
    assert.equal(call?.finalStatus, 200);
    assert.equal(call?.callIdB, 'b-1@callrec');
    await assert.rejects(store.recordCallEnd('nope', end), conflict);
  });

  it('stores both legs (replacing a leg recorded again), removes them with the call, refuses legs of unknown calls', async () => {
    const db = await database();
    const store = new SqliteCallStore(db);
    const id = await store.recordCallStart(start({ callIdB: 'b@callrec' }));
    await store.recordLeg(id, { leg: 'b', callId: 'b@callrec', localTag: 'lb' });
    await store.recordLeg(id, { leg: 'a', callId: 'a@trunk', localTag: 'la', remoteTag: 'ra', transport: 'udp' });
    await store.recordLeg(id, {
      leg: 'b',
      callId: 'b@callrec',
      localTag: 'lb',
      remoteTag: 'rb',
      remoteAddress: '10.0.0.5:5060',
    });
    const legs = (await store.findCall(id))?.legs;
    assert.deepEqual(
      legs?.map((leg) => [leg.leg, leg.callId, leg.localTag, leg.remoteTag, leg.remoteAddress, leg.transport]),
      [
        ['a', 'a@trunk', 'la', 'ra', null, 'udp'],
        ['b', 'b@callrec', 'lb', 'rb', '10.0.0.5:5060', null],
      ],
    );
    await assert.rejects(store.recordLeg('nope', { leg: 'a', callId: 'x' }), conflict);
    await db.run('DELETE FROM calls WHERE id = ?', [id]);
    const left = await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM legs');
    assert.equal(left?.n, 0);
  });

  it('lists calls oldest first, filtered by since (inclusive), until (exclusive) and number (caller or callee)', async () => {
    const store = new SqliteCallStore(await database());
    const one = await store.recordCallStart(
      start({ startedAt: '2024-06-02T00:00:00.000Z', caller: '201', callee: '+491701' }),
    );
    const two = await store.recordCallStart(
      start({ startedAt: '2024-06-01T00:00:00.000Z', caller: '+491702', callee: '202' }),
    );
    const three = await store.recordCallStart(
      start({ startedAt: '2024-06-03T00:00:00.000Z', caller: '+491701', callee: '201' }),
    );
    await store.recordLeg(three, { leg: 'a', callId: 'three-a' });
    const ids = async (query?: Parameters<SqliteCallStore['listCalls']>[0]) =>
      (await store.listCalls(query)).map((call) => call.id);
    assert.deepEqual(await ids(), [two, one, three]);
    assert.deepEqual(await ids({ since: '2024-06-02T00:00:00Z' }), [one, three]);
    assert.deepEqual(await ids({ until: '2024-06-02T00:00:00Z' }), [two]);
    assert.deepEqual(await ids({ since: '2024-06-01T12:00:00Z', until: '2024-06-03' }), [one]);
    assert.deepEqual(await ids({ number: '201' }), [one, three]);
    assert.deepEqual(await ids({ number: '+491701', since: '2024-06-02T12:00:00Z' }), [three]);
    assert.deepEqual(await ids({ number: '+4999' }), []);
    const listed = await store.listCalls({ number: '201' });
    assert.deepEqual(
      listed.map((call) => call.legs.map((leg) => leg.callId)),
      [[], ['three-a']],
    );
    await assert.rejects(
      store.listCalls({ since: 'yesterday' }),
      (error) => error instanceof AppError && error.code === 'STORE_QUERY',
    );
  });
});
