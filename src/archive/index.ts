export { expandFolder, folderTemplateProblem, localTimeZone, normaliseFolder } from './path-template.js';
export { deliverRecording, recordingFiles, type DeliverySummary } from './recording-delivery.js';
export {
  backoffSeconds,
  UploadQueue,
  type ArchivedEvent,
  type ArchiveRecording,
  type AttemptFailedEvent,
  type DeliveredEvent,
  type RecordingFacts,
  type UploadClock,
  type UploadQueueOptions,
} from './upload-queue.js';
export { isTemporaryName, temporaryName, type ArchiveTarget } from './targets/archive-target.js';
export { LocalTarget, type LocalTargetOptions } from './targets/local-target.js';
// Other targets' exports (SMB, SFTP, OneDrive) and the notifier are appended below this line.
export { SmbTarget, type SmbTargetOptions } from './targets/smb-target.js';
export { SftpTarget, sshFingerprint, type SftpTargetOptions } from './targets/sftp-target.js';
export { createOneDriveTarget, OneDriveTarget, type OneDriveTargetSettings } from './targets/onedrive-target.js';
export {
  maskPersonalData,
  UploadNotifier,
  type NotifierEmailOptions,
  type NotifierWebhookOptions,
  type RecordingArchivedEvent,
  type UploadFailedEvent,
  type UploadNotifierOptions,
  type UploadRecoveredEvent,
} from './notifier.js';
