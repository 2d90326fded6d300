import { X509Certificate } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LedgerEntry } from '../store/protocol-store.js';
import { AppError } from '../errors.js';
import { examineRecording, type Examined, type RecordingVerdict } from './examine-recording.js';
import { parseCheckpointFile, verifyChain, type ChainFinding, type CheckpointStatement } from './ledger.js';
import { CHECKSUM_SUFFIX, recordingIdOfAudio, SIGNATURE_SUFFIX } from './recording-files.js';
import { parseSignatureFile, verifySignature } from './signer.js';

export type { RecordingVerdict };

/** Options of {@link verifyFolder}. */
export interface VerifyFolderOptions {
  /** The verification certificate (PEM). @default `cert.pem` or `certificate.pem` in the folder */
  readonly certificatePem?: string;
  /**
   * Report sequence gaps between the folder's recordings without failing, for folders that on
   * purpose hold only part of an installation's recordings. @default false
   */
  readonly allowChainGaps?: boolean;
}

/** A finding about the folder as a chain (gaps, forks, checkpoints). */
export interface FolderFinding {
  /** `fail` fails the verification; `note` is reported only (a gap allowed by `allowChainGaps`). */
  readonly level: 'ok' | 'note' | 'fail';
  /** `chain <installation-id>` or a checkpoint file name. */
  readonly subject: string;
  readonly message: string;
}

/** The result of {@link verifyFolder}. */
export interface FolderVerdict {
  readonly dir: string;
  /** True when at least one recording was found and nothing failed. */
  readonly ok: boolean;
  /** The certificate used, `undefined` when none was given or found. */
  readonly certificate?: { readonly source: string; readonly subject: string; readonly fingerprint256: string };
  /** In id order. */
  readonly recordings: readonly RecordingVerdict[];
  readonly findings: readonly FolderFinding[];
}

const FOLDER_CERTIFICATES = ['cert.pem', 'certificate.pem'];
const CHECKPOINT_NAME = /^checkpoint-(\d+)\.json$/;

/**
 * Verifies every recording in `dir` without trusting anything but the certificate: the checksum
 * file parses, every listed file exists and matches, no other `<id>*` file is present (besides
 * `.sig` / `.tsr`), the signature verifies, a `.tsr` names the checksum file, and — where
 * neighbours are present — each recording's `previousChecksumSha256` is the SHA-256 of the
 * previous sequence's checksum file. Sequence gaps, forks and signed checkpoints (`checkpoint-N.json`
 * in the folder) are folder findings. Audio that no checksum file covers is a failed recording.
 * Rejects with `AppError('INTEGRITY_IO')` when the folder cannot be read and
 * `INTEGRITY_CERT_INVALID` for a certificate that is not one.
 */
export async function verifyFolder(dir: string, options: VerifyFolderOptions = {}): Promise<FolderVerdict> {
  let names: string[];
  try {
    names = (await readdir(dir, { withFileTypes: true }))
      .filter((entry) => entry.isFile() || entry.isSymbolicLink())
      .map((entry) => entry.name)
      .sort();
  } catch (error) {
    throw new AppError('INTEGRITY_IO', `cannot read folder ${dir}: ${messageOf(error)}`, { cause: error });
  }
  const certificate = await findCertificate(dir, names, options.certificatePem);
  const present = new Set(names);

  const sealedIds = names
    .filter((name) => name.endsWith(CHECKSUM_SUFFIX))
    .map((name) => name.slice(0, -CHECKSUM_SUFFIX.length));
  const owned = new Map<string, string[]>(sealedIds.map((id) => [id, []]));
  const unsealed = new Map<string, string[]>();
  for (const name of names) {
    const owner = longestPrefix(name, sealedIds);
    if (owner !== undefined) owned.get(owner)?.push(name);
    else {
      const orphanId = orphanRecordingId(name);
      if (orphanId !== undefined) unsealed.set(orphanId, [...(unsealed.get(orphanId) ?? []), name]);
    }
  }

  const examined: Examined[] = [];
  for (const id of sealedIds) {
    examined.push(await examineRecording(dir, id, owned.get(id) ?? [], present, certificate?.pem));
  }
  for (const [id, files] of unsealed) {
    examined.push({
      verdict: {
        id,
        ok: false,
        problems: [`${files.join(', ')} not covered by any checksum file (no ${id}${CHECKSUM_SUFFIX})`],
        holds: [],
      },
    });
  }

  const findings = await checkChains(dir, names, examined, certificate?.pem, options.allowChainGaps ?? false);
  const recordings = examined
    .map(({ verdict }) => ({ ...verdict, ok: verdict.problems.length === 0 }))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  if (recordings.length === 0) {
    findings.push({
      level: 'fail',
      subject: 'folder',
      message: `no recordings (no *${CHECKSUM_SUFFIX} files) in ${dir}`,
    });
  }
  const ok = recordings.every((recording) => recording.ok) && findings.every((finding) => finding.level !== 'fail');
  return {
    dir,
    ok,
    ...(certificate === undefined ? {} : { certificate: certificate.info }),
    recordings,
    findings,
  };
}

