import { expandFolder, localTimeZone } from '../archive/index.js';
import { splitTemplatePath, type CallrecConfig } from '../config/index.js';
import { Rfc3161TimestampClient, type Ledger, type RecordingSigner } from '../integrity/index.js';
import type { Logger } from '../observability/index.js';
import { recoverRecording, type RecoveredRecording } from '../pipeline/index.js';
import {
  SqliteAuditLog,
  SqliteCallStore,
  SqliteLedgerStore,
  SqliteRecordingStore,
  type AuditLog,
  type CallStore,
  type LedgerStore,
  type RecordingRecord,
  type RecordingStore,
  type SqliteDatabase,
  type UploadRequest,
} from '../store/index.js';
import type { Archive } from './archive-wiring.js';

/** What {@link recoverRecordings} works with: the stores, the key and chain, and where uploads go. */
export interface RecoverRecordingsOptions {
  readonly config: CallrecConfig;
  readonly catalogue: RecordingStore;
  readonly calls: CallStore;
  readonly ledgerStore: Pick<LedgerStore, 'ledgerEntryForRecording'>;
  readonly ledger: Ledger;
  readonly signer: RecordingSigner;
  readonly logger: Logger;
  /** Hands a recovered recording to the archive (the server's upload queue, or its table). */
  readonly queue: (recording: RecoveredRecording, profileId: string | undefined) => Promise<void> | void;
  /** Each recovery goes into the audit log with this actor (`callrec` at start, `cli:<user>` for the command). */
  readonly audit?: { readonly log: AuditLog; readonly actor: string };
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/** What one run of crash recovery did. */
export interface RecoverySummary {
  readonly recovered: readonly RecoveredRecording[];
  readonly failed: ReadonlyArray<{ readonly id: string; readonly error: string }>;
}

/**
 * Crash recovery (SPEC §9): every recording the catalogue lists as `recording`/`finalizing` —
 * left so by a crash, since the data directory's lock guarantees no other process is writing —
 * is repaired, finalised with end reason `recovered` and the gap stated, sealed, marked spooled,
 * its call row ended (by `callrec`, reason `recovered`) and queued for upload. One INFO line
 * `recording recovered` per recording; a failure is logged at ERROR and leaves the row for the next
 * attempt, the others go on. Rejects only when the catalogue cannot be read.
 */
export async function recoverRecordings(options: RecoverRecordingsOptions): Promise<RecoverySummary> {
  const { config, logger } = options;
  const unfinished = await options.catalogue.unfinished();
  const timestamp =
    config.installation.timestampUrl === undefined
      ? undefined
      : new Rfc3161TimestampClient({ url: config.installation.timestampUrl });
  const recovered: RecoveredRecording[] = [];
  const failed: Array<{ id: string; error: string }> = [];
  for (const row of unfinished) {
    const log = logger.child({ recordingId: row.id });
    try {
      const result = await recoverOne(row, options, timestamp);
      recovered.push(result);
      const fields = {
        action: result.action,
        coveredMs: result.coveredMs,
        gap: result.gap,
        files: result.audioFiles,
        signed: result.seal.signed,
        stateAtCrash: row.state,
      };
      log.info(fields, 'recording recovered');
      await options.audit?.log
        .append({
          actor: options.audit.actor,
          action: 'recording.recover',
          subject: `recording:${row.id}`,
          details: { action: result.action, coveredMs: result.coveredMs, stateAtCrash: row.state, gap: result.gap },
        })
        .catch((error: unknown) =>
          log.error(
            { err: error instanceof Error ? error.message : String(error) },
            'audit entry of the recovery failed',
          ),
        );
      if (result.seal.timestamp?.ok === false)
        log.warn(
          { err: result.seal.timestamp.error.message },
          'time-stamp request failed; recording sealed without it',
        );
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      failed.push({ id: row.id, error: message });
      log.error(
        { err: message, stateAtCrash: row.state },
        'recording recovery failed; it is retried at the next start',
      );
    }
  }
  if (unfinished.length > 0) logger.info({ recovered: recovered.length, failed: failed.length }, 'crash recovery done');
  else logger.debug('crash recovery: no unfinished recording');
  return { recovered, failed };
}

async function recoverOne(
  row: RecordingRecord,
  options: RecoverRecordingsOptions,
  timestamp: Rfc3161TimestampClient | undefined,
): Promise<RecoveredRecording> {
  const call = await options.calls.findCall(row.id);
  const profileId = row.profile ?? call?.decisionProfile ?? undefined;
  const profile = options.config.profiles.find((candidate) => candidate.id === profileId);
  // A profile since removed from the config still gets its recording signed: evidence first.
  const signing = profile?.signing ?? true;
  const result = await recoverRecording({
    recording: row,
    call,
    channels: profile?.channels ?? 'both-stereo',
    sealedEntry: (id) => options.ledgerStore.ledgerEntryForRecording(id),
    ...(signing ? { signer: options.signer, ledger: options.ledger } : {}),
    ...(signing && timestamp !== undefined ? { timestamp } : {}),
    ...(options.now === undefined ? {} : { now: options.now }),
  });
  await options.catalogue.markSpooled(row.id, { at: result.end.toISOString(), reason: result.endReason });
  if (call !== undefined && call.endedAt === null) {
    await options.calls.recordCallEnd(row.id, {
      answeredAt: call.answeredAt ?? result.start.toISOString(),
      endedAt: result.end.toISOString(),
      endedBy: result.endedBy,
      finalStatus: result.finalStatus,
      reason: result.endReason,
    });
  }
  await options.queue(result, profileId);
  return result;
}

/**
 * The upload rows for a recovered recording when no server runs (`callrec recover`): one per
 * target of its profile, in the target's folder expanded from the recording's start (as the
 * server's archive does). Empty when the profile names no target (or is gone from the config).
 */
export function uploadRequestFor(
  config: CallrecConfig,
  recording: RecoveredRecording,
  profileId: string | undefined,
): UploadRequest {
  const profile = config.profiles.find((candidate) => candidate.id === profileId);
  const timeZone = config.uploads.timezone ?? localTimeZone();
  const targets = (profile?.targets ?? []).flatMap((id) => {
    const target = config.targets.find((candidate) => candidate.id === id);
    if (target === undefined) return [];
    const template = target.type === 'local' ? splitTemplatePath(target.path).template : target.folder;
    return [{ targetId: id, folder: expandFolder(template, recording.start, timeZone) }];
  });
  return {
    recordingId: recording.id,
    dir: recording.dir,
    profile: profileId ?? null,
    start: recording.start.toISOString(),
    targets,
  };
}

/** What {@link recoverAtStart} needs from the server being built. */
export interface RecoverAtStartOptions {
  readonly config: CallrecConfig;
  readonly database: SqliteDatabase;
  readonly ledger: Ledger;
  readonly signer: RecordingSigner;
  readonly logger: Logger;
  readonly archive: Pick<Archive, 'archive'>;
  /** Told about each recording recovered now (not those a crash left already sealed): the metrics. */
  readonly onRecovered?: (recording: RecoveredRecording) => void;
}

/**
 * `callrec run`'s crash recovery, before any call is accepted: recovered recordings go to the
 * archive's queue at once. Never rejects (a catalogue that cannot be read is logged at ERROR).
 * Resolves whether the chain was extended (the caller writes a checkpoint).
 */
export async function recoverAtStart(options: RecoverAtStartOptions): Promise<boolean> {
  const { database, logger } = options;
  try {
    const summary = await recoverRecordings({
      config: options.config,
      catalogue: new SqliteRecordingStore(database),
      calls: new SqliteCallStore(database),
      ledgerStore: new SqliteLedgerStore(database),
      ledger: options.ledger,
      signer: options.signer,
      logger,
      audit: { log: new SqliteAuditLog(database), actor: 'callrec' },
      queue: (recording, profileId) => {
        if (recording.action !== 'already-sealed') options.onRecovered?.(recording);
        return options.archive.archive(recording, profileId, recording.start);
      },
    });
    return summary.recovered.some((recording) => recording.action !== 'already-sealed');
  } catch (error) {
    logger.error(
      { err: error instanceof Error ? error.message : String(error) },
      'crash recovery failed: the recording catalogue cannot be read',
    );
    return false;
  }
}
