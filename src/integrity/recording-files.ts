import { AppError } from '../errors.js';

/** `<id>.json`: the recording's metadata. */
export const METADATA_SUFFIX = '.json';
/** `<id>.sha256`: `shasum -a 256` lines for the metadata and every audio file. */
export const CHECKSUM_SUFFIX = '.sha256';
/** Appended to a signed file's name: `<id>.sha256.SHA256withRSA.sig`. */
export const SIGNATURE_SUFFIX = '.SHA256withRSA.sig';
/** Appended to the checksum file's name: `<id>.sha256.tsr`, an RFC 3161 time-stamp response. */
export const TIMESTAMP_SUFFIX = '.tsr';

/** The names of a recording's integrity files (SPEC §11). */
export interface RecordingFileNames {
  readonly metadata: string;
  readonly checksum: string;
  readonly signature: string;
  readonly timestamp: string;
}

/** The file names of recording `id`; throws `INTEGRITY_FILE_NAME` for an id that is not a plain name. */
export function recordingFileNames(id: string): RecordingFileNames {
  assertPlainFileName(id, 'recording id');
  const checksum = `${id}${CHECKSUM_SUFFIX}`;
  return {
    metadata: `${id}${METADATA_SUFFIX}`,
    checksum,
    signature: `${checksum}${SIGNATURE_SUFFIX}`,
    timestamp: `${checksum}${TIMESTAMP_SUFFIX}`,
  };
}

/**
 * Why `name` cannot appear in a checksum file, or `undefined` when it can: it must be a plain
 * file name — `shasum` escapes names with a backslash or newline, and `/` would leave the folder.
 */
export function plainFileNameProblem(name: string): string | undefined {
  if (name === '' || name === '.' || name === '..') return 'is empty, "." or ".."';
  if (/[/\\\n\r\0]/.test(name)) return 'contains "/", "\\", a line break or NUL';
  if (name.startsWith('-')) return 'starts with "-"';
  return undefined;
}

/** Throws `AppError('INTEGRITY_FILE_NAME')` unless `name` is a plain file name. */
export function assertPlainFileName(name: string, what = 'file name'): void {
  const problem = plainFileNameProblem(name);
  if (problem !== undefined) throw new AppError('INTEGRITY_FILE_NAME', `${what} ${JSON.stringify(name)} ${problem}`);
}

/**
 * The recording id an audio file name suggests (`<id>.wav`, `<id>-caller.wav`, `<id>-callee.wav`),
 * or `undefined` for other names. Used to find audio that no checksum file covers.
 */
export function recordingIdOfAudio(name: string): string | undefined {
  const match = /^(.+?)(-caller|-callee)?\.wav$/.exec(name);
  return match?.[1];
}
