import type { AppError } from '../../errors.js';
import { createNon2xxAck, serializeMessage, type SipRequest, type SipResponse } from '../message/index.js';
import type { Endpoint } from '../transport/transport.js';
import { nextTimerA, type TransactionTimers } from './timers.js';
import type { ClientTransactionUser } from './transaction-user.js';
import {
  handlerFor,
  NamedTimers,
  NotificationQueue,
  sendOrReport,
  type TransactionContext,
  type TransitionTable,
} from './transitions.js';

/** RFC 3261 §17.1.1 (figure 5) with the RFC 6026 `Accepted` state. */
export type InviteClientState = 'Calling' | 'Proceeding' | 'Completed' | 'Accepted' | 'Terminated';

type IctEvent =
  | { readonly type: 'provisional'; readonly response: SipResponse }
  | { readonly type: 'success'; readonly response: SipResponse }
  | { readonly type: 'failure'; readonly response: SipResponse }
  | { readonly type: 'TIMER_A' }
  | { readonly type: 'TIMER_B' }
  | { readonly type: 'TIMER_D' }
  | { readonly type: 'TIMER_M' }
  | { readonly type: 'transportError'; readonly error: AppError };

type IctTimer = 'TIMER_A' | 'TIMER_B' | 'TIMER_D' | 'TIMER_M';

export interface InviteClientTransactionInit {
  /** The INVITE; its top Via carries the transaction's branch. */
  readonly request: SipRequest;
  readonly destination: Endpoint;
  readonly user: ClientTransactionUser;
  readonly timers: TransactionTimers;
  readonly context: TransactionContext;
}

/** The INVITE client transaction (RFC 3261 §17.1.1, RFC 6026 §7.2). Created and started by the layer. */
export class InviteClientTransaction {
  readonly method = 'INVITE';
  readonly request: SipRequest;
  readonly destination: Endpoint;
  readonly #user: ClientTransactionUser;
  readonly #times: TransactionTimers;
  readonly #context: TransactionContext;
  readonly #timers: NamedTimers<IctTimer>;
  readonly #notifications: NotificationQueue;
  readonly #requestBytes: Buffer;
  #state: InviteClientState = 'Calling';
  #timerAInterval = 0;
  #ackBytes: Buffer | undefined;
  #started = false;

  constructor(init: InviteClientTransactionInit) {
    if (init.request.method !== 'INVITE') throw new Error(`InviteClientTransaction for ${init.request.method}`);
    this.request = init.request;
    this.destination = init.destination;
    this.#user = init.user;
    this.#times = init.timers;
    this.#context = init.context;
    this.#timers = new NamedTimers(init.context.clock);
    this.#notifications = new NotificationQueue((error) => init.context.onUserError(error, this));
    this.#requestBytes = serializeMessage(init.request);
  }

  get state(): InviteClientState {
    return this.#state;
  }

  /** The branch of the request's top Via (with the CSeq method, the §17.1.3 matching key). */
  get branch(): string {
    return this.request.via[0]?.branch ?? '';
  }

