import { AppError } from '../errors.js';
import type { LedgerCheckpoint, LedgerEntry, LedgerStore } from './protocol-store.js';
import { sqliteCode, type SqlExecutor } from './sqlite-database.js';

interface LedgerEntryRow {
  sequence: number;
  recording_id: string;
  checksum_sha256: string;
  previous_checksum_sha256: string | null;
  sealed_at: string;
}

interface CheckpointRow {
  sequence: number;
  head_checksum_sha256: string | null;
  installation_id: string;
  created_at: string;
  file_name: string;
  signature_base64: string;
}

const ENTRY_COLUMNS = 'sequence, recording_id, checksum_sha256, previous_checksum_sha256, sealed_at';
const CHECKPOINT_COLUMNS = 'sequence, head_checksum_sha256, installation_id, created_at, file_name, signature_base64';

/**
 * The ledger tables of migration 001-ledger. The "next link only" and "append-only" rules are
 * triggers in the schema, so they hold for every connection, not just this class.
 */
export class SqliteLedgerStore implements LedgerStore {
  readonly #db: SqlExecutor;

  constructor(db: SqlExecutor) {
    this.#db = db;
  }

  async appendLedgerEntry(entry: LedgerEntry): Promise<void> {
    try {
      await this.#db.run(`INSERT INTO ledger_entries (${ENTRY_COLUMNS}) VALUES (?, ?, ?, ?, ?)`, [
        entry.sequence,
        entry.recordingId,
        entry.checksumSha256,
        entry.previousChecksumSha256,
        entry.sealedAt,
      ]);
    } catch (error) {
      if (sqliteCode(error) !== 'SQLITE_CONSTRAINT') throw error;
      // Another writer appended first: retriable with a fresh head. A known recording is not.
      const known = /UNIQUE.*recording_id/.test(messageOf(error));
      const reason = known
        ? `recording ${entry.recordingId} is already in the ledger`
        : `entry ${entry.sequence} (${entry.recordingId}) is not the next link of the chain`;
      throw new AppError('STORE_CONFLICT', `ledger: ${reason}`, { cause: error, retriable: !known });
    }
  }

  async ledgerHead(): Promise<LedgerEntry | undefined> {
    const row = await this.#db.get<LedgerEntryRow>(
      `SELECT ${ENTRY_COLUMNS} FROM ledger_entries ORDER BY sequence DESC LIMIT 1`,
    );
    return row === undefined ? undefined : toEntry(row);
  }

  async ledgerEntries(fromSequence = 1): Promise<LedgerEntry[]> {
    const rows = await this.#db.all<LedgerEntryRow>(
      `SELECT ${ENTRY_COLUMNS} FROM ledger_entries WHERE sequence >= ? ORDER BY sequence`,
      [fromSequence],
    );
    return rows.map(toEntry);
  }

  async ledgerEntryForRecording(recordingId: string): Promise<LedgerEntry | undefined> {
    const row = await this.#db.get<LedgerEntryRow>(
      `SELECT ${ENTRY_COLUMNS} FROM ledger_entries WHERE recording_id = ?`,
      [recordingId],
    );
    return row === undefined ? undefined : toEntry(row);
  }

  async appendCheckpoint(checkpoint: LedgerCheckpoint): Promise<void> {
    await this.#db.run(`INSERT INTO ledger_checkpoints (${CHECKPOINT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`, [
      checkpoint.sequence,
      checkpoint.headChecksumSha256,
      checkpoint.installationId,
      checkpoint.createdAt,
      checkpoint.fileName,
      checkpoint.signatureBase64,
    ]);
  }

  async latestCheckpoint(): Promise<LedgerCheckpoint | undefined> {
    const row = await this.#db.get<CheckpointRow>(
      `SELECT ${CHECKPOINT_COLUMNS} FROM ledger_checkpoints ORDER BY id DESC LIMIT 1`,
    );
    if (row === undefined) return undefined;
    return {
      sequence: row.sequence,
      headChecksumSha256: row.head_checksum_sha256,
      installationId: row.installation_id,
      createdAt: row.created_at,
      fileName: row.file_name,
      signatureBase64: row.signature_base64,
    };
  }
}

function toEntry(row: LedgerEntryRow): LedgerEntry {
  return {
    sequence: row.sequence,
    recordingId: row.recording_id,
    checksumSha256: row.checksum_sha256,
    previousChecksumSha256: row.previous_checksum_sha256,
    sealedAt: row.sealed_at,
  };
}

function messageOf(error: unknown): string {
  const cause = error instanceof AppError ? error.cause : error;
  return cause instanceof Error ? cause.message : String(cause);
}
