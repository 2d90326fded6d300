import { AppError } from '../../errors.js';
import { databasePath, openDatabase, SqliteAuditLog, SqliteUploadStore } from '../../store/index.js';
import { cliActor, loadConfigFor, type AdminCommandOutput } from './group.js';

/** Options of the `uploads` commands. */
export interface UploadsCommandOptions {
  /** The config file (its `installation.dataDir` holds `callrec.db`). */
  readonly configPath: string;
  readonly out: AdminCommandOutput;
  /** `status --json`. */
  readonly json?: boolean;
  /** `retry [target]`: only this target. */
  readonly targetId?: string;
}

/**
 * `callrec uploads status [--json]` (SPEC §6, §11): per configured target the uploads pending,
 * in progress, failed and done, the oldest one waiting, the last error and the next attempt.
 * Exit 0; 1 when any upload is failed (for monitoring scripts); 2 config or database error.
 */
export async function runUploadsStatus(options: UploadsCommandOptions): Promise<number> {
  const { out } = options;
  const config = await loadConfigFor('uploads status', options.configPath, out);
  if (config === undefined) return 2;
  try {
    const db = await openDatabase(databasePath(config.installation.dataDir));
    try {
      const rows = await new SqliteUploadStore(db).status();
      const byTarget = new Map(rows.map((row) => [row.targetId, row]));
      const all = config.targets.map(
        (target) =>
          byTarget.get(target.id) ?? {
            targetId: target.id,
            pending: 0,
            uploading: 0,
            failed: 0,
            done: 0,
            oldestPendingSince: null,
            lastError: null,
            lastErrorAt: null,
            nextAttemptAt: null,
          },
      );
      if (options.json === true) out.log(JSON.stringify(all, null, 2));
      else {
        if (all.length === 0) out.log('no archive targets configured');
        for (const row of all) {
          out.log(
            `${row.targetId}: ${row.pending} pending, ${row.uploading} uploading, ${row.failed} failed, ${row.done} done` +
              (row.oldestPendingSince === null ? '' : `; oldest waiting since ${row.oldestPendingSince}`) +
              (row.nextAttemptAt === null ? '' : `; next attempt ${row.nextAttemptAt}`) +
              (row.lastError === null ? '' : `; last error: ${row.lastError}`),
          );
        }
      }
      return all.some((row) => row.failed > 0) ? 1 : 0;
    } finally {
      await db.close();
    }
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    out.error(`callrec uploads status: ${error.message}`);
    return 2;
  }
}

/**
 * `callrec uploads retry [target]`: failed uploads become due now (a running server picks them up
 * at its next queue tick, within `uploads.intervalSeconds`). Audited. Exit 0, 2 on errors.
 */
export async function runUploadsRetry(options: UploadsCommandOptions): Promise<number> {
  const { out } = options;
  const config = await loadConfigFor('uploads retry', options.configPath, out);
  if (config === undefined) return 2;
  if (options.targetId !== undefined && !config.targets.some((target) => target.id === options.targetId)) {
    out.error(`callrec uploads retry: no target "${options.targetId}" in the config`);
    return 2;
  }
  try {
    const db = await openDatabase(databasePath(config.installation.dataDir));
    try {
      const count = await new SqliteUploadStore(db).retryAll(new Date(), options.targetId);
      await new SqliteAuditLog(db).append({
        actor: cliActor(),
        action: 'uploads.retry',
        subject: options.targetId ?? '*',
        details: { uploads: count },
      });
      out.log(`${count} failed upload(s) queued for retry`);
      return 0;
    } finally {
      await db.close();
    }
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    out.error(`callrec uploads retry: ${error.message}`);
    return 2;
  }
}
