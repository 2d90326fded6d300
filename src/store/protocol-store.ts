/**
 * The protocol database as the rest of callrec sees it: narrow interfaces, no SQL. The sqlite3
 * implementations live beside this file; other folders depend on these interfaces only.
 */

/** One link of the installation's recording chain: a sealed recording's checksum file. */
export interface LedgerEntry {
  /** 1, 2, 3, … without gaps; the order in which recordings were sealed. */
  readonly sequence: number;
  readonly recordingId: string;
  /** SHA-256 (lower-case hex) of the recording's `<id>.sha256` file bytes. */
  readonly checksumSha256: string;
  /** `checksumSha256` of entry `sequence - 1`; `null` for sequence 1. */
  readonly previousChecksumSha256: string | null;
  /** When the entry was sealed, ISO 8601 UTC. */
  readonly sealedAt: string;
}

/** A signed statement of the chain head at a point in time (written periodically). */
export interface LedgerCheckpoint {
  /** Head sequence at `createdAt`; 0 when the chain was empty. */
  readonly sequence: number;
  /** `checksumSha256` of the head entry; `null` when the chain was empty. */
  readonly headChecksumSha256: string | null;
  readonly installationId: string;
  /** ISO 8601 UTC. */
  readonly createdAt: string;
  /** Name of the checkpoint file under `<dataDir>/ledger/`. */
  readonly fileName: string;
  /** Base64 RSA PKCS#1 v1.5 SHA-256 signature over the checkpoint file's bytes. */
  readonly signatureBase64: string;
}

/**
 * The append-only ledger table. `appendLedgerEntry` accepts only the next link: `sequence` must
 * be head + 1 (1 when empty) and `previousChecksumSha256` the head's checksum, otherwise it
 * rejects with `AppError('STORE_CONFLICT')` (`retriable`: another writer appended first; not
 * retriable for a recording already in the ledger); entries are never updated or deleted.
 */
export interface LedgerStore {
  appendLedgerEntry(entry: LedgerEntry): Promise<void>;
  /** The entry with the highest sequence, `undefined` when the ledger is empty. */
  ledgerHead(): Promise<LedgerEntry | undefined>;
  /** Entries with `sequence >= fromSequence` (default 1), ascending. */
  ledgerEntries(fromSequence?: number): Promise<LedgerEntry[]>;
  /** The entry of a recording, `undefined` when it was never sealed into the chain. */
  ledgerEntryForRecording(recordingId: string): Promise<LedgerEntry | undefined>;
  appendCheckpoint(checkpoint: LedgerCheckpoint): Promise<void>;
  /** The most recently appended checkpoint, `undefined` when none was written. */
  latestCheckpoint(): Promise<LedgerCheckpoint | undefined>;
}
