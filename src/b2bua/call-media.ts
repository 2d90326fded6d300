import { getHeader, type SipRequest, type SipResponse } from '../sip/index.js';
import type { CallContext, LegName } from './call-context.js';
import type { CallMediaPort, SdpRelay, SdpRole } from './call-media-port.js';
import type { CallSummary } from './call-summary.js';

/**
 * The media side of one call as its signalling sees it: the anchored media once opened, through
 * which every SDP body passes on its way to the other leg; without it SDP is relayed unchanged.
 */
export class CallMedia {
  readonly #context: CallContext;
  readonly #callId: string;
  #port: CallMediaPort | undefined;

  constructor(context: CallContext, callId: string) {
    this.#context = context;
    this.#callId = callId;
  }

  /** The anchored media, once opened (announcements, keys, recording control use it directly). */
  get port(): CallMediaPort | undefined {
    return this.#port;
  }

  /** The call's media was opened: SDP goes through it from now on. */
  attach(port: CallMediaPort): void {
    this.#port = port;
  }

  /**
   * An SDP body on its way from leg `from` to the other leg, through the media anchor. Bodies that
   * are not SDP, and every body of a call without anchoring, pass unchanged.
   */
  relaySdp(from: LegName, message: SipRequest | SipResponse, role: SdpRole): SdpRelay {
    const body = message.body;
    const type = (getHeader(message, 'Content-Type') ?? '').split(';')[0]?.trim().toLowerCase();
    if (this.#port === undefined || body.length === 0 || type !== 'application/sdp') return { ok: true, body };
    return this.#port.relaySdp(from, body, role);
  }

  /** Like relaySdp where the message cannot be refused any more (answers): unchanged on failure. */
  relayAnswer(from: LegName, message: SipRequest | SipResponse, role: SdpRole = 'answer'): Buffer {
    const relayed = this.relaySdp(from, message, role);
    if (relayed.ok) return relayed.body;
    this.#context.logger.warn(
      { call: this.#callId, leg: from, err: relayed.reason },
      'SDP not anchored; relayed as is',
    );
    return message.body;
  }

  /** The call was answered (2xx relayed to the caller). */
  connected(): void {
    this.#port?.connected();
  }

  /** Closes the media, if any was opened (idempotent in the port); exceptions reach the caller. */
  close(call: CallSummary): void {
    this.#port?.close(call);
  }
}
