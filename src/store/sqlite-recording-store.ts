import { AppError } from '../errors.js';
import type {
  LegalHold,
  RecordingQuery,
  RecordingRecord,
  RecordingStart,
  RecordingState,
  RecordingStore,
} from './recording-store.js';
import { isoInstant } from './sqlite-audit-log.js';
import type { SqlExecutor, SqlValue } from './sqlite-database.js';

interface RecordingRow {
  id: string;
  dir: string;
  profile: string | null;
  direction: 'inbound' | 'outbound' | null;
  caller: string | null;
  callee: string | null;
  start: string;
  ended_at: string | null;
  end_reason: string | null;
  state: RecordingState;
  retention_days: number | null;
  statutory: number;
  hold_reason: string | null;
  held_at: string | null;
  held_by: string | null;
  archived_at: string | null;
  local_removed_at: string | null;
  deleted_at: string | null;
  deletion_reason: string | null;
}

const COLUMNS = `id, dir, profile, direction, caller, callee, start, ended_at, end_reason, state, retention_days,
  statutory, hold_reason, held_at, held_by, archived_at, local_removed_at, deleted_at, deletion_reason`;

/**
 * Parties still unknown are taken from the call's row: `register` runs when recording starts, and
 * a call row written late (or a row from before migration 006) would otherwise stay without them.
 */
const FILL_PARTIES = `caller = COALESCE(caller, (SELECT c.caller FROM calls c WHERE c.id = recordings.id)),
  callee = COALESCE(callee, (SELECT c.callee FROM calls c WHERE c.id = recordings.id))`;

const DAY_MS = 24 * 60 * 60 * 1000;

/** Options of {@link SqliteRecordingStore}. */
export interface SqliteRecordingStoreOptions {
  /** The clock for calls without an explicit time. @default () => new Date() */
  readonly now?: () => Date;
}

/** The `recordings` table as extended by migration 006-recording-lifecycle. */
export class SqliteRecordingStore implements RecordingStore {
  readonly #db: SqlExecutor;
  readonly #now: () => Date;

  constructor(db: SqlExecutor, options: SqliteRecordingStoreOptions = {}) {
    this.#db = db;
    this.#now = options.now ?? (() => new Date());
  }

