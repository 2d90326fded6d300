import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  sealRecording,
  type Ledger,
  type RecordingSigner,
  type SealSummary,
  type TimestampClient,
} from '../integrity/index.js';
import {
  buildRecordingMetadata,
  mergeToStereo,
  type FinishedRecording,
  type RecordedParty,
  type RecordingCallInfo,
  type RelayLegCounters,
  type WavFileSummary,
} from '../recorder/index.js';
import type { PayloadFormat } from '../recorder/index.js';

export interface FinaliseInput {
  readonly recording: FinishedRecording;
  readonly call: RecordingCallInfo;
  readonly relay: Readonly<Partial<Record<RecordedParty, RelayLegCounters>>>;
  readonly formats: Readonly<Partial<Record<RecordedParty, readonly PayloadFormat[]>>>;
  /** The installation key; `undefined` for profiles with `signing: false`. */
  readonly signer?: RecordingSigner;
  readonly ledger?: Ledger;
  /** An RFC 3161 TSA for `<id>.sha256.tsr` (signed recordings only). */
  readonly timestamp?: TimestampClient;
}

export interface FinalisedRecording {
  readonly id: string;
  readonly dir: string;
  readonly audioFiles: readonly string[];
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly seal: SealSummary;
  /** The completeness report's verdict (SPEC §4). */
  readonly complete: boolean;
  readonly problems: readonly string[];
}

interface AudioFile {
  readonly name: string;
  readonly parties: readonly RecordedParty[];
  readonly wav: WavFileSummary;
}

/**
 * What happens to a recording after its call ended, in order (SPEC §2, §5):
 *  1. both-stereo: merge `<id>-caller.wav` (left) and `<id>-callee.wav` (right) into `<id>.wav`
 *     and remove the two (kept, and named in the report, if the merge fails);
 *  2. the metadata with the completeness report;
 *  3. seal: `<id>.json`, `<id>.sha256`, `<id>.sha256.SHA256withRSA.sig`, ledger link.
 * Archiving (issue "Archive") follows the seal.
 */
export async function finaliseRecording(input: FinaliseInput): Promise<FinalisedRecording> {
  const { recording } = input;
  const problems: string[] = [];
  let files: AudioFile[] = recording.legs.flatMap((leg) =>
    leg.wav === undefined ? [] : [{ name: leg.file, parties: [leg.party], wav: leg.wav }],
  );
  if (recording.channels === 'both-stereo') files = await mergeStereo(recording, files, problems);
  const metadata = buildRecordingMetadata({
    call: input.call,
    recording,
    files,
    relay: input.relay,
    formats: input.formats,
    problems,
    ...(input.signer === undefined ? {} : { installationId: input.signer.installationId }),
  });
  const audioFiles = files.map((file) => file.name);
  const seal = await sealRecording({
    dir: recording.dir,
    id: recording.id,
    audioFiles,
    metadata,
    ...(input.signer === undefined ? {} : { signer: input.signer }),
    ...(input.ledger === undefined ? {} : { ledger: input.ledger }),
    ...(input.timestamp === undefined ? {} : { timestamp: input.timestamp }),
  });
  const completeness = metadata['completeness'] as { complete: boolean; problems: string[] };
  return {
    id: recording.id,
    dir: recording.dir,
    audioFiles,
    metadata,
    seal,
    complete: completeness.complete,
    problems: completeness.problems,
  };
}

async function mergeStereo(recording: FinishedRecording, files: AudioFile[], problems: string[]): Promise<AudioFile[]> {
  const caller = files.find((file) => file.parties.includes('caller'));
  const callee = files.find((file) => file.parties.includes('callee'));
  if (caller === undefined || callee === undefined) {
    problems.push('stereo merge impossible: a party has no file');
    return files;
  }
  const name = `${recording.id}.wav`;
  try {
    const wav = await mergeToStereo({
      left: join(recording.dir, caller.name),
      right: join(recording.dir, callee.name),
      out: join(recording.dir, name),
    });
    await Promise.all([rm(join(recording.dir, caller.name)), rm(join(recording.dir, callee.name))]);
    return [{ name, parties: ['caller', 'callee'], wav }];
  } catch (error) {
    problems.push(
      `stereo merge failed, per-party files kept: ${error instanceof Error ? error.message : String(error)}`,
    );
    return files;
  }
}
