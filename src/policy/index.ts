export {
  Membership,
  MembershipError,
  membershipProblem,
  type MembershipDirectory,
  type MembershipProblem,
  type MembershipStatus,
  type MembershipUpdate,
} from './membership.js';
export { createNumberNormaliser, describeNumber, numberKey, type NumberNormaliser } from './numbering.js';
export { allMembersActive, decide } from './rules.js';
export {
  admitRecordedCall,
  type RecorderHealth,
  type RecordingAdmission,
  type RecordingFailurePolicy,
} from './recording-admission.js';
export type {
  CallFacts,
  Decision,
  DecisionMatch,
  MatchKind,
  MembershipView,
  NormalisedNumber,
  PolicyGroup,
  PolicyInput,
  PolicyNumbering,
  PolicyProfile,
  PolicyUser,
} from './policy-types.js';
