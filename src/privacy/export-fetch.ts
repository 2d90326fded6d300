import { chmod, copyFile, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  parseChecksumFile,
  plainFileNameProblem,
  recordingFileNames,
  sha256File,
  type ChecksumEntry,
} from '../integrity/index.js';
import type { RecordingRecord, UploadStore } from '../store/index.js';
import { makePackageFolder, PACKAGE_FILE_MODE } from './export-package.js';

/** What export needs of an archive target (a subset of archive's `ArchiveTarget`). */
export interface ExportTarget {
  /** The config id, as in the recording's upload rows. */
  readonly id: string;
  /** Copies `folder/name` to `localPath`; `false` when the file is not there. */
  download(folder: string, name: string, localPath: string): Promise<boolean>;
}

/** Options of {@link fetchRecording}. */
export interface FetchRecordingOptions {
  readonly recording: RecordingRecord;
  /** The recording's folder in the package, `<out>/<id>`; must not exist yet. */
  readonly dest: string;
  /** Every configured archive target; the upload rows say which ones hold the recording. */
  readonly targets: readonly ExportTarget[];
  readonly uploads: Pick<UploadStore, 'uploadsOf'>;
}

/** What {@link fetchRecording} placed in the package. */
export interface FetchedRecording {
  /** `spool` or `target <id>`: where the files in `dest` came from; `null` when no copy had a checksum file. */
  readonly source: string | null;
  /** The file names in `dest`, sorted. */
  readonly files: readonly string[];
  /** The copy in `dest` is complete and every file matches its checksum (the signature is checked later). */
  readonly intact: boolean;
  /** Per copy tried that was not intact: `spool: …` / `target nas: …`. */
  readonly problems: readonly string[];
}

/** A place a recording's files can be copied from. */
interface Copy {
  readonly label: string;
  /** Copies `name` into `path`; `false` when the copy has no such file. */
  fetch(name: string, path: string): Promise<boolean>;
}

interface Attempt {
  readonly copy: Copy;
  readonly dir: string;
  readonly files: string[];
  readonly problems: string[];
  readonly hasChecksumFile: boolean;
}

/**
 * Copies one sealed recording into `dest`, exactly the files it was sealed with: those its
 * checksum file lists, the checksum file, its signature and the RFC 3161 token if there is one.
 * Tries the spool first, then every target it was uploaded to; each copy goes into a staging
 * folder beside `dest` and is checked against the checksum file (a download must match byte for
 * byte). The first intact copy becomes `dest`; when none is intact, the most complete one does
 * (flagged), so the auditor still sees what exists. Throws only for local I/O errors.
 */
export async function fetchRecording(options: FetchRecordingOptions): Promise<FetchedRecording> {
  const { recording, dest } = options;
  const copies = await copiesOf(options);
  const attempts: Attempt[] = [];
  const problems: string[] = [];
  let chosen: Attempt | undefined;
  try {
    for (const [index, copy] of copies.entries()) {
      const attempt = await fetchCopy(recording.id, copy, `${dest}.partial-${index}`);
      attempts.push(attempt);
      if (attempt.problems.length === 0) {
        chosen = attempt;
        break;
      }
      problems.push(`${copy.label}: ${attempt.problems.join('; ')}`);
    }
    chosen ??= attempts.find((attempt) => attempt.hasChecksumFile) ?? attempts[0];
    if (chosen === undefined) {
      await makePackageFolder(dest);
      return { source: null, files: [], intact: false, problems };
    }
    await rename(chosen.dir, dest);
    return {
      source: chosen.hasChecksumFile ? chosen.copy.label : null,
      files: [...chosen.files].sort(),
      intact: chosen.problems.length === 0,
      problems,
    };
  } finally {
    for (const attempt of attempts) {
      if (attempt !== chosen) await rm(attempt.dir, { recursive: true, force: true });
    }
  }
}

