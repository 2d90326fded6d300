import { AppError } from '../errors.js';
import type {
  ArchivableRecording,
  UploadJob,
  UploadRequest,
  UploadState,
  UploadStore,
  UploadTargetStatus,
} from './protocol-store.js';
import { isoInstant } from './sqlite-audit-log.js';
import type { SqliteDatabase } from './sqlite-database.js';

interface UploadRow {
  recording_id: string;
  target_id: string;
  dir: string;
  profile: string | null;
  start: string;
  folder: string;
  state: UploadState;
  attempts: number;
  last_error: string | null;
  next_attempt_at: string;
  created_at: string;
  updated_at: string;
  done_at: string | null;
}

interface StatusRow {
  target_id: string;
  pending: number;
  uploading: number;
  failed: number;
  done: number;
  oldest: string | null;
  next_attempt: string | null;
  last_error: string | null;
  last_error_at: string | null;
}

/** Options of {@link SqliteUploadStore}. */
export interface SqliteUploadStoreOptions {
  /** The clock for calls without an explicit time. @default () => new Date() */
  readonly now?: () => Date;
}

const SELECT_JOBS = `SELECT u.recording_id, u.target_id, r.dir, r.profile, r.start, u.folder, u.state, u.attempts, u.last_error,
  u.next_attempt_at, u.created_at, u.updated_at, u.done_at
  FROM uploads u JOIN recordings r ON r.id = u.recording_id`;

/**
 * The `recordings` and `uploads` tables of migration 005-uploads. A claim is one transaction, so
 * two claimers never get the same row; every state change names the state it expects.
 */
export class SqliteUploadStore implements UploadStore {
  readonly #db: SqliteDatabase;
  readonly #now: () => Date;

  constructor(db: SqliteDatabase, options: SqliteUploadStoreOptions = {}) {
    this.#db = db;
    this.#now = options.now ?? (() => new Date());
  }

