import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../errors.js';
import { plainFileNameProblem } from '../integrity/index.js';
import type {
  DisposalAction,
  DisposalEntry,
  DisposalLocation,
  RecordingRecord,
  RecordingStore,
  UploadStore,
} from '../store/index.js';
import type { DisposalLog } from './disposal-log.js';

/** What disposal needs of an archive target (a subset of archive's `ArchiveTarget`). */
export interface DisposalTarget {
  /** The config id, as in the recording's upload rows. */
  readonly id: string;
  /** Names in `folder`, `[]` when the folder is missing. */
  list(folder: string): Promise<string[]>;
  /** Deletes `folder/name`; resolves also when it was already gone. */
  delete(folder: string, name: string): Promise<void>;
}

/** Options of {@link disposeRecording}. */
export interface DisposeRecordingOptions {
  /** The catalogue row; re-read before anything is deleted (a hold may have been set since). */
  readonly recording: RecordingRecord;
  /** Every configured archive target; the recording's upload rows say which ones hold it. */
  readonly targets: readonly DisposalTarget[];
  /** Where the recording was uploaded: the upload rows with their expanded folders. */
  readonly uploads: Pick<UploadStore, 'uploadsOf'>;
  /** `<dataDir>/recordings`: the spool folder is `<spoolRoot>/<id>`. */
  readonly spoolRoot: string;
  readonly action: DisposalAction;
  /** Kept in the catalogue as the deletion reason: `retention` or `erasure: <why>`. */
  readonly reason: string;
  /** `cli:<os user>`, or `callrec` for the daily job. */
  readonly actor: string;
  /** For the disposal log: `profile trading: retentionDays 2557`, `erase --number … reason …`. */
  readonly policy: string;
  readonly disposalLog: Pick<DisposalLog, 'record'>;
  readonly catalogue: Pick<RecordingStore, 'find' | 'markDeleted'>;
  /** Replaces the numbers in the catalogue row (erasure). */
  readonly pseudonym?: { readonly caller: string | null; readonly callee: string | null };
}

/** The outcome of {@link disposeRecording}. */
export interface DisposalResult {
  readonly recordingId: string;
  /** Every location succeeded, the row is `deleted` and {@link entry} was logged. */
  readonly disposed: boolean;
  /** Each place tried, with what was deleted there or its error. */
  readonly locations: readonly DisposalLocation[];
  readonly entry?: DisposalEntry;
  /** When not disposed: which locations failed and why, one sentence. */
  readonly error?: string;
}

const DISPOSABLE_STATES: ReadonlySet<string> = new Set(['spooled', 'archived']);

/**
 * Deletes one recording's files from the spool and from every target it was uploaded to, then —
 * only when every location succeeded — writes the signed disposal log entry and marks the
 * catalogue row `deleted`. Files already missing count as deleted. A failed location leaves the
 * row as it was (the next run retries; locations done before are simply found empty then).
 *
 * Throws `AppError('PRIVACY_LEGAL_HOLD')` for a recording under legal hold and
 * `AppError('PRIVACY_DISPOSAL')` for one that is unknown, not yet sealed (`recording`,
 * `finalizing`) or already deleted — nothing is touched then.
 */
export async function disposeRecording(options: DisposeRecordingOptions): Promise<DisposalResult> {
  const { id } = options.recording;
  const recording = await options.catalogue.find(id);
  if (recording === undefined) throw new AppError('PRIVACY_DISPOSAL', `no recording ${id}`);
  if (recording.hold !== null) {
    throw new AppError(
      'PRIVACY_LEGAL_HOLD',
      `recording ${id} is under legal hold since ${recording.hold.since} (${recording.hold.reason}); release it first`,
    );
  }
  if (!DISPOSABLE_STATES.has(recording.state)) {
    throw new AppError(
      'PRIVACY_DISPOSAL',
      `recording ${id} is ${recording.state}; only sealed recordings are disposed of`,
    );
  }
  const idProblem = plainFileNameProblem(id);
  if (idProblem !== undefined) {
    throw new AppError('PRIVACY_DISPOSAL', `recording id ${JSON.stringify(id)} ${idProblem}; not a spool folder`);
  }
  const uploads = await options.uploads.uploadsOf(id);
  const inFlight = uploads.filter((upload) => upload.state === 'uploading').map((upload) => upload.targetId);
  if (inFlight.length > 0) {
    return {
      recordingId: id,
      disposed: false,
      locations: [],
      error: `an upload to ${inFlight.join(', ')} is in progress; nothing deleted, retried next run`,
    };
  }
  const locations: DisposalLocation[] = [await deleteSpool(join(options.spoolRoot, id))];
  for (const upload of uploads) {
    const target = options.targets.find((candidate) => candidate.id === upload.targetId);
    locations.push(await deleteOnTarget(target, upload.targetId, upload.folder, id));
  }
  const failed = locations.filter((location) => !location.ok);
  if (failed.length > 0) {
    return {
      recordingId: id,
      disposed: false,
      locations,
      error: failed.map((location) => `${locationName(location)}: ${location.error ?? 'failed'}`).join('; '),
    };
  }
  const entry = await options.disposalLog.record({
    recordingId: id,
    action: options.action,
    policy: options.policy,
    actor: options.actor,
    locations,
  });
  try {
    await options.catalogue.markDeleted(id, options.reason, entry.at, options.pseudonym);
  } catch (error) {
    throw new AppError(
      'PRIVACY_DISPOSAL',
      `recording ${id}: files deleted and logged (disposal entry ${entry.id}) but the catalogue was not updated: ${messageOf(error)}`,
      { cause: error },
    );
  }
  return { recordingId: id, disposed: true, locations, entry };
}

/** `spool` or `target <id> <folder>`, for messages. */
export function locationName(location: DisposalLocation): string {
  return location.kind === 'spool' ? `spool ${location.path}` : `target ${location.targetId} ${location.folder}`;
}

/**
 * Whether `name` in a shared target folder belongs to recording `id`: `<id>.<ext>`,
 * `<id>-<suffix>` (SPEC §11: names start with the id) or an upload's temporary `.<name>.callrec-partial`.
 */
export function isRecordingFileName(id: string, name: string): boolean {
  const base =
    name.startsWith('.') && name.endsWith('.callrec-partial') ? name.slice(1, -'.callrec-partial'.length) : name;
  return base === id || base.startsWith(`${id}.`) || base.startsWith(`${id}-`);
}

async function deleteSpool(path: string): Promise<DisposalLocation> {
  try {
    const names = await readdir(path).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    });
    await rm(path, { recursive: true, force: true });
    return { kind: 'spool', path, ok: true, deleted: names.sort() };
  } catch (error) {
    return { kind: 'spool', path, ok: false, deleted: [], error: messageOf(error) };
  }
}

async function deleteOnTarget(
  target: DisposalTarget | undefined,
  targetId: string,
  folder: string,
  id: string,
): Promise<DisposalLocation> {
  if (target === undefined) {
    return { kind: 'target', targetId, folder, ok: false, deleted: [], error: 'target is no longer configured' };
  }
  const deleted: string[] = [];
  try {
    const names = (await target.list(folder)).filter((name) => isRecordingFileName(id, name)).sort();
    for (const name of names) {
      await target.delete(folder, name);
      deleted.push(name);
    }
    return { kind: 'target', targetId, folder, ok: true, deleted };
  } catch (error) {
    return { kind: 'target', targetId, folder, ok: false, deleted, error: messageOf(error) };
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
