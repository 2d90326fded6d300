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

/** Who ended a call: the A side, the B side, or callrec itself (timeout, failure, shutdown). */
export type CallEndedBy = 'caller' | 'callee' | 'callrec';

/** What is known when the B2BUA has decided a call (SPEC §3): the start of its CDR row. */
export interface CallStart {
  /** The call's UUID (the B2BUA's session id); generated when absent. */
  readonly id?: string;
  /** Inbound: from the trunk; outbound: from the PBX. */
  readonly direction: 'inbound' | 'outbound';
  /** SIP Call-ID of the caller's (A) leg. */
  readonly callIdA: string;
  /** SIP Call-ID of the B leg, once it exists. */
  readonly callIdB?: string | null;
  /** Normalised calling number; `null` when anonymous or not a number. */
  readonly caller: string | null;
  /** Normalised called number; `null` when not a number. */
  readonly callee: string | null;
  /** The profile that records the call; `null` when it is not recorded. */
  readonly decisionProfile: string | null;
  /** The decision's reason, as in the call's log line. */
  readonly decisionReason: string;
  /** ISO 8601; stored as UTC (`toISOString`). */
  readonly startedAt: string;
}

/** What is known when a call has ended. */
export interface CallEnd {
  /** When the call was answered (2xx to the caller); `null` when it never was. */
  readonly answeredAt: string | null;
  readonly endedAt: string;
  readonly endedBy: CallEndedBy;
  /** The call's final SIP status (200 for an answered call, else the final response). */
  readonly finalStatus: number;
  /** Why it ended, e.g. `BYE`, `cancelled`, `ring timeout`. */
  readonly reason?: string | null;
  /** Fills in the B leg's Call-ID if it was not known at the start. */
  readonly callIdB?: string | null;
}

/** The dialog identifiers of one leg of a call. */
export interface CallLeg {
  readonly leg: 'a' | 'b';
  /** SIP Call-ID of this leg. */
  readonly callId: string;
  readonly localTag?: string | null;
  readonly remoteTag?: string | null;
  readonly localUri?: string | null;
  readonly remoteUri?: string | null;
  /** `host:port` of the peer. */
  readonly remoteAddress?: string | null;
  /** `udp`, `tcp` or `tls`. */
  readonly transport?: string | null;
}

/** One row of the `calls` table with its legs; times are ISO 8601 UTC. */
export interface CallRecord {
  readonly id: string;
  readonly direction: 'inbound' | 'outbound';
  readonly callIdA: string;
  readonly callIdB: string | null;
  readonly caller: string | null;
  readonly callee: string | null;
  readonly decisionProfile: string | null;
  readonly decisionReason: string;
  readonly startedAt: string;
  readonly answeredAt: string | null;
  /** `null` while the call is running (or when callrec stopped before it ended). */
  readonly endedAt: string | null;
  readonly endedBy: CallEndedBy | null;
  readonly endReason: string | null;
  readonly finalStatus: number | null;
  /** A leg first; empty when none was recorded. */
  readonly legs: readonly CallLeg[];
}

/** Filter of {@link CallStore.listCalls}; all given conditions must hold. */
export interface CallQuery {
  /** Calls that started at or after this ISO 8601 time. */
  readonly since?: string;
  /** Calls that started before this ISO 8601 time. */
  readonly until?: string;
  /** Calls whose (normalised) caller or callee is this number. */
  readonly number?: string;
}

/**
 * The call detail records. Rejects with `AppError('STORE_CONFLICT')` for a duplicate id or an
 * unknown call, `STORE_QUERY` for an invalid time or a failed statement.
 */