  async enqueue(request: UploadRequest, at?: Date): Promise<void> {
    const now = this.#iso(at, 'at');
    const start = isoInstant(request.start, 'start');
    await this.#db.transaction(async (tx) => {
      await tx.run(
        `INSERT INTO recordings (id, dir, profile, start, state, created_at) VALUES (?, ?, ?, ?, 'spooled', ?)
         ON CONFLICT (id) DO NOTHING`,
        [request.recordingId, request.dir, request.profile ?? null, start, now],
      );
      for (const { targetId, folder } of request.targets) {
        await tx.run(
          `INSERT INTO uploads (recording_id, target_id, state, attempts, next_attempt_at, folder, created_at, updated_at)
           VALUES (?, ?, 'pending', 0, ?, ?, ?, ?) ON CONFLICT (recording_id, target_id) DO NOTHING`,
          [request.recordingId, targetId, now, folder, now, now],
        );
      }
    });
  }

  async claimDue(targetId: string, now?: Date, limit = 1): Promise<UploadJob[]> {
    const due = this.#iso(now, 'now');
    if (!Number.isInteger(limit) || limit < 0)
      throw new Error(`claimDue: limit must be a natural number, not ${limit}`);
    if (limit === 0) return [];
    return this.#db.transaction(async (tx) => {
      const rows = await tx.all<UploadRow>(
        `${SELECT_JOBS} WHERE u.target_id = ? AND u.state IN ('pending', 'failed') AND u.next_attempt_at <= ?
         ORDER BY u.next_attempt_at, u.created_at, u.recording_id LIMIT ?`,
        [targetId, due, limit],
      );
      for (const row of rows) {
        await tx.run(
          `UPDATE uploads SET state = 'uploading', attempts = attempts + 1, updated_at = ?
           WHERE recording_id = ? AND target_id = ?`,
          [due, row.recording_id, row.target_id],
        );
      }
      return rows.map((row) => toJob({ ...row, state: 'uploading', attempts: row.attempts + 1, updated_at: due }));
    });
  }

  async markDone(recordingId: string, targetId: string, at?: Date): Promise<void> {
    const now = this.#iso(at, 'at');
    await this.#transition(
      recordingId,
      targetId,
      `UPDATE uploads SET state = 'done', last_error = NULL, updated_at = ?, done_at = ?
       WHERE recording_id = ? AND target_id = ? AND state = 'uploading'`,
      [now, now, recordingId, targetId],
    );
  }

  async markFailed(
    recordingId: string,
    targetId: string,
    error: string,
    nextAttemptAt: Date,
    at?: Date,
  ): Promise<void> {
    const now = this.#iso(at, 'at');
    await this.#transition(
      recordingId,
      targetId,
      `UPDATE uploads SET state = 'failed', last_error = ?, next_attempt_at = ?, updated_at = ?
       WHERE recording_id = ? AND target_id = ? AND state = 'uploading'`,
      [error, this.#iso(nextAttemptAt, 'nextAttemptAt'), now, recordingId, targetId],
    );
  }

  async resetInterrupted(at?: Date): Promise<number> {
    const now = this.#iso(at, 'at');
    const result = await this.#db.run(
      `UPDATE uploads SET state = 'pending', next_attempt_at = ?, updated_at = ? WHERE state = 'uploading'`,
      [now, now],
    );
    return result.changes;
  }

  async status(): Promise<UploadTargetStatus[]> {
    const rows = await this.#db.all<StatusRow>(
      `SELECT u.target_id,
         SUM(u.state = 'pending') AS pending, SUM(u.state = 'uploading') AS uploading,
         SUM(u.state = 'failed') AS failed, SUM(u.state = 'done') AS done,
         MIN(CASE WHEN u.state != 'done' THEN u.created_at END) AS oldest,
         MIN(CASE WHEN u.state = 'failed' THEN u.next_attempt_at END) AS next_attempt,
         (SELECT e.last_error FROM uploads e WHERE e.target_id = u.target_id AND e.state != 'done'
            AND e.last_error IS NOT NULL ORDER BY e.updated_at DESC, e.recording_id LIMIT 1) AS last_error,
         (SELECT MAX(e.updated_at) FROM uploads e WHERE e.target_id = u.target_id AND e.state != 'done'
            AND e.last_error IS NOT NULL) AS last_error_at
       FROM uploads u GROUP BY u.target_id ORDER BY u.target_id`,
    );
    return rows.map((row) => ({
      targetId: row.target_id,
      pending: row.pending,
      uploading: row.uploading,
      failed: row.failed,
      done: row.done,
      oldestPendingSince: row.oldest,
      lastError: row.last_error,
      lastErrorAt: row.last_error_at,
      nextAttemptAt: row.next_attempt,
    }));
  }

  async retryAll(at?: Date, targetId?: string): Promise<number> {
    const now = this.#iso(at, 'at');
    const result = await this.#db.run(
      `UPDATE uploads SET state = 'pending', next_attempt_at = ?, updated_at = ?
       WHERE state = 'failed' AND (? IS NULL OR target_id = ?)`,
      [now, now, targetId ?? null, targetId ?? null],
    );
    return result.changes;
  }

  async allDone(recordingId: string): Promise<boolean> {
    const row = await this.#db.get<{ total: number; done: number | null }>(
      `SELECT COUNT(*) AS total, SUM(state = 'done') AS done FROM uploads WHERE recording_id = ?`,
      [recordingId],
    );
    return row !== undefined && row.total > 0 && row.done === row.total;
  }

  async uploadsOf(recordingId: string): Promise<UploadJob[]> {
    const rows = await this.#db.all<UploadRow>(`${SELECT_JOBS} WHERE u.recording_id = ? ORDER BY u.target_id`, [
      recordingId,
    ]);
    return rows.map(toJob);
  }

  async archivable(): Promise<ArchivableRecording[]> {
    const rows = await this.#db.all<{ id: string; dir: string }>(
      `SELECT r.id, r.dir FROM recordings r WHERE r.state = 'spooled'
         AND EXISTS (SELECT 1 FROM uploads u WHERE u.recording_id = r.id)
         AND NOT EXISTS (SELECT 1 FROM uploads u WHERE u.recording_id = r.id AND u.state != 'done')
       ORDER BY r.created_at, r.id`,
    );
    return rows.map((row) => ({ recordingId: row.id, dir: row.dir }));
  }

  async markArchived(recordingId: string, localRemoved: boolean, at?: Date): Promise<boolean> {
    const now = this.#iso(at, 'at');
    const result = await this.#db.run(
      `UPDATE recordings SET state = 'archived', archived_at = ?, local_removed_at = ?
       WHERE id = ? AND state = 'spooled'`,
      [now, localRemoved ? now : null, recordingId],
    );
    if (result.changes === 1) return true;
    const known = await this.#db.get<{ id: string }>('SELECT id FROM recordings WHERE id = ?', [recordingId]);
    if (known === undefined) throw new AppError('STORE_CONFLICT', `recording ${recordingId} was never queued`);
    return false;
  }

  /** Runs a state change that expects one row in a given state; explains a miss. */
  async #transition(recordingId: string, targetId: string, sql: string, params: Array<string | number>): Promise<void> {
    const result = await this.#db.run(sql, params);
    if (result.changes === 1) return;
    const row = await this.#db.get<{ state: UploadState }>(
      'SELECT state FROM uploads WHERE recording_id = ? AND target_id = ?',
      [recordingId, targetId],
    );
    throw new AppError(
      'STORE_CONFLICT',
      row === undefined
        ? `no upload of recording ${recordingId} to ${targetId}`
        : `upload of recording ${recordingId} to ${targetId} is ${row.state}, not uploading`,
    );
  }

  #iso(value: Date | undefined, what: string): string {
    const date = value ?? this.#now();
    if (Number.isNaN(date.getTime())) throw new AppError('STORE_QUERY', `${what}: not a valid time`);
    return date.toISOString();
  }
}

function toJob(row: UploadRow): UploadJob {
  return {
    recordingId: row.recording_id,
    targetId: row.target_id,
    dir: row.dir,
    profile: row.profile,
    start: row.start,
    folder: row.folder,
    state: row.state,
    attempts: row.attempts,
    lastError: row.last_error,
    nextAttemptAt: row.next_attempt_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    doneAt: row.done_at,
  };
}
