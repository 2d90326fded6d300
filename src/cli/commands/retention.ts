import { dirname, join, resolve } from 'node:path';
import type { ArchiveTarget } from '../../archive/index.js';
import { resolveSecret, type CallrecConfig } from '../../config/index.js';
import { AppError } from '../../errors.js';
import { openKeyStore, type KeyStore, type RecordingSigner } from '../../integrity/index.js';
import type { Logger } from '../../observability/index.js';
import {
  describeRetentionOutcome,
  describeRetentionSummary,
  DisposalLog,
  runRetention,
  type RetentionSummary,
} from '../../privacy/index.js';
import {
  databasePath,
  openDatabase,
  SqliteAuditLog,
  SqliteDisposalStore,
  SqliteRecordingStore,
  SqliteUploadStore,
  type SqliteDatabase,
} from '../../store/index.js';
import { buildTarget } from '../archive-wiring.js';
import { cliActor, loadConfigFor, type AdminCommandOutput } from './group.js';

/** Everything that deletes recordings needs (retention, erasure), opened from the config. */
export interface DisposalContext {
  readonly db: SqliteDatabase;
  readonly keyStore: KeyStore;
  /** Every configured archive target, built (close them with {@link DisposalContext.close}). */
  readonly targets: readonly ArchiveTarget[];
  readonly catalogue: SqliteRecordingStore;
  readonly uploads: SqliteUploadStore;
  readonly audit: SqliteAuditLog;
  /** Signs with the installation key. */
  readonly disposalLog: DisposalLog;
  /** `<dataDir>/recordings`. */
  readonly spoolRoot: string;
  /** Closes the targets' connections and the database. */
  close(): Promise<void>;
}

/**
 * Opens the database, the key store (resolving its password) and, unless `targets: false`, every
 * archive target of `config`. Rejects with AppError (wrong keystore password, unreadable secret,
 * database); nothing stays open then.
 */
export async function openDisposalContext(
  config: CallrecConfig,
  configPath: string,
  options: { readonly targets?: boolean } = {},
): Promise<DisposalContext> {
  const baseDir = dirname(resolve(configPath));
  const password = await resolveSecret(config.installation.keystorePassword, baseDir);
  const keyStore = await openKeyStore({
    dataDir: config.installation.dataDir,
    password,
    keySize: config.installation.keySize,
  });
  const db = await openDatabase(databasePath(config.installation.dataDir));
  const targets: ArchiveTarget[] = [];
  const close = async (): Promise<void> => {
    await Promise.all(targets.map((target) => target.close().catch(() => undefined)));
    await db.close();
  };
  try {
    if (options.targets !== false) {
      for (const target of config.targets) targets.push(await buildTarget(target, config, baseDir, keyStore));
    }
  } catch (error) {
    await close();
    throw error;
  }
  return {
    db,
    keyStore,
    targets,
    catalogue: new SqliteRecordingStore(db),
    uploads: new SqliteUploadStore(db),
    audit: new SqliteAuditLog(db),
    disposalLog: new DisposalLog({ store: new SqliteDisposalStore(db), signer: keyStore }),
    spoolRoot: join(config.installation.dataDir, 'recordings'),
    close,
  };
}

/** Options of {@link runRetentionCommand}. */
export interface RetentionCommandOptions {
  readonly configPath: string;
  readonly out: AdminCommandOutput;
  /** Judge ages as if it were this ISO 8601 time. @default now */
  readonly asOf?: string;
  readonly dryRun?: boolean;
}

/**
 * `callrec retention run [--as-of <iso>] [--dry-run]` (SPEC §7, §11): deletes every recording
 * past its profile's `retentionDays` from the spool and every target it was archived to, except
 * those under legal hold; one line per recording, then a summary. Audited as `retention.run`
 * (actor `cli:<os user>`). Exit 0 done (also when nothing was due), 1 a disposal failed (the
 * recording stays and is retried next run), 2 usage, config, keystore or database error.
 */
