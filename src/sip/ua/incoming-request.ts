import type { HeaderInput, SipRequest, SipResponse } from '../message/index.js';
import type { Endpoint } from '../transport/transport.js';

export interface RespondOptions {
  /** @default the standard phrase of the status */
  readonly reason?: string;
  readonly headers?: HeaderInput;
  readonly body?: Buffer;
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
}

/** How the UA core treats a source before parsing anything it sent. */
export type SourceVerdict = 'accept' | 'forbid' | 'drop';
