import { randomUUID } from 'node:crypto';
import { AppError } from '../errors.js';
import type { CallEnd, CallEndedBy, CallLeg, CallQuery, CallRecord, CallStart, CallStore } from './protocol-store.js';
import { isoInstant } from './sqlite-audit-log.js';
import { sqliteCode, type SqlExecutor, type SqlValue } from './sqlite-database.js';

interface CallRow {
  id: string;
  direction: 'inbound' | 'outbound';
  call_id_a: string;
  call_id_b: string | null;
  caller: string | null;
  callee: string | null;
  decision_profile: string | null;
  decision_reason: string;
  started_at: string;
  answered_at: string | null;
  ended_at: string | null;
  ended_by: CallEndedBy | null;
  end_reason: string | null;
  final_status: number | null;
}

interface LegRow {
  call_ref: string;
  leg: 'a' | 'b';
  call_id: string;
  local_tag: string | null;
  remote_tag: string | null;
  local_uri: string | null;
  remote_uri: string | null;
  remote_address: string | null;
  transport: string | null;
}

const CALL_COLUMNS =
  'id, direction, call_id_a, call_id_b, caller, callee, decision_profile, decision_reason, started_at, answered_at, ended_at, ended_by, end_reason, final_status';
const LEG_COLUMNS = 'call_ref, leg, call_id, local_tag, remote_tag, local_uri, remote_uri, remote_address, transport';

/** The `calls` and `legs` tables of migration 002-calls: the B2BUA's call detail records. */
export class SqliteCallStore implements CallStore {
  readonly #db: SqlExecutor;

  constructor(db: SqlExecutor) {
    this.#db = db;
  }

