import type { HeaderInput, SipRequest, SipResponse } from '../message/index.js';
import type { Endpoint } from '../transport/transport.js';

export interface RespondOptions {
  /** @default the standard phrase of the status */
  readonly reason?: string;
  readonly headers?: HeaderInput;
  readonly body?: Buffer;
  /** To tag for this response instead of the request's stable one (one per early dialog when forking). */
  readonly toTag?: string;
}

/** A request delivered by the UA core to its user (the B2BUA), answered through its transaction. */
export interface IncomingRequest {
  readonly request: SipRequest;
  /** Where it came from (after RFC 3581 received/rport stamping of the top Via). */
  readonly source: Endpoint;
  /**
   * Sends a response through the server transaction. For statuses above 100 a To tag, stable for
   * this request, is added when the request had none (RFC 3261 §8.2.6.2).
   */
  respond(status: number, options?: RespondOptions): SipResponse;
  /** Where responses to this request go (RFC 3261 §18.2.2), e.g. to retransmit a 2xx. */
  readonly responseDestination: Endpoint;
  /** The To tag `respond` uses unless told otherwise. */
  readonly toTag: string;
}

/** How the UA core treats a source before parsing anything it sent. */
export type SourceVerdict = 'accept' | 'forbid' | 'drop';