  /** Sends the INVITE and starts Timers A and B (RFC 3261 §17.1.1.2). Called once by the layer. */
  start(): void {
    if (this.#started) throw new Error('InviteClientTransaction already started');
    this.#started = true;
    this.#send(this.#requestBytes);
    // RFC 3261 §17.1.1.2: "If an unreliable transport is being used, the client transaction MUST
    // start timer A with a value of T1" — and for any transport, Timer B with 64*T1.
    if (this.#times.TIMER_A !== undefined) {
      this.#timerAInterval = this.#times.TIMER_A;
      this.#start('TIMER_A', this.#timerAInterval);
    }
    this.#start('TIMER_B', this.#times.TIMER_B);
  }

  /** A response matched to this transaction by the layer (§17.1.3). */
  receiveResponse(response: SipResponse): void {
    const type = response.status < 200 ? 'provisional' : response.status < 300 ? 'success' : 'failure';
    this.#dispatch({ type, response });
  }

  /** Ends the transaction at once without telling the TU anything but onTerminated (shutdown). */
  terminate(): void {
    if (this.#state === 'Terminated') return;
    this.#enter('Terminated');
    this.#notifications.flush();
  }

  static readonly #TABLE: TransitionTable<InviteClientState, IctEvent, InviteClientTransaction> = {
    Calling: {
      // RFC 3261 §17.1.1.2: when Timer A fires, retransmit and reset it with twice the value.
      TIMER_A: (tx) => {
        tx.#send(tx.#requestBytes);
        tx.#timerAInterval = nextTimerA(tx.#timerAInterval);
        tx.#start('TIMER_A', tx.#timerAInterval);
        return undefined;
      },
      // RFC 3261 §17.1.1.2: Timer B fires in Calling -> inform the TU of the timeout, Terminated.
      TIMER_B: (tx) => {
        tx.#notifications.push(() => tx.#user.onTimeout());
        return 'Terminated';
      },
      provisional: (tx, { response }) => tx.#deliver(response, 'Proceeding'),
      success: (tx, { response }) => tx.#deliver(response, 'Accepted'),
      failure: (tx, { response }) => tx.#acknowledge(response),
      transportError: (tx, { error }) => tx.#failTransport(error),
    },
    Proceeding: {
      // RFC 3261 §17.1.1.2: further provisionals in Proceeding go to the TU.
      provisional: (tx, { response }) => tx.#deliver(response, undefined),
      success: (tx, { response }) => tx.#deliver(response, 'Accepted'),
      failure: (tx, { response }) => tx.#acknowledge(response),
      transportError: (tx, { error }) => tx.#failTransport(error),
    },
    Completed: {
      // RFC 3261 §17.1.1.2: "Any retransmissions of the final response that are received while in
      // the Completed state MUST cause the ACK to be re-passed to the transport layer for
      // retransmission, but the newly received response MUST NOT be passed up to the TU."
      failure: (tx) => {
        if (tx.#ackBytes !== undefined) tx.#send(tx.#ackBytes);
        return undefined;
      },
      TIMER_D: () => 'Terminated',
      transportError: (tx, { error }) => tx.#failTransport(error),
    },
    Accepted: {
      // RFC 6026 §8.4: in Accepted, any 2xx (retransmission, or from another fork) goes to the TU;
      // other responses are absorbed.
      success: (tx, { response }) => tx.#deliver(response, undefined),
      TIMER_M: () => 'Terminated',
    },
    Terminated: {},
  };

  #dispatch(event: IctEvent): void {
    const handler = handlerFor(InviteClientTransaction.#TABLE, this.#state, event.type);
    if (handler !== undefined) {
      const next = handler(this, event);
      if (next !== undefined && next !== this.#state) this.#enter(next);
    }
    this.#notifications.flush();
  }

  /** Entry actions of each state. */
  #enter(state: InviteClientState): void {
    this.#state = state;
    switch (state) {
      case 'Calling':
        break;
      case 'Proceeding':
        // RFC 3261 §17.1.1.2: in Proceeding the request is no longer retransmitted; Timer B only
        // guards Calling (figure 5).
        this.#timers.stop('TIMER_A');
        this.#timers.stop('TIMER_B');
        break;
      case 'Completed':
        this.#timers.stop('TIMER_A');
        this.#timers.stop('TIMER_B');
        // RFC 3261 §17.1.1.2: Timer D, ≥ 32 s unreliable, 0 s reliable (-> Terminated now).
        if (this.#times.TIMER_D === 0) this.#enter('Terminated');
        else this.#start('TIMER_D', this.#times.TIMER_D);
        break;
      case 'Accepted':
        this.#timers.stop('TIMER_A');
        this.#timers.stop('TIMER_B');
        // RFC 6026 §8.4: Timer M = 64*T1 keeps the transaction to catch 2xx retransmissions.
        this.#start('TIMER_M', this.#times.TIMER_M);
        break;
      case 'Terminated':
        // RFC 3261 §17.1.1.2: "The client transaction MUST be destroyed the instant it enters the
        // Terminated state."
        this.#timers.stopAll();
        this.#context.onTerminated(this);
        this.#notifications.push(() => this.#user.onTerminated?.());
        break;
    }
  }

  #deliver(response: SipResponse, next: InviteClientState | undefined): InviteClientState | undefined {
    this.#notifications.push(() => this.#user.onResponse(response));
    return next;
  }

  /**
   * RFC 3261 §17.1.1.2: a 300–699 response in Calling or Proceeding -> generate the ACK (§17.1.1.3),
   * pass the response to the TU, go to Completed.
   */
  #acknowledge(response: SipResponse): InviteClientState {
    this.#ackBytes = serializeMessage(createNon2xxAck(this.request, response));
    this.#send(this.#ackBytes);
    this.#notifications.push(() => this.#user.onResponse(response));
    return 'Completed';
  }

  /** RFC 3261 §17.1.4: inform the TU of the transport failure, go to Terminated. */
  #failTransport(error: AppError): InviteClientState {
    this.#notifications.push(() => this.#user.onTransportError(error));
    return 'Terminated';
  }

  #send(data: Buffer): void {
    sendOrReport(this.#context, data, this.destination, (error) => {
      if (this.#state !== 'Terminated') this.#dispatch({ type: 'transportError', error });
    });
  }

  #start(name: IctTimer, delayMs: number): void {
    this.#timers.start(name, delayMs, () => this.#dispatch({ type: name }));
  }
}
