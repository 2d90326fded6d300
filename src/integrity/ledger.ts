import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../errors.js';
import type { LedgerCheckpoint, LedgerEntry, LedgerStore } from '../store/protocol-store.js';
import { writeFileAtomic } from './atomic-file.js';
import type { RecordingSigner } from './recording-signer.js';
import { signFile } from './signer.js';

/** The place a new recording takes in the chain; written into its metadata before it is hashed. */
export interface ChainLink {
  readonly sequence: number;
  /** SHA-256 of the previous recording's checksum file; `null` for the first recording. */
  readonly previousChecksumSha256: string | null;
}

/** The signed statement in a checkpoint file. */
export interface CheckpointStatement {
  readonly installationId: string;
  /** Head sequence; 0 for an empty chain. */
  readonly sequence: number;
  readonly headChecksumSha256: string | null;
  /** ISO 8601 UTC. */
  readonly createdAt: string;
}

/** A checkpoint as {@link Ledger.checkpoint} wrote it. */
export interface WrittenCheckpoint extends LedgerCheckpoint {
  readonly path: string;
  readonly signaturePath: string;
}

/** Something wrong with a sequence of ledger entries (or recordings ordered by sequence). */
export type ChainFinding =
  | { readonly kind: 'gap'; readonly from: number; readonly to: number }
  | { readonly kind: 'duplicate'; readonly sequence: number; readonly recordingIds: readonly string[] }
  | {
      readonly kind: 'broken-link';
      readonly sequence: number;
      readonly recordingId: string;
      readonly expected: string | null;
      readonly actual: string | null;
    }
  | {
      readonly kind: 'checkpoint-mismatch';
      readonly sequence: number;
      readonly expected: string | null;
      readonly actual: string | null;
    };

/** Options of {@link verifyChain}. */
export interface VerifyChainOptions {
  /** The first sequence the entries should start at. @default 1 */
  readonly fromSequence?: number;
  /** A checkpoint the entries must reach and agree with (a truncated tail shows as a gap). */
  readonly checkpoint?: Pick<CheckpointStatement, 'sequence' | 'headChecksumSha256'>;
}

/** Options of {@link Ledger}. */
export interface LedgerOptions {
  readonly store: LedgerStore;
  /** Where checkpoint files go: `<dataDir>/ledger` (see {@link ledgerDir}). */
  readonly checkpointDir: string;
  /** The clock for `sealedAt` / `createdAt`. @default () => new Date() */
  readonly now?: () => Date;
}

const CHECKPOINT_TYPE = 'callrec-ledger-checkpoint';
const HEX64 = /^[0-9a-f]{64}$/;

/** The checkpoint folder of an installation: `<dataDir>/ledger`. */
export function ledgerDir(dataDir: string): string {
  return join(dataDir, 'ledger');
}

/** `checkpoint-<sequence>.json`. */
export function checkpointFileName(sequence: number): string {
  return `checkpoint-${sequence}.json`;
}

/**
 * The installation's chain of sealed recordings: each recording's metadata carries the SHA-256
 * of the previous recording's checksum file, and the ledger table keeps every link, so a deleted
 * recording leaves a gap. Seals run one at a time per ledger, so the chain never forks; signed
 * checkpoints of the head make a deleted *latest* recording provable too.
 */
