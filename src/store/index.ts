export type { LedgerCheckpoint, LedgerEntry, LedgerStore } from './protocol-store.js';
export {
  databasePath,
  migrate,
  migrationLabel,
  openDatabase,
  schemaVersion,
  sqliteCode,
  SqliteDatabase,
  type OpenDatabaseOptions,
  type SqlExecutor,
  type SqlRunResult,
  type SqlValue,
} from './sqlite-database.js';
export { MIGRATIONS, type Migration } from './migrations.js';
export { SqliteLedgerStore } from './sqlite-ledger-store.js';