export interface CallStore {
  /** Inserts the call's row; resolves with its id (the given one or a new UUID). */
  recordCallStart(start: CallStart): Promise<string>;
  /** Completes the row; `false` when it had already ended (the first end is kept). */
  recordCallEnd(id: string, end: CallEnd): Promise<boolean>;
  /** Inserts or replaces the identifiers of one leg of a recorded call. */
  recordLeg(id: string, leg: CallLeg): Promise<void>;
  findCall(id: string): Promise<CallRecord | undefined>;
  /** Matching calls, oldest start first. */
  listCalls(query?: CallQuery): Promise<CallRecord[]>;
  /**
   * Erasure (GDPR Art. 17): replaces a party's number in one call's row by `pseudonym` — caller
   * or callee equal to one of `numbers` (the number's stored forms), each of them where it stands
   * as a whole number in the decision reason, and every leg URI that contains one. Resolves with
   * the number of fields changed (0 when nothing matched, e.g. on a second run).
   */
  pseudonymiseCall(id: string, numbers: readonly string[], pseudonym: string): Promise<number>;
}

/** The stored membership state of one user in one group. */
export interface MembershipRecord {
  readonly groupId: string;
  readonly userId: string;
  readonly active: boolean;
  /** ISO 8601 UTC of the last change. */
  readonly changedAt: string;
  /** The actor of the last change, e.g. `cli:alice`, `extension:201`. */
  readonly changedBy: string;
}

/** What {@link MembershipStore.setActive} did. */
export interface MembershipChange {
  readonly record: MembershipRecord;
  /** The state before; `undefined` when it had never been switched (configured default: active). */
  readonly previous: boolean | undefined;
}

/**
 * Who of a group's configured members is switched off (SPEC §3). Knows nothing of the config:
 * callers check that the group and user exist. Every `setActive` writes an audit entry
 * (`membership.login` / `membership.logout`) in the same transaction.
 */
export interface MembershipStore {
  setActive(groupId: string, userId: string, active: boolean, actor: string): Promise<MembershipChange>;
  /** The stored state; `undefined` when it was never switched. */
  isActive(groupId: string, userId: string): Promise<boolean | undefined>;
  /** Stored states, of one group or all, ordered by group and user. */
  list(groupId?: string): Promise<MembershipRecord[]>;
  /**
   * sqlite's `PRAGMA data_version` of this connection: it changes when another connection (e.g.
   * `callrec group logout` in another process) has committed, so a cache can reload only then.
   */
  dataVersion(): Promise<number>;
}

/** Details of an audit entry: a JSON object. */
export type AuditDetails = Readonly<Record<string, unknown>>;

/** An audit entry to append. */
export interface AuditEntryInput {
  /** Who: `cli:<os user>`, `extension:201`, `http:127.0.0.1`, `callrec` (scheduled jobs). */
  readonly actor: string;
  /** What, dotted: `membership.logout`, `config.reload`, `export`, `erase`, `retention.run`. */
  readonly action: string;
  /** On what, e.g. `group:trading/user:alice`, `number:+4930123456201`, `recording:<id>`. */
  readonly subject: string;
  /** @default {} */
  readonly details?: AuditDetails;
  /** ISO 8601. @default now */
  readonly at?: string;
}

/** One stored audit entry. */
export interface AuditEntry {
  /** 1, 2, 3, … in append order. */
  readonly id: number;
  /** ISO 8601 UTC. */
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly subject: string;
  readonly details: AuditDetails;
}

/** Filter of {@link AuditLog.list}. */
export interface AuditQuery {
  /** Entries at or after this ISO 8601 time. */
  readonly since?: string;
}

/**
 * The append-only log of admin actions (SPEC §7). Entries are never updated or deleted (enforced
 * by triggers, for every connection).
 */
export interface AuditLog {
  append(entry: AuditEntryInput): Promise<AuditEntry>;
  /** Matching entries in append order. */
  list(query?: AuditQuery): Promise<AuditEntry[]>;
}

/** Where one recording is on its way to one target (SPEC §6). */
export type UploadState = 'pending' | 'uploading' | 'done' | 'failed';

