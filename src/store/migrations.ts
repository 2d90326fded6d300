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

/**
 * 002-calls: one row per call the B2BUA handled (its CDR, issue 4) and its two legs' dialog
 * identifiers. Numbers are normalised (E.164 or an internal extension); times ISO 8601 UTC.
 */
const CALLS = `
CREATE TABLE calls (
  id TEXT PRIMARY KEY,
  direction TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
  call_id_a TEXT NOT NULL,
  call_id_b TEXT,
  caller TEXT,
  callee TEXT,
  decision_profile TEXT,
  decision_reason TEXT NOT NULL,
  started_at TEXT NOT NULL,
  answered_at TEXT,
  ended_at TEXT,
  ended_by TEXT CHECK (ended_by IS NULL OR ended_by IN ('caller', 'callee', 'callrec')),
  end_reason TEXT,
  final_status INTEGER CHECK (final_status IS NULL OR final_status BETWEEN 100 AND 699)
);

CREATE INDEX calls_started_at ON calls (started_at);
CREATE INDEX calls_caller ON calls (caller);
CREATE INDEX calls_callee ON calls (callee);
CREATE INDEX calls_call_id_a ON calls (call_id_a);

CREATE TABLE legs (
  call_ref TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
  leg TEXT NOT NULL CHECK (leg IN ('a', 'b')),
  call_id TEXT NOT NULL,
  local_tag TEXT,
  remote_tag TEXT,
  local_uri TEXT,
  remote_uri TEXT,
  remote_address TEXT,
  transport TEXT,
  PRIMARY KEY (call_ref, leg)
);

CREATE INDEX legs_call_id ON legs (call_id);
`;

/**
 * 003-group-membership: per group and user, whether the user is currently an active member. Only
 * users whose state was ever switched have a row; configured members without one are active.
 */
const GROUP_MEMBERSHIP = `
CREATE TABLE group_membership (
  group_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  active INTEGER NOT NULL CHECK (active IN (0, 1)),
  changed_at TEXT NOT NULL,
  changed_by TEXT NOT NULL,
  PRIMARY KEY (group_id, user_id)
);
`;

/** 004-audit-log: every admin action with time and actor (SPEC §7); append-only like the ledger. */
const AUDIT_LOG = `
CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  actor TEXT NOT NULL CHECK (length(actor) > 0),
  action TEXT NOT NULL CHECK (length(action) > 0),
  subject TEXT NOT NULL,
  details TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(details))
);

CREATE INDEX audit_log_at ON audit_log (at);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
  SELECT RAISE(ABORT, 'audit log: entries are append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
  SELECT RAISE(ABORT, 'audit log: entries are append-only');
END;
`;

/**
 * 005-uploads: the archive's spool and upload queue (issue 8, SPEC §6). `recordings` holds what the
 * uploader needs of a spooled recording — a later migration may add columns; its `state` is
 * `spooled` (not on every target yet) or `archived` (on every target; `local_removed_at` tells
 * whether the spool copy is gone). `uploads` has one row per recording and target.
 */
const UPLOADS = `
CREATE TABLE recordings (
  id TEXT PRIMARY KEY,
  dir TEXT NOT NULL,
  profile TEXT,
  start TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'spooled',
  created_at TEXT NOT NULL,
  archived_at TEXT,
  local_removed_at TEXT
);

CREATE INDEX recordings_state ON recordings (state);

CREATE TABLE uploads (
  recording_id TEXT NOT NULL REFERENCES recordings (id) ON DELETE CASCADE,
  target_id TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'uploading', 'done', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  last_error TEXT,
  next_attempt_at TEXT NOT NULL,
  folder TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  done_at TEXT,
  PRIMARY KEY (recording_id, target_id)
);

CREATE INDEX uploads_due ON uploads (target_id, state, next_attempt_at);
`;

/**
 * 006-recording-lifecycle: the `recordings` table becomes the catalogue of every recording from
 * its start (not only those queued for upload): parties, end, retention, legal hold, deletion.
 * Rows of 005 keep their state (`spooled`/`archived`).
 */
