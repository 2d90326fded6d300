import type {
  DisposalAction,
  DisposalEntry,
  DisposalEntryInput,
  DisposalLocation,
  DisposalSeal,
  DisposalStore,
  UnsealedDisposalEntry,
} from './recording-store.js';
import { isoInstant } from './sqlite-audit-log.js';
import type { SqliteDatabase, SqlValue } from './sqlite-database.js';

interface DisposalRow {
  id: number;
  at: string;
  recording_id: string;
  action: DisposalAction;
  policy: string;
  actor: string;
  locations: string;
  previous_sha256: string | null;
  sha256: string;
  signature: string;
}

const COLUMNS = 'id, at, recording_id, action, policy, actor, locations, previous_sha256, sha256, signature';

/**
 * The `disposal_log` table of migration 007-disposal-log. Append-only and the chain order are
 * triggers in the schema (an insert must be id head + 1 naming the head's sha256), so they hold
 * for every connection; the seal is computed inside the write transaction from the head it read.
 */
export class SqliteDisposalStore implements DisposalStore {
  readonly #db: SqliteDatabase;

  constructor(db: SqliteDatabase) {
    this.#db = db;
  }

  append(input: DisposalEntryInput, seal: (entry: UnsealedDisposalEntry) => DisposalSeal): Promise<DisposalEntry> {
    const at = isoInstant(input.at, 'at');
    return this.#db.transaction(async (tx) => {
      const head = await tx.get<{ id: number; sha256: string }>(
        'SELECT id, sha256 FROM disposal_log ORDER BY id DESC LIMIT 1',
      );
      const unsealed: UnsealedDisposalEntry = {
        id: (head?.id ?? 0) + 1,
        at,
        recordingId: input.recordingId,
        action: input.action,
        policy: input.policy,
        actor: input.actor,
        locations: input.locations,
        previousSha256: head?.sha256 ?? null,
      };
      const { sha256, signature } = seal(unsealed);
      await tx.run(`INSERT INTO disposal_log (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
        unsealed.id,
        at,
        unsealed.recordingId,
        unsealed.action,
        unsealed.policy,
        unsealed.actor,
        JSON.stringify(unsealed.locations),
        unsealed.previousSha256,
        sha256,
        signature,
      ]);
      return { ...unsealed, sha256, signature };
    });
  }

  async list(query: { readonly since?: string; readonly recordingId?: string } = {}): Promise<DisposalEntry[]> {
    const conditions: string[] = [];
    const params: SqlValue[] = [];
    if (query.since !== undefined) {
      conditions.push('at >= ?');
      params.push(isoInstant(query.since, 'since'));
    }
    if (query.recordingId !== undefined) {
      conditions.push('recording_id = ?');
      params.push(query.recordingId);
    }
    const where = conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`;
    const rows = await this.#db.all<DisposalRow>(`SELECT ${COLUMNS} FROM disposal_log ${where} ORDER BY id`, params);
    return rows.map(toEntry);
  }
}

function toEntry(row: DisposalRow): DisposalEntry {
  return {
    id: row.id,
    at: row.at,
    recordingId: row.recording_id,
    action: row.action,
    policy: row.policy,
    actor: row.actor,
    locations: JSON.parse(row.locations) as DisposalLocation[],
    previousSha256: row.previous_sha256,
    sha256: row.sha256,
    signature: row.signature,
  };
}
