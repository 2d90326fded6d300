/**
 * The recording catalogue (SPEC §7, §11): one row per recording from the moment it starts, so
 * crash recovery, `recordings list`, retention, legal hold, export and erasure all read the same
 * truth. Upload rows (UploadStore) hang off the same `recordings` table.
 */

/**
 * Where a recording is in its life:
 * - `recording`: files are being written (a crash leaves it here; `callrec recover` repairs it);
 * - `finalizing`: the call ended, merge/metadata/seal run (a crash here is recovered as well);
 * - `spooled`: sealed, in the spool, not yet on every target (or the profile has no targets);
 * - `archived`: on every target (the spool copy may be gone, see `localRemovedAt`);
 * - `deleted`: disposed of by retention or erasure everywhere (the row stays, pseudonymised).
 */
export type RecordingState = 'recording' | 'finalizing' | 'spooled' | 'archived' | 'deleted';

/** What is known when a recording starts. */
export interface RecordingStart {
  /** The recording id (= the call id). */
  readonly id: string;
  /** `<dataDir>/recordings/<id>`. */
  readonly dir: string;
  readonly profile: string | null;
  readonly direction: 'inbound' | 'outbound';
  /** Normalised numbers (E.164 where possible); `null`: taken from the call's row in `calls`, if any. */
  readonly caller: string | null;
  readonly callee: string | null;
  /** ISO 8601. */
  readonly start: string;
  /** The profile's `retentionDays` when the recording started (a later config change does not shorten it). */
  readonly retentionDays: number | null;
  /** Whether the profile marks its recordings as kept by law (erasure refused unless forced). */
  readonly statutory: boolean;
}

/** A legal hold: exempts a recording from retention and erasure until released. */
export interface LegalHold {
  readonly reason: string;
  /** ISO 8601 UTC. */
  readonly since: string;
  readonly by: string;
}

/** One row of the catalogue; times ISO 8601 UTC. */
export interface RecordingRecord {
  readonly id: string;
  readonly dir: string;
  readonly profile: string | null;
  readonly direction: 'inbound' | 'outbound' | null;
  readonly caller: string | null;
  readonly callee: string | null;
  readonly start: string;
  /** `null` while recording (or when callrec stopped before the end was known). */
  readonly end: string | null;
  readonly endReason: string | null;
  readonly state: RecordingState;
  readonly retentionDays: number | null;
  readonly statutory: boolean;
  readonly hold: LegalHold | null;
  readonly archivedAt: string | null;
  readonly localRemovedAt: string | null;
  readonly deletedAt: string | null;
  /** `retention` or `erasure: <reason>` for deleted recordings. */
  readonly deletionReason: string | null;
}

/** Filter of {@link RecordingStore.list}; all given conditions must hold. */
export interface RecordingQuery {
  /** Recordings that started at or after this ISO 8601 time. */
  readonly since?: string;
  /** Recordings that started before this ISO 8601 time. */
  readonly until?: string;
  /** Recordings whose normalised caller or callee is one of these numbers. */
  readonly numbers?: readonly string[];
  /** Only these states. @default every state but `deleted` */
  readonly states?: readonly RecordingState[];
}

/**
 * Rejects with `AppError('STORE_CONFLICT')` for an unknown recording or a transition from the
 * wrong state, `STORE_QUERY` for an invalid time or a failed statement.
 */
