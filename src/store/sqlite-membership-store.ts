import type { MembershipChange, MembershipRecord, MembershipStore } from './protocol-store.js';
import { appendAuditEntry } from './sqlite-audit-log.js';
import type { SqliteDatabase } from './sqlite-database.js';

interface MembershipRow {
  group_id: string;
  user_id: string;
  active: number;
  changed_at: string;
  changed_by: string;
}

/** Options of {@link SqliteMembershipStore}. */
export interface SqliteMembershipStoreOptions {
  /** The clock for `changed_at` and the audit entry. @default () => new Date() */
  readonly now?: () => Date;
}

const COLUMNS = 'group_id, user_id, active, changed_at, changed_by';

/**
 * The `group_membership` table of migration 003-group-membership. Each `setActive` updates the
 * row and appends its `membership.login` / `membership.logout` audit entry in one transaction.
 */
export class SqliteMembershipStore implements MembershipStore {
  readonly #db: SqliteDatabase;
  readonly #now: () => Date;

  constructor(db: SqliteDatabase, options: SqliteMembershipStoreOptions = {}) {
    this.#db = db;
    this.#now = options.now ?? (() => new Date());
  }

  /**
   * Stores the state and audits the request. Switching to the state a user already has keeps the
   * row (its `changedAt`/`changedBy` name the real change) but is still audited.
   */
  setActive(groupId: string, userId: string, active: boolean, actor: string): Promise<MembershipChange> {
    return this.#db.transaction(async (tx) => {
      const at = this.#now().toISOString();
      const before = await tx.get<MembershipRow>(
        `SELECT ${COLUMNS} FROM group_membership WHERE group_id = ? AND user_id = ?`,
        [groupId, userId],
      );
      const previous = before === undefined ? undefined : before.active === 1;
      const unchanged = (previous ?? true) === active;
      let record: MembershipRecord;
      if (unchanged && before !== undefined) {
        record = toRecord(before);
      } else {
        await tx.run(
          `INSERT INTO group_membership (${COLUMNS}) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (group_id, user_id) DO UPDATE SET active = excluded.active,
             changed_at = excluded.changed_at, changed_by = excluded.changed_by`,
          [groupId, userId, active ? 1 : 0, at, actor],
        );
        record = { groupId, userId, active, changedAt: at, changedBy: actor };
      }
      await appendAuditEntry(
        tx,
        {
          actor,
          action: active ? 'membership.login' : 'membership.logout',
          subject: membershipSubject(groupId, userId),
          details: { group: groupId, user: userId, active, previous: previous ?? null, changed: !unchanged },
          at,
        },
        this.#now,
      );
      return { record, previous };
    });
  }

  async isActive(groupId: string, userId: string): Promise<boolean | undefined> {
    const row = await this.#db.get<{ active: number }>(
      'SELECT active FROM group_membership WHERE group_id = ? AND user_id = ?',
      [groupId, userId],
    );
    return row === undefined ? undefined : row.active === 1;
  }

  async list(groupId?: string): Promise<MembershipRecord[]> {
    const rows =
      groupId === undefined
        ? await this.#db.all<MembershipRow>(`SELECT ${COLUMNS} FROM group_membership ORDER BY group_id, user_id`)
        : await this.#db.all<MembershipRow>(
            `SELECT ${COLUMNS} FROM group_membership WHERE group_id = ? ORDER BY user_id`,
            [groupId],
          );
    return rows.map(toRecord);
  }

  async dataVersion(): Promise<number> {
    const row = await this.#db.get<{ data_version: number }>('PRAGMA data_version');
    return row?.data_version ?? 0;
  }
}

/** The audit subject of a membership change: `group:<group>/user:<user>`. */
export function membershipSubject(groupId: string, userId: string): string {
  return `group:${groupId}/user:${userId}`;
}

function toRecord(row: MembershipRow): MembershipRecord {
  return {
    groupId: row.group_id,
    userId: row.user_id,
    active: row.active === 1,
    changedAt: row.changed_at,
    changedBy: row.changed_by,
  };
}
