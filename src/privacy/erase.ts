import { AppError } from '../errors.js';
import type {
  AuditLog,
  CallStore,
  DisposalLocation,
  RecordingRecord,
  RecordingStore,
  UploadStore,
} from '../store/index.js';
import { decideErasure, type ErasureDecision } from './erase-decision.js';
import type { DisposalLog } from './disposal-log.js';
import { disposeRecording, type DisposalTarget } from './dispose-recording.js';

/** What happened to one recording. */
export type ErasureOutcome =
  | {
      readonly recordingId: string;
      readonly result: 'erased';
      readonly locations: readonly DisposalLocation[];
      /** Erased inside its statutory retention (`--force --reason`), which was to last until then. */
      readonly forcedUntil?: string;
      /** Something after the deletion did not work (the files are gone), e.g. the call row. */
      readonly warning?: string;
    }
  | {
      readonly recordingId: string;
      readonly result: 'refused';
      /** A rule of `decideErasure`, or `archiving`: uploads of it are not finished yet. */
      readonly rule: Extract<ErasureDecision, { erase: false }>['rule'] | 'archiving';
      readonly why: string;
    }
  | { readonly recordingId: string; readonly result: 'failed'; readonly why: string };

/** Options of {@link eraseRecordings}. */
export interface EraseOptions {
  /** The recordings that involve the number and are not deleted yet. */
  readonly recordings: readonly RecordingRecord[];
  /** Recordings of the number already deleted (by retention): only their call rows are pseudonymised. */
  readonly alreadyDeleted?: readonly RecordingRecord[];
  /** Every stored form of the number (normalised value and its aliases: extension, DID). */
  readonly numbers: readonly string[];
  /** What replaces the number in the database (see `erasurePseudonym`). */
  readonly pseudonym: string;
  /** The number masked as in INFO logs, for the disposal log and the audit entry. */
  readonly maskedNumber: string;
  readonly force: boolean;
  /** Required with `force`; recorded in the disposal log, the catalogue and the audit entry. */
  readonly reason?: string;
  /** When the statutory retention is judged. @default now */
  readonly now?: Date;
  /** `cli:<os user>`. */
  readonly actor: string;
  /** Every configured archive target. */
  readonly targets: readonly DisposalTarget[];
  readonly uploads: Pick<UploadStore, 'uploadsOf'>;
  /** `<dataDir>/recordings`. */
  readonly spoolRoot: string;
  readonly disposalLog: Pick<DisposalLog, 'record'>;
  readonly catalogue: Pick<RecordingStore, 'find' | 'markDeleted'>;
  readonly calls: Pick<CallStore, 'pseudonymiseCall'>;
  readonly audit: Pick<AuditLog, 'append'>;
  /** Told about each recording as it is done. */
  readonly onOutcome?: (outcome: ErasureOutcome) => void;
}

/** The outcome of {@link eraseRecordings}. */
export interface ErasureSummary {
  readonly outcomes: readonly ErasureOutcome[];
  readonly erased: number;
  readonly refused: number;
  readonly failed: number;
  /** Already deleted recordings whose call rows were pseudonymised now. */
  readonly pseudonymisedOnly: number;
}

/**
 * `callrec erase --number` (SPEC §7, GDPR Art. 17): each recording is judged by
 * {@link decideErasure}; an erasable one is deleted from the spool and every target it was
 * archived to and logged in the signed disposal log (action `erasure`, policy
 * `erase --number <masked> reason <reason>`) by `disposeRecording`, its catalogue row keeps only
 * the pseudonym for the number, and so does its call row (`calls`, `legs`). A refused recording
 * is not touched at all; so is one whose uploads are not all done yet (the uploader would put a
 * copy back after the erasure). One audit entry `erase` with the counts and the reason; its subject is
 * `number:<pseudonym>`, so the log that records the erasure does not keep the number either.
 * Rejects only when the audit entry cannot be written.
 */
