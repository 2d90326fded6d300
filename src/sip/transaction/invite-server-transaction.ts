import type { AppError } from '../../errors.js';
import { createResponse, getHeader, serializeMessage, type SipRequest, type SipResponse } from '../message/index.js';
import type { Endpoint } from '../transport/transport.js';
import { nextCappedInterval, type TransactionTimers } from './timers.js';
import type { ServerTransactionUser } from './transaction-user.js';
import {
  handlerFor,
  NamedTimers,
  NotificationQueue,
  sendOrReport,
  type TransactionContext,
  type TransitionTable,
} from './transitions.js';

/** RFC 3261 §17.2.1 (figure 7) with the RFC 6026 `Accepted` state. */
export type InviteServerState = 'Proceeding' | 'Completed' | 'Confirmed' | 'Accepted' | 'Terminated';

type IstEvent =
  | { readonly type: 'request' }
  | { readonly type: 'ack'; readonly ack: SipRequest }
  | { readonly type: 'provisional'; readonly response: SipResponse }
  | { readonly type: 'success'; readonly response: SipResponse }
  | { readonly type: 'failure'; readonly response: SipResponse }
  | { readonly type: 'TRYING_100' }
  | { readonly type: 'TIMER_G' }
  | { readonly type: 'TIMER_H' }
  | { readonly type: 'TIMER_I' }
  | { readonly type: 'TIMER_L' }
  | { readonly type: 'transportError'; readonly error: AppError };

type IstTimer = 'TRYING_100' | 'TIMER_G' | 'TIMER_H' | 'TIMER_I' | 'TIMER_L';

/** RFC 3261 §17.2.1: the server sends 100 Trying itself if the TU has not answered within 200 ms. */
export const TRYING_DELAY_MS = 200;

export interface InviteServerTransactionInit {
  readonly request: SipRequest;
  /** Where responses go (RFC 3261 §18.2.2), fixed when the request arrives. */
  readonly responseDestination: Endpoint;
  readonly timers: TransactionTimers;
  readonly context: TransactionContext;
}

/** The INVITE server transaction (RFC 3261 §17.2.1, RFC 6026 §7.1). Created by the layer. */
export class InviteServerTransaction {
  readonly method = 'INVITE';
  readonly request: SipRequest;
  readonly responseDestination: Endpoint;
  readonly #times: TransactionTimers;
  readonly #context: TransactionContext;
  readonly #timers: NamedTimers<IstTimer>;
  readonly #notifications: NotificationQueue;
  #user: ServerTransactionUser | undefined;
  #state: InviteServerState = 'Proceeding';
  #provisionalBytes: Buffer | undefined;
  #finalBytes: Buffer | undefined;
  #finalResponse: SipResponse | undefined;
  #timerGInterval = 0;
  #started = false;

  constructor(init: InviteServerTransactionInit) {
    if (init.request.method !== 'INVITE') throw new Error(`InviteServerTransaction for ${init.request.method}`);
    this.request = init.request;
    this.responseDestination = init.responseDestination;
    this.#times = init.timers;
    this.#context = init.context;
    this.#timers = new NamedTimers(init.context.clock);
    this.#notifications = new NotificationQueue((error) => init.context.onUserError(error, this));
  }

  get state(): InviteServerState {
    return this.#state;
  }

  get branch(): string | undefined {
    return this.request.via[0]?.branch;
  }

  /** The final response sent (first 2xx or the 3xx–6xx), if any. */
  get finalResponse(): SipResponse | undefined {
    return this.#finalResponse;
  }