  async recordCallStart(start: CallStart): Promise<string> {
    const id = start.id ?? randomUUID();
    try {
      await this.#db.run(
        `INSERT INTO calls (id, direction, call_id_a, call_id_b, caller, callee, decision_profile, decision_reason, started_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          id,
          start.direction,
          start.callIdA,
          start.callIdB ?? null,
          start.caller,
          start.callee,
          start.decisionProfile,
          start.decisionReason,
          isoInstant(start.startedAt, 'startedAt'),
        ],
      );
    } catch (error) {
      if (sqliteCode(error) === 'SQLITE_CONSTRAINT' && /UNIQUE|PRIMARY KEY/.test(causeMessage(error))) {
        throw new AppError('STORE_CONFLICT', `call ${id} is already recorded`, { cause: error });
      }
      throw error;
    }
    return id;
  }

  async recordCallEnd(id: string, end: CallEnd): Promise<boolean> {
    const result = await this.#db.run(
      `UPDATE calls SET answered_at = ?, ended_at = ?, ended_by = ?, end_reason = ?, final_status = ?,
         call_id_b = COALESCE(call_id_b, ?)
       WHERE id = ? AND ended_at IS NULL`,
      [
        end.answeredAt === null ? null : isoInstant(end.answeredAt, 'answeredAt'),
        isoInstant(end.endedAt, 'endedAt'),
        end.endedBy,
        end.reason ?? null,
        end.finalStatus,
        end.callIdB ?? null,
        id,
      ],
    );
    if (result.changes === 1) return true;
    const known = await this.#db.get<{ id: string }>('SELECT id FROM calls WHERE id = ?', [id]);
    if (known === undefined) throw new AppError('STORE_CONFLICT', `call ${id} was never recorded`);
    return false;
  }

  async recordLeg(id: string, leg: CallLeg): Promise<void> {
    try {
      await this.#db.run(
        `INSERT INTO legs (${LEG_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (call_ref, leg) DO UPDATE SET call_id = excluded.call_id, local_tag = excluded.local_tag,
           remote_tag = excluded.remote_tag, local_uri = excluded.local_uri, remote_uri = excluded.remote_uri,
           remote_address = excluded.remote_address, transport = excluded.transport`,
        [
          id,
          leg.leg,
          leg.callId,
          leg.localTag ?? null,
          leg.remoteTag ?? null,
          leg.localUri ?? null,
          leg.remoteUri ?? null,
          leg.remoteAddress ?? null,
          leg.transport ?? null,
        ],
      );
    } catch (error) {
      if (sqliteCode(error) === 'SQLITE_CONSTRAINT' && /FOREIGN KEY/.test(causeMessage(error))) {
        throw new AppError('STORE_CONFLICT', `call ${id} was never recorded`, { cause: error });
      }
      throw error;
    }
  }

  async findCall(id: string): Promise<CallRecord | undefined> {
    const row = await this.#db.get<CallRow>(`SELECT ${CALL_COLUMNS} FROM calls WHERE id = ?`, [id]);
    if (row === undefined) return undefined;
    const legs = await this.#db.all<LegRow>(`SELECT ${LEG_COLUMNS} FROM legs WHERE call_ref = ? ORDER BY leg`, [id]);
    return toRecord(row, legs);
  }

  async listCalls(query: CallQuery = {}): Promise<CallRecord[]> {
    const conditions: string[] = [];
    const params: SqlValue[] = [];
    if (query.since !== undefined) {
      conditions.push('started_at >= ?');
      params.push(isoInstant(query.since, 'since'));
    }
    if (query.until !== undefined) {
      conditions.push('started_at < ?');
      params.push(isoInstant(query.until, 'until'));
    }
    if (query.number !== undefined) {
      conditions.push('(caller = ? OR callee = ?)');
      params.push(query.number, query.number);
    }
    const where = conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`;
    const rows = await this.#db.all<CallRow>(
      `SELECT ${CALL_COLUMNS} FROM calls ${where} ORDER BY started_at, id`,
      params,
    );
    if (rows.length === 0) return [];
    const legs = await this.#db.all<LegRow>(
      `SELECT ${LEG_COLUMNS.split(', ')
        .map((column) => `legs.${column}`)
        .join(', ')} FROM legs JOIN calls ON calls.id = legs.call_ref ${where} ORDER BY legs.call_ref, legs.leg`,
      params,
    );
    const byCall = new Map<string, LegRow[]>();
    for (const leg of legs) {
      const list = byCall.get(leg.call_ref);
      if (list === undefined) byCall.set(leg.call_ref, [leg]);
      else list.push(leg);
    }
    return rows.map((row) => toRecord(row, byCall.get(row.id) ?? []));
  }

  async pseudonymiseCall(id: string, numbers: readonly string[], pseudonym: string): Promise<number> {
    const forms = numbers.filter((number) => number !== '');
    const row = await this.#db.get<CallRow>(`SELECT ${CALL_COLUMNS} FROM calls WHERE id = ?`, [id]);
    if (row === undefined) throw new AppError('STORE_CONFLICT', `call ${id} was never recorded`);
    if (forms.length === 0) return 0;
    const everyNumber = wholeNumbers(forms, 'g');
    const anyNumber = wholeNumbers(forms, '');
    const caller = row.caller !== null && forms.includes(row.caller) ? pseudonym : row.caller;
    const callee = row.callee !== null && forms.includes(row.callee) ? pseudonym : row.callee;
    const reason = row.decision_reason.replace(everyNumber, pseudonym);
    let changed =
      Number(caller !== row.caller) + Number(callee !== row.callee) + Number(reason !== row.decision_reason);
    if (changed > 0) {
      await this.#db.run('UPDATE calls SET caller = ?, callee = ?, decision_reason = ? WHERE id = ?', [
        caller,
        callee,
        reason,
        id,
      ]);
    }
    const legs = await this.#db.all<LegRow>(`SELECT ${LEG_COLUMNS} FROM legs WHERE call_ref = ?`, [id]);
    for (const leg of legs) {
      const replace = (uri: string | null): string | null => (uri !== null && anyNumber.test(uri) ? pseudonym : uri);
      const localUri = replace(leg.local_uri);
      const remoteUri = replace(leg.remote_uri);
      const legChanges = Number(localUri !== leg.local_uri) + Number(remoteUri !== leg.remote_uri);
      if (legChanges === 0) continue;
      changed += legChanges;
      await this.#db.run('UPDATE legs SET local_uri = ?, remote_uri = ? WHERE call_ref = ? AND leg = ?', [
        localUri,
        remoteUri,
        id,
        leg.leg,
      ]);
    }
    return changed;
  }
}

/** Matches any of `forms` standing as a whole number (not inside a longer run of digits); longest first. */
function wholeNumbers(forms: readonly string[], flags: '' | 'g'): RegExp {
  const alternatives = [...new Set(forms)]
    .sort((a, b) => b.length - a.length)
    .map((form) => form.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`(?<![\\d+])(?:${alternatives.join('|')})(?!\\d)`, flags);
}

function toRecord(row: CallRow, legs: readonly LegRow[]): CallRecord {
  return {
    id: row.id,
    direction: row.direction,
    callIdA: row.call_id_a,
    callIdB: row.call_id_b,
    caller: row.caller,
    callee: row.callee,
    decisionProfile: row.decision_profile,
    decisionReason: row.decision_reason,
    startedAt: row.started_at,
    answeredAt: row.answered_at,
    endedAt: row.ended_at,
    endedBy: row.ended_by,
    endReason: row.end_reason,
    finalStatus: row.final_status,
    legs: legs.map((leg) => ({
      leg: leg.leg,
      callId: leg.call_id,
      localTag: leg.local_tag,
      remoteTag: leg.remote_tag,
      localUri: leg.local_uri,
      remoteUri: leg.remote_uri,
      remoteAddress: leg.remote_address,
      transport: leg.transport,
    })),
  };
}

function causeMessage(error: unknown): string {
  const cause = error instanceof AppError ? error.cause : error;
  return cause instanceof Error ? cause.message : String(cause);
}
