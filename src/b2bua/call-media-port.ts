import type { LegName } from './call-context.js';
import type { CallDirection, RecordingDecision } from './call-policy.js';
import type { CallSummary } from './call-summary.js';

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
}

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
