/**
 * The schema, as numbered migrations applied in order by `migrate()` (sqlite-database.ts). They
 * are TypeScript strings rather than `migrations/NNN-name.sql` files so that `tsc` output is
 * complete without a copy step. To change the schema, append one entry with the next version;
 * never edit or reorder an applied one.
 */

/** One schema step. */
export interface Migration {
  /** 1, 2, 3, … — the order of application, recorded in `schema_migrations`. */
  readonly version: number;
  /** kebab-case, as the former file name `NNN-<name>.sql`. */
  readonly name: string;
  /** One or more SQL statements; no PRAGMA, no BEGIN/COMMIT (the runner wraps a transaction). */
  readonly sql: string;
}

/** 001-ledger: the recording chain (issue 6) — append-only entries and signed checkpoints. */
const LEDGER = `
CREATE TABLE ledger_entries (
  sequence INTEGER PRIMARY KEY CHECK (sequence >= 1),
  recording_id TEXT NOT NULL UNIQUE,
  checksum_sha256 TEXT NOT NULL CHECK (length(checksum_sha256) = 64),
  previous_checksum_sha256 TEXT CHECK (previous_checksum_sha256 IS NULL OR length(previous_checksum_sha256) = 64),
  sealed_at TEXT NOT NULL
);

-- Only the next link may be appended: sequence = head + 1 and previous = the head's checksum.
CREATE TRIGGER ledger_entries_next_link BEFORE INSERT ON ledger_entries
WHEN NEW.sequence IS NOT (SELECT COALESCE(MAX(sequence), 0) + 1 FROM ledger_entries)
  OR NEW.previous_checksum_sha256 IS NOT (SELECT checksum_sha256 FROM ledger_entries WHERE sequence = NEW.sequence - 1)
BEGIN
  SELECT RAISE(ABORT, 'ledger: not the next link of the chain');
END;

CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
BEGIN
  SELECT RAISE(ABORT, 'ledger: entries are append-only');
END;

CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
BEGIN
  SELECT RAISE(ABORT, 'ledger: entries are append-only');
END;

CREATE TABLE ledger_checkpoints (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  sequence INTEGER NOT NULL CHECK (sequence >= 0),
  head_checksum_sha256 TEXT CHECK (head_checksum_sha256 IS NULL OR length(head_checksum_sha256) = 64),
  installation_id TEXT NOT NULL,
  created_at TEXT NOT NULL,
  file_name TEXT NOT NULL,
  signature_base64 TEXT NOT NULL
);
`;

/** Every migration of this version of callrec, ascending. Add new ones at the end. */
export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'ledger', sql: LEDGER },
  // { version: 2, name: 'calls', sql: CALLS },
];
