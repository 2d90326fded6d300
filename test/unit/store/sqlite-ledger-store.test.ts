/**
 * The ledger tables (migration 001-ledger): only the next link of the chain can be appended
 * (sequence = head + 1, previous = the head's checksum), entries are append-only, and appends
 * from two connections to one file are serialised by sqlite (busy_timeout), never forked.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AppError } from '../../../src/errors.js';
import {
  openDatabase,
  SqliteLedgerStore,
  type LedgerEntry,
  type LedgerStore,
  type SqliteDatabase,
} from '../../../src/store/index.js';

let root: string;
let counter = 0;
const open: SqliteDatabase[] = [];

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'callrec-ledger-store-'));
});

after(async () => {
  await Promise.all(open.map((db) => db.close()));
  await rm(root, { recursive: true, force: true });
});

async function database(path = join(root, `ledger-${++counter}.db`)): Promise<SqliteDatabase> {
  const db = await openDatabase(path);
  open.push(db);
  return db;
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function next(head: LedgerEntry | undefined, recordingId: string): LedgerEntry {
  return {
    sequence: (head?.sequence ?? 0) + 1,
    recordingId,
    checksumSha256: hash(recordingId),
    previousChecksumSha256: head?.checksumSha256 ?? null,
    sealedAt: new Date(0).toISOString(),
  };
}

async function appendNext(store: LedgerStore, recordingId: string): Promise<LedgerEntry> {
  const entry = next(await store.ledgerHead(), recordingId);
  await store.appendLedgerEntry(entry);
  return entry;
}

describe('SqliteLedgerStore', () => {
  it('appends links and reads head, entries (from a sequence) and the entry of a recording', async () => {
    const store = new SqliteLedgerStore(await database());
    assert.equal(await store.ledgerHead(), undefined);
    const a = await appendNext(store, 'rec-a');
    const b = await appendNext(store, 'rec-b');
    const c = await appendNext(store, 'rec-c');
    assert.deepEqual(await store.ledgerHead(), c);
    assert.deepEqual(await store.ledgerEntries(), [a, b, c]);
    assert.deepEqual(await store.ledgerEntries(2), [b, c]);
    assert.deepEqual(await store.ledgerEntryForRecording('rec-b'), b);
    assert.equal(await store.ledgerEntryForRecording('rec-x'), undefined);
    assert.equal(a.previousChecksumSha256, null);
    assert.equal(c.previousChecksumSha256, b.checksumSha256);
  });

  it('refuses with STORE_CONFLICT anything but the next link: wrong sequence, wrong previous, a fork, a known recording', async () => {
    const store = new SqliteLedgerStore(await database());
    const first = await appendNext(store, 'rec-1');
    const conflict = (error: unknown) => error instanceof AppError && error.code === 'STORE_CONFLICT';
    await assert.rejects(store.appendLedgerEntry({ ...next(first, 'rec-2'), sequence: 3 }), conflict);
    await assert.rejects(
      store.appendLedgerEntry({ ...next(first, 'rec-2'), previousChecksumSha256: hash('other') }),
      conflict,
    );
    await assert.rejects(store.appendLedgerEntry({ ...next(first, 'rec-2'), previousChecksumSha256: null }), conflict);
    await assert.rejects(store.appendLedgerEntry({ ...next(undefined, 'rec-fork') }), conflict, 'a second sequence 1');
    await assert.rejects(
      store.appendLedgerEntry(next(first, 'rec-1')),
      (error: unknown) => conflict(error) && /already/.test((error as Error).message) && !(error as AppError).retriable,
    );
    await assert.rejects(store.appendLedgerEntry({ ...next(first, 'rec-2'), sequence: 3 }), { retriable: true });
    assert.deepEqual(await store.ledgerEntries(), [first]);
  });

  it('keeps entries append-only: UPDATE and DELETE are refused by the schema', async () => {
    const db = await database();
    const store = new SqliteLedgerStore(db);
    await appendNext(store, 'rec-1');
    await assert.rejects(db.run("UPDATE ledger_entries SET recording_id = 'x'"), /append-only/);
    await assert.rejects(db.run('DELETE FROM ledger_entries'), /append-only/);
    assert.equal((await store.ledgerEntries()).length, 1);
  });

  it('keeps the data when the database is reopened', async () => {
    const path = join(root, 'reopen.db');
    const first = await openDatabase(path);
    const entry = await appendNext(new SqliteLedgerStore(first), 'rec-1');
    await first.close();
    const store = new SqliteLedgerStore(await database(path));
    assert.deepEqual(await store.ledgerEntries(), [entry]);
    assert.deepEqual((await appendNext(store, 'rec-2')).previousChecksumSha256, entry.checksumSha256);
  });

  it('serialises appends from two connections to one file: a contiguous, unforked chain', async () => {
    const path = join(root, 'two-connections.db');
    const stores = [new SqliteLedgerStore(await database(path)), new SqliteLedgerStore(await database(path))];
    const perWriter = 25;
    let conflicts = 0;
    await Promise.all(
      stores.map(async (store, writer) => {
        for (let i = 0; i < perWriter; i++) {
          for (;;) {
            try {
              await appendNext(store, `w${writer}-${i}`);
              break;
            } catch (error) {
              if (!(error instanceof AppError && error.code === 'STORE_CONFLICT')) throw error;
              conflicts++; // the other connection appended in between: read the new head and retry
            }
          }
        }
      }),
    );
    const entries = await stores[0]!.ledgerEntries();
    assert.equal(entries.length, 2 * perWriter);
    entries.forEach((entry, index) => {
      assert.equal(entry.sequence, index + 1);
      assert.equal(entry.previousChecksumSha256, index === 0 ? null : entries[index - 1]!.checksumSha256);
    });
    assert.ok(conflicts >= 0);
  });

  it('stores checkpoints and returns the latest', async () => {
    const store = new SqliteLedgerStore(await database());
    assert.equal(await store.latestCheckpoint(), undefined);
    const base = { installationId: 'inst', signatureBase64: 'c2ln', createdAt: '2024-01-01T00:00:00.000Z' };
    await store.appendCheckpoint({ ...base, sequence: 0, headChecksumSha256: null, fileName: 'checkpoint-0.json' });
    const later = { ...base, sequence: 4, headChecksumSha256: hash('4'), fileName: 'checkpoint-4.json' };
    await store.appendCheckpoint(later);
    assert.deepEqual(await store.latestCheckpoint(), later);
  });
});