const RECORDING_LIFECYCLE = `
ALTER TABLE recordings ADD COLUMN direction TEXT CHECK (direction IS NULL OR direction IN ('inbound', 'outbound'));
ALTER TABLE recordings ADD COLUMN caller TEXT;
ALTER TABLE recordings ADD COLUMN callee TEXT;
ALTER TABLE recordings ADD COLUMN ended_at TEXT;
ALTER TABLE recordings ADD COLUMN end_reason TEXT;
ALTER TABLE recordings ADD COLUMN retention_days INTEGER CHECK (retention_days IS NULL OR retention_days >= 0);
ALTER TABLE recordings ADD COLUMN statutory INTEGER NOT NULL DEFAULT 0 CHECK (statutory IN (0, 1));
ALTER TABLE recordings ADD COLUMN hold_reason TEXT;
ALTER TABLE recordings ADD COLUMN held_at TEXT;
ALTER TABLE recordings ADD COLUMN held_by TEXT;
ALTER TABLE recordings ADD COLUMN deleted_at TEXT;
ALTER TABLE recordings ADD COLUMN deletion_reason TEXT;

CREATE INDEX recordings_caller ON recordings (caller);
CREATE INDEX recordings_callee ON recordings (callee);
CREATE INDEX recordings_start ON recordings (start);

CREATE TRIGGER recordings_state_known BEFORE UPDATE OF state ON recordings
WHEN NEW.state NOT IN ('recording', 'finalizing', 'spooled', 'archived', 'deleted')
BEGIN
  SELECT RAISE(ABORT, 'recordings: unknown state');
END;
`;

/**
 * 007-disposal-log: the signed disposal log (SPEC §7) — one entry per recording deleted by
 * retention or erasure: what, when, which policy, by whom, where. Append-only and hash-chained
 * like the ledger: an entry must name the head's sha256 as its previous one. Also fills the parties
 * and direction of catalogue rows from before 006 (they came from the upload queue) out of `calls`,
 * so `recordings list --number` and erasure find them.
 */
const DISPOSAL_LOG = `
CREATE TABLE disposal_log (
  id INTEGER PRIMARY KEY CHECK (id >= 1),
  at TEXT NOT NULL,
  recording_id TEXT NOT NULL,
  action TEXT NOT NULL CHECK (action IN ('retention', 'erasure')),
  policy TEXT NOT NULL CHECK (length(policy) > 0),
  actor TEXT NOT NULL CHECK (length(actor) > 0),
  locations TEXT NOT NULL CHECK (json_valid(locations)),
  previous_sha256 TEXT CHECK (previous_sha256 IS NULL OR length(previous_sha256) = 64),
  sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
  signature TEXT NOT NULL CHECK (length(signature) > 0)
);

CREATE INDEX disposal_log_recording ON disposal_log (recording_id);

CREATE TRIGGER disposal_log_next_link BEFORE INSERT ON disposal_log
WHEN NEW.id IS NOT (SELECT COALESCE(MAX(id), 0) + 1 FROM disposal_log)
  OR NEW.previous_sha256 IS NOT (SELECT sha256 FROM disposal_log WHERE id = NEW.id - 1)
BEGIN
  SELECT RAISE(ABORT, 'disposal log: not the next link of the chain');
END;

CREATE TRIGGER disposal_log_no_update BEFORE UPDATE ON disposal_log
BEGIN
  SELECT RAISE(ABORT, 'disposal log: entries are append-only');
END;

CREATE TRIGGER disposal_log_no_delete BEFORE DELETE ON disposal_log
BEGIN
  SELECT RAISE(ABORT, 'disposal log: entries are append-only');
END;

UPDATE recordings SET
  caller = COALESCE(caller, (SELECT c.caller FROM calls c WHERE c.id = recordings.id)),
  callee = COALESCE(callee, (SELECT c.callee FROM calls c WHERE c.id = recordings.id)),
  direction = COALESCE(direction, (SELECT c.direction FROM calls c WHERE c.id = recordings.id)),
  ended_at = COALESCE(ended_at, (SELECT c.ended_at FROM calls c WHERE c.id = recordings.id)),
  end_reason = COALESCE(end_reason, (SELECT c.end_reason FROM calls c WHERE c.id = recordings.id))
WHERE caller IS NULL OR callee IS NULL OR direction IS NULL OR ended_at IS NULL;
`;

/** Every migration of this version of callrec, ascending. Add new ones at the end. */
export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'ledger', sql: LEDGER },
  { version: 2, name: 'calls', sql: CALLS },
  { version: 3, name: 'group-membership', sql: GROUP_MEMBERSHIP },
  { version: 4, name: 'audit-log', sql: AUDIT_LOG },
  { version: 5, name: 'uploads', sql: UPLOADS },
  { version: 6, name: 'recording-lifecycle', sql: RECORDING_LIFECYCLE },
  { version: 7, name: 'disposal-log', sql: DISPOSAL_LOG },
];
