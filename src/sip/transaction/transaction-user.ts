import type { AppError } from '../../errors.js';
import type { SipRequest, SipResponse } from '../message/index.js';

/**
 * The narrow interfaces through which a transaction reaches its owner (the transaction user, TU:
 * UA core or dialog). A transaction holds nothing else of its owner. Exceptions thrown by these
 * callbacks are caught by the transaction and reported to the layer's `onUserError`.
 */

/** The TU of a client transaction (RFC 3261 §17.1). */
export interface ClientTransactionUser {
  /**
   * A response for the TU: every 1xx and the first final response; for INVITE also every 2xx
   * received in the Accepted state (RFC 6026 §8.4: retransmitted or forked 2xx).
   */
  onResponse(response: SipResponse): void;
  /** Timer B (INVITE) or Timer F (non-INVITE) fired without a final response. */
  onTimeout(): void;
  /** The transport failed to send the request or the ACK (RFC 3261 §17.1.4); code SIP_TRANSPORT_ERROR. */
  onTransportError(error: AppError): void;
  /** The transaction entered Terminated and was forgotten by the layer; called once, last. */
  onTerminated?(): void;
}

/** The TU of a server transaction (RFC 3261 §17.2), attached with `serverTransaction.attach()`. */
export interface ServerTransactionUser {
  /**
   * RFC 6026 §8.7: an ACK that matched an INVITE server transaction in the Accepted state (an ACK
   * for the 2xx that reused the INVITE's branch, or an RFC 2543 ACK). When absent, such an ACK goes
   * to the layer's `onStrayAck`, where ACKs for 2xx with their own branch arrive anyway.
   */
  onAck?(ack: SipRequest): void;
  /** Timer H fired: no ACK arrived for a 3xx–6xx final response (RFC 3261 §17.2.1). */
  onTimeout?(): void;
  /**
   * The transport failed to send a response (RFC 3261 §17.2.4); code SIP_TRANSPORT_ERROR. The
   * transaction then terminates — except in the INVITE server's Accepted state, which stays until
   * Timer L to keep absorbing INVITE retransmissions.
   */
  onTransportError(error: AppError): void;
  /** The transaction entered Terminated and was forgotten by the layer; called once, last. */
  onTerminated?(): void;
}
