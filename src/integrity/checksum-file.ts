import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../errors.js';
import { writeFileAtomic } from './atomic-file.js';
import { assertPlainFileName, plainFileNameProblem } from './recording-files.js';

/** One line of a checksum file. */
export interface ChecksumEntry {
  /** A plain file name in the recording's folder. */
  readonly name: string;
  /** Lower-case hex SHA-256 of the file's bytes. */
  readonly sha256Hex: string;
}

/** A file's SHA-256 and size. */
export interface FileDigest {
  readonly sha256Hex: string;
  readonly size: number;
}

/** The outcome of {@link parseChecksumFile}. */
export type ParsedChecksumFile =
  { readonly ok: true; readonly entries: readonly ChecksumEntry[] } | { readonly ok: false; readonly error: string };

/** Read size of {@link sha256File}: two buffers of this size are all the memory it uses. */
const CHUNK_BYTES = 1 << 20;
const HEX64 = /^[0-9a-f]{64}$/;
const LINE = /^([0-9a-f]{64}) {2}(.+)$/;

/**
 * SHA-256 of a file in constant memory: 1 MiB reads, the next one in flight while the current
 * one is hashed. Rejects with `AppError('INTEGRITY_IO')` when the file cannot be read.
 */
export async function sha256File(path: string): Promise<FileDigest> {
  try {
    const handle = await open(path, 'r');
    try {
      const hash = createHash('sha256');
      let spare = Buffer.allocUnsafe(CHUNK_BYTES);
      let size = 0;
      let pending = handle.read(Buffer.allocUnsafe(CHUNK_BYTES), 0, CHUNK_BYTES, null);
      for (;;) {
        const { bytesRead, buffer } = await pending;
        if (bytesRead === 0) break;
        pending = handle.read(spare, 0, CHUNK_BYTES, null); // read ahead while this chunk is hashed
        hash.update(buffer.subarray(0, bytesRead));
        size += bytesRead;
        spare = buffer;
      }
      return { sha256Hex: hash.digest('hex'), size };
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw new AppError(
      'INTEGRITY_IO',
      `cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`,
      {
        cause: error,
      },
    );
  }
}

/** SHA-256 of `data` as lower-case hex. */
export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Hashes the files `names` in folder `dir`, in the given order; returns the entries and total bytes. */
export async function hashFiles(
  dir: string,
  names: readonly string[],
): Promise<{ entries: ChecksumEntry[]; bytes: number }> {
  const entries: ChecksumEntry[] = [];
  let bytes = 0;
  for (const name of names) {
    assertPlainFileName(name);
    const digest = await sha256File(join(dir, name));
    entries.push({ name, sha256Hex: digest.sha256Hex });
    bytes += digest.size;
  }
  return { entries, bytes };
}

/**
 * Exactly what `shasum -a 256 <names…>` (and `sha256sum`) print for these files:
 * `<hex>  <name>\n` per file, in the order given (metadata first, then audio). Throws
 * `AppError('INTEGRITY_FILE_NAME')` for a name `shasum` would escape or that leaves the folder,
 * for a duplicate name, and plain `Error` for a malformed digest.
 */
export function checksumFileText(entries: readonly ChecksumEntry[]): string {
  const seen = new Set<string>();
  let text = '';
  for (const { name, sha256Hex: hex } of entries) {
    assertPlainFileName(name);
    if (seen.has(name)) throw new AppError('INTEGRITY_FILE_NAME', `file name ${JSON.stringify(name)} listed twice`);
    seen.add(name);
    if (!HEX64.test(hex)) throw new Error(`not a lower-case hex SHA-256: ${JSON.stringify(hex)}`);
    text += `${hex}  ${name}\n`;
  }
  return text;
}

/**
 * Reads a checksum file in the strict form {@link checksumFileText} writes: at least one line,
 * each `<64 lower-case hex>  <plain name>` ending in `\n`, no duplicate names.
 */
export function parseChecksumFile(text: string): ParsedChecksumFile {
  if (text === '') return { ok: false, error: 'checksum file is empty' };
  if (!text.endsWith('\n')) return { ok: false, error: 'checksum file does not end with a line break' };
  const entries: ChecksumEntry[] = [];
  const seen = new Set<string>();
  const lines = text.slice(0, -1).split('\n');
  for (const [index, line] of lines.entries()) {
    const match = LINE.exec(line);
    if (match === null) return { ok: false, error: `line ${index + 1} is not "<sha256-hex>  <name>"` };
    const [, hex, name] = match as unknown as [string, string, string];
    const problem = plainFileNameProblem(name);
    if (problem !== undefined)
      return { ok: false, error: `line ${index + 1}: name ${JSON.stringify(name)} ${problem}` };
    if (seen.has(name)) return { ok: false, error: `line ${index + 1}: ${name} listed twice` };
    seen.add(name);
    entries.push({ name, sha256Hex: hex });
  }
  return { ok: true, entries };
}

/**
 * Writes a checksum file atomically (temp file, fsync, rename, fsync of the folder) with mode
 * 0600 and returns its exact bytes.
 */
export async function writeChecksumFile(path: string, entries: readonly ChecksumEntry[]): Promise<Buffer> {
  const bytes = Buffer.from(checksumFileText(entries), 'utf8');
  await writeFileAtomic(path, bytes, { mode: 0o600 });
  return bytes;
}
