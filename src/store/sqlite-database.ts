import { mkdir, open } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import sqlite3 from 'sqlite3';
import { AppError } from '../errors.js';
import { MIGRATIONS, type Migration } from './migrations.js';
import { SerialQueue } from './serial-queue.js';

/** A value bound to a `?` placeholder. */
export type SqlValue = string | number | bigint | Buffer | null;

/** What `run` reports: rows changed and the last inserted rowid. */
export interface SqlRunResult {
  readonly changes: number;
  readonly lastId: number;
}

/** Statement execution, on the database or inside one of its transactions. */
export interface SqlExecutor {
  run(sql: string, params?: readonly SqlValue[]): Promise<SqlRunResult>;
  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** Runs several `;`-separated statements without parameters. */
  exec(sql: string): Promise<void>;
}

/** Options of {@link openDatabase}. */
export interface OpenDatabaseOptions {
  /** Schema steps to apply. @default MIGRATIONS */
  readonly migrations?: readonly Migration[];
  /** How long a statement waits for another connection's lock. @default 5000 */
  readonly busyTimeoutMs?: number;
}

/** The database file of an installation: `<dataDir>/callrec.db` (SPEC §11). */
export function databasePath(dataDir: string): string {
  return join(dataDir, 'callrec.db');
}

/**
 * Opens (creating it 0600, and its folder 0700, if needed) a sqlite3 database in WAL mode with
 * `busy_timeout`, `foreign_keys=ON` and `synchronous=FULL`, then applies pending migrations.
 * Rejects with `AppError('STORE_OPEN' | 'STORE_MIGRATION')`.
 */
export async function openDatabase(path: string, options: OpenDatabaseOptions = {}): Promise<SqliteDatabase> {
  await createPrivateFile(path);
  const raw = await new Promise<sqlite3.Database>((resolve, reject) => {
    const db: sqlite3.Database = new sqlite3.Database(path, sqlite3.OPEN_READWRITE | sqlite3.OPEN_CREATE, (error) =>
      error === null
        ? resolve(db)
        : reject(new AppError('STORE_OPEN', `cannot open ${path}: ${error.message}`, { cause: error })),
    );
  });
  const database = new SqliteDatabase(path, raw);
  try {
    raw.configure('busyTimeout', options.busyTimeoutMs ?? 5000);
    const mode = await switchToWal(database);
    if (mode?.journal_mode.toLowerCase() !== 'wal') {
      throw new AppError('STORE_OPEN', `cannot switch ${path} to WAL (journal_mode is ${mode?.journal_mode ?? '?'})`);
    }
    await database.exec('PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;');
    await migrate(database, options.migrations ?? MIGRATIONS);
  } catch (error) {
    await database.close().catch(() => undefined); // the open/migration error is the one to report
    if (error instanceof AppError) throw error;
    throw new AppError('STORE_OPEN', `cannot prepare ${path}: ${messageOf(error)}`, { cause: error });
  }
  return database;
}

/**
 * `PRAGMA journal_mode = WAL` can fail with SQLITE_BUSY while another process (a CLI command next
 * to the server) opens the same file; the busy handler does not cover it, so retry briefly.
 */
async function switchToWal(database: SqliteDatabase): Promise<{ journal_mode: string } | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await database.get<{ journal_mode: string }>('PRAGMA journal_mode = WAL');
    } catch (error) {
      if (attempt >= 50 || !/SQLITE_BUSY|database is locked/.test(messageOf(error))) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 30));
    }
  }
}

/**
 * One sqlite3 connection. Every statement and transaction runs in call order through one queue,
 * so a statement issued while a transaction is open never lands inside it.
 */
export class SqliteDatabase implements SqlExecutor {
  readonly path: string;
  readonly #raw: sqlite3.Database;
  readonly #queue = new SerialQueue();
  #closed = false;

  /** Use {@link openDatabase}. */
  constructor(path: string, raw: sqlite3.Database) {
    this.path = path;
    this.#raw = raw;
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<SqlRunResult> {
    return this.#enqueue(() => runRaw(this.#raw, sql, params));
  }

  get<T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return this.#enqueue(() => getRaw<T>(this.#raw, sql, params));
  }