/** The spool when its checksum file is there, then each target with a finished upload. */
async function copiesOf(options: FetchRecordingOptions): Promise<Copy[]> {
  const { recording } = options;
  const copies: Copy[] = [];
  const spoolDir = recording.dir;
  const spool: Copy = {
    label: 'spool',
    fetch: async (name, path) => {
      try {
        await copyFile(join(spoolDir, name), path);
      } catch (error) {
        if ((error as { code?: unknown }).code === 'ENOENT') return false;
        throw error;
      }
      await chmod(path, PACKAGE_FILE_MODE);
      return true;
    },
  };
  // A spool copy removed after archiving (`uploads.keepLocal: false`) is no finding.
  const inSpool = await stat(join(spoolDir, recordingFileNames(recording.id).checksum)).then(
    () => true,
    () => false,
  );
  if (inSpool) copies.push(spool);
  for (const upload of await options.uploads.uploadsOf(recording.id)) {
    if (upload.state !== 'done') continue;
    const target = options.targets.find((candidate) => candidate.id === upload.targetId);
    if (target === undefined) continue;
    copies.push({
      label: `target ${target.id}`,
      fetch: (name, path) => target.download(upload.folder, name, path),
    });
  }
  if (copies.length === 0) copies.push(spool); // says what is missing
  return copies;
}

/** Copies the recording's files from `copy` into `dir` and checks them against its checksum file. */
async function fetchCopy(id: string, copy: Copy, dir: string): Promise<Attempt> {
  await rm(dir, { recursive: true, force: true });
  await makePackageFolder(dir);
  const names = recordingFileNames(id);
  const files: string[] = [];
  const problems: string[] = [];
  const attempt = (hasChecksumFile: boolean): Attempt => ({ copy, dir, files, problems, hasChecksumFile });
  const fetch = async (name: string): Promise<boolean> => {
    let found: boolean;
    try {
      found = await copy.fetch(name, join(dir, name));
    } catch (error) {
      if (isLocalWriteError(error)) throw error;
      problems.push(`cannot fetch ${name}: ${messageOf(error)}`);
      return false;
    }
    if (found) files.push(name);
    return found;
  };

  if (!(await fetch(names.checksum))) {
    if (problems.length === 0) problems.push(`${names.checksum} is missing`);
    return attempt(false);
  }
  const parsed = parseChecksumFile(await readFile(join(dir, names.checksum), 'utf8'));
  if (!parsed.ok) {
    problems.push(`${names.checksum}: ${parsed.error}`);
    return attempt(true);
  }
  const listed = parsed.entries.filter((entry) => {
    const problem = plainFileNameProblem(entry.name);
    if (problem !== undefined) problems.push(`${names.checksum} lists ${JSON.stringify(entry.name)}, which ${problem}`);
    return problem === undefined && entry.name !== names.checksum;
  });
  for (const entry of listed) {
    if (!(await fetch(entry.name))) problems.push(`${entry.name} is missing`);
  }
  if (!(await fetch(names.signature))) problems.push(`${names.signature} is missing`);
  await fetch(names.timestamp); // optional
  problems.push(...(await mismatches(dir, listed, files)));
  return attempt(true);
}

/** The listed files whose bytes do not match the checksum file. */
async function mismatches(dir: string, listed: readonly ChecksumEntry[], files: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  for (const entry of listed) {
    if (!files.includes(entry.name)) continue;
    const digest = await sha256File(join(dir, entry.name));
    if (digest.sha256Hex !== entry.sha256Hex) found.push(`${entry.name} does not match its checksum (altered)`);
  }
  return found;
}

/** Errors of the package's own disk (full, read-only) end the export; a target's error ends one copy. */
function isLocalWriteError(error: unknown): boolean {
  const codes = [error, (error as { cause?: unknown } | undefined)?.cause].map(
    (candidate) => (candidate as { code?: unknown } | undefined)?.code,
  );
  return codes.some((code) => code === 'ENOSPC' || code === 'EDQUOT' || code === 'EROFS');
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
