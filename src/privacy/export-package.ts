import { chmod, mkdir, readdir, writeFile } from 'node:fs/promises';
import { AppError } from '../errors.js';

/** Folders of an evidence package: its owner only (SPEC §7, privacy by default). */
export const PACKAGE_DIR_MODE = 0o700;
/** Files of an evidence package. */
export const PACKAGE_FILE_MODE = 0o600;
/** `verify.sh` must run: executable, still for its owner only. */
export const PACKAGE_SCRIPT_MODE = 0o700;

/** The names at the top of a package, beside one folder per recording. */
export const PACKAGE_FILES = {
  certificate: 'certificate.pem',
  verifyScript: 'verify.sh',
  summary: 'summary.csv',
  readme: 'README.txt',
} as const;

/** One line of `summary.csv`: a recording in the package. */
export interface SummaryRow {
  readonly id: string;
  /** ISO 8601 UTC. */
  readonly start: string;
  /** ISO 8601 UTC; `null` when the end was never recorded. */
  readonly end: string | null;
  readonly direction: string | null;
  readonly caller: string | null;
  readonly callee: string | null;
  readonly profile: string | null;
  /** The file names in the recording's folder. */
  readonly files: readonly string[];
  /** SHA-256 (hex) of `<id>.sha256`; `null` when it could not be fetched. */
  readonly checksumSha256: string | null;
  /** Every checksum and the signature held with the exported certificate. */
  readonly verified: boolean;
  /** Where the files came from: `spool` or `target <id>`; `null` when from nowhere. */
  readonly source: string | null;
  /** Why verification failed (empty when verified). */
  readonly problems: readonly string[];
}

const SUMMARY_COLUMNS = [
  'id',
  'start',
  'end',
  'direction',
  'caller',
  'callee',
  'profile',
  'files',
  'checksum_sha256',
  'verified',
  'source',
  'problems',
] as const;

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, quote or line break, quotes doubled.
 * A field a spreadsheet would run as a formula (starting `=`, `@`, a tab or CR, or `+`/`-` not
 * followed by a plain number) gets a leading `'` (OWASP "CSV injection"); numbers such as
 * `+4930123456` stay as they are.
 */