  /** Attaches the TU (once), normally inside the layer's `onRequest`. */
  attach(user: ServerTransactionUser): void {
    if (this.#user !== undefined) throw new Error('InviteServerTransaction already has a user');
    this.#user = user;
  }

  /** Starts the 200 ms 100-Trying timer (RFC 3261 §17.2.1). Called once by the layer. */
  start(): void {
    if (this.#started) throw new Error('InviteServerTransaction already started');
    this.#started = true;
    this.#start('TRYING_100', TRYING_DELAY_MS);
  }

  /**
   * Sends a response from the TU. Returns false when the state machine discards it (after a
   * 3xx–6xx final, a provisional after a 2xx, or once terminated). A 2xx in Accepted is sent:
   * that is how the UAS core's 2xx retransmissions (§13.3.1.4) reach the wire (RFC 6026 §8.5).
   */
  respond(response: SipResponse): boolean {
    assertResponseTo(this.request, response);
    const type = response.status < 200 ? 'provisional' : response.status < 300 ? 'success' : 'failure';
    return this.#dispatch({ type, response });
  }

  /** A retransmission of the INVITE, matched by the layer (§17.2.3). */
  receiveRequest(): void {
    this.#dispatch({ type: 'request' });
  }

  /**
   * An ACK matched to this transaction by the layer. Returns false when the transaction does not
   * consume it (terminated, or Accepted with a TU without `onAck`), so the layer treats it as stray.
   */
  receiveAck(ack: SipRequest): boolean {
    if (this.#state === 'Terminated') return false;
    if (this.#state === 'Accepted' && this.#user?.onAck === undefined) return false;
    this.#dispatch({ type: 'ack', ack });
    return true;
  }

  /** Ends the transaction at once without telling the TU anything but onTerminated (shutdown). */
  terminate(): void {
    if (this.#state === 'Terminated') return;
    this.#enter('Terminated');
    this.#notifications.flush();
  }

  static readonly #TABLE: TransitionTable<InviteServerState, IstEvent, InviteServerTransaction> = {
    Proceeding: {
      // RFC 3261 §17.2.1: "If a request retransmission is received while in the Proceeding state,
      // the most recent provisional response that was received from the TU MUST be passed to the
      // transport layer for retransmission."
      request: (tx) => {
        if (tx.#provisionalBytes !== undefined) tx.#send(tx.#provisionalBytes);
        return undefined;
      },
      // RFC 3261 §17.2.1: the TU did not answer within 200 ms -> the transaction sends 100 Trying
      // (copying Timestamp, §8.2.6.1).
      TRYING_100: (tx) => {
        const timestamp = getHeader(tx.request, 'Timestamp');
        const trying = createResponse(
          tx.request,
          100,
          timestamp === undefined ? {} : { headers: [['Timestamp', timestamp]] },
        );
        tx.#provisionalBytes = serializeMessage(trying);
        tx.#send(tx.#provisionalBytes);
        return undefined;
      },
      provisional: (tx, { response }) => {
        tx.#timers.stop('TRYING_100');
        tx.#provisionalBytes = serializeMessage(response);
        tx.#send(tx.#provisionalBytes);
        return undefined;
      },
      // RFC 6026 §8.5: a 2xx from the TU is sent and the transaction goes to Accepted (it does not
      // retransmit the 2xx; the TU does, §13.3.1.4).
      success: (tx, { response }) => {
        tx.#finalResponse = response;
        tx.#send(serializeMessage(response));
        return 'Accepted';
      },
      // RFC 3261 §17.2.1: a 300–699 from the TU is sent and the transaction goes to Completed.
      failure: (tx, { response }) => {
        tx.#finalResponse = response;
        tx.#finalBytes = serializeMessage(response);
        tx.#send(tx.#finalBytes);
        return 'Completed';
      },
      transportError: (tx, { error }) => tx.#failTransport(error),
    },
    Completed: {
      // RFC 3261 §17.2.1: an INVITE retransmission in Completed -> resend the final response.
      request: (tx) => tx.#resendFinal(),
      // RFC 3261 §17.2.1: Timer G fires -> resend, reset G to MIN(2*previous, T2).
      TIMER_G: (tx) => {
        tx.#resendFinal();
        tx.#timerGInterval = nextCappedInterval(tx.#timerGInterval, tx.#times.t2Ms);
        tx.#start('TIMER_G', tx.#timerGInterval);
        return undefined;
      },
      // RFC 3261 §17.2.1: Timer H fires in Completed -> no ACK arrived; inform the TU, Terminated.
      TIMER_H: (tx) => {
        tx.#notifications.push(() => tx.#user?.onTimeout?.());
        return 'Terminated';
      },
      // RFC 3261 §17.2.1: an ACK in Completed -> Confirmed.
      ack: () => 'Confirmed',
      transportError: (tx, { error }) => tx.#failTransport(error),
    },
    // RFC 3261 §17.2.1: Confirmed absorbs ACK and INVITE retransmissions (no handlers for them).
    Confirmed: {
      TIMER_I: () => 'Terminated',
    },
    // RFC 6026 §8.7: Accepted absorbs INVITE retransmissions, passes ACKs to the TU, sends further
    // 2xx responses from the TU, and ends with Timer L.
    Accepted: {
      ack: (tx, { ack }) => {
        tx.#notifications.push(() => tx.#user?.onAck?.(ack));
        return undefined;
      },
      success: (tx, { response }) => {
        tx.#send(serializeMessage(response));
        return undefined;
      },
      TIMER_L: () => 'Terminated',
      // NOTE(deviation): RFC 6026 gives Accepted no transport-error transition. We inform the TU
      // (it may BYE) but stay until Timer L: terminating early would let the next INVITE
      // retransmission look like a new INVITE — the very bug RFC 6026 fixes.
      transportError: (tx, { error }) => {
        tx.#notifications.push(() => tx.#user?.onTransportError(error));
        return undefined;
      },
    },
    Terminated: {},
  };

  /** Runs one event; returns whether the current state handles it (false: absorbed/discarded). */
  #dispatch(event: IstEvent): boolean {
    const handler = handlerFor(InviteServerTransaction.#TABLE, this.#state, event.type);
    if (handler !== undefined) {
      const next = handler(this, event);
      if (next !== undefined && next !== this.#state) this.#enter(next);
    }
    this.#notifications.flush();
    return handler !== undefined;
  }

  #enter(state: InviteServerState): void {
    this.#state = state;
    switch (state) {
      case 'Proceeding':
        break;
      case 'Completed':
        this.#timers.stop('TRYING_100');
        // RFC 3261 §17.2.1: Timer G = T1 on unreliable transports; Timer H = 64*T1 always.
        if (this.#times.TIMER_G !== undefined) {
          this.#timerGInterval = this.#times.TIMER_G;
          this.#start('TIMER_G', this.#timerGInterval);
        }
        this.#start('TIMER_H', this.#times.TIMER_H);
        break;
      case 'Confirmed':
        this.#timers.stop('TIMER_G');
        this.#timers.stop('TIMER_H');
        // RFC 3261 §17.2.1: Timer I = T4 unreliable, 0 reliable (-> Terminated now).
        if (this.#times.TIMER_I === 0) this.#enter('Terminated');
        else this.#start('TIMER_I', this.#times.TIMER_I);
        break;
      case 'Accepted':
        this.#timers.stop('TRYING_100');
        // RFC 6026 §8.7: Timer L = 64*T1.
        this.#start('TIMER_L', this.#times.TIMER_L);
        break;
      case 'Terminated':
        this.#timers.stopAll();
        this.#context.onTerminated(this);
        this.#notifications.push(() => this.#user?.onTerminated?.());
        break;
    }
  }

  #resendFinal(): undefined {
    if (this.#finalBytes !== undefined) this.#send(this.#finalBytes);
    return undefined;
  }

  /** RFC 3261 §17.2.4: inform the TU of the transport failure, go to Terminated. */
  #failTransport(error: AppError): InviteServerState {
    this.#notifications.push(() => this.#user?.onTransportError(error));
    return 'Terminated';
  }

  #send(data: Buffer): void {
    sendOrReport(this.#context, data, this.responseDestination, (error) => {
      if (this.#state !== 'Terminated') this.#dispatch({ type: 'transportError', error });
    });
  }

  #start(name: IstTimer, delayMs: number): void {
    this.#timers.start(name, delayMs, () => this.#dispatch({ type: name }));
  }
}

/** A response handed to a server transaction must answer its request (a TU bug otherwise). */
export function assertResponseTo(request: SipRequest, response: SipResponse): void {
  if (
    response.cseq.seq !== request.cseq.seq ||
    response.cseq.method !== request.method ||
    response.callId !== request.callId
  ) {
    throw new Error(
      `response ${response.status} (${response.cseq.seq} ${response.cseq.method}) does not answer ${request.method} ${request.cseq.seq}`,
    );
  }
  if (response.via[0]?.branch !== request.via[0]?.branch) {
    throw new Error(`response ${response.status} carries another top Via branch than the ${request.method}`);
  }
}
