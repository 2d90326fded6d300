export type { LedgerCheckpoint, LedgerEntry, LedgerStore } from './protocol-store.js';
export {
  databasePath,
  migrate,
  migrationLabel,
  openDatabase,
  schemaVersion,
  sqliteCode,
  SqliteDatabase,
  type OpenDatabaseOptions,
  type SqlExecutor,
  type SqlRunResult,
  type SqlValue,
} from './sqlite-database.js';
export { MIGRATIONS, type Migration } from './migrations.js';
export { SqliteLedgerStore } from './sqlite-ledger-store.js';
export type {
  AuditDetails,
  AuditEntry,
  AuditEntryInput,
  AuditLog,
  AuditQuery,
  CallEnd,
  CallEndedBy,
  CallLeg,
  CallQuery,
  CallRecord,
  CallStart,
  CallStore,
  MembershipChange,
  MembershipRecord,
  MembershipStore,
} from './protocol-store.js';
export { SqliteAuditLog, type SqliteAuditLogOptions } from './sqlite-audit-log.js';
export { SqliteCallStore } from './sqlite-call-store.js';
export {
  membershipSubject,
  SqliteMembershipStore,
  type SqliteMembershipStoreOptions,
} from './sqlite-membership-store.js';
export type {
  ArchivableRecording,
  UploadJob,
  UploadRequest,
  UploadState,
  UploadStore,
  UploadTargetStatus,
} from './protocol-store.js';
export { SqliteUploadStore, type SqliteUploadStoreOptions } from './sqlite-upload-store.js';
export type {
  DisposalAction,
  DisposalEntry,
  DisposalEntryInput,
  DisposalLocation,
  DisposalSeal,
  DisposalStore,
  LegalHold,
  RecordingQuery,
  RecordingRecord,
  RecordingStart,
  RecordingState,
  RecordingStore,
  UnsealedDisposalEntry,
} from './recording-store.js';
export { SqliteRecordingStore, type SqliteRecordingStoreOptions } from './sqlite-recording-store.js';
export { SqliteDisposalStore } from './sqlite-disposal-store.js';