export function csvField(value: string): string {
  const formula = /^[=@\t\r]/.test(value) || (/^[+-]/.test(value) && !/^[+-]\d+$/.test(value));
  const safe = formula ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** `summary.csv`: a header line and one line per row, CRLF line ends (RFC 4180). */
export function summaryCsv(rows: readonly SummaryRow[]): string {
  const lines = [SUMMARY_COLUMNS.join(',')];
  for (const row of rows) {
    const fields = [
      row.id,
      row.start,
      row.end ?? '',
      row.direction ?? '',
      row.caller ?? '',
      row.callee ?? '',
      row.profile ?? '',
      row.files.join(' '),
      row.checksumSha256 ?? '',
      row.verified ? 'yes' : 'no',
      row.source ?? '',
      row.problems.join('; '),
    ];
    lines.push(fields.map(csvField).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** What the package's README states about its origin. */
export interface ReadmeFacts {
  /** The number asked for, normalised. */
  readonly number: string;
  /** ISO 8601 UTC. */
  readonly createdAt: string;
  readonly installationId: string;
  /** SHA-256 fingerprint of the verification certificate (`AB:CD:…`). */
  readonly certificateFingerprint: string;
  readonly since?: string;
  readonly until?: string;
  readonly rows: readonly SummaryRow[];
}

/** `README.txt`: what the package holds and how an auditor checks it without callrec. */
export function readmeText(facts: ReadmeFacts): string {
  const failed = facts.rows.filter((row) => !row.verified);
  const period =
    facts.since === undefined && facts.until === undefined
      ? 'all recordings kept'
      : `recordings started ${facts.since === undefined ? '' : `from ${facts.since} `}${facts.until === undefined ? '' : `before ${facts.until}`}`.trim();
  const example = facts.rows[0]?.id ?? '<id>';
  return [
    'callrec evidence package',
    '========================',
    '',
    `Recordings involving ${facts.number} (${period}): ${facts.rows.length}.`,
    `Created ${facts.createdAt} by callrec installation ${facts.installationId}.`,
    `Verification certificate: certificate.pem, SHA-256 fingerprint ${facts.certificateFingerprint}`,
    '(compare it with the fingerprint the operator publishes or `callrec cert show` prints).',
    '',
    failed.length === 0
      ? 'Every recording verified when the package was made.'
      : `WARNING: ${failed.length} recording(s) FAILED verification when the package was made: ${failed.map((row) => row.id).join(', ')} (see summary.csv, column problems).`,
    '',
    'Contents',
    '--------',
    '<id>/            one folder per recording, the files exactly as callrec sealed them:',
    '                 <id>.json (metadata), <id>.wav or <id>-caller.wav + <id>-callee.wav (audio),',
    '                 <id>.sha256 (SHA-256 of the metadata and audio, `shasum -a 256` format),',
    '                 <id>.sha256.SHA256withRSA.sig (base64 RSA SHA-256 signature of <id>.sha256),',
    '                 <id>.sha256.tsr (optional RFC 3161 time-stamp of <id>.sha256)',
    'certificate.pem  the verification certificate (and its CA chain, if any)',
    'verify.sh        a POSIX sh script that checks a folder with openssl and sha256sum/shasum only',
    'summary.csv      one line per recording: id, start, end, direction, caller, callee, profile,',
    '                 files, checksum_sha256 (of <id>.sha256), verified (yes/no), source, problems',
    '',
    'How to verify (needs sh, openssl, sha256sum or shasum, base64 — no callrec)',
    '--------------------------------------------------------------------------',
    'In this folder, one recording:',
    '',
    `    ./verify.sh ${example} certificate.pem`,
    '',
    'every recording:',
    '',
    '    for d in */; do ./verify.sh "$d" certificate.pem || echo "FAILED: $d"; done',
    '',
    '(if verify.sh lost its executable bit on the way, run it as: sh verify.sh <id> certificate.pem)',
    '',
    'verify.sh prints "OK <id>" and exits 0 when every checksum and the signature hold.',
    'The same by hand, for recording <id>:',
    '',
    '    cd <id>',
    '    shasum -a 256 -c <id>.sha256          # or: sha256sum -c <id>.sha256 — every file unaltered',
    '    openssl x509 -in ../certificate.pem -pubkey -noout > /tmp/pub.pem',
    '    base64 -d <id>.sha256.SHA256withRSA.sig > /tmp/sig.bin',
    '    openssl dgst -sha256 -verify /tmp/pub.pem -signature /tmp/sig.bin <id>.sha256   # "Verified OK"',
    '',
    'The metadata (<id>.json) names the call, its parties, times, the profile and its legal basis,',
    "the completeness of the recording and its place in the installation's recording chain",
    '(integrity.chain: sequence and the SHA-256 of the previous checksum file).',
    '',
  ].join('\n');
}

/**
 * Why `dir` cannot become a package folder — it exists and is not an empty folder (an export
 * never mixes with or overwrites other files) — or `undefined` when it can.
 */
export async function packageDirProblem(dir: string): Promise<string | undefined> {
  try {
    const entries = await readdir(dir);
    return entries.length > 0 ? `${dir} exists and is not empty; give a new or empty folder` : undefined;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ENOTDIR') return `${dir} exists and is not a folder`;
    return `cannot read ${dir}: ${messageOf(error)}`;
  }
}

/** Creates the package folder (mode 0700, parents as needed); `AppError('RECORDING_IO')` when {@link packageDirProblem}. */
export async function preparePackageDir(dir: string): Promise<void> {
  const problem = await packageDirProblem(dir);
  if (problem !== undefined) throw new AppError('RECORDING_IO', problem);
  try {
    await mkdir(dir, { recursive: true, mode: PACKAGE_DIR_MODE });
    await chmod(dir, PACKAGE_DIR_MODE); // also an existing empty folder; the creation mode went through the umask
  } catch (error) {
    throw new AppError('RECORDING_IO', `cannot create ${dir}: ${messageOf(error)}`, { cause: error });
  }
}

/** Writes one file of the package with its mode (exactly, whatever the umask). */
export async function writePackageFile(
  path: string,
  content: string | Buffer,
  mode = PACKAGE_FILE_MODE,
): Promise<void> {
  try {
    await writeFile(path, content, { mode, flag: 'wx' });
    await chmod(path, mode);
  } catch (error) {
    throw new AppError('RECORDING_IO', `cannot write ${path}: ${messageOf(error)}`, { cause: error });
  }
}

/** Creates a recording's folder inside the package (mode 0700). */
export async function makePackageFolder(path: string): Promise<void> {
  try {
    await mkdir(path, { mode: PACKAGE_DIR_MODE });
    await chmod(path, PACKAGE_DIR_MODE);
  } catch (error) {
    throw new AppError('RECORDING_IO', `cannot create ${path}: ${messageOf(error)}`, { cause: error });
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
