import { AppError } from '../errors.js';
import type { AuditLog, RecordingRecord, RecordingStore, UploadStore } from '../store/index.js';
import type { DisposalLog } from './disposal-log.js';
import { disposeRecording, type DisposalResult, type DisposalTarget } from './dispose-recording.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** Options of {@link runRetention}. */
export interface RetentionOptions {
  readonly catalogue: Pick<RecordingStore, 'dueForRetention' | 'find' | 'markDeleted'>;
  readonly uploads: Pick<UploadStore, 'uploadsOf'>;
  /** Every configured archive target. */
  readonly targets: readonly DisposalTarget[];
  /** `<dataDir>/recordings`. */
  readonly spoolRoot: string;
  readonly disposalLog: Pick<DisposalLog, 'record'>;
  readonly audit: Pick<AuditLog, 'append'>;
  /** `cli:<os user>`, or `callrec` for the daily job. */
  readonly actor: string;
  /** Judge ages as if it were this time (audits, tests). */
  readonly asOf: Date;
  /** List what would be deleted; delete nothing. @default false */
  readonly dryRun?: boolean;
  /** Called once per due recording as soon as its outcome is known (progress lines). */
  readonly onOutcome?: (outcome: RetentionOutcome) => void;
}

/** What retention did with one recording past its retention. */
export interface RetentionOutcome {
  readonly recording: RecordingRecord;
  /** `start + retentionDays × 24 h`, ISO 8601 UTC. */
  readonly expiredAt: string;
  /** `held`: kept under legal hold; `would-delete`: a dry run; `failed`: see `error`, retried next run. */
  readonly result: 'deleted' | 'would-delete' | 'held' | 'failed';
  readonly disposal?: DisposalResult;
  readonly error?: string;
}

/** The counts of one run, as audited (`retention.run`). */
export interface RetentionSummary {
  /** ISO 8601 UTC. */
  readonly asOf: string;
  readonly dryRun: boolean;
  /** Recordings past their retention (held ones included). */
  readonly due: number;
  /** Deleted now (0 in a dry run). */
  readonly deleted: number;
  /** Would be deleted (dry run only). */
  readonly wouldDelete: number;
  readonly held: number;
  readonly failed: number;
  readonly outcomes: readonly RetentionOutcome[];
}

/**
 * Retention (SPEC §7): every sealed recording whose `start + retentionDays` (the profile's value
 * when it was recorded, counted in 24-hour days) is at or before `asOf` is deleted from the spool
 * and every target it was archived to, with a signed disposal log entry; recordings under legal
 * hold are kept; a failed disposal leaves the recording for the next run. The profile's
 * `statutoryRetention` does not matter here (it guards erasure, not the end of retention).
 * Each run, dry or not, is audited as `retention.run` with its counts.
 */
export async function runRetention(options: RetentionOptions): Promise<RetentionSummary> {
  if (Number.isNaN(options.asOf.getTime())) throw new AppError('STORE_QUERY', 'retention: as-of is not a valid time');
  const asOf = options.asOf.toISOString();
  const dryRun = options.dryRun ?? false;
  const due = await options.catalogue.dueForRetention(asOf);
  const outcomes: RetentionOutcome[] = [];
  for (const recording of due) {
    const outcome = await judge(recording, options, dryRun);
    outcomes.push(outcome);
    options.onOutcome?.(outcome);
  }
  const count = (result: RetentionOutcome['result']): number => outcomes.filter((o) => o.result === result).length;
  const summary: RetentionSummary = {
    asOf,
    dryRun,
    due: due.length,
    deleted: count('deleted'),
    wouldDelete: count('would-delete'),
    held: count('held'),
    failed: count('failed'),
    outcomes,
  };
  await options.audit.append({
    actor: options.actor,
    action: 'retention.run',
    subject: dryRun ? 'dry-run' : 'all',
    details: {
      asOf,
      dryRun,
      due: summary.due,
      deleted: summary.deleted,
      wouldDelete: summary.wouldDelete,
      held: summary.held,
      failed: summary.failed,
    },
  });
  return summary;
}

async function judge(
  recording: RecordingRecord,
  options: RetentionOptions,
  dryRun: boolean,
): Promise<RetentionOutcome> {
  const expiredAt = new Date(Date.parse(recording.start) + (recording.retentionDays ?? 0) * DAY_MS).toISOString();
  if (recording.hold !== null) return { recording, expiredAt, result: 'held' };
  if (dryRun) return { recording, expiredAt, result: 'would-delete' };
  try {
    const disposal = await disposeRecording({
      recording,
      targets: options.targets,
      uploads: options.uploads,
      spoolRoot: options.spoolRoot,
      action: 'retention',
      reason: 'retention',
      actor: options.actor,
      policy: retentionPolicy(recording),
      disposalLog: options.disposalLog,
      catalogue: options.catalogue,
    });
    return disposal.disposed
      ? { recording, expiredAt, result: 'deleted', disposal }
      : { recording, expiredAt, result: 'failed', disposal, error: disposal.error ?? 'not deleted' };
  } catch (error) {
    // A hold set since the query is a kept recording, not a failure.
    if (error instanceof AppError && error.code === 'PRIVACY_LEGAL_HOLD')
      return { recording, expiredAt, result: 'held' };
    return { recording, expiredAt, result: 'failed', error: error instanceof Error ? error.message : String(error) };
  }
}

/** The policy text of a retention disposal: `profile trading: retentionDays 2557`. */
export function retentionPolicy(recording: Pick<RecordingRecord, 'profile' | 'retentionDays'>): string {
  return `profile ${recording.profile ?? '(none)'}: retentionDays ${recording.retentionDays ?? '(none)'}`;
}

/** One line per outcome: `deleted <id> (profile …, started …, expired …; disposal entry N)`. */
export function describeRetentionOutcome(outcome: RetentionOutcome): string {
  const { recording } = outcome;
  const facts = `${retentionPolicy(recording)}, started ${recording.start}, expired ${outcome.expiredAt}`;
  switch (outcome.result) {
    case 'deleted':
      return `deleted ${recording.id} (${facts}; disposal entry ${outcome.disposal?.entry?.id ?? '?'})`;
    case 'would-delete':
      return `would delete ${recording.id} (${facts})`;
    case 'held':
      return `kept ${recording.id} (${facts}; legal hold${recording.hold === null ? '' : `: ${recording.hold.reason}`})`;
    case 'failed':
      return `FAILED ${recording.id} (${facts}): ${outcome.error ?? 'not deleted'}; retried next run`;
  }
}

/** The closing line: `retention as of …: 3 due, 2 deleted, 1 kept under legal hold, 0 failed`. */
export function describeRetentionSummary(summary: RetentionSummary): string {
  const done = summary.dryRun
    ? `${summary.wouldDelete} would be deleted (dry run, nothing deleted)`
    : `${summary.deleted} deleted`;
  return `retention as of ${summary.asOf}: ${summary.due} due, ${done}, ${summary.held} kept under legal hold, ${summary.failed} failed`;
}