export interface RecordingStore {
  /** Inserts the row in state `recording`; idempotent for the same id. */
  register(start: RecordingStart): Promise<void>;
  /** `recording` → `finalizing` with the end time and reason. */
  markFinalizing(id: string, end: string, endReason: string): Promise<void>;
  /**
   * `recording`/`finalizing` → `spooled` (sealed; the end and reason are set if given). Resolves
   * `false` when the recording was already past `finalizing`.
   */
  markSpooled(id: string, end?: { readonly at: string; readonly reason: string }): Promise<boolean>;
  find(id: string): Promise<RecordingRecord | undefined>;
  /** Matching recordings, oldest start first. */
  list(query?: RecordingQuery): Promise<RecordingRecord[]>;
  /** Recordings left `recording` or `finalizing` (by a crash), oldest first. */
  unfinished(): Promise<RecordingRecord[]>;
  /** Sets a legal hold (replacing the reason of an existing one). */
  hold(id: string, reason: string, by: string, at?: string): Promise<RecordingRecord>;
  /** Lifts a legal hold; `false` when there was none. */
  release(id: string): Promise<boolean>;
  /**
   * Marks a recording `deleted` (its files are gone everywhere) with the reason; numbers replaced
   * by `pseudonym` when given (erasure). Refuses a recording under legal hold.
   */
  markDeleted(
    id: string,
    reason: string,
    at?: string,
    pseudonym?: { readonly caller: string | null; readonly callee: string | null },
  ): Promise<void>;
  /**
   * Recordings whose retention has run out at `asOf` (ISO 8601): state `spooled` or `archived`,
   * `retentionDays` set and `start + retentionDays × 24 h ≤ asOf`; held ones included (the caller
   * reports and skips them). Oldest start first.
   */
  dueForRetention(asOf: string): Promise<RecordingRecord[]>;
}

/** Why a recording was disposed of. */
export type DisposalAction = 'retention' | 'erasure';

/** One place a disposal deleted a recording's files from (or failed to). */
export type DisposalLocation =
  | {
      readonly kind: 'spool';
      /** The spool folder `<dataDir>/recordings/<id>`. */
      readonly path: string;
      readonly ok: boolean;
      /** The names deleted there (already-missing files are not listed). */
      readonly deleted: readonly string[];
      readonly error?: string;
    }
  | {
      readonly kind: 'target';
      readonly targetId: string;
      /** The expanded folder on the target (from the recording's upload row). */
      readonly folder: string;
      readonly ok: boolean;
      readonly deleted: readonly string[];
      readonly error?: string;
    };

/** A disposal log entry before it is chained and signed. */
export interface DisposalEntryInput {
  /** ISO 8601. */
  readonly at: string;
  readonly recordingId: string;
  readonly action: DisposalAction;
  /** The rule applied, e.g. `profile trading: retentionDays 2557` or `erase --number … reason …`. */
  readonly policy: string;
  readonly actor: string;
  readonly locations: readonly DisposalLocation[];
}

/** An entry as chained: its sequence number and the previous entry's hash; `at` in UTC. */
export interface UnsealedDisposalEntry extends DisposalEntryInput {
  /** 1, 2, 3, … without gaps. */
  readonly id: number;
  /** `sha256` of entry `id - 1`; `null` for the first. */
  readonly previousSha256: string | null;
}

/** A stored disposal log entry. */
export interface DisposalEntry extends UnsealedDisposalEntry {
  /** Hex SHA-256 of the entry's canonical JSON (see privacy/disposal-log.ts). */
  readonly sha256: string;
  /** Base64 RSA PKCS#1 v1.5 SHA-256 signature of the same canonical JSON, by the installation key. */
  readonly signature: string;
}

/** The seal of an entry: computed from the unsealed entry inside the appending transaction. */
export interface DisposalSeal {
  readonly sha256: string;
  readonly signature: string;
}

/**
 * The disposal log table (SPEC §7): append-only and hash-chained. `append` reads the head and
 * inserts in one write transaction, so two processes appending at once still form one chain.
 * Rejects with `STORE_QUERY` for a bad time or a failed statement.
 */
export interface DisposalStore {
  append(input: DisposalEntryInput, seal: (entry: UnsealedDisposalEntry) => DisposalSeal): Promise<DisposalEntry>;
  /** Entries in chain order; `recordingId` / `since` (ISO 8601, inclusive) filter them. */
  list(query?: { readonly since?: string; readonly recordingId?: string }): Promise<DisposalEntry[]>;
}
