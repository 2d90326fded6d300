import type { AppError } from '../../errors.js';
import { serializeMessage, type SipRequest, type SipResponse } from '../message/index.js';
import type { Endpoint } from '../transport/transport.js';
import { assertResponseTo } from './invite-server-transaction.js';
import type { TransactionTimers } from './timers.js';
import type { ServerTransactionUser } from './transaction-user.js';
import {
  handlerFor,
  NamedTimers,
  NotificationQueue,
  sendOrReport,
  type TransactionContext,
  type TransitionTable,
} from './transitions.js';

/** RFC 3261 §17.2.2 (figure 8). */
export type NonInviteServerState = 'Trying' | 'Proceeding' | 'Completed' | 'Terminated';

type NistEvent =
  | { readonly type: 'request' }
  | { readonly type: 'provisional'; readonly response: SipResponse }
  | { readonly type: 'final'; readonly response: SipResponse }
  | { readonly type: 'TIMER_J' }
  | { readonly type: 'transportError'; readonly error: AppError };

export interface NonInviteServerTransactionInit {
  readonly request: SipRequest;
  /** Where responses go (RFC 3261 §18.2.2), fixed when the request arrives. */
  readonly responseDestination: Endpoint;
  readonly timers: TransactionTimers;
  readonly context: TransactionContext;
}

/** The non-INVITE server transaction (RFC 3261 §17.2.2). Created by the layer. */
export class NonInviteServerTransaction {
  readonly method: string;
  readonly request: SipRequest;
  readonly responseDestination: Endpoint;
  readonly #times: TransactionTimers;
  readonly #context: TransactionContext;
  readonly #timers: NamedTimers<'TIMER_J'>;
  readonly #notifications: NotificationQueue;
  #user: ServerTransactionUser | undefined;
  #state: NonInviteServerState = 'Trying';
  #lastBytes: Buffer | undefined;
  #finalResponse: SipResponse | undefined;

  constructor(init: NonInviteServerTransactionInit) {
    const method = init.request.method;
    if (method === 'INVITE' || method === 'ACK') throw new Error(`NonInviteServerTransaction for ${method}`);
    this.method = method;
    this.request = init.request;
    this.responseDestination = init.responseDestination;
    this.#times = init.timers;
    this.#context = init.context;
    this.#timers = new NamedTimers(init.context.clock);
    this.#notifications = new NotificationQueue((error) => init.context.onUserError(error, this));
  }

  get state(): NonInviteServerState {
    return this.#state;
  }

  get branch(): string | undefined {
    return this.request.via[0]?.branch;
  }

  get finalResponse(): SipResponse | undefined {
    return this.#finalResponse;
  }

  /** Attaches the TU (once), normally inside the layer's `onRequest`. */
  attach(user: ServerTransactionUser): void {
    if (this.#user !== undefined) throw new Error('NonInviteServerTransaction already has a user');
    this.#user = user;
  }

  /** Nothing to start (no timer runs in Trying); kept for symmetry with the other machines. */
  start(): void {}

  /**
   * Sends a response from the TU. Returns false when the state machine discards it (RFC 3261
   * §17.2.2: "any other final responses passed by the TU ... MUST be discarded" in Completed).
   */
  respond(response: SipResponse): boolean {
    assertResponseTo(this.request, response);
    return this.#dispatch({ type: response.status < 200 ? 'provisional' : 'final', response });
  }

  /** A retransmission of the request, matched by the layer (§17.2.3). */
  receiveRequest(): void {
    this.#dispatch({ type: 'request' });
  }

  /** Ends the transaction at once without telling the TU anything but onTerminated (shutdown). */
  terminate(): void {
    if (this.#state === 'Terminated') return;
    this.#enter('Terminated');
    this.#notifications.flush();
  }

  static readonly #TABLE: TransitionTable<NonInviteServerState, NistEvent, NonInviteServerTransaction> = {
    // RFC 3261 §17.2.2: in Trying, request retransmissions are discarded (no handler).
    Trying: {
      provisional: (tx, { response }) => tx.#sendResponse(response, 'Proceeding'),
      final: (tx, { response }) => tx.#sendFinal(response),
    },
    Proceeding: {
      // RFC 3261 §17.2.2: a retransmission in Proceeding -> resend the most recent provisional.
      request: (tx) => tx.#resendLast(),
      provisional: (tx, { response }) => tx.#sendResponse(response, undefined),
      final: (tx, { response }) => tx.#sendFinal(response),
      transportError: (tx, { error }) => tx.#failTransport(error),
    },
    Completed: {
      // RFC 3261 §17.2.2: a retransmission in Completed -> resend the final response.
      request: (tx) => tx.#resendLast(),
      TIMER_J: () => 'Terminated',
      transportError: (tx, { error }) => tx.#failTransport(error),
    },
    Terminated: {},
  };

  #dispatch(event: NistEvent): boolean {
    const handler = handlerFor(NonInviteServerTransaction.#TABLE, this.#state, event.type);
    if (handler !== undefined) {
      const next = handler(this, event);
      if (next !== undefined && next !== this.#state) this.#enter(next);
    }
    this.#notifications.flush();
    return handler !== undefined;
  }

  #enter(state: NonInviteServerState): void {
    this.#state = state;
    switch (state) {
      case 'Trying':
      case 'Proceeding':
        break;
      case 'Completed':
        // RFC 3261 §17.2.2: Timer J = 64*T1 unreliable, 0 reliable (-> Terminated now).
        if (this.#times.TIMER_J === 0) this.#enter('Terminated');
        else this.#timers.start('TIMER_J', this.#times.TIMER_J, () => this.#dispatch({ type: 'TIMER_J' }));
        break;
      case 'Terminated':
        this.#timers.stopAll();
        this.#context.onTerminated(this);
        this.#notifications.push(() => this.#user?.onTerminated?.());
        break;
    }
  }

  #sendResponse(response: SipResponse, next: NonInviteServerState | undefined): NonInviteServerState | undefined {
    this.#lastBytes = serializeMessage(response);
    this.#send(this.#lastBytes);
    return next;
  }

  #sendFinal(response: SipResponse): NonInviteServerState {
    this.#finalResponse = response;
    this.#sendResponse(response, undefined);
    return 'Completed';
  }

  #resendLast(): undefined {
    if (this.#lastBytes !== undefined) this.#send(this.#lastBytes);
    return undefined;
  }

  /** RFC 3261 §17.2.4: inform the TU of the transport failure, go to Terminated. */
  #failTransport(error: AppError): NonInviteServerState {
    this.#notifications.push(() => this.#user?.onTransportError(error));
    return 'Terminated';
  }

  #send(data: Buffer): void {
    sendOrReport(this.#context, data, this.responseDestination, (error) => {
      if (this.#state !== 'Terminated') this.#dispatch({ type: 'transportError', error });
    });
  }
}