/** A recording handed to the uploader, with the expanded folder per target. */
export interface UploadRequest {
  readonly recordingId: string;
  /** The recording's spool folder, `<dataDir>/recordings/<id>`. */
  readonly dir: string;
  /** The profile that recorded it; `null` when unknown. */
  readonly profile?: string | null;
  /** The recording's start, ISO 8601 (stored as UTC). */
  readonly start: string;
  /** One upload per target, in the target's already expanded folder. */
  readonly targets: ReadonlyArray<{ readonly targetId: string; readonly folder: string }>;
}

/** One row of the `uploads` table with what it needs of its recording; times ISO 8601 UTC. */
export interface UploadJob {
  readonly recordingId: string;
  readonly targetId: string;
  readonly dir: string;
  /** The recording's profile (`null` when unknown) and start (ISO 8601 UTC). */
  readonly profile: string | null;
  readonly start: string;
  readonly folder: string;
  readonly state: UploadState;
  /** Attempts started so far (a claim counts one). */
  readonly attempts: number;
  readonly lastError: string | null;
  /** When the row is due (again); meaningful for `pending` and `failed`. */
  readonly nextAttemptAt: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly doneAt: string | null;
}

/** The queue of one target, for `callrec uploads status`. */
export interface UploadTargetStatus {
  readonly targetId: string;
  readonly pending: number;
  readonly uploading: number;
  readonly failed: number;
  readonly done: number;
  /** When the oldest upload not yet done was queued; `null` when all are done. */
  readonly oldestPendingSince: string | null;
  /** The most recent error of an upload not yet done; `null` when there is none. */
  readonly lastError: string | null;
  readonly lastErrorAt: string | null;
  /** The earliest next attempt of a failed row; `null` when none is failed. */
  readonly nextAttemptAt: string | null;
}

/** A spooled recording whose every upload is done but which is not yet marked archived. */
export interface ArchivableRecording {
  readonly recordingId: string;
  readonly dir: string;
}

/**
 * The upload queue (SPEC §6): per recording and target a row that survives restarts. Times given
 * as `at`/`now` default to the store's clock. Rejects with `AppError('STORE_CONFLICT')` for an
 * unknown row, `STORE_QUERY` for an invalid time or a failed statement.
 */
export interface UploadStore {
  /**
   * Records the recording (`spooled`) and a `pending` row per target, due at once. Idempotent:
   * rows that exist already keep their state (a recording queued twice is uploaded once).
   */
  enqueue(request: UploadRequest, at?: Date): Promise<void>;
  /**
   * Atomically moves up to `limit` due rows of `targetId` (`pending` or `failed` with
   * `nextAttemptAt <= now`, oldest due first) to `uploading`, counting an attempt each.
   */
  claimDue(targetId: string, now?: Date, limit?: number): Promise<UploadJob[]>;
  /** `uploading` → `done`. */
  markDone(recordingId: string, targetId: string, at?: Date): Promise<void>;
  /** `uploading` → `failed` with the error text and the time of the next attempt. */
  markFailed(recordingId: string, targetId: string, error: string, nextAttemptAt: Date, at?: Date): Promise<void>;
  /** Crash recovery at start: every `uploading` row → `pending`, due at once; resolves with their number. */
  resetInterrupted(at?: Date): Promise<number>;
  /** Per target with rows, ordered by target id. */
  status(): Promise<UploadTargetStatus[]>;
  /** `failed` → `pending`, due at once (of one target or all); resolves with their number. */
  retryAll(at?: Date, targetId?: string): Promise<number>;
  /** Whether the recording has uploads and every one is `done`. */
  allDone(recordingId: string): Promise<boolean>;
  /** The rows of one recording, ordered by target id. */
  uploadsOf(recordingId: string): Promise<UploadJob[]>;
  /** Spooled recordings whose uploads are all done (archiving was interrupted), oldest first. */
  archivable(): Promise<ArchivableRecording[]>;
  /**
   * A spooled recording → `archived` (`localRemoved`: its spool copy was deleted); `false` when it
   * was archived already, so exactly one caller learns it archived the recording.
   */
  markArchived(recordingId: string, localRemoved: boolean, at?: Date): Promise<boolean>;
}
