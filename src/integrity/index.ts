export type { RecordingSigner } from './recording-signer.js';
export {
  assertPlainFileName,
  CHECKSUM_SUFFIX,
  METADATA_SUFFIX,
  plainFileNameProblem,
  recordingFileNames,
  recordingIdOfAudio,
  SIGNATURE_SUFFIX,
  TIMESTAMP_SUFFIX,
  type RecordingFileNames,
} from './recording-files.js';
export {
  checksumFileText,
  hashFiles,
  parseChecksumFile,
  sha256File,
  sha256Hex,
  writeChecksumFile,
  type ChecksumEntry,
  type FileDigest,
  type ParsedChecksumFile,
} from './checksum-file.js';
export {
  parseSignatureFile,
  signatureFileText,
  signChecksumFile,
  signFile,
  verifySignature,
  type SignedFile,
} from './signer.js';
export {
  checkpointFileName,
  checkpointFileText,
  describeChainFinding,
  Ledger,
  ledgerDir,
  parseCheckpointFile,
  verifyChain,
  type ChainFinding,
  type ChainLink,
  type CheckpointStatement,
  type LedgerOptions,
  type VerifyChainOptions,
  type WrittenCheckpoint,
} from './ledger.js';
export { sealRecording, type RecordingChain, type SealRecordingOptions, type SealSummary } from './seal-recording.js';
export {
  buildTimestampRequest,
  checkTimestampResponse,
  Rfc3161TimestampClient,
  timestampResponseImprint,
  type Rfc3161TimestampClientOptions,
  type TimestampClient,
  type TimestampToken,
} from './timestamp.js';
export {
  verifyFolder,
  type FolderFinding,
  type FolderVerdict,
  type RecordingVerdict,
  type VerifyFolderOptions,
} from './verifier.js';
export { writeFileAtomic } from './atomic-file.js';
export { describeCertificate, normalizePem, type CertificateInfo } from './certificate.js';
export { openKeyStore, KEYSTORE_FILE, type KeyStore } from './key-store.js';
