import { join, resolve } from 'node:path';
import { recordingFileNames, sha256File, verifyFolder } from '../integrity/index.js';
import type { AuditLog, RecordingRecord, UploadStore } from '../store/index.js';
import { fetchRecording, type ExportTarget } from './export-fetch.js';
import {
  PACKAGE_FILES,
  PACKAGE_SCRIPT_MODE,
  preparePackageDir,
  readmeText,
  summaryCsv,
  writePackageFile,
  type SummaryRow,
} from './export-package.js';

/** Progress of {@link exportRecordings}, once per recording after it was copied and verified. */
export interface ExportProgress {
  /** Recordings finished so far (1-based). */
  readonly done: number;
  readonly total: number;
  readonly row: SummaryRow;
}

/** Options of {@link exportRecordings}. */
export interface ExportOptions {
  /** The recordings to export (e.g. every one that involves a number), in summary order. */
  readonly recordings: readonly RecordingRecord[];
  /** The package folder: created; refused when it exists and is not empty. */
  readonly outDir: string;
  /** The verification certificate and its CA chain (what `callrec cert export` writes). */
  readonly certificatePem: string;
  /** The SHA-256 fingerprint of the certificate, for the README. */
  readonly certificateFingerprint: string;
  readonly installationId: string;
  /** The contents of `bin/verify.sh`. */
  readonly verifyScript: string | Buffer;
  /** Every configured archive target: recordings whose spool copy is gone are fetched from them. */
  readonly targets: readonly ExportTarget[];
  readonly uploads: Pick<UploadStore, 'uploadsOf'>;
  /** The number the package is about, normalised (README, audit). */
  readonly number: string;
  /** The period asked for, ISO 8601, as given (README, audit). */
  readonly since?: string;
  readonly until?: string;
  readonly audit: Pick<AuditLog, 'append'>;
  /** `cli:<os user>`. */
  readonly actor: string;
  /** @default () => new Date() */
  readonly now?: () => Date;
  readonly onProgress?: (progress: ExportProgress) => void;
}

/** The outcome of {@link exportRecordings}. */
export interface ExportSummary {
  /** Absolute path of the package. */
  readonly outDir: string;
  readonly rows: readonly SummaryRow[];
  /** Recordings that failed verification (still exported, flagged in the summary). */
  readonly failed: number;
}

/**
 * Builds an evidence package (SPEC §7, subject access / MiFID client copy): `<out>/<id>/` per
 * recording with its files exactly as sealed (from the spool, else downloaded from a target and
 * checked against the checksum file), `certificate.pem`, `verify.sh`, `summary.csv` and
 * `README.txt`. Each recording is verified in the package with the exported certificate, as the
 * auditor will; one that fails is still exported and flagged. Files 0600, folders 0700.
 * Audited as `export` (subject `number:<n>`, with the count and the folder; never any audio) —
 * also when the export breaks off, with the error. Rejects with AppError for a refused `outDir`
 * and for local I/O errors.
 */
export async function exportRecordings(options: ExportOptions): Promise<ExportSummary> {
  const outDir = resolve(options.outDir);
  const now = options.now ?? (() => new Date());
  await preparePackageDir(outDir);
  const rows: SummaryRow[] = [];
  try {
    await writePackageFile(join(outDir, PACKAGE_FILES.certificate), options.certificatePem);
    await writePackageFile(join(outDir, PACKAGE_FILES.verifyScript), options.verifyScript, PACKAGE_SCRIPT_MODE);
    for (const recording of options.recordings) {
      const row = await exportOne(recording, outDir, options);
      rows.push(row);
      options.onProgress?.({ done: rows.length, total: options.recordings.length, row });
    }
    await writePackageFile(join(outDir, PACKAGE_FILES.summary), summaryCsv(rows));
    await writePackageFile(
      join(outDir, PACKAGE_FILES.readme),
      readmeText({
        number: options.number,
        createdAt: now().toISOString(),
        installationId: options.installationId,
        certificateFingerprint: options.certificateFingerprint,
        ...(options.since === undefined ? {} : { since: options.since }),
        ...(options.until === undefined ? {} : { until: options.until }),
        rows,
      }),
    );
  } catch (error) {
    await audit(options, outDir, rows, error);
    throw error;
  }
  await audit(options, outDir, rows);
  return { outDir, rows, failed: rows.filter((row) => !row.verified).length };
}

/** Copies one recording into the package and verifies it there. */
async function exportOne(recording: RecordingRecord, outDir: string, options: ExportOptions): Promise<SummaryRow> {
  const dest = join(outDir, recording.id);
  recordingFileNames(recording.id); // a recording id that is no plain name never becomes a path
  const fetched = await fetchRecording({ recording, dest, targets: options.targets, uploads: options.uploads });
  const verdict = await verifyFolder(dest, { certificatePem: options.certificatePem, allowChainGaps: true });
  const own = verdict.recordings.find((candidate) => candidate.id === recording.id);
  const verificationProblems = [
    ...verdict.recordings.flatMap((candidate) => candidate.problems),
    ...verdict.findings.filter((finding) => finding.level === 'fail').map((finding) => finding.message),
  ];
  const verified = fetched.source !== null && verdict.ok && own?.ok === true;
  const checksumFile = recordingFileNames(recording.id).checksum;
  const checksumSha256 = fetched.files.includes(checksumFile)
    ? (await sha256File(join(dest, checksumFile))).sha256Hex
    : null;
  return {
    id: recording.id,
    start: recording.start,
    end: recording.end,
    direction: recording.direction,
    caller: recording.caller,
    callee: recording.callee,
    profile: recording.profile,
    files: fetched.files,
    checksumSha256,
    verified,
    source: fetched.source,
    // Copies that were not used are notes; for a failed recording the verifier's findings come first.
    problems: verified ? fetched.problems : [...new Set([...verificationProblems, ...fetched.problems])],
  };
}

async function audit(
  options: ExportOptions,
  outDir: string,
  rows: readonly SummaryRow[],
  error?: unknown,
): Promise<void> {
  await options.audit.append({
    actor: options.actor,
    action: 'export',
    subject: `number:${options.number}`,
    details: {
      count: rows.length,
      requested: options.recordings.length,
      failedVerification: rows.filter((row) => !row.verified).length,
      out: outDir,
      recordings: rows.map((row) => row.id),
      ...(options.since === undefined ? {} : { since: options.since }),
      ...(options.until === undefined ? {} : { until: options.until }),
      ...(error === undefined ? {} : { error: error instanceof Error ? error.message : String(error) }),
    },
  });
}