export async function runRetentionCommand(options: RetentionCommandOptions): Promise<number> {
  const { out } = options;
  const asOf = options.asOf === undefined ? new Date() : new Date(options.asOf);
  if (Number.isNaN(asOf.getTime())) {
    out.error(`callrec retention run: --as-of: not an ISO 8601 time: ${options.asOf ?? ''}`);
    return 2;
  }
  const config = await loadConfigFor('retention run', options.configPath, out);
  if (config === undefined) return 2;
  let context: DisposalContext;
  try {
    context = await openDisposalContext(config, options.configPath, { targets: options.dryRun !== true });
  } catch (error) {
    out.error(`callrec retention run: ${error instanceof Error ? error.message : String(error)}`);
    return 2;
  }
  try {
    const summary = await runRetention({
      ...context,
      actor: cliActor(),
      asOf,
      dryRun: options.dryRun === true,
      onOutcome: (outcome) => {
        if (outcome.result === 'failed') out.error(describeRetentionOutcome(outcome));
        else out.log(describeRetentionOutcome(outcome));
      },
    });
    out.log(describeRetentionSummary(summary));
    return summary.failed > 0 ? 1 : 0;
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    out.error(`callrec retention run: ${error.message}`);
    return 2;
  } finally {
    await context.close();
  }
}

/** What the daily job inside `callrec run` needs. */
export interface DailyRetentionOptions {
  /** Runs retention once as of now (actor `callrec`). */
  run(asOf: Date): Promise<RetentionSummary>;
  readonly logger: Logger;
  /** @default 24 h */
  readonly intervalMs?: number;
  /** Delay of the first run after start. @default 0 */
  readonly firstRunMs?: number;
}

/** The daily retention job: a run at start and every 24 h; never overlapping, never throwing. */
export interface DailyRetention {
  /** Stops the timers and waits for a run in progress. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts the daily retention job of `callrec run` (SPEC §7). Timers are `unref`ed; each run logs
 * its summary (and each failed recording) — a failing run is logged and the next one tries again.
 */
export function startDailyRetention(options: DailyRetentionOptions): DailyRetention {
  const { logger } = options;
  let running: Promise<void> | undefined;
  let stopped = false;
  const tick = (): void => {
    if (stopped || running !== undefined) return;
    running = options
      .run(new Date())
      .then((summary) => {
        for (const outcome of summary.outcomes) {
          if (outcome.result === 'failed')
            logger.warn({ recordingId: outcome.recording.id, err: outcome.error }, 'retention: disposal failed');
        }
        logger.info(
          {
            asOf: summary.asOf,
            due: summary.due,
            deleted: summary.deleted,
            held: summary.held,
            failed: summary.failed,
          },
          describeRetentionSummary(summary),
        );
      })
      .catch((error: unknown) =>
        logger.error({ err: error instanceof Error ? error.message : String(error) }, 'retention run failed'),
      )
      .finally(() => {
        running = undefined;
      });
  };
  const first = setTimeout(tick, options.firstRunMs ?? 0);
  first.unref();
  const daily = setInterval(tick, options.intervalMs ?? 24 * 60 * 60 * 1000);
  daily.unref();
  return {
    stop: async () => {
      stopped = true;
      clearTimeout(first);
      clearInterval(daily);
      await running;
    },
  };
}

/**
 * The daily retention job of `callrec run` over the server's database and built targets, actor
 * `callrec`: a run right after start, then every 24 h.
 */
export function startServerRetention(options: {
  readonly database: SqliteDatabase;
  readonly targets: readonly ArchiveTarget[];
  readonly dataDir: string;
  readonly signer: RecordingSigner;
  readonly logger: Logger;
}): DailyRetention {
  const { database } = options;
  return startDailyRetention({
    logger: options.logger,
    run: (asOf) =>
      runRetention({
        catalogue: new SqliteRecordingStore(database),
        uploads: new SqliteUploadStore(database),
        targets: options.targets,
        spoolRoot: join(options.dataDir, 'recordings'),
        disposalLog: new DisposalLog({ store: new SqliteDisposalStore(database), signer: options.signer }),
        audit: new SqliteAuditLog(database),
        actor: 'callrec',
        asOf,
      }),
  });
}
