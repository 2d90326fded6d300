/**
 * The audit log (SPEC §7): every admin action with time and actor, append-only for every
 * connection (triggers refuse UPDATE and DELETE), details kept as a JSON object.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AppError } from '../../../src/errors.js';
import { openDatabase, SqliteAuditLog, type SqliteDatabase } from '../../../src/store/index.js';

let root: string;
let counter = 0;
const open: SqliteDatabase[] = [];

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'callrec-audit-log-'));
});

after(async () => {
  await Promise.all(open.map((db) => db.close()));
  await rm(root, { recursive: true, force: true });
});

async function database(path = join(root, `audit-${++counter}.db`)): Promise<SqliteDatabase> {
  const db = await openDatabase(path);
  open.push(db);
  return db;
}

describe('SqliteAuditLog', () => {
  it('appends entries with ids in order, the clock time when none is given, and lists them back', async () => {
    const log = new SqliteAuditLog(await database(), { now: () => new Date('2024-06-01T08:00:00Z') });
    const first = await log.append({ actor: 'cli:root', action: 'config.reload', subject: 'config' });
    const second = await log.append({
      actor: 'http:127.0.0.1',
      action: 'export',
      subject: 'number:+4930123456201',
      details: { recordings: 3, out: '/tmp/x' },
      at: '2024-06-01T10:00:00+02:00',
    });
    assert.deepEqual(first, {
      id: 1,
      at: '2024-06-01T08:00:00.000Z',
      actor: 'cli:root',
      action: 'config.reload',
      subject: 'config',
      details: {},
    });
    assert.equal(second.id, 2);
    assert.equal(second.at, '2024-06-01T08:00:00.000Z');
    assert.deepEqual(await log.list(), [first, second]);
  });

  it('lists entries at or after since', async () => {
    const log = new SqliteAuditLog(await database());
    for (const at of ['2024-01-01T00:00:00Z', '2024-02-01T00:00:00Z', '2024-03-01T00:00:00Z']) {
      await log.append({ actor: 'callrec', action: 'retention.run', subject: 'all', at });
    }
    const since = await log.list({ since: '2024-02-01T00:00:00Z' });
    assert.deepEqual(
      since.map((entry) => entry.at),
      ['2024-02-01T00:00:00.000Z', '2024-03-01T00:00:00.000Z'],
    );
    await assert.rejects(
      log.list({ since: 'last week' }),
      (error) => error instanceof AppError && error.code === 'STORE_QUERY',
    );
  });

  it('is append-only: UPDATE and DELETE fail, also from another connection', async () => {
    const path = join(root, `audit-${++counter}.db`);
    const db = await database(path);
    const log = new SqliteAuditLog(db);
    await log.append({ actor: 'extension:201', action: 'membership.logout', subject: 'group:trading/user:alice' });
    await assert.rejects(db.run("UPDATE audit_log SET actor = 'someone else'"), /append-only/);
    await assert.rejects(db.run('DELETE FROM audit_log'), /append-only/);
    const other = await database(path);
    await assert.rejects(other.run("UPDATE audit_log SET details = '{}'"), /append-only/);
    await assert.rejects(other.run('DELETE FROM audit_log WHERE id = 1'), /append-only/);
    assert.equal((await log.list()).length, 1);
    assert.equal((await log.list())[0]?.actor, 'extension:201');
  });

  it('refuses an empty actor or action and details that are not JSON', async () => {
    const db = await database();
    const log = new SqliteAuditLog(db);
    const query = (error: unknown) => error instanceof AppError && error.code === 'STORE_QUERY';
    await assert.rejects(log.append({ actor: '', action: 'export', subject: 's' }), query);
    await assert.rejects(log.append({ actor: 'cli:root', action: '', subject: 's' }), query);
    await assert.rejects(
      db.run("INSERT INTO audit_log (at, actor, action, subject, details) VALUES ('t', 'a', 'b', 'c', 'not json')"),
      /CHECK/,
    );
    assert.deepEqual(await log.list(), []);
  });
});
