export { finaliseRecording, type FinaliseInput, type FinalisedRecording } from './finalise.js';
export {
  recoverRecording,
  type RecoverRecordingInput,
  type RecoveredRecording,
  type RecoveryAction,
} from './recover.js';
export { RECOVERED_END_REASON } from './recover-metadata.js';