  async register(start: RecordingStart): Promise<void> {
    if (start.retentionDays !== null && (!Number.isInteger(start.retentionDays) || start.retentionDays < 0)) {
      throw new AppError('STORE_QUERY', `recording ${start.id}: retentionDays must be a natural number`);
    }
    await this.#db.run(
      `INSERT INTO recordings (id, dir, profile, direction, caller, callee, start, state, created_at, retention_days, statutory)
       VALUES (?, ?, ?, ?, COALESCE(?, (SELECT caller FROM calls WHERE id = ?)),
         COALESCE(?, (SELECT callee FROM calls WHERE id = ?)), ?, 'recording', ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
      [
        start.id,
        start.dir,
        start.profile,
        start.direction,
        start.caller,
        start.id,
        start.callee,
        start.id,
        isoInstant(start.start, 'start'),
        this.#now().toISOString(),
        start.retentionDays,
        start.statutory ? 1 : 0,
      ],
    );
  }

  async markFinalizing(id: string, end: string, endReason: string): Promise<void> {
    const result = await this.#db.run(
      `UPDATE recordings SET state = 'finalizing', ended_at = ?, end_reason = ?, ${FILL_PARTIES}
       WHERE id = ? AND state = 'recording'`,
      [isoInstant(end, 'end'), endReason, id],
    );
    if (result.changes === 1) return;
    const row = await this.find(id);
    if (row?.state === 'finalizing') return;
    throw conflict(id, row, 'recording');
  }

  async markSpooled(id: string, end?: { readonly at: string; readonly reason: string }): Promise<boolean> {
    const result = await this.#db.run(
      `UPDATE recordings SET state = 'spooled', ended_at = COALESCE(?, ended_at), end_reason = COALESCE(?, end_reason),
         ${FILL_PARTIES}
       WHERE id = ? AND state IN ('recording', 'finalizing')`,
      [end === undefined ? null : isoInstant(end.at, 'end'), end?.reason ?? null, id],
    );
    if (result.changes === 1) return true;
    const row = await this.find(id);
    if (row === undefined) throw conflict(id, row, 'recording or finalizing');
    return false;
  }

  async find(id: string): Promise<RecordingRecord | undefined> {
    const row = await this.#db.get<RecordingRow>(`SELECT ${COLUMNS} FROM recordings WHERE id = ?`, [id]);
    return row === undefined ? undefined : toRecord(row);
  }

  async list(query: RecordingQuery = {}): Promise<RecordingRecord[]> {
    const conditions: string[] = [];
    const params: SqlValue[] = [];
    if (query.since !== undefined) {
      conditions.push('start >= ?');
      params.push(isoInstant(query.since, 'since'));
    }
    if (query.until !== undefined) {
      conditions.push('start < ?');
      params.push(isoInstant(query.until, 'until'));
    }
    if (query.numbers !== undefined) {
      if (query.numbers.length === 0) return [];
      const marks = query.numbers.map(() => '?').join(', ');
      conditions.push(`(caller IN (${marks}) OR callee IN (${marks}))`);
      params.push(...query.numbers, ...query.numbers);
    }
    const states = query.states ?? ['recording', 'finalizing', 'spooled', 'archived'];
    if (states.length === 0) return [];
    conditions.push(`state IN (${states.map(() => '?').join(', ')})`);
    params.push(...states);
    const rows = await this.#db.all<RecordingRow>(
      `SELECT ${COLUMNS} FROM recordings WHERE ${conditions.join(' AND ')} ORDER BY start, id`,
      params,
    );
    return rows.map(toRecord);
  }

  async unfinished(): Promise<RecordingRecord[]> {
    return this.list({ states: ['recording', 'finalizing'] });
  }

  async hold(id: string, reason: string, by: string, at?: string): Promise<RecordingRecord> {
    if (reason.trim() === '') throw new AppError('STORE_QUERY', `recording ${id}: a legal hold needs a reason`);
    const since = at === undefined ? this.#now().toISOString() : isoInstant(at, 'at');
    const result = await this.#db.run(
      `UPDATE recordings SET hold_reason = ?, held_at = COALESCE(held_at, ?), held_by = COALESCE(held_by, ?)
       WHERE id = ? AND state != 'deleted'`,
      [reason, since, by, id],
    );
    const row = await this.find(id);
    if (row === undefined) throw conflict(id, row, 'known');
    if (result.changes !== 1) throw new AppError('STORE_CONFLICT', `recording ${id} is deleted; nothing left to hold`);
    return row;
  }

  async release(id: string): Promise<boolean> {
    const row = await this.find(id);
    if (row === undefined) throw conflict(id, row, 'known');
    if (row.hold === null) return false;
    await this.#db.run('UPDATE recordings SET hold_reason = NULL, held_at = NULL, held_by = NULL WHERE id = ?', [id]);
    return true;
  }

  async markDeleted(
    id: string,
    reason: string,
    at?: string,
    pseudonym?: { readonly caller: string | null; readonly callee: string | null },
  ): Promise<void> {
    const when = at === undefined ? this.#now().toISOString() : isoInstant(at, 'at');
    const result = await this.#db.run(
      `UPDATE recordings SET state = 'deleted', deleted_at = ?, deletion_reason = ?,
         caller = CASE WHEN ? THEN ? ELSE caller END, callee = CASE WHEN ? THEN ? ELSE callee END
       WHERE id = ? AND hold_reason IS NULL AND state IN ('spooled', 'archived')`,
      [
        when,
        reason,
        pseudonym === undefined ? 0 : 1,
        pseudonym?.caller ?? null,
        pseudonym === undefined ? 0 : 1,
        pseudonym?.callee ?? null,
        id,
      ],
    );
    if (result.changes === 1) {
      // Its files are gone: uploads not done yet would only fail forever on the missing spool.
      await this.#db.run(`DELETE FROM uploads WHERE recording_id = ? AND state IN ('pending', 'failed')`, [id]);
      return;
    }
    const row = await this.find(id);
    if (row?.hold !== null && row?.hold !== undefined) {
      throw new AppError('STORE_CONFLICT', `recording ${id} is under legal hold (${row.hold.reason})`);
    }
    throw conflict(id, row, 'spooled or archived');
  }

  async dueForRetention(asOf: string): Promise<RecordingRecord[]> {
    const cutoff = isoInstant(asOf, 'asOf');
    const cutoffMs = Date.parse(cutoff);
    // julianday() is a float: the query over-selects by a day, the exact test is in milliseconds.
    const rows = await this.#db.all<RecordingRow>(
      `SELECT ${COLUMNS} FROM recordings WHERE state IN ('spooled', 'archived') AND retention_days IS NOT NULL
         AND julianday(start) + retention_days <= julianday(?) + 1 ORDER BY start, id`,
      [cutoff],
    );
    return rows
      .filter((row) => row.retention_days !== null && Date.parse(row.start) + row.retention_days * DAY_MS <= cutoffMs)
      .map(toRecord);
  }
}

function conflict(id: string, row: RecordingRecord | undefined, expected: string): AppError {
  return new AppError(
    'STORE_CONFLICT',
    row === undefined ? `no recording ${id}` : `recording ${id} is ${row.state}, not ${expected}`,
  );
}

function toRecord(row: RecordingRow): RecordingRecord {
  const hold: LegalHold | null =
    row.hold_reason === null
      ? null
      : { reason: row.hold_reason, since: row.held_at ?? row.start, by: row.held_by ?? 'unknown' };
  return {
    id: row.id,
    dir: row.dir,
    profile: row.profile,
    direction: row.direction,
    caller: row.caller,
    callee: row.callee,
    start: row.start,
    end: row.ended_at,
    endReason: row.end_reason,
    state: row.state,
    retentionDays: row.retention_days,
    statutory: row.statutory === 1,
    hold,
    archivedAt: row.archived_at,
    localRemovedAt: row.local_removed_at,
    deletedAt: row.deleted_at,
    deletionReason: row.deletion_reason,
  };
}