export class Ledger {
  readonly #store: LedgerStore;
  readonly #checkpointDir: string;
  readonly #now: () => Date;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(options: LedgerOptions) {
    this.#store = options.store;
    this.#checkpointDir = options.checkpointDir;
    this.#now = options.now ?? (() => new Date());
  }

  /** The latest entry, `undefined` for an empty chain. */
  head(): Promise<LedgerEntry | undefined> {
    return this.#store.ledgerHead();
  }

  /** Entries from `fromSequence` (default 1), ascending. */
  entries(fromSequence?: number): Promise<LedgerEntry[]> {
    return this.#store.ledgerEntries(fromSequence);
  }

  /**
   * Adds recording `recordingId` to the chain: waits for earlier calls, hands `seal` the next
   * link, and appends the entry with the checksum-file SHA-256 that `seal` returns. If `seal`
   * throws, nothing is appended and the next recording takes the same link. Rejects with
   * `INTEGRITY_ALREADY_SEALED` when the recording is already in the chain.
   */
  extend(
    recordingId: string,
    seal: (link: ChainLink) => Promise<{ readonly checksumSha256: string }>,
  ): Promise<LedgerEntry> {
    return this.#exclusive(async () => {
      const existing = await this.#store.ledgerEntryForRecording(recordingId);
      if (existing !== undefined) {
        throw new AppError(
          'INTEGRITY_ALREADY_SEALED',
          `recording ${recordingId} is already sealed as chain entry ${existing.sequence}`,
        );
      }
      const head = await this.#store.ledgerHead();
      const link: ChainLink = {
        sequence: (head?.sequence ?? 0) + 1,
        previousChecksumSha256: head?.checksumSha256 ?? null,
      };
      const { checksumSha256 } = await seal(link);
      if (!HEX64.test(checksumSha256)) throw new Error(`seal returned a malformed SHA-256: ${checksumSha256}`);
      const entry: LedgerEntry = { ...link, recordingId, checksumSha256, sealedAt: this.#now().toISOString() };
      await this.#store.appendLedgerEntry(entry);
      return entry;
    });
  }

  /**
   * Writes a signed checkpoint of the current head: `<checkpointDir>/checkpoint-<sequence>.json`
   * (replacing one of the same sequence) and its `.SHA256withRSA.sig`, then a ledger row. The
   * composition root calls this on a timer and at shutdown.
   */
  checkpoint(signer: RecordingSigner): Promise<WrittenCheckpoint> {
    return this.#exclusive(async () => {
      const head = await this.#store.ledgerHead();
      const statement: CheckpointStatement = {
        installationId: signer.installationId,
        sequence: head?.sequence ?? 0,
        headChecksumSha256: head?.checksumSha256 ?? null,
        createdAt: this.#now().toISOString(),
      };
      const fileName = checkpointFileName(statement.sequence);
      const path = join(this.#checkpointDir, fileName);
      try {
        await mkdir(this.#checkpointDir, { recursive: true, mode: 0o700 });
      } catch (error) {
        throw new AppError('INTEGRITY_IO', `cannot create ${this.#checkpointDir}: ${messageOf(error)}`, {
          cause: error,
        });
      }
      await writeFileAtomic(path, checkpointFileText(statement), { mode: 0o600 });
      const { signature, signaturePath } = await signFile(path, signer);
      const checkpoint: LedgerCheckpoint = { ...statement, fileName, signatureBase64: signature.toString('base64') };
      await this.#store.appendCheckpoint(checkpoint);
      return { ...checkpoint, path, signaturePath };
    });
  }

  /** Checks the stored chain against itself and the latest checkpoint; `[]` when intact. */
  async verify(): Promise<ChainFinding[]> {
    const [entries, checkpoint] = await Promise.all([this.#store.ledgerEntries(), this.#store.latestCheckpoint()]);
    return verifyChain(entries, checkpoint === undefined ? {} : { checkpoint });
  }

  #exclusive<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(task);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}

/**
 * Finds gaps (missing sequence numbers), duplicates and broken links (an entry whose
 * `previousChecksumSha256` is not its predecessor's `checksumSha256`) in ledger entries, and
 * disagreement with a checkpoint. `[]` when the chain is intact.
 */
export function verifyChain(entries: readonly LedgerEntry[], options: VerifyChainOptions = {}): ChainFinding[] {
  const findings: ChainFinding[] = [];
  const sorted = [...entries].sort((a, b) => a.sequence - b.sequence);
  let expectedNext = options.fromSequence ?? 1;
  let previous: LedgerEntry | undefined;
  for (const entry of sorted) {
    if (previous !== undefined && entry.sequence === previous.sequence) {
      findings.push({
        kind: 'duplicate',
        sequence: entry.sequence,
        recordingIds: [previous.recordingId, entry.recordingId],
      });
      continue;
    }
    if (entry.sequence > expectedNext) findings.push({ kind: 'gap', from: expectedNext, to: entry.sequence - 1 });
    const expected =
      entry.sequence === 1 ? null : previous?.sequence === entry.sequence - 1 ? previous.checksumSha256 : undefined;
    if (expected !== undefined && entry.previousChecksumSha256 !== expected) {
      findings.push({
        kind: 'broken-link',
        sequence: entry.sequence,
        recordingId: entry.recordingId,
        expected,
        actual: entry.previousChecksumSha256,
      });
    }
    previous = entry;
    expectedNext = entry.sequence + 1;
  }
  const checkpoint = options.checkpoint;
  if (checkpoint !== undefined && checkpoint.sequence > 0) {
    if (checkpoint.sequence >= expectedNext) {
      findings.push({ kind: 'gap', from: expectedNext, to: checkpoint.sequence });
    } else {
      const entry = sorted.find((candidate) => candidate.sequence === checkpoint.sequence);
      if (entry !== undefined && entry.checksumSha256 !== checkpoint.headChecksumSha256) {
        findings.push({
          kind: 'checkpoint-mismatch',
          sequence: checkpoint.sequence,
          expected: checkpoint.headChecksumSha256,
          actual: entry.checksumSha256,
        });
      }
    }
  }
  return findings;
}

/** A finding as one line of text. */
export function describeChainFinding(finding: ChainFinding): string {
  switch (finding.kind) {
    case 'gap':
      return finding.from === finding.to
        ? `recording ${finding.from} is missing`
        : `recordings ${finding.from}..${finding.to} are missing`;
    case 'duplicate':
      return `sequence ${finding.sequence} is claimed by ${finding.recordingIds.join(' and ')} (the chain forked)`;
    case 'broken-link':
      return `${finding.recordingId} (sequence ${finding.sequence}) names previous checksum ${finding.actual ?? 'none'}, expected ${finding.expected ?? 'none'}`;
    case 'checkpoint-mismatch':
      return `checkpoint of sequence ${finding.sequence} names checksum ${finding.expected ?? 'none'}, the chain has ${finding.actual ?? 'none'}`;
  }
}

/** The exact bytes of a checkpoint file: fixed key order, two-space indent, final line break. */
export function checkpointFileText(statement: CheckpointStatement): string {
  const document = {
    type: CHECKPOINT_TYPE,
    version: 1,
    installationId: statement.installationId,
    sequence: statement.sequence,
    headChecksumSha256: statement.headChecksumSha256,
    createdAt: statement.createdAt,
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

/** Reads a checkpoint file; `undefined` when it is not one. */
export function parseCheckpointFile(text: string): CheckpointStatement | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined; // not JSON: not a checkpoint
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const document = value as Record<string, unknown>;
  const { installationId, sequence, headChecksumSha256, createdAt } = document;
  if (document['type'] !== CHECKPOINT_TYPE || document['version'] !== 1) return undefined;
  if (typeof installationId !== 'string' || typeof createdAt !== 'string') return undefined;
  if (typeof sequence !== 'number' || !Number.isSafeInteger(sequence) || sequence < 0) return undefined;
  if (headChecksumSha256 !== null && (typeof headChecksumSha256 !== 'string' || !HEX64.test(headChecksumSha256))) {
    return undefined;
  }
  return { installationId, sequence, headChecksumSha256, createdAt };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
