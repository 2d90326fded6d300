import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../errors.js';
import {
  parseChecksumFile,
  recordingFileNames,
  sealRecording,
  sha256Hex,
  type Ledger,
  type RecordingSigner,
  type SealSummary,
  type TimestampClient,
} from '../integrity/index.js';
import type { ChannelMode } from '../recorder/index.js';
import type { CallRecord, LedgerEntry, RecordingRecord } from '../store/index.js';
import type { FinalisedRecording } from './finalise.js';
import { recoverAudioFiles } from './recover-files.js';
import { buildRecoveredMetadata, recoveredTimes, RECOVERED_END_REASON } from './recover-metadata.js';

/** What {@link recoverRecording} needs for one recording left `recording`/`finalizing` by a crash. */
export interface RecoverRecordingInput {
  /** The catalogue row. */
  readonly recording: RecordingRecord;
  /** The call's row, when it was written before the crash. */
  readonly call: CallRecord | undefined;
  /** The profile's channel mode (whether per-party files are merged into stereo). */
  readonly channels: ChannelMode;
  /** The installation key; `undefined` for profiles with `signing: false`. */
  readonly signer?: RecordingSigner;
  readonly ledger?: Ledger;
  /** The ledger entry of a recording, `undefined` when it was never sealed into the chain. */
  readonly sealedEntry: (recordingId: string) => Promise<LedgerEntry | undefined>;
  readonly timestamp?: TimestampClient;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/** How a recording was brought back. */
export type RecoveryAction =
  /** Repaired from the files on disk, metadata with end reason `recovered`, sealed. */
  | 'recovered'
  /** The finalisation had written its metadata; only the seal was missing and is now done. */
  | 'resealed'
  /** Sealed before the crash; only its catalogue row was behind. */
  | 'already-sealed';

/** A recovered recording: finalised like any other, plus what recovery found. */
export interface RecoveredRecording extends FinalisedRecording {
  readonly action: RecoveryAction;
  /** Audio on disk, ms of the call's timeline. */
  readonly coveredMs: number;
  /** The end and reason now in the metadata (for the catalogue and the calls row). */
  readonly end: Date;
  readonly endReason: string;
  /** Who ended the call, as the metadata says (`callrec` for a recording cut off by the crash). */
  readonly endedBy: 'caller' | 'callee' | 'callrec';
  readonly finalStatus: number;
  /** The folder templates expand from this (the answer, as for recordings finalised normally). */
  readonly start: Date;
  /** The gap sentence; `null` when nothing is missing. */
  readonly gap: string | null;
}

/**
 * Brings one recording back after a crash (SPEC §9), idempotently:
 *  - already sealed (checksum file present and in the ledger; for unsigned profiles: metadata
 *    present): nothing is rewritten;
 *  - the finalisation had written its metadata (audio final, seal cut short): sealed as written,
 *    with a `recovery` note — its end reason and completeness report are the call's own;
 *  - otherwise: WAV headers repaired from the data on disk, per-party files merged for
 *    `both-stereo`, metadata with end reason `recovered` and the gap stated, then signed, chained
 *    and time-stamped as the profile wants. A folder without audio is sealed as an empty recording.
 * Rejects (with the files left as they are for the next attempt) on I/O, seal or ledger failures.
 */
export async function recoverRecording(input: RecoverRecordingInput): Promise<RecoveredRecording> {
  const { recording, signer } = input;
  const now = input.now ?? (() => new Date());
  const names = recordingFileNames(recording.id);
  const previous = await readMetadata(join(recording.dir, names.metadata));
  const entry = signer === undefined ? undefined : await input.sealedEntry(recording.id);
  if (entry !== undefined || (signer === undefined && previous !== undefined)) {
    if (previous === undefined) {
      throw new AppError('INTEGRITY_IO', `recording ${recording.id} is in the ledger but ${names.metadata} is missing`);
    }
    const seal = await existingSeal(recording, entry, signer);
    return fromMetadata(recording, previous, seal, 'already-sealed');
  }
  if (previous !== undefined && previous['recovery'] === undefined && recording.state === 'finalizing') {
    const resealed = await resealFinalised(input, previous, now());
    if (resealed !== undefined) return resealed;
  }

  const audio = await recoverAudioFiles(recording.dir, recording.id, input.channels);
  const facts = { recording, call: input.call, audio, recoveredAt: now() };
  const times = recoveredTimes(facts);
  const metadata = buildRecoveredMetadata(
    signer === undefined ? facts : { ...facts, installationId: signer.installationId },
    times,
  );
  const audioFiles = audio.files.map((file) => file.name);
  const seal = await sealRecording({
    dir: recording.dir,
    id: recording.id,
    audioFiles,
    metadata,
    ...sealOptions(input),
  });
  const completeness = metadata['completeness'] as { problems: string[] };
  return {
    id: recording.id,
    dir: recording.dir,
    audioFiles,
    metadata,
    seal,
    complete: false,
    problems: completeness.problems,
    action: 'recovered',
    coveredMs: Math.round(audio.coveredMs),
    end: times.end,
    endReason: RECOVERED_END_REASON,
    endedBy: 'callrec',
    finalStatus: 200,
    start: times.answer,
    gap: times.gap ? times.statement : null,
  };
}

function sealOptions(
  input: RecoverRecordingInput,
): Pick<Parameters<typeof sealRecording>[0], 'signer' | 'ledger' | 'timestamp'> {
  if (input.signer === undefined) return {};
  return {
    signer: input.signer,
    ...(input.ledger === undefined ? {} : { ledger: input.ledger }),
    ...(input.timestamp === undefined ? {} : { timestamp: input.timestamp }),
  };
}

/** Seals metadata the finalisation wrote before the crash, if every audio file it lists is there as listed. */
async function resealFinalised(
  input: RecoverRecordingInput,
  previous: Record<string, unknown>,
  recoveredAt: Date,
): Promise<RecoveredRecording | undefined> {
  const { recording } = input;
  const listed = Array.isArray(previous['files']) ? (previous['files'] as unknown[]) : undefined;
  if (listed === undefined) return undefined;
  const audioFiles: string[] = [];
  for (const file of listed) {
    const { name, bytes } = (file ?? {}) as { name?: unknown; bytes?: unknown };
    if (typeof name !== 'string' || typeof bytes !== 'number') return undefined;
    const size = await fileSize(join(recording.dir, name));
    if (size !== bytes) return undefined; // not the files the metadata describes: recover from disk
    audioFiles.push(name);
  }
  const metadata = {
    ...previous,
    recovery: {
      recoveredAt: recoveredAt.toISOString(),
      stateAtCrash: recording.state,
      statement: 'callrec stopped after the recording was finalised and before it was sealed; sealed on restart',
    },
  };
  const seal = await sealRecording({
    dir: recording.dir,
    id: recording.id,
    audioFiles,
    metadata,
    ...sealOptions(input),
  });
  return fromMetadata(recording, metadata, seal, 'resealed');
}

/** The seal summary of a recording sealed before the crash, from its checksum file and ledger entry. */
async function existingSeal(
  recording: RecordingRecord,
  entry: LedgerEntry | undefined,
  signer: RecordingSigner | undefined,
): Promise<SealSummary> {
  const names = recordingFileNames(recording.id);
  const metadataPath = join(recording.dir, names.metadata);
  if (signer === undefined) return { id: recording.id, signed: false, metadataPath, files: [], bytesHashed: 0 };
  const checksumPath = join(recording.dir, names.checksum);
  let checksum: Buffer;
  try {
    checksum = await readFile(checksumPath);
  } catch (error) {
    throw new AppError(
      'INTEGRITY_IO',
      `recording ${recording.id} is in the ledger but ${names.checksum} cannot be read`,
      {
        cause: error,
      },
    );
  }
  const parsed = parseChecksumFile(checksum.toString('utf8'));
  if (!parsed.ok) throw new AppError('INTEGRITY_IO', `${checksumPath}: ${parsed.error}`);
  return {
    id: recording.id,
    signed: true,
    metadataPath,
    files: parsed.entries,
    bytesHashed: 0,
    checksumPath,
    checksumSha256: sha256Hex(checksum),
    signaturePath: join(recording.dir, names.signature),
    ...(entry === undefined
      ? {}
      : {
          chain: {
            sequence: entry.sequence,
            previousChecksumSha256: entry.previousChecksumSha256,
            installationId: signer.installationId,
          },
        }),
  };
}

function fromMetadata(
  recording: RecordingRecord,
  metadata: Record<string, unknown>,
  seal: SealSummary,
  action: RecoveryAction,
): RecoveredRecording {
  const completeness = (metadata['completeness'] ?? {}) as { complete?: unknown; problems?: unknown };
  const problems = Array.isArray(completeness.problems) ? completeness.problems.map(String) : [];
  const files = Array.isArray(metadata['files']) ? (metadata['files'] as Array<{ name?: unknown }>) : [];
  const answer = dateOf(metadata['answer']) ?? dateOf(metadata['start']) ?? new Date(recording.start);
  const end = dateOf(metadata['end']) ?? (recording.end === null ? answer : new Date(recording.end));
  const endReason = typeof metadata['endReason'] === 'string' ? metadata['endReason'] : (recording.endReason ?? '');
  const covered = metadata['recordingDurationMs'];
  const endedBy = metadata['endedBy'];
  const finalStatus = metadata['finalStatus'];
  const recovery = metadata['recovery'] as { gap?: unknown; statement?: unknown } | undefined;
  return {
    id: recording.id,
    dir: recording.dir,
    audioFiles: files.flatMap((file) => (typeof file.name === 'string' ? [file.name] : [])),
    metadata,
    seal,
    complete: completeness.complete === true,
    problems,
    action,
    coveredMs: typeof covered === 'number' ? covered : 0,
    end,
    endReason,
    endedBy: endedBy === 'caller' || endedBy === 'callee' ? endedBy : 'callrec',
    finalStatus: typeof finalStatus === 'number' ? finalStatus : 200,
    start: answer,
    gap: recovery?.gap !== undefined && recovery.gap !== null ? String(recovery.statement) : null,
  };
}

async function readMetadata(path: string): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new AppError('INTEGRITY_IO', `cannot read ${path}: ${String(error)}`, { cause: error });
  }
  try {
    const document: unknown = JSON.parse(text);
    return typeof document === 'object' && document !== null && !Array.isArray(document)
      ? (document as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined; // written atomically, so only a foreign file can be unreadable: rebuilt
  }
}

async function fileSize(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}

function dateOf(value: unknown): Date | undefined {
  if (typeof value !== 'string') return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}
