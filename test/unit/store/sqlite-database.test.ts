/**
 * The sqlite3 connection (SPEC §7): WAL, busy_timeout, foreign keys, a private file, versioned
 * migrations that apply once (also when two connections race), and a queue that keeps plain
 * statements out of an open transaction.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AppError } from '../../../src/errors.js';
import {
  databasePath,
  MIGRATIONS,
  migrationLabel,
  openDatabase,
  schemaVersion,
  type Migration,
} from '../../../src/store/index.js';

let root: string;
let counter = 0;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'callrec-store-'));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

function freshPath(): string {
  return join(root, `data-${++counter}`, 'callrec.db');
}

const NOTES: Migration = {
  version: MIGRATIONS.length + 1,
  name: 'notes',
  sql: 'CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL);',
};

describe('openDatabase', () => {
  it('creates <dataDir>/callrec.db 0600 in a 0700 folder, in WAL mode with busy_timeout 5000 and foreign keys on', async () => {
    const path = freshPath();
    assert.equal(path, databasePath(join(path, '..')));
    const db = await openDatabase(path);
    try {
      assert.equal((await stat(path)).mode & 0o777, 0o600);
      assert.equal((await stat(join(path, '..'))).mode & 0o777, 0o700);
      assert.equal((await db.get<{ journal_mode: string }>('PRAGMA journal_mode'))?.journal_mode, 'wal');
      assert.equal((await db.get<{ timeout: number }>('PRAGMA busy_timeout'))?.timeout, 5000);
      assert.equal((await db.get<{ foreign_keys: number }>('PRAGMA foreign_keys'))?.foreign_keys, 1);
      assert.equal((await db.get<{ synchronous: number }>('PRAGMA synchronous'))?.synchronous, 2);
      await db.run(
        "INSERT INTO ledger_checkpoints (sequence, installation_id, created_at, file_name, signature_base64) VALUES (0, 'i', 't', 'f', 's')",
      );
      assert.equal((await stat(`${path}-wal`)).mode & 0o777, 0o600, 'the WAL file inherits the private mode');
    } finally {
      await db.close();
    }
  });

  it('applies every migration once and records it in schema_migrations', async () => {
    const path = freshPath();
    const first = await openDatabase(path);
    assert.equal(await schemaVersion(first), MIGRATIONS.length);
    await first.close();
    const second = await openDatabase(path);
    try {
      const rows = await second.all<{ version: number; name: string }>('SELECT version, name FROM schema_migrations');
      assert.deepEqual(
        rows.map((row) => `${String(row.version).padStart(3, '0')}-${row.name}`),
        MIGRATIONS.map(migrationLabel),
      );
      assert.deepEqual(MIGRATIONS.map(migrationLabel).slice(0, 1), ['001-ledger']);
    } finally {
      await second.close();
    }
  });

  it('applies a migration appended to the list on the next open, once, keeping the data', async () => {
    const path = freshPath();
    const db = await openDatabase(path);
    await db.run(
      "INSERT INTO ledger_checkpoints (sequence, installation_id, created_at, file_name, signature_base64) VALUES (0, 'i', 't', 'f', 's')",
    );
    await db.close();
    for (let round = 0; round < 2; round++) {
      const reopened = await openDatabase(path, { migrations: [...MIGRATIONS, NOTES] });
      try {
        assert.equal(await schemaVersion(reopened), NOTES.version);
        await reopened.run('INSERT INTO notes (text) VALUES (?)', [`round ${round}`]);
        assert.equal((await reopened.all('SELECT * FROM notes')).length, round + 1);
        assert.equal((await reopened.all('SELECT * FROM ledger_checkpoints')).length, 1);
      } finally {
        await reopened.close();
      }
    }
  });

  it('applies migrations once when two connections open a fresh file at the same time', async () => {
    const path = freshPath();
    const [a, b] = await Promise.all([
      openDatabase(path, { migrations: [...MIGRATIONS, NOTES] }),
      openDatabase(path, { migrations: [...MIGRATIONS, NOTES] }),
    ]);
    try {
      const rows = await a.all<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
      assert.deepEqual(
        rows.map((row) => row.version),
        [...MIGRATIONS, NOTES].map((migration) => migration.version),
      );
      assert.equal(await schemaVersion(b), NOTES.version);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('refuses a database written by a newer callrec (unknown schema version)', async () => {
    const path = freshPath();
    await (await openDatabase(path, { migrations: [...MIGRATIONS, NOTES] })).close();
    await assert.rejects(
      openDatabase(path),
      (error: unknown) =>
        error instanceof AppError && error.code === 'STORE_MIGRATION' && /newer|knows up to/.test(error.message),
    );
  });

  it('refuses a malformed migration list (versions must be 1, 2, 3, …)', async () => {
    const broken: Migration[] = [...MIGRATIONS, { ...NOTES, version: NOTES.version + 1 }];
    await assert.rejects(openDatabase(freshPath(), { migrations: broken }), { code: 'STORE_MIGRATION' });
  });

  it('rolls a failing migration back completely and does not record it', async () => {
    const path = freshPath();
    const failing: Migration = {
      ...NOTES,
      sql: 'CREATE TABLE notes (id INTEGER PRIMARY KEY); INSERT INTO nowhere VALUES (1);',
    };
    await assert.rejects(openDatabase(path, { migrations: [...MIGRATIONS, failing] }), { code: 'STORE_MIGRATION' });
    const db = await openDatabase(path);
    try {
      assert.equal(await schemaVersion(db), MIGRATIONS.length);
      assert.equal(await db.get("SELECT name FROM sqlite_master WHERE name = 'notes'"), undefined);
    } finally {
      await db.close();
    }
  });
});

describe('SqliteDatabase', () => {
  it('commits a transaction, and rolls it back when its body throws', async () => {
    const db = await openDatabase(freshPath(), { migrations: [...MIGRATIONS, NOTES] });
    try {
      await db.transaction(async (tx) => {
        await tx.run('INSERT INTO notes (text) VALUES (?)', ['kept']);
      });
      await assert.rejects(
        db.transaction(async (tx) => {
          await tx.run('INSERT INTO notes (text) VALUES (?)', ['dropped']);
          throw new Error('boom');
        }),
        /boom/,
      );
      assert.deepEqual(await db.all('SELECT text FROM notes'), [{ text: 'kept' }]);
    } finally {
      await db.close();
    }
  });

  it('runs a statement issued during a transaction after it, never inside it', async () => {
    const db = await openDatabase(freshPath(), { migrations: [...MIGRATIONS, NOTES] });
    try {
      let outside: Promise<unknown> | undefined;
      await assert.rejects(
        db.transaction(async (tx) => {
          outside = db.run('INSERT INTO notes (text) VALUES (?)', ['outside']);
          await tx.run('INSERT INTO notes (text) VALUES (?)', ['inside']);
          await new Promise((resolve) => setTimeout(resolve, 20));
          throw new Error('roll back');
        }),
        /roll back/,
      );
      await outside;
      assert.deepEqual(await db.all('SELECT text FROM notes'), [{ text: 'outside' }]);
    } finally {
      await db.close();
    }
  });

  it('reports SQL errors as STORE_QUERY with the sqlite error as cause', async () => {
    const db = await openDatabase(freshPath());
    try {
      await assert.rejects(db.run('INSERT INTO nowhere VALUES (1)'), (error: unknown) => {
        assert.ok(error instanceof AppError);
        assert.equal(error.code, 'STORE_QUERY');
        assert.equal((error.cause as { code?: string }).code, 'SQLITE_ERROR');
        return true;
      });
    } finally {
      await db.close();
    }
  });

  it('rejects calls after close with STORE_CLOSED, and closes only once', async () => {
    const db = await openDatabase(freshPath());
    await db.close();
    await db.close();
    await assert.rejects(db.get('SELECT 1'), { code: 'STORE_CLOSED' });
  });

  it('reports a file that is not a database as STORE_OPEN', async () => {
    const path = freshPath();
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, 'this is not a sqlite database, just text that is long enough to look like a header');
    await assert.rejects(
      openDatabase(path),
      (error: unknown) => error instanceof AppError && /^STORE_/.test(error.code),
    );
  });
});