/** Chain links between the folder's recordings, per installation, and the folder's checkpoints. */
async function checkChains(
  dir: string,
  names: readonly string[],
  examined: readonly Examined[],
  certificatePem: string | undefined,
  allowGaps: boolean,
): Promise<FolderFinding[]> {
  const findings: FolderFinding[] = [];
  const groups = new Map<string, Examined[]>();
  for (const item of examined) {
    const installationId = item.verdict.chain?.installationId;
    if (installationId === undefined) continue;
    groups.set(installationId, [...(groups.get(installationId) ?? []), item]);
  }
  const checkpoints = await readCheckpoints(dir, names, certificatePem, findings);
  for (const installationId of new Set([...groups.keys(), ...checkpoints.keys()])) {
    const members = groups.get(installationId) ?? [];
    const byId = new Map(members.map((member) => [member.verdict.id, member]));
    const bySequence = new Map(members.map((member) => [member.verdict.chain?.sequence ?? 0, member.verdict.id]));
    const entries: LedgerEntry[] = members.map((member) => ({
      sequence: member.verdict.chain?.sequence ?? 0,
      recordingId: member.verdict.id,
      checksumSha256: member.checksumSha256 ?? '',
      previousChecksumSha256: member.previousChecksumSha256 ?? null,
      sealedAt: '',
    }));
    const sequences = entries.map((entry) => entry.sequence).sort((a, b) => a - b);
    const head = checkpoints.get(installationId)?.at(-1);
    const fromSequence = sequences[0] ?? 1;
    const found: ChainFinding[] = verifyChain(
      entries,
      head === undefined ? { fromSequence } : { fromSequence, checkpoint: head },
    );
    for (const other of checkpoints.get(installationId)?.slice(0, -1) ?? []) {
      found.push(
        ...verifyChain(entries, { fromSequence, checkpoint: other }).filter((f) => f.kind === 'checkpoint-mismatch'),
      );
    }
    const subject = `chain ${installationId}`;
    for (const finding of found) {
      switch (finding.kind) {
        case 'broken-link': {
          const previousId = bySequence.get(finding.sequence - 1);
          byId
            .get(finding.recordingId)
            ?.verdict.problems.push(
              finding.sequence === 1
                ? 'chain: sequence 1 must not name a previous checksum'
                : `chain: previousChecksumSha256 is not the SHA-256 of ${previousId ?? '?'}${CHECKSUM_SUFFIX} (sequence ${finding.sequence - 1})`,
            );
          break;
        }
        case 'gap': {
          const before = bySequence.get(finding.from - 1);
          const after = bySequence.get(finding.to + 1);
          const range =
            finding.from === finding.to ? `recording ${finding.from}` : `recordings ${finding.from}..${finding.to}`;
          const context =
            after === undefined
              ? ` (the signed checkpoint names head ${head?.sequence ?? '?'}${before === undefined ? '' : `; last present: ${before}`})`
              : before === undefined
                ? ` (before ${after})`
                : ` (between ${before} and ${after})`;
          const truncated = after === undefined; // a checkpoint beyond the folder's last recording
          findings.push({
            level: allowGaps && !truncated ? 'note' : 'fail',
            subject,
            message: `${range} missing from this folder${context}`,
          });
          break;
        }
        case 'duplicate':
          findings.push({
            level: 'fail',
            subject,
            message: `sequence ${finding.sequence} is claimed by ${finding.recordingIds.join(' and ')} (the chain forked)`,
          });
          break;
        case 'checkpoint-mismatch':
          findings.push({
            level: 'fail',
            subject,
            message: `the signed checkpoint of sequence ${finding.sequence} names another checksum file than ${bySequence.get(finding.sequence) ?? '?'}${CHECKSUM_SUFFIX}`,
          });
          break;
      }
    }
    if (found.length === 0 && sequences.length > 0) {
      const span =
        sequences.length === 1 ? `sequence ${sequences[0]}` : `sequences ${sequences[0]}..${sequences.at(-1)}`;
      findings.push({
        level: 'ok',
        subject,
        message: `${span} linked${head === undefined ? '' : `, up to the signed checkpoint ${head.sequence}`}`,
      });
    }
  }
  return findings;
}

