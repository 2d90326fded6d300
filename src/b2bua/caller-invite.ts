import { AppError } from '../errors.js';
import type { IncomingRequest, SipRequest, SipResponse, Uas2xxRetransmitter, ViaSentBy } from '../sip/index.js';
import type { CallContext } from './call-context.js';
import type { CallProgress } from './call-progress.js';
import { retransmitResponse } from './retransmit-response.js';

/** Options of a response to the caller's INVITE. */
export interface CallerResponseOptions {
  readonly reason?: string;
  readonly toTag?: string;
  readonly headers?: ReadonlyArray<readonly [string, string]>;
  readonly body?: Buffer;
}

/**
 * The caller's INVITE (leg a, callrec as UAS): at most one final response per INVITE transaction
 * (a retry after a challenge is a new one), recorded as the call's final status; callrec's Contact
 * and sent-by toward the caller; the 2xx retransmitted until the caller's ACK (RFC 3261 §13.3.1.4).
 */
export class CallerInvite {
  readonly #context: CallContext;
  readonly #progress: CallProgress;
  #incoming: IncomingRequest;
  #finalSent = false;
  #retransmitter: Uas2xxRetransmitter | undefined;

  constructor(context: CallContext, incoming: IncomingRequest, progress: CallProgress) {
    this.#context = context;
    this.#incoming = incoming;
    this.#progress = progress;
  }

  /** The current INVITE transaction from the caller. */
  get incoming(): IncomingRequest {
    return this.#incoming;
  }

  get request(): SipRequest {
    return this.#incoming.request;
  }

  /** Whether the current INVITE transaction has its final response. */
  get finalSent(): boolean {
    return this.#finalSent;
  }

  /** The caller retried the INVITE after our relayed 401/407: a new transaction, no final response yet. */
  retry(incoming: IncomingRequest): void {
    this.#incoming = incoming;
    this.#finalSent = false;
  }

  /** Responds on the current transaction; a second final response is a bug (AppError SIP_DIALOG_STATE). */
  respond(status: number, options: CallerResponseOptions = {}): SipResponse {
    if (status >= 200) {
      if (this.#finalSent) throw new AppError('SIP_DIALOG_STATE', `final response already sent, not ${status}`);
      this.#finalSent = true;
      this.#progress.finalStatus = status;
    }
    return this.#incoming.respond(status, {
      ...(options.reason === undefined ? {} : { reason: options.reason }),
      ...(options.toTag === undefined ? {} : { toTag: options.toTag }),
      ...(options.headers === undefined ? {} : { headers: options.headers }),
      ...(options.body === undefined || options.body.length === 0 ? {} : { body: options.body }),
    });
  }

  /** Retransmits the 2xx `sent` to the caller until `acknowledge`; `onNoAck` after 64*T1 without. */
  retransmitUntilAck(sent: SipResponse, onNoAck: () => void): void {
    this.#retransmitter = retransmitResponse(this.#context, {
      response: sent,
      destination: () => this.#incoming.responseDestination,
      onNoAck,
    });
  }

  /** The caller's ACK for the call's 2xx (or a retransmission of it): true when it is one. */
  acknowledge(ack: SipRequest): boolean {
    if (this.#retransmitter === undefined || ack.cseq.seq !== this.#incoming.request.cseq.seq) return false;
    this.#retransmitter.acknowledge();
    return true;
  }

  /** Stops the 2xx retransmission (the call ended). */
  stop(): void {
    this.#retransmitter?.stop();
  }

  /** Our Contact toward the caller. */
  contact(): string {
    return this.#context.contact(this.#incoming.source.protocol);
  }

  /** Our Via sent-by toward the caller. */
  sentBy(): ViaSentBy {
    return this.#context.via(this.#incoming.source.protocol);
  }
}
