/**
 * SPEC §4 fail policy: whether a call that a profile records may be connected while the recorder
 * cannot guarantee the recording. Pure: the recorder's state is an input, taken by the caller.
 */

/** A profile's `onRecordingFailure`. */
export type RecordingFailurePolicy = 'continue' | 'reject';

/** What the recorder can promise right now; `problems` empty means it can record. */
export interface RecorderHealth {
  /** Readable reasons, e.g. `spool below reserve: 12 MiB free of 1024 MiB`. */
  readonly problems: readonly string[];
}

/** The outcome for one recorded call. */
export type RecordingAdmission =
  /** Connect and record; `degraded` lists what makes the recording unreliable (flagged, alarmed). */
  | { readonly admit: true; readonly degraded: readonly string[] }
  /** Refuse the call before the callee is called; `reason` is told to the caller. */
  | { readonly admit: false; readonly reason: string };

/**
 * `reject` refuses a recorded call while the recorder has problems (a regulated firm may not take
 * the call unrecorded); `continue` connects it and records as far as it can, flagged.
 */
export function admitRecordedCall(policy: RecordingFailurePolicy, health: RecorderHealth): RecordingAdmission {
  if (health.problems.length === 0) return { admit: true, degraded: [] };
  if (policy === 'reject') return { admit: false, reason: `recording unavailable: ${health.problems.join('; ')}` };
  return { admit: true, degraded: [...health.problems] };
}
