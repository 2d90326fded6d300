export { finaliseRecording, type FinaliseInput, type FinalisedRecording } from './finalise.js';
