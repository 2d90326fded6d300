import type { PayloadFormat, RelaySessionStats } from '../media/index.js';
import type { LegName } from './call-context.js';
import type { MediaCallInfo, RecordingAction } from './call-media-port.js';
import type { CallSummary } from './call-summary.js';
import type { ConsentEvidence } from './consent.js';

/** What a leg's SDP says about its stream, for the recorder. */
export interface LegMedia {
  /** Payload types the leg's packets may carry, by number. */
  readonly formats: ReadonlyMap<number, PayloadFormat>;
  /** The audio formats of the leg's own SDP, in its order (for the metadata). */
  readonly negotiated: readonly PayloadFormat[];
  /** Whether the leg is on hold (its or its peer's direction is not sendrecv). */
  readonly onHold: boolean;
}

/**
 * The recorder as the media anchor sees it (implemented by the composition root on top of
 * `recorder/`): a recording starts when a recorded call is answered, is fed every relayed RTP
 * packet of both legs, and finishes when the call ends.
 */
export interface RecordingPort {
  /** Starts the recording of a recorded call; `undefined` when it cannot (logged by the port). */
  start(call: MediaCallInfo, legs: Readonly<Record<LegName, LegMedia>>): ActiveRecording | undefined;
}

/** One call's running recording. Every method is cheap and never throws into the relay. */
export interface ActiveRecording {
  /** An accepted RTP datagram from leg `leg` (the relay's fork; the buffer is not kept). */
  push(leg: LegName, datagram: Buffer, arrivalMs: number): void;
  /** A re-INVITE/UPDATE changed a leg's formats or hold state. */
  update(leg: LegName, media: LegMedia): void;
  /** The call ended: the recording is finished and handed on (merge, metadata, seal). */
  finish(call: CallSummary, relay: RelaySessionStats): void;
  /** Pauses or resumes (silence on the timeline, the span listed with `by`); true when it is now so. */
  control(action: RecordingAction, by: string): boolean;
  /** The consent evidence for the metadata (replaces an earlier one). */
  consent(evidence: ConsentEvidence): void;
}
