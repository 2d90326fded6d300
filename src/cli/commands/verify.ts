import { readFile } from 'node:fs/promises';
import { AppError } from '../../errors.js';
import { verifyFolder } from '../../integrity/index.js';

/** Where `verify` writes: `log` for verdicts, `error` for usage and I/O errors. */
export interface VerifyOutput {
  log(line: string): void;
  error(line: string): void;
}

/** Options of {@link runVerifyCommand}. */
export interface VerifyCommandOptions {
  /** Path of the verification certificate (PEM). @default `cert.pem` / `certificate.pem` in the folder */
  readonly cert?: string;
  /** Sequence gaps between the folder's recordings are notes, not failures. @default false */
  readonly allowGaps?: boolean;
}

/**
 * `callrec verify <dir> [--cert <pem>]` (SPEC §11): one line per recording, `OK <id>: <what
 * holds>` or `FAIL <id>: <what does not>; …`, then the chain and checkpoint findings
 * (`OK|FAIL|NOTE chain <installation>: …`) and a summary. Returns 0 when everything holds, 1
 * when any verification failed, 2 for a missing/unreadable folder or certificate.
 */
export async function runVerifyCommand(dir: string, options: VerifyCommandOptions, out: VerifyOutput): Promise<number> {
  try {
    let certificatePem: string | undefined;
    if (options.cert !== undefined) {
      try {
        certificatePem = await readFile(options.cert, 'utf8');
      } catch (error) {
        out.error(`callrec verify: cannot read certificate ${options.cert}: ${messageOf(error)}`);
        return 2;
      }
    }
    const verdict = await verifyFolder(dir, {
      ...(certificatePem === undefined ? {} : { certificatePem }),
      allowChainGaps: options.allowGaps ?? false,
    });
    out.log(
      verdict.certificate === undefined
        ? 'certificate: none given or found in the folder (signatures cannot be checked)'
        : `certificate: ${verdict.certificate.subject.replace(/\n/g, ', ')} (SHA-256 ${verdict.certificate.fingerprint256}) from ${options.cert ?? verdict.certificate.source}`,
    );
    for (const recording of verdict.recordings) {
      out.log(
        recording.ok
          ? `OK ${recording.id}: ${recording.holds.join(', ')}`
          : `FAIL ${recording.id}: ${recording.problems.join('; ')}`,
      );
    }
    for (const finding of verdict.findings) {
      out.log(`${finding.level.toUpperCase()} ${finding.subject}: ${finding.message}`);
    }
    const failed = verdict.recordings.filter((recording) => !recording.ok).length;
    const failedFindings = verdict.findings.filter((finding) => finding.level === 'fail').length;
    out.log(
      `${verdict.ok ? 'verified' : 'verification FAILED'}: ${verdict.recordings.length} recording(s), ${failed} failed` +
        (failedFindings === 0 ? '' : `, ${failedFindings} chain/folder finding(s)`),
    );
    return verdict.ok ? 0 : 1;
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    out.error(`callrec verify: ${error.message}`);
    return 2;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
