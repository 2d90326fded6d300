import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseChecksumFile, sha256File, sha256Hex } from './checksum-file.js';
import { recordingFileNames, type RecordingFileNames } from './recording-files.js';
import { parseSignatureFile, verifySignature } from './signer.js';
import { timestampResponseImprint } from './timestamp.js';

const HEX64 = /^[0-9a-f]{64}$/;

/** The verdict on one recording. */
export interface RecordingVerdict {
  readonly id: string;
  readonly ok: boolean;
  /** What does not hold; empty when `ok`. */
  readonly problems: readonly string[];
  /** What was checked and holds. */
  readonly holds: readonly string[];
  /** `integrity.chain` of the metadata, when present and well-formed. */
  readonly chain?: { readonly sequence: number; readonly installationId: string };
}

/** One recording as examined: its verdict so far, and its chain link for the folder's chain check. */
export interface Examined {
  readonly verdict: RecordingVerdict & { problems: string[]; holds: string[] };
  readonly checksumSha256?: string;
  readonly previousChecksumSha256?: string | null;
}

/**
 * Examines one sealed recording `id` in `dir`: its checksum file and the files it lists (`ownedFiles`
 * are the folder's files named after it, `present` all of the folder's), the signature with
 * `certificatePem`, a time-stamp if present, and the chain link of its metadata.
 */
export async function examineRecording(
  dir: string,
  id: string,
  ownedFiles: readonly string[],
  present: ReadonlySet<string>,
  certificatePem: string | undefined,
): Promise<Examined> {
  const problems: string[] = [];
  const holds: string[] = [];
  const verdict = { id, ok: false, problems, holds };
  let names: RecordingFileNames;
  try {
    names = recordingFileNames(id);
  } catch (error) {
    problems.push(messageOf(error));
    return { verdict };
  }
  const checksumBytes = await readFile(join(dir, names.checksum)).catch((error: unknown) => {
    problems.push(`cannot read ${names.checksum}: ${messageOf(error)}`);
    return undefined;
  });
  if (checksumBytes === undefined) return { verdict };
  const checksumSha256 = sha256Hex(checksumBytes);

  // 1. The checksum file and the files it lists.
  const parsed = parseChecksumFile(checksumBytes.toString('utf8'));
  const listed = new Set<string>();
  if (!parsed.ok) problems.push(`${names.checksum}: ${parsed.error}`);
  else {
    let matching = 0;
    for (const { name, sha256Hex: expected } of parsed.entries) {
      listed.add(name);
      if (!name.startsWith(id)) {
        problems.push(`${names.checksum} lists ${name}, which is not a file of ${id}`);
        continue;
      }
      if (!present.has(name)) {
        problems.push(`${name} is missing`);
        continue;
      }
      const actual = await sha256File(join(dir, name)).then(
        (digest) => digest.sha256Hex,
        (error: unknown) => {
          problems.push(messageOf(error));
          return undefined;
        },
      );
      if (actual === undefined) continue;
      if (actual !== expected) problems.push(`${name} does not match its checksum (altered)`);
      else matching++;
    }
    if (!listed.has(names.metadata)) problems.push(`${names.checksum} does not list the metadata ${names.metadata}`);
    if (matching === parsed.entries.length) holds.push(`${matching} files match`);
  }
  const allowed = new Set([names.checksum, names.signature, names.timestamp]);
  for (const name of ownedFiles) {
    if (!listed.has(name) && !allowed.has(name)) problems.push(`extra file ${name} is not in ${names.checksum}`);
  }

  // 2. The signature over the checksum file.
  if (!present.has(names.signature)) problems.push(`no signature file ${names.signature}`);
  else {
    const signature = parseSignatureFile(await readFile(join(dir, names.signature), 'utf8').catch(() => ''));
    if (signature === undefined) problems.push(`${names.signature} is not one line of base64`);
    else if (certificatePem === undefined) {
      problems.push('signature not checked: no certificate (give --cert, or put cert.pem in the folder)');
    } else if (!verifySignature(checksumBytes, signature, certificatePem)) {
      problems.push(
        `signature does not verify with the certificate (${names.checksum} altered, or signed by another key)`,
      );
    } else holds.push('signature valid');
  }

  // 3. An RFC 3161 time-stamp, if any, must be about this checksum file.
  if (present.has(names.timestamp)) {
    const imprint = timestampResponseImprint(await readFile(join(dir, names.timestamp)).catch(() => Buffer.alloc(0)));
    if (imprint === undefined) problems.push(`${names.timestamp} is not a readable RFC 3161 response`);
    else if (imprint.sha256.toString('hex') !== checksumSha256) {
      problems.push(`${names.timestamp} time-stamps another checksum file`);
    } else holds.push(`time-stamped ${imprint.genTime} (TSA signature: openssl ts -verify)`);
  }

  // 4. The chain link from the metadata (its integrity is covered by the checks above).
  if (!present.has(names.metadata)) return { verdict, checksumSha256 };
  let metadata: unknown;
  try {
    metadata = JSON.parse(await readFile(join(dir, names.metadata), 'utf8'));
  } catch (error) {
    problems.push(`${names.metadata} is not readable JSON: ${messageOf(error)}`);
    return { verdict, checksumSha256 };
  }
  const chainValue = (metadata as { integrity?: { chain?: unknown } } | null)?.integrity?.chain;
  if (chainValue === undefined) return { verdict, checksumSha256 };
  const chain = chainValue as { sequence?: unknown; previousChecksumSha256?: unknown; installationId?: unknown };
  const previous = chain.previousChecksumSha256;
  if (
    typeof chain.sequence !== 'number' ||
    !Number.isSafeInteger(chain.sequence) ||
    chain.sequence < 1 ||
    typeof chain.installationId !== 'string' ||
    !(previous === null || (typeof previous === 'string' && HEX64.test(previous)))
  ) {
    problems.push(`${names.metadata}: integrity.chain is malformed`);
    return { verdict, checksumSha256 };
  }
  return {
    verdict: { ...verdict, chain: { sequence: chain.sequence, installationId: chain.installationId } },
    checksumSha256,
    previousChecksumSha256: previous,
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