  all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return this.#enqueue(() => allRaw<T>(this.#raw, sql, params));
  }

  exec(sql: string): Promise<void> {
    return this.#enqueue(() => execRaw(this.#raw, sql));
  }

  /**
   * Runs `body` inside `BEGIN IMMEDIATE … COMMIT` (the write lock is taken up front, so two
   * connections never deadlock upgrading a read lock); rolls back and rethrows when it throws.
   * Use only `tx` inside `body` — the database's own methods would wait for the transaction.
   */
  transaction<T>(body: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.#enqueue(async () => {
      let open = true;
      const guard = <R>(operation: () => Promise<R>): Promise<R> =>
        open ? operation() : Promise.reject(new Error('transaction already finished')); // a bug in the caller
      const tx: SqlExecutor = {
        run: (sql, params = []) => guard(() => runRaw(this.#raw, sql, params)),
        get: <R>(sql: string, params: readonly SqlValue[] = []) => guard(() => getRaw<R>(this.#raw, sql, params)),
        all: <R>(sql: string, params: readonly SqlValue[] = []) => guard(() => allRaw<R>(this.#raw, sql, params)),
        exec: (sql) => guard(() => execRaw(this.#raw, sql)),
      };
      await execRaw(this.#raw, 'BEGIN IMMEDIATE');
      try {
        const result = await body(tx);
        await execRaw(this.#raw, 'COMMIT');
        return result;
      } catch (error) {
        await execRaw(this.#raw, 'ROLLBACK').catch(() => undefined); // sqlite may have rolled back already
        throw error;
      } finally {
        open = false;
      }
    });
  }

  /** Closes the connection once queued work has finished; later calls reject with `STORE_CLOSED`. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    const done = this.#queue.run(
      () =>
        new Promise<void>((resolve, reject) =>
          this.#raw.close((error) =>
            error === null
              ? resolve()
              : reject(new AppError('STORE_QUERY', `cannot close ${this.path}: ${error.message}`, { cause: error })),
          ),
        ),
    );
    this.#closed = true;
    return done;
  }

  #enqueue<T>(operation: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new AppError('STORE_CLOSED', `database ${this.path} is closed`));
    return this.#queue.run(operation);
  }
}

/**
 * Applies the migrations newer than the database's `schema_migrations` version, each in its own
 * transaction (re-checked inside it, so two processes opening one file apply each step once).
 * Rejects with `STORE_MIGRATION` for a malformed list, a renamed applied step or a database
 * written by a newer callrec.
 */
export async function migrate(database: SqliteDatabase, migrations: readonly Migration[]): Promise<number> {
  checkMigrationList(migrations);
  await database.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)',
  );
  const latest = migrations.length;
  for (const migration of migrations) {
    await database.transaction(async (tx) => {
      const applied = await tx.all<{ version: number; name: string }>(
        'SELECT version, name FROM schema_migrations ORDER BY version',
      );
      for (const row of applied) {
        const known = migrations[row.version - 1];
        if (known === undefined) {
          throw new AppError(
            'STORE_MIGRATION',
            `${database.path} has schema version ${row.version} (${row.name}); this callrec knows up to ${latest}`,
          );
        }
        if (known.name !== row.name) {
          throw new AppError(
            'STORE_MIGRATION',
            `${database.path}: applied migration ${row.version} is "${row.name}", expected "${known.name}"`,
          );
        }
      }
      if (applied.some((row) => row.version === migration.version)) return;
      try {
        await tx.exec(migration.sql);
      } catch (error) {
        throw new AppError(
          'STORE_MIGRATION',
          `${database.path}: migration ${migrationLabel(migration)} failed: ${messageOf(error)}`,
          { cause: error },
        );
      }
      await tx.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [
        migration.version,
        migration.name,
        new Date().toISOString(),
      ]);
    });
  }
  return latest;
}

/** The highest applied migration version (0 for a fresh database). */
export async function schemaVersion(database: SqlExecutor): Promise<number> {
  const row = await database.get<{ version: number | null }>('SELECT MAX(version) AS version FROM schema_migrations');
  return row?.version ?? 0;
}

/** `NNN-name`, as the migration would be named as a file. */
export function migrationLabel(migration: Migration): string {
  return `${String(migration.version).padStart(3, '0')}-${migration.name}`;
}

function checkMigrationList(migrations: readonly Migration[]): void {
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1 || !/^[a-z0-9]+(-[a-z0-9]+)*$/.test(migration.name)) {
      throw new AppError(
        'STORE_MIGRATION',
        `migration list is malformed at position ${index + 1} (${migrationLabel(migration)}): versions must be 1, 2, 3, … and names kebab-case`,
      );
    }
  });
}

/** Creates the database file 0600 (and its folder 0700) before sqlite does it with the umask. */
async function createPrivateFile(path: string): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const handle = await open(path, 'wx', 0o600);
    try {
      await handle.chmod(0o600);
    } finally {
      await handle.close();
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw new AppError('STORE_OPEN', `cannot create ${path}: ${messageOf(error)}`, { cause: error });
  }
}

function runRaw(raw: sqlite3.Database, sql: string, params: readonly SqlValue[]): Promise<SqlRunResult> {
  return new Promise((resolve, reject) => {
    raw.run(sql, [...params], function (this: sqlite3.RunResult, error: Error | null) {
      if (error !== null) reject(queryError(sql, error));
      else resolve({ changes: this.changes, lastId: this.lastID });
    });
  });
}

function getRaw<T>(raw: sqlite3.Database, sql: string, params: readonly SqlValue[]): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    raw.get<T>(sql, [...params], (error: Error | null, row: T | undefined) => {
      if (error !== null) reject(queryError(sql, error));
      else resolve(row);
    });
  });
}

function allRaw<T>(raw: sqlite3.Database, sql: string, params: readonly SqlValue[]): Promise<T[]> {
  return new Promise((resolve, reject) => {
    raw.all<T>(sql, [...params], (error: Error | null, rows: T[]) => {
      if (error !== null) reject(queryError(sql, error));
      else resolve(rows);
    });
  });
}

function execRaw(raw: sqlite3.Database, sql: string): Promise<void> {
  return new Promise((resolve, reject) => {
    raw.exec(sql, (error: Error | null) => {
      if (error !== null) reject(queryError(sql, error));
      else resolve();
    });
  });
}

/** `STORE_QUERY` with the sqlite error as cause; `SQLITE_BUSY`/`SQLITE_LOCKED` are retriable. */
function queryError(sql: string, error: Error): AppError {
  const code = sqliteCode(error);
  const statement = sql.trim().split(/\s+/).slice(0, 4).join(' ');
  return new AppError('STORE_QUERY', `${statement} …: ${error.message}`, {
    cause: error,
    retriable: code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED',
  });
}

/** The `SQLITE_*` code of an error from sqlite3 (directly or as an AppError's cause). */
export function sqliteCode(error: unknown): string | undefined {
  const target = error instanceof AppError ? error.cause : error;
  const code = (target as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
