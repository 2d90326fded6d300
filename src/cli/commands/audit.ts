import { AppError } from '../../errors.js';
import { databasePath, openDatabase, SqliteAuditLog } from '../../store/index.js';
import { loadConfigFor, type AdminCommandOutput } from './group.js';

/** Options of {@link runAuditCommand}. */
export interface AuditCommandOptions {
  /** The config file (its `installation.dataDir` holds `callrec.db`). */
  readonly configPath: string;
  /** Only entries at or after this ISO 8601 time. */
  readonly since?: string;
  readonly out: AdminCommandOutput;
}

/**
 * `callrec audit [--since <iso>]` (SPEC §7, §11): prints the audit log oldest first, one entry a
 * line: `<ISO time> <actor> <action> <subject>`, then the details as JSON when there are any.
 * 0 printed (also when empty), 2 usage, invalid config or database error.
 */
export async function runAuditCommand(options: AuditCommandOptions): Promise<number> {
  const { out } = options;
  if (options.since !== undefined && Number.isNaN(Date.parse(options.since))) {
    out.error(`callrec audit: --since: not an ISO 8601 time: ${options.since}`);
    return 2;
  }
  const config = await loadConfigFor('audit', options.configPath, out);
  if (config === undefined) return 2;
  try {
    const db = await openDatabase(databasePath(config.installation.dataDir));
    try {
      const entries = await new SqliteAuditLog(db).list(options.since === undefined ? {} : { since: options.since });
      for (const entry of entries) {
        const details = Object.keys(entry.details).length === 0 ? '' : ` ${JSON.stringify(entry.details)}`;
        out.log(`${entry.at} ${entry.actor} ${entry.action} ${entry.subject}${details}`);
      }
      return 0;
    } finally {
      await db.close();
    }
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    out.error(`callrec audit: ${error.message}`);
    return 2;
  }
}
