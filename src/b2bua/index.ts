export { PeerTable } from './routing.js';
export type { PeerDefinition, PeerSide, PeerTableOptions } from './routing.js';
export { B2bua, type B2buaOptions, type Capabilities } from './b2bua.js';
export type { SignallingPort } from './call-context.js';
export {
  RECORD_NOTHING,
  type CallDirection,
  type CallFacts,
  type CallPolicy,
  type CallRefusal,
  type FeatureCodeAction,
  type FeatureCodeOutcome,
  type RecordingDecision,
} from './call-policy.js';
export { maskDigits, type CallObserver, type CallSummary, type EndedBy } from './call-summary.js';
export type { CallMediaPort, MediaAnchor, MediaCallInfo, SdpRelay, SdpRole } from './call-media-port.js';
export { AnchoredMedia, type AnchoredMediaOptions } from './anchored-media.js';
export type { ActiveRecording, LegMedia, RecordingPort } from './recording-port.js';
export type { AnnouncementMode, AnnouncementPlan, PauseCodes, RecordedCallFeatures } from './announcement-plan.js';
export type {
  AnnouncementEvidence,
  ConsentEvidence,
  ConsentOutcome,
  ConsentRules,
  LegalBasis,
  RefusalAction,
} from './consent.js';
export type { CallerPlayback, PlaySource, RecordingAction } from './call-media-port.js';
