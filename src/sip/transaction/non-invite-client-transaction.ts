import type { AppError } from '../../errors.js';
import { serializeMessage, type SipRequest, type SipResponse } from '../message/index.js';
import type { Endpoint } from '../transport/transport.js';
import { nextCappedInterval, type TransactionTimers } from './timers.js';
import type { ClientTransactionUser } from './transaction-user.js';
import {
  handlerFor,
  NamedTimers,
  NotificationQueue,
  sendOrReport,
  type TransactionContext,
  type TransitionTable,
} from './transitions.js';

/** RFC 3261 §17.1.2 (figure 6). */
export type NonInviteClientState = 'Trying' | 'Proceeding' | 'Completed' | 'Terminated';

type NictEvent =
  | { readonly type: 'provisional'; readonly response: SipResponse }
  | { readonly type: 'final'; readonly response: SipResponse }
  | { readonly type: 'TIMER_E' }
  | { readonly type: 'TIMER_F' }
  | { readonly type: 'TIMER_K' }
  | { readonly type: 'transportError'; readonly error: AppError };

type NictTimer = 'TIMER_E' | 'TIMER_F' | 'TIMER_K';

export interface NonInviteClientTransactionInit {
  /** Any request but INVITE and ACK; its top Via carries the transaction's branch. */
  readonly request: SipRequest;
  readonly destination: Endpoint;
  readonly user: ClientTransactionUser;
  readonly timers: TransactionTimers;
  readonly context: TransactionContext;
}

/** The non-INVITE client transaction (RFC 3261 §17.1.2). Created and started by the layer. */
export class NonInviteClientTransaction {
  readonly method: string;
  readonly request: SipRequest;
  readonly destination: Endpoint;
  readonly #user: ClientTransactionUser;
  readonly #times: TransactionTimers;
  readonly #context: TransactionContext;
  readonly #timers: NamedTimers<NictTimer>;
  readonly #notifications: NotificationQueue;
  readonly #requestBytes: Buffer;
  #state: NonInviteClientState = 'Trying';
  #timerEInterval = 0;
  #started = false;

  constructor(init: NonInviteClientTransactionInit) {
    const method = init.request.method;
    if (method === 'INVITE' || method === 'ACK') throw new Error(`NonInviteClientTransaction for ${method}`);
    this.method = method;
    this.request = init.request;
    this.destination = init.destination;
    this.#user = init.user;
    this.#times = init.timers;
    this.#context = init.context;
    this.#timers = new NamedTimers(init.context.clock);
    this.#notifications = new NotificationQueue((error) => init.context.onUserError(error, this));
    this.#requestBytes = serializeMessage(init.request);
  }

  get state(): NonInviteClientState {
    return this.#state;
  }

  get branch(): string {
    return this.request.via[0]?.branch ?? '';
  }

  /** Sends the request and starts Timers E and F (RFC 3261 §17.1.2.2). Called once by the layer. */
  start(): void {
    if (this.#started) throw new Error('NonInviteClientTransaction already started');
    this.#started = true;
    this.#send(this.#requestBytes);
    // RFC 3261 §17.1.2.2: Timer F = 64*T1 always; Timer E = T1 on unreliable transports.
    this.#start('TIMER_F', this.#times.TIMER_F);
    if (this.#times.TIMER_E !== undefined) {
      this.#timerEInterval = this.#times.TIMER_E;
      this.#start('TIMER_E', this.#timerEInterval);
    }
  }

  /** A response matched to this transaction by the layer (§17.1.3). */
  receiveResponse(response: SipResponse): void {
    this.#dispatch({ type: response.status < 200 ? 'provisional' : 'final', response });
  }

  /** Ends the transaction at once without telling the TU anything but onTerminated (shutdown). */
  terminate(): void {
    if (this.#state === 'Terminated') return;
    this.#enter('Terminated');
    this.#notifications.flush();
  }

  static readonly #TABLE: TransitionTable<NonInviteClientState, NictEvent, NonInviteClientTransaction> = {
    Trying: {
      // RFC 3261 §17.1.2.2: in Trying, Timer E is reset with MIN(2*previous, T2).
      TIMER_E: (tx) => tx.#retransmit(nextCappedInterval(tx.#timerEInterval, tx.#times.t2Ms)),
      TIMER_F: (tx) => tx.#timeout(),
      provisional: (tx, { response }) => tx.#deliver(response, 'Proceeding'),
      final: (tx, { response }) => tx.#deliver(response, 'Completed'),
      transportError: (tx, { error }) => tx.#failTransport(error),
    },
    Proceeding: {
      // RFC 3261 §17.1.2.2: "If Timer E fires while in the Proceeding state, the request MUST be
      // passed to the transport layer for retransmission, and Timer E MUST be reset with a value
      // of T2 seconds."
      TIMER_E: (tx) => tx.#retransmit(tx.#times.t2Ms),
      TIMER_F: (tx) => tx.#timeout(),
      provisional: (tx, { response }) => tx.#deliver(response, undefined),
      final: (tx, { response }) => tx.#deliver(response, 'Completed'),
      transportError: (tx, { error }) => tx.#failTransport(error),
    },
    // RFC 3261 §17.1.2.2: Completed buffers response retransmissions (absorbed: no handler).
    Completed: {
      TIMER_K: () => 'Terminated',
    },
    Terminated: {},
  };

  #dispatch(event: NictEvent): void {
    const handler = handlerFor(NonInviteClientTransaction.#TABLE, this.#state, event.type);
    if (handler !== undefined) {
      const next = handler(this, event);
      if (next !== undefined && next !== this.#state) this.#enter(next);
    }
    this.#notifications.flush();
  }

  #enter(state: NonInviteClientState): void {
    this.#state = state;
    switch (state) {
      case 'Trying':
      case 'Proceeding':
        break;
      case 'Completed':
        this.#timers.stop('TIMER_E');
        this.#timers.stop('TIMER_F');
        // RFC 3261 §17.1.2.2: Timer K = T4 unreliable, 0 reliable (-> Terminated now).
        if (this.#times.TIMER_K === 0) this.#enter('Terminated');
        else this.#start('TIMER_K', this.#times.TIMER_K);
        break;
      case 'Terminated':
        this.#timers.stopAll();
        this.#context.onTerminated(this);
        this.#notifications.push(() => this.#user.onTerminated?.());
        break;
    }
  }

  #retransmit(nextIntervalMs: number): undefined {
    this.#send(this.#requestBytes);
    this.#timerEInterval = nextIntervalMs;
    this.#start('TIMER_E', nextIntervalMs);
    return undefined;
  }

  /** RFC 3261 §17.1.2.2: Timer F fires in Trying or Proceeding -> inform the TU, Terminated. */
  #timeout(): NonInviteClientState {
    this.#notifications.push(() => this.#user.onTimeout());
    return 'Terminated';
  }

  #deliver(response: SipResponse, next: NonInviteClientState | undefined): NonInviteClientState | undefined {
    this.#notifications.push(() => this.#user.onResponse(response));
    return next;
  }

  /** RFC 3261 §17.1.4: inform the TU of the transport failure, go to Terminated. */
  #failTransport(error: AppError): NonInviteClientState {
    this.#notifications.push(() => this.#user.onTransportError(error));
    return 'Terminated';
  }

  #send(data: Buffer): void {
    sendOrReport(this.#context, data, this.destination, (error) => {
      if (this.#state !== 'Terminated') this.#dispatch({ type: 'transportError', error });
    });
  }

  #start(name: NictTimer, delayMs: number): void {
    this.#timers.start(name, delayMs, () => this.#dispatch({ type: name }));
  }
}
