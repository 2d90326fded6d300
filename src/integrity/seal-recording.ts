import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../errors.js';
import { writeFileAtomic } from './atomic-file.js';
import { hashFiles, sha256Hex, writeChecksumFile, type ChecksumEntry } from './checksum-file.js';
import type { ChainLink, Ledger } from './ledger.js';
import type { RecordingSigner } from './recording-signer.js';
import { plainFileNameProblem, recordingFileNames } from './recording-files.js';
import { signChecksumFile } from './signer.js';
import type { TimestampClient } from './timestamp.js';

/** What {@link sealRecording} needs. */
export interface SealRecordingOptions {
  /** The recording's folder (the spool folder `recordings/<id>/`). */
  readonly dir: string;
  readonly id: string;
  /** Audio file names in `dir`, each starting with the id: `<id>.wav`, or `<id>-caller.wav` + `<id>-callee.wav`. */
  readonly audioFiles: readonly string[];
  /** The metadata; written as `<id>.json` with `integrity.chain` added. */
  readonly metadata: Readonly<Record<string, unknown>>;
  /** The installation's key; `undefined` for profiles with `signing: false` (neither checksum nor signature). */
  readonly signer?: RecordingSigner;
  /** The installation's chain; without it the recording is signed but not chained. */
  readonly ledger?: Ledger;
  /** An RFC 3161 TSA for `<id>.sha256.tsr`; without it no time-stamp. */
  readonly timestamp?: TimestampClient;
}

/** The `integrity.chain` object in a sealed recording's metadata. */
export interface RecordingChain extends ChainLink {
  readonly installationId: string;
}

/** What {@link sealRecording} did. */
export interface SealSummary {
  readonly id: string;
  /** Whether a checksum file and signature were written (false for `signing: false`). */
  readonly signed: boolean;
  readonly metadataPath: string;
  /** The checksum file's lines, metadata first (empty when not signed). */
  readonly files: readonly ChecksumEntry[];
  /** Bytes hashed: metadata plus audio. */
  readonly bytesHashed: number;
  readonly checksumPath?: string;
  /** SHA-256 of the checksum file — the ledger link. */
  readonly checksumSha256?: string;
  readonly signaturePath?: string;
  /** The recording's place in the chain, when a ledger was given. */
  readonly chain?: RecordingChain;
  /** The RFC 3161 outcome, when a TSA was given; a failed time-stamp does not fail the seal. */
  readonly timestamp?:
    | { readonly ok: true; readonly path: string; readonly genTime: string }
    | { readonly ok: false; readonly error: AppError };
}

/**
 * Seals a finished recording (issue 6, SPEC §5): takes the next chain link from the ledger (one
 * seal at a time per ledger, so the chain cannot fork), writes `<id>.json` with
 * `integrity.chain`, hashes metadata and audio into `<id>.sha256` (`shasum -a 256` format), signs
 * it into `<id>.sha256.SHA256withRSA.sig`, appends the ledger entry, and finally asks the TSA for
 * `<id>.sha256.tsr`. Every file is written 0600 with fsync and atomic rename.
 *
 * NOTE: the time-stamp is fetched after the ledger entry, outside the ledger's lock, so a slow
 * TSA never holds up other seals; the `.tsr` is evidence about the checksum file and is covered
 * by nothing, so the order does not change what can be proven.
 *
 * Rejects with `INTEGRITY_FILE_NAME` (bad id or audio name), `INTEGRITY_IO` (a file cannot be
 * read or written), `INTEGRITY_ALREADY_SEALED`, or `STORE_*` from the ledger.
 */
export async function sealRecording(options: SealRecordingOptions): Promise<SealSummary> {
  const { dir, id, audioFiles, metadata, signer, ledger } = options;
  const names = recordingFileNames(id);
  checkAudioNames(id, audioFiles, names);
  const metadataPath = join(dir, names.metadata);

  if (signer === undefined) {
    await writeFileAtomic(metadataPath, metadataText(metadata), { mode: 0o600 });
    return { id, signed: false, metadataPath, files: [], bytesHashed: 0 };
  }

  const checksumPath = join(dir, names.checksum);
  const timestampPath = join(dir, names.timestamp);
  const seal = async (link: ChainLink | undefined) => {
    // A time-stamp left by an earlier, interrupted attempt would describe another checksum file.
    await rm(timestampPath, { force: true });
    const chain: RecordingChain | undefined =
      link === undefined ? undefined : { ...link, installationId: signer.installationId };
    const document = chain === undefined ? metadata : withChain(metadata, chain);
    await writeFileAtomic(metadataPath, metadataText(document), { mode: 0o600 });
    const { entries, bytes } = await hashFiles(dir, [names.metadata, ...audioFiles]);
    const checksumBytes = await writeChecksumFile(checksumPath, entries);
    const { signaturePath } = await signChecksumFile(checksumPath, signer);
    return { chain, entries, bytes, checksumBytes, checksumSha256: sha256Hex(checksumBytes), signaturePath };
  };

  let sealed: Awaited<ReturnType<typeof seal>> | undefined;
  if (ledger === undefined) sealed = await seal(undefined);
  else {
    await ledger.extend(id, async (link) => {
      sealed = await seal(link);
      return { checksumSha256: sealed.checksumSha256 };
    });
  }
  if (sealed === undefined) throw new Error('ledger.extend resolved without running the seal');

  const summary: SealSummary = {
    id,
    signed: true,
    metadataPath,
    files: sealed.entries,
    bytesHashed: sealed.bytes,
    checksumPath,
    checksumSha256: sealed.checksumSha256,
    signaturePath: sealed.signaturePath,
    ...(sealed.chain === undefined ? {} : { chain: sealed.chain }),
  };
  if (options.timestamp === undefined) return summary;
  try {
    const token = await options.timestamp.timestamp(sealed.checksumBytes);
    await writeFileAtomic(timestampPath, token.response, { mode: 0o600 });
    return { ...summary, timestamp: { ok: true, path: timestampPath, genTime: token.genTime } };
  } catch (error) {
    const failure =
      error instanceof AppError
        ? error
        : new AppError('INTEGRITY_TIMESTAMP', `time-stamp for ${id} failed: ${String(error)}`, { cause: error });
    return { ...summary, timestamp: { ok: false, error: failure } };
  }
}

function checkAudioNames(
  id: string,
  audioFiles: readonly string[],
  names: ReturnType<typeof recordingFileNames>,
): void {
  const reserved = new Set<string>([names.metadata, names.checksum, names.signature, names.timestamp]);
  const seen = new Set<string>();
  for (const name of audioFiles) {
    const problem =
      plainFileNameProblem(name) ??
      (!name.startsWith(id) ? `does not start with the recording id ${id}` : undefined) ??
      (reserved.has(name) ? 'is the name of an integrity file' : undefined) ??
      (seen.has(name) ? 'is listed twice' : undefined);
    if (problem !== undefined) {
      throw new AppError('INTEGRITY_FILE_NAME', `audio file ${JSON.stringify(name)} ${problem}`);
    }
    seen.add(name);
  }
}

function withChain(metadata: Readonly<Record<string, unknown>>, chain: RecordingChain): Record<string, unknown> {
  const integrity = metadata['integrity'];
  const base = typeof integrity === 'object' && integrity !== null && !Array.isArray(integrity) ? integrity : {};
  return { ...metadata, integrity: { ...base, chain } };
}

function metadataText(document: Readonly<Record<string, unknown>>): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}
