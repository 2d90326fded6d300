export {
  canonicalJson,
  DisposalLog,
  disposalEntryText,
  type DisposalFinding,
  type DisposalLogOptions,
  type DisposalRecordInput,
  type DisposalVerdict,
} from './disposal-log.js';
export {
  disposeRecording,
  isRecordingFileName,
  locationName,
  type DisposalResult,
  type DisposalTarget,
  type DisposeRecordingOptions,
} from './dispose-recording.js';
export {
  describeRetentionOutcome,
  describeRetentionSummary,
  retentionPolicy,
  runRetention,
  type RetentionOptions,
  type RetentionOutcome,
  type RetentionSummary,
} from './retention.js';
export { exportRecordings, type ExportOptions, type ExportProgress, type ExportSummary } from './export.js';
export {
  fetchRecording,
  type ExportTarget,
  type FetchedRecording,
  type FetchRecordingOptions,
} from './export-fetch.js';
export {
  csvField,
  PACKAGE_DIR_MODE,
  PACKAGE_FILE_MODE,
  PACKAGE_FILES,
  packageDirProblem,
  preparePackageDir,
  readmeText,
  summaryCsv,
  type ReadmeFacts,
  type SummaryRow,
} from './export-package.js';
export { eraseRecordings, type EraseOptions, type ErasureOutcome, type ErasureSummary } from './erase.js';
export {
  decideErasure,
  statutoryEnd,
  type ErasureDecision,
  type ErasureFacts,
  type ErasureRequest,
} from './erase-decision.js';
export { erasurePseudonym, pseudonymKey } from './erase-pseudonym.js';
