import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../errors.js';
import { parseChecksumFile, recordingFileNames, sha256File } from '../integrity/index.js';
import { isTemporaryName, type ArchiveTarget } from './targets/archive-target.js';

/** What one delivery of a recording to a target moved. */
export interface DeliverySummary {
  /** File names in upload order. */
  readonly files: readonly string[];
  readonly bytes: number;
}

/**
 * The files of recording `id` in its spool folder, in upload order: metadata and audio first,
 * then `<id>.sha256`, its time-stamp, and the signature last — so a complete signature on the
 * target implies the rest is there. Temporary files (`.…tmp`, upload partials) are skipped.
 * Rejects with `ARCHIVE_IO` (not retriable) when the folder is missing or holds no file of `id`.
 */
export async function recordingFiles(dir: string, id: string): Promise<string[]> {
  let entries: Array<{ name: string; isFile(): boolean }>;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    throw new AppError('ARCHIVE_IO', `spool folder ${dir} of recording ${id} cannot be read`, { cause: error });
  }
  const names = recordingFileNames(id);
  const last = [names.checksum, names.timestamp, names.signature];
  const files = entries
    .filter((entry) => entry.isFile())
    .map((entry) => entry.name)
    .filter(
      (name) =>
        (name.startsWith(`${id}.`) || name.startsWith(`${id}-`)) && !name.endsWith('.tmp') && !isTemporaryName(name),
    )
    .sort((a, b) => last.indexOf(a) - last.indexOf(b) || (a < b ? -1 : a > b ? 1 : 0));
  if (files.length === 0) throw new AppError('ARCHIVE_IO', `spool folder ${dir} holds no file of recording ${id}`);
  return files;
}

/**
 * Delivers one recording to one target (SPEC §6): creates the folder, uploads every file (each
 * via the target's temporary name and rename), then reads every file back and compares its
 * SHA-256 — with the line of `<id>.sha256` for the files it lists, with the local file for the
 * others (the checksum file itself, signature, time-stamp, and all files of an unsigned
 * recording). Finally removes temporaries of this recording an interrupted upload left in the
 * folder. Rejects with the target's `ARCHIVE_*` error, or `ARCHIVE_VERIFY` — retriable for a
 * read-back that differs, not retriable when the spool copy itself no longer matches its
 * checksum file.
 */
export async function deliverRecording(
  target: ArchiveTarget,
  dir: string,
  id: string,
  folder: string,
): Promise<DeliverySummary> {
  const files = await recordingFiles(dir, id);
  const expected = await checksumLines(dir, id, files);
  let bytes = 0;
  for (const name of files) bytes += await localSize(dir, name);
  await target.ensureFolder(folder);
  for (const name of files) await target.upload(join(dir, name), folder, name);
  for (const name of files) {
    const remote = await target.sha256(folder, name);
    if (remote === undefined) {
      throw new AppError('ARCHIVE_VERIFY', `${name} is missing on target ${target.id} after its upload`, {
        retriable: true,
      });
    }
    const listed = expected.get(name);
    if (remote === (listed ?? (await localSha256(dir, name)))) continue;
    if (listed !== undefined && (await localSha256(dir, name)) !== listed) {
      throw new AppError('ARCHIVE_VERIFY', `the spool copy of ${name} no longer matches ${id}.sha256`);
    }
    throw new AppError('ARCHIVE_VERIFY', `read-back of ${name} from target ${target.id} differs from what was sent`, {
      retriable: true,
    });
  }
  for (const name of await target.list(folder)) {
    if (isTemporaryName(name) && (name.startsWith(`.${id}.`) || name.startsWith(`.${id}-`))) {
      await target.delete(folder, name);
    }
  }
  return { files, bytes };
}

/** The checksum file's lines by name; empty for an unsigned recording. */
async function checksumLines(dir: string, id: string, files: readonly string[]): Promise<Map<string, string>> {
  const { checksum } = recordingFileNames(id);
  if (!files.includes(checksum)) return new Map();
  let text: string;
  try {
    text = await readFile(join(dir, checksum), 'utf8');
  } catch (error) {
    throw new AppError('ARCHIVE_IO', `cannot read ${checksum} in ${dir}`, { cause: error, retriable: true });
  }
  const parsed = parseChecksumFile(text);
  if (!parsed.ok) throw new AppError('ARCHIVE_VERIFY', `${checksum} in the spool is malformed: ${parsed.error}`);
  const missing = parsed.entries.find((entry) => !files.includes(entry.name));
  if (missing !== undefined) {
    throw new AppError('ARCHIVE_IO', `${missing.name}, listed in ${checksum}, is missing from the spool`);
  }
  return new Map(parsed.entries.map((entry) => [entry.name, entry.sha256Hex]));
}

async function localSha256(dir: string, name: string): Promise<string> {
  try {
    return (await sha256File(join(dir, name))).sha256Hex;
  } catch (error) {
    throw new AppError('ARCHIVE_IO', `cannot read ${name} in ${dir}`, { cause: error, retriable: true });
  }
}

async function localSize(dir: string, name: string): Promise<number> {
  try {
    return (await stat(join(dir, name))).size;
  } catch (error) {
    throw new AppError('ARCHIVE_IO', `cannot stat ${name} in ${dir}`, { cause: error, retriable: true });
  }
}
