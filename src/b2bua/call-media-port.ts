import type { DtmfDigit, PcmClip } from '../media/index.js';
import type { RecordedCallFeatures } from './announcement-plan.js';
import type { LegName } from './call-context.js';
import type { CallDirection, RecordingDecision } from './call-policy.js';
import type { CallSummary } from './call-summary.js';
import type { ConsentEvidence } from './consent.js';

/** Whether an SDP body is an offer or an answer (RFC 3264), as the message carrying it says. */
export type SdpRole = 'offer' | 'answer';

/** The SDP outcome: the body to send to the other leg, or why the offer cannot be anchored. */
export type SdpRelay = { readonly ok: true; readonly body: Buffer } | { readonly ok: false; readonly reason: string };

/**
 * The media of one call as the B2BUA sees it: every SDP body passes through `relaySdp` on its way
 * to the other leg (so both legs send RTP to callrec), the answer to the caller starts the
 * recording, and the end of the call closes the ports and finishes the recording.
 */
export interface CallMediaPort {
  /** Rewrites an SDP body travelling from leg `from` to the other leg. */
  relaySdp(from: LegName, body: Buffer, role: SdpRole): SdpRelay;
  /** The call was answered (2xx relayed to the caller). */
  connected(): void;
  /** The call ended; idempotent. */
  close(call: CallSummary): void;
  /** What the recorded call's profile asks besides recording: announcement, consent, pause codes. */
  readonly features: RecordedCallFeatures | undefined;
  /**
   * callrec answers the caller's SDP offer itself (announcement, confirmation tone): the answer
   * names the caller leg's port and one codec callrec can play (plus telephone-event); offers
   * toward the callee keep to that codec from then on, so the caller never has to switch.
   */
  answerCaller(offer: Buffer): SdpRelay;
  /** callrec's own SDP offer to a caller whose INVITE had none (announcement, answer-first). */
  offerToCaller(): Buffer;
  /** The caller's answer (its ACK body) to `offerToCaller`: the codec played and relayed. */
  acceptCallerAnswer(answer: Buffer): SdpRelay;
  /** Plays to the caller (leg a) in the codec `answerCaller` chose; rejects when it cannot. */
  playToCaller(source: PlaySource): Promise<CallerPlayback>;
  /** DTMF keys from leg `leg` (RFC 4733 in its RTP); returns the function that stops listening. */
  onDigit(leg: LegName, listener: (digit: DtmfDigit) => void): () => void;
  /** Whether `connected()` starts the recording of a recorded call (consent refused: false). */
  recordOnConnect(record: boolean): void;
  /** The consent evidence for the recording's metadata; given again when it changes. */
  setConsent(evidence: ConsentEvidence): void;
  /** Pauses or resumes the running recording; true when it is now paused/resumed, false when none runs. */
  controlRecording(action: RecordingAction, by: string): boolean;
  /** Ends the running recording now (opt-out); the call goes on. False when none runs. */
  stopRecording(call: CallSummary): boolean;
}

/** What callrec plays to a caller: a WAV file (announcement) or a generated clip (tone). */
export type PlaySource = { readonly file: string } | { readonly clip: PcmClip };

/** A playback to the caller: what is played (for the evidence) and when it ends. */
export interface CallerPlayback {
  /** File name (no folders) or tone name. */
  readonly name: string;
  readonly sha256: string;
  /** 'completed' after the last packet played out, 'stopped' on `stop()` or when the call ended. */
  readonly done: Promise<'completed' | 'stopped'>;
  stop(): void;
}

/** Pause or resume a recording (SPEC §4). */
export type RecordingAction = 'pause' | 'resume';

/** What the media anchor knows of a new call. */
export interface MediaCallInfo {
  readonly id: string;
  readonly direction: CallDirection;
  readonly decision: RecordingDecision;
  /** No RTP for the configured time (hold excepted): the call is ended with BYE on both legs. */
  readonly onMediaTimeout: () => void;
}

/** Opens the media of new calls; rejects with AppError MEDIA_PORTS_EXHAUSTED when no ports are free. */
export interface MediaAnchor {
  open(call: MediaCallInfo): Promise<CallMediaPort>;
}
