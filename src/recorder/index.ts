/** The recorder's public entry: legs on one timeline, streaming WAV files, merge, repair. */
export {
  CallRecording,
  type CallRecordingOptions,
  type ChannelMode,
  type FinishedRecording,
  type RecordedLeg,
  type RecordedParty,
} from './call-recording.js';
export { chooseOutputSampleRate, LegRecorder, type DecoderFactory, type LegRecorderOptions } from './leg-recorder.js';
export type { LegStats, TimelineSpan } from './leg-stats.js';
export type { PcmSink } from './pcm-sink.js';
export type { PayloadFormat } from '../media/codec/index.js';
export type { RecorderPacket } from './recorder-packet.js';
export { RecordingClock, type RecordingClockOptions } from './timeline.js';
export { WavWriter, type WavFileSummary, type WavWriterOptions } from './wav-writer.js';
export {
  buildWavHeader,
  parseWavHeader,
  type WavContainer,
  type WavFormat,
  type WavInfo,
  type WavParseResult,
} from './wav-format.js';
export { repairWavFile, wavFileSummary, type WavRepairResult } from './wav-repair.js';
export { mergeToStereo, type MergeToStereoOptions } from './stereo-merge.js';
export {
  buildRecordingMetadata,
  type RecordingAnnouncement,
  type RecordingCallInfo,
  type RecordingConsent,
  type RecordingMetadataInput,
  type RelayLegCounters,
} from './metadata.js';
