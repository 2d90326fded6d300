import { createHash } from 'node:crypto';
import { AppError } from '../errors.js';
import { verifySignature, type RecordingSigner } from '../integrity/index.js';
import type {
  DisposalAction,
  DisposalEntry,
  DisposalLocation,
  DisposalStore,
  UnsealedDisposalEntry,
} from '../store/index.js';

/** What {@link DisposalLog.record} takes: the facts of one completed disposal. */
export interface DisposalRecordInput {
  readonly recordingId: string;
  readonly action: DisposalAction;
  /** The rule applied: `profile trading: retentionDays 2557`, `erase --number … reason …`. */
  readonly policy: string;
  readonly actor: string;
  /** Every place the recording's files were deleted from. */
  readonly locations: readonly DisposalLocation[];
  /** ISO 8601. @default the log's clock */
  readonly at?: string;
}

/** One problem {@link DisposalLog.verify} found. */
export interface DisposalFinding {
  /** The entry's id (sequence number). */
  readonly id: number;
  readonly problem: string;
}

/** The outcome of {@link DisposalLog.verify}. */
export interface DisposalVerdict {
  /** Every hash, link and signature holds. */
  readonly ok: boolean;
  readonly entries: number;
  readonly findings: readonly DisposalFinding[];
}

/** Options of {@link DisposalLog}. */
export interface DisposalLogOptions {
  readonly store: DisposalStore;
  /** The installation key; needed only to record (reading and verifying need none). */
  readonly signer?: Pick<RecordingSigner, 'sign'>;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/**
 * The signed disposal log (SPEC §7): each deleted recording with when, which policy, by whom and
 * where, so that a missing recording is explained rather than suspicious. Entries are chained
 * (each holds the previous entry's SHA-256) and each is signed with the installation key: a
 * removed, altered or reordered entry breaks the chain or a signature.
 *
 * What is hashed and signed is {@link disposalEntryText}: the canonical JSON of the entry without
 * `sha256` and `signature` (keys sorted, no blanks, UTF-8). `sha256` is its hex SHA-256,
 * `signature` its base64 RSA PKCS#1 v1.5 SHA-256 signature — what
 * `openssl dgst -sha256 -verify pub.pem -signature <sig>` checks.
 */
export class DisposalLog {
  readonly #store: DisposalStore;
  readonly #signer: Pick<RecordingSigner, 'sign'> | undefined;
  readonly #now: () => Date;

  constructor(options: DisposalLogOptions) {
    this.#store = options.store;
    this.#signer = options.signer;
    this.#now = options.now ?? (() => new Date());
  }

  /** Appends one entry, chained to the head and signed. */
  async record(input: DisposalRecordInput): Promise<DisposalEntry> {
    const signer = this.#signer;
    if (signer === undefined) throw new Error('DisposalLog.record needs a signer'); // wiring bug
    if (input.policy.trim() === '' || input.actor.trim() === '') {
      throw new AppError('PRIVACY_DISPOSAL', 'a disposal log entry needs a policy and an actor');
    }
    return await this.#store.append(
      {
        at: input.at ?? this.#now().toISOString(),
        recordingId: input.recordingId,
        action: input.action,
        policy: input.policy,
        actor: input.actor,
        locations: input.locations,
      },
      (entry) => {
        const text = Buffer.from(disposalEntryText(entry), 'utf8');
        return {
          sha256: createHash('sha256').update(text).digest('hex'),
          signature: signer.sign(text).toString('base64'),
        };
      },
    );
  }

  /** Entries in chain order, optionally only those at or after `since` or of one recording. */
  list(query: { readonly since?: string; readonly recordingId?: string } = {}): Promise<DisposalEntry[]> {
    return this.#store.list(query);
  }

  /**
   * Re-checks the whole chain: ids without gaps from 1, each `previousSha256` the prior entry's
   * `sha256`, each `sha256` the hash of the entry's text, each signature valid under the key of
   * `certificatePem` (the installation's verification certificate). An empty log is valid.
   */
  async verify(certificatePem: string): Promise<DisposalVerdict> {
    const entries = await this.#store.list();
    const findings: DisposalFinding[] = [];
    let previous: DisposalEntry | undefined;
    for (const entry of entries) {
      const expectedId = (previous?.id ?? 0) + 1;
      if (entry.id !== expectedId) findings.push({ id: entry.id, problem: `expected entry ${expectedId} here` });
      if (entry.previousSha256 !== (previous?.sha256 ?? null)) {
        findings.push({ id: entry.id, problem: 'previous hash does not match the entry before it' });
      }
      const text = Buffer.from(disposalEntryText(entry), 'utf8');
      if (createHash('sha256').update(text).digest('hex') !== entry.sha256) {
        findings.push({ id: entry.id, problem: 'content does not match its sha256 (altered)' });
      }
      if (!verifySignature(text, Buffer.from(entry.signature, 'base64'), certificatePem)) {
        findings.push({ id: entry.id, problem: 'signature does not verify with the certificate' });
      }
      previous = entry;
    }
    return { ok: findings.length === 0, entries: entries.length, findings };
  }
}

/** The text an entry's hash and signature cover: canonical JSON of everything but the seal. */
export function disposalEntryText(entry: UnsealedDisposalEntry): string {
  return canonicalJson({
    id: entry.id,
    at: entry.at,
    recordingId: entry.recordingId,
    action: entry.action,
    policy: entry.policy,
    actor: entry.actor,
    locations: entry.locations,
    previousSha256: entry.previousSha256,
  });
}

/**
 * JSON with object keys sorted (by UTF-16 code units) at every level, no whitespace, and
 * `undefined` members left out — one text per value, whichever order its keys were built in.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const text = JSON.stringify(value) as string | undefined;
    if (text === undefined) throw new TypeError(`canonicalJson: ${typeof value} has no JSON form`);
    return text;
  }
  if (Array.isArray(value)) {
    return `[${value.map((item: unknown) => (item === undefined ? 'null' : canonicalJson(item))).join(',')}]`;
  }
  const members = Object.entries(value as Record<string, unknown>)
    .filter(([, member]) => member !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, member]) => `${JSON.stringify(key)}:${canonicalJson(member)}`);
  return `{${members.join(',')}}`;
}
