import type { EndedBy } from './call-summary.js';

/** Where a call is: being set up (`calling`, `early`, `challenged`), answered, or over. */
export type CallState = 'calling' | 'early' | 'confirmed' | 'challenged' | 'ended';

/**
 * The state of one call and the facts its CDR reports, written by the session and the parts acting
 * for it (setup, caller's INVITE) and read for the call's summary.
 */
export class CallProgress {
  state: CallState = 'calling';
  readonly startedAt = new Date();
  answeredAt: Date | undefined;
  endedAt: Date | undefined;
  endedBy: EndedBy | undefined;
  /** The final status sent to the caller, or the one the call ended with. */
  finalStatus: number | undefined;
  endReason = '';

  /** Whether the call is still ringing: the callee has not answered or failed yet. */
  get ringing(): boolean {
    return this.state === 'calling' || this.state === 'early';
  }
}