export async function eraseRecordings(options: EraseOptions): Promise<ErasureSummary> {
  const now = options.now ?? new Date();
  const reason = options.reason?.trim() === '' ? undefined : options.reason?.trim();
  const outcomes: ErasureOutcome[] = [];
  for (const recording of options.recordings) {
    const decision = decideErasure(recording, {
      now,
      force: options.force,
      ...(reason === undefined ? {} : { reason }),
    });
    const outcome = decision.erase
      ? await eraseOne(recording, decision.forcedUntil, reason, options)
      : ({ recordingId: recording.id, result: 'refused', rule: decision.rule, why: decision.why } as const);
    outcomes.push(outcome);
    options.onOutcome?.(outcome);
  }
  let pseudonymisedOnly = 0;
  for (const recording of options.alreadyDeleted ?? []) {
    if ((await pseudonymiseCallRow(recording.id, options)) === undefined) pseudonymisedOnly++;
  }
  const count = (result: ErasureOutcome['result']): number =>
    outcomes.filter((outcome) => outcome.result === result).length;
  const ids = (result: ErasureOutcome['result']): string[] =>
    outcomes.filter((outcome) => outcome.result === result).map((outcome) => outcome.recordingId);
  const summary: ErasureSummary = {
    outcomes,
    erased: count('erased'),
    refused: count('refused'),
    failed: count('failed'),
    pseudonymisedOnly,
  };
  await options.audit.append({
    actor: options.actor,
    action: 'erase',
    subject: `number:${options.pseudonym}`,
    details: {
      number: options.maskedNumber,
      erased: summary.erased,
      refused: summary.refused,
      failed: summary.failed,
      forced: outcomes.filter((outcome) => outcome.result === 'erased' && outcome.forcedUntil !== undefined).length,
      alreadyDeleted: options.alreadyDeleted?.length ?? 0,
      reason: reason ?? null,
      recordings: { erased: ids('erased'), refused: ids('refused'), failed: ids('failed') },
    },
  });
  return summary;
}

async function eraseOne(
  recording: RecordingRecord,
  forcedUntil: string | undefined,
  reason: string | undefined,
  options: EraseOptions,
): Promise<ErasureOutcome> {
  const unfinished = (await options.uploads.uploadsOf(recording.id)).filter((upload) => upload.state !== 'done');
  if (unfinished.length > 0) {
    // The uploader would otherwise put a copy back (or retry a missing file forever) after the erasure.
    const where = unfinished.map((upload) => `${upload.targetId} (${upload.state})`).join(', ');
    return {
      recordingId: recording.id,
      result: 'refused',
      rule: 'archiving',
      why: `not archived yet: uploads to ${where}; erase it once "callrec uploads status" shows them done`,
    };
  }
  const forced = forcedUntil === undefined ? '' : ` (forced within statutory retention until ${forcedUntil})`;
  const isNumber = (party: string | null): boolean => party !== null && options.numbers.includes(party);
  let disposal: Awaited<ReturnType<typeof disposeRecording>>;
  try {
    disposal = await disposeRecording({
      recording,
      targets: options.targets,
      uploads: options.uploads,
      spoolRoot: options.spoolRoot,
      action: 'erasure',
      reason: reason === undefined ? 'erasure' : `erasure: ${reason}`,
      actor: options.actor,
      policy: `erase --number ${options.maskedNumber}${reason === undefined ? '' : ` reason ${reason}`}${forced}`,
      disposalLog: options.disposalLog,
      catalogue: options.catalogue,
      pseudonym: {
        caller: isNumber(recording.caller) ? options.pseudonym : recording.caller,
        callee: isNumber(recording.callee) ? options.pseudonym : recording.callee,
      },
    });
  } catch (error) {
    if (error instanceof AppError && error.code === 'PRIVACY_LEGAL_HOLD') {
      // A hold placed while the erasure ran.
      return { recordingId: recording.id, result: 'refused', rule: 'hold', why: error.message };
    }
    return { recordingId: recording.id, result: 'failed', why: messageOf(error) };
  }
  if (!disposal.disposed) {
    return {
      recordingId: recording.id,
      result: 'failed',
      why: `${disposal.error ?? 'not every copy could be deleted'}; the recording stays listed, erase again`,
    };
  }
  const warning = await pseudonymiseCallRow(recording.id, options);
  return {
    recordingId: recording.id,
    result: 'erased',
    locations: disposal.locations,
    ...(forcedUntil === undefined ? {} : { forcedUntil }),
    ...(warning === undefined ? {} : { warning }),
  };
}

/** Pseudonymises the recording's call row; a warning when that failed (no row is fine). */
async function pseudonymiseCallRow(id: string, options: EraseOptions): Promise<string | undefined> {
  try {
    await options.calls.pseudonymiseCall(id, options.numbers, options.pseudonym);
    return undefined;
  } catch (error) {
    if (error instanceof AppError && error.code === 'STORE_CONFLICT') return undefined; // no call row
    return `the call row was not pseudonymised: ${messageOf(error)}`;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