/** Verified checkpoint statements in the folder per installation, ascending by sequence. */
async function readCheckpoints(
  dir: string,
  names: readonly string[],
  certificatePem: string | undefined,
  findings: FolderFinding[],
): Promise<Map<string, CheckpointStatement[]>> {
  const result = new Map<string, CheckpointStatement[]>();
  const present = new Set(names);
  for (const name of names.filter((candidate) => CHECKPOINT_NAME.test(candidate))) {
    const bytes = await readFile(join(dir, name)).catch(() => Buffer.alloc(0));
    const statement = parseCheckpointFile(bytes.toString('utf8'));
    const signatureName = `${name}${SIGNATURE_SUFFIX}`;
    const signature = present.has(signatureName)
      ? parseSignatureFile(await readFile(join(dir, signatureName), 'utf8').catch(() => ''))
      : undefined;
    const problem =
      statement === undefined
        ? 'not a callrec ledger checkpoint'
        : signature === undefined
          ? `no readable signature ${signatureName}`
          : certificatePem === undefined
            ? 'signature not checked: no certificate'
            : !verifySignature(bytes, signature, certificatePem)
              ? 'signature does not verify with the certificate'
              : undefined;
    if (problem !== undefined || statement === undefined) {
      findings.push({ level: 'fail', subject: name, message: problem ?? 'unreadable' });
      continue;
    }
    findings.push({
      level: 'ok',
      subject: name,
      message: `signed head ${statement.sequence} of ${statement.installationId} at ${statement.createdAt}`,
    });
    result.set(statement.installationId, [...(result.get(statement.installationId) ?? []), statement]);
  }
  for (const list of result.values())
    list.sort((a, b) => a.sequence - b.sequence || a.createdAt.localeCompare(b.createdAt));
  return result;
}

async function findCertificate(
  dir: string,
  names: readonly string[],
  given: string | undefined,
): Promise<{ pem: string; info: NonNullable<FolderVerdict['certificate']> } | undefined> {
  let pem = given;
  let source = 'given certificate';
  if (pem === undefined) {
    const name = FOLDER_CERTIFICATES.find((candidate) => names.includes(candidate));
    if (name === undefined) return undefined;
    source = join(dir, name);
    try {
      pem = await readFile(source, 'utf8');
    } catch (error) {
      throw new AppError('INTEGRITY_IO', `cannot read ${source}: ${messageOf(error)}`, { cause: error });
    }
  }
  try {
    const certificate = new X509Certificate(pem);
    return { pem, info: { source, subject: certificate.subject, fingerprint256: certificate.fingerprint256 } };
  } catch (error) {
    throw new AppError('INTEGRITY_CERT_INVALID', `${source} is not a PEM certificate: ${messageOf(error)}`, {
      cause: error,
    });
  }
}

/** The longest id in `ids` that `name` starts with. */
function longestPrefix(name: string, ids: readonly string[]): string | undefined {
  let best: string | undefined;
  for (const id of ids) if (name.startsWith(id) && (best === undefined || id.length > best.length)) best = id;
  return best;
}

/** The recording a file belongs to when no checksum file claims it: audio and stray signatures. */
function orphanRecordingId(name: string): string | undefined {
  const signed = `${CHECKSUM_SUFFIX}${SIGNATURE_SUFFIX}`;
  if (name.endsWith(signed)) return name.slice(0, -signed.length);
  return recordingIdOfAudio(name);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
