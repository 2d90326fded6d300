import type { ConsentRules } from './consent.js';

/**
 * early-media: 183 Session Progress with callrec's SDP, the announcement, then the callee is called
 * (the caller is answered when the callee answers). answer-first: 200 to the caller, the
 * announcement, then the callee is called and connected without a re-INVITE (same codec).
 */
export type AnnouncementMode = 'early-media' | 'answer-first';

/** What a recorded call plays and asks before the callee is called (from its profile). */
export interface AnnouncementPlan {
  /** Absolute path of the WAV; undefined: nothing to play (a consent key is still awaited). */
  readonly file: string | undefined;
  readonly mode: AnnouncementMode;
  readonly consent: ConsentRules;
}

/** DTMF codes that pause and resume a recording (profile `pause`). */
export interface PauseCodes {
  readonly pauseCode: string;
  readonly resumeCode: string;
}

/** What a recorded call's profile asks of the call itself, besides recording it (SPEC §2, §4). */
export interface RecordedCallFeatures {
  /** Absent: no announcement stage (an `obligation` profile without a file for this direction). */
  readonly announcement?: AnnouncementPlan;
  /** Absent: no pause/resume by DTMF (the API still works). */
  readonly pauseCodes?: PauseCodes;
}
