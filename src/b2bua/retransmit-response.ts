import { Uas2xxRetransmitter, type Endpoint, type SipResponse } from '../sip/index.js';
import type { CallContext } from './call-context.js';

/** What {@link retransmitResponse} resends, where, and what happens without an acknowledgement. */
export interface RetransmitResponseOptions {
  /** The response as sent (a 2xx, or a reliable provisional). */
  readonly response: SipResponse;
  /** Where it goes, looked up at each retransmission. */
  readonly destination: () => Endpoint;
  /** 64*T1 passed without the ACK (or PRACK). */
  readonly onNoAck: () => void;
}

/**
 * Starts resending a response statelessly (RFC 3261 §13.3.1.4; RFC 3262 §3 for reliable
 * provisionals) until `acknowledge()` is called on the returned retransmitter.
 */
export function retransmitResponse(context: CallContext, options: RetransmitResponseOptions): Uas2xxRetransmitter {
  const { response, destination, onNoAck } = options;
  const retransmitter = new Uas2xxRetransmitter({
    clock: context.clock,
    timers: context.timers,
    retransmit: () => void context.sendStateless(response, destination()).catch(() => undefined),
    onNoAck,
  });
  retransmitter.start();
  return retransmitter;
}
