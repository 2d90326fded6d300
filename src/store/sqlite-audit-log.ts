import { AppError } from '../errors.js';
import type { AuditDetails, AuditEntry, AuditEntryInput, AuditLog, AuditQuery } from './protocol-store.js';
import type { SqlExecutor } from './sqlite-database.js';

interface AuditRow {
  id: number;
  at: string;
  actor: string;
  action: string;
  subject: string;
  details: string;
}

/** Options of {@link SqliteAuditLog}. */
export interface SqliteAuditLogOptions {
  /** The clock for entries without `at`. @default () => new Date() */
  readonly now?: () => Date;
}

/**
 * The `audit_log` table of migration 004-audit-log. Append-only is a pair of triggers in the
 * schema, so it holds for every connection, not just this class.
 */
export class SqliteAuditLog implements AuditLog {
  readonly #db: SqlExecutor;
  readonly #now: () => Date;

  constructor(db: SqlExecutor, options: SqliteAuditLogOptions = {}) {
    this.#db = db;
    this.#now = options.now ?? (() => new Date());
  }

  append(entry: AuditEntryInput): Promise<AuditEntry> {
    return appendAuditEntry(this.#db, entry, this.#now);
  }

  async list(query: AuditQuery = {}): Promise<AuditEntry[]> {
    const rows =
      query.since === undefined
        ? await this.#db.all<AuditRow>('SELECT id, at, actor, action, subject, details FROM audit_log ORDER BY id')
        : await this.#db.all<AuditRow>(
            'SELECT id, at, actor, action, subject, details FROM audit_log WHERE at >= ? ORDER BY id',
            [isoInstant(query.since, 'since')],
          );
    return rows.map(toEntry);
  }
}

/**
 * Appends one audit entry through `executor` — the database, or an open transaction so that the
 * entry commits or rolls back together with the change it describes.
 */
export async function appendAuditEntry(
  executor: SqlExecutor,
  entry: AuditEntryInput,
  now: () => Date,
): Promise<AuditEntry> {
  const at = entry.at === undefined ? now().toISOString() : isoInstant(entry.at, 'at');
  const details: AuditDetails = entry.details ?? {};
  const result = await executor.run(
    'INSERT INTO audit_log (at, actor, action, subject, details) VALUES (?, ?, ?, ?, ?)',
    [at, entry.actor, entry.action, entry.subject, JSON.stringify(details)],
  );
  return { id: result.lastId, at, actor: entry.actor, action: entry.action, subject: entry.subject, details };
}

/**
 * An ISO 8601 time as the UTC form the tables store (`toISOString`), so that stored times compare
 * correctly as text. Rejects anything `Date` cannot parse with `STORE_QUERY`.
 */
export function isoInstant(value: string, what: string): string {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new AppError('STORE_QUERY', `${what}: not an ISO 8601 time: ${JSON.stringify(value)}`);
  return new Date(ms).toISOString();
}

function toEntry(row: AuditRow): AuditEntry {
  return {
    id: row.id,
    at: row.at,
    actor: row.actor,
    action: row.action,
    subject: row.subject,
    details: JSON.parse(row.details) as AuditDetails,
  };
}
