import { randomBytes } from 'node:crypto';
import {
  createResponse,
  formatUri,
  serializeMessage,
  formatVia,
  type SipMessage,
  type SipRequest,
  type SipResponse,
  type Via,
} from '../message/index.js';
import { isReliable, type Endpoint } from '../transport/transport.js';
import { hasMagicCookie } from './branch.js';
import type { Clock } from './clock.js';
import { InviteClientTransaction } from './invite-client-transaction.js';
import { InviteServerTransaction } from './invite-server-transaction.js';
import { NonInviteClientTransaction } from './non-invite-client-transaction.js';
import { NonInviteServerTransaction } from './non-invite-server-transaction.js';
import { resolveTimerConfig, transactionTimers, type TimerConfig, type TransactionTimers } from './timers.js';
import type { ClientTransactionUser } from './transaction-user.js';
import { transportError, type TransactionContext } from './transitions.js';

/** A client transaction of either kind. */
export type ClientTransaction = InviteClientTransaction | NonInviteClientTransaction;
/** A server transaction of either kind; `respond(response)` sends through the state machine. */
export type ServerTransaction = InviteServerTransaction | NonInviteServerTransaction;

/** Options of the transaction layer: the transport hook and the TU's entry points. */
export interface TransactionLayerOptions {
  readonly clock: Clock;
  /** T1/T2/T4 overrides. @default { t1Ms: 500, t2Ms: 4000, t4Ms: 5000 } */
  readonly timers?: Partial<TimerConfig>;
  /** Hands one serialised message to the transport; rejects when it cannot be sent. */
  send(data: Buffer, destination: Endpoint): Promise<void>;
  /**
   * A new request (not a retransmission, not an ACK) with its new server transaction; the TU
   * attaches itself with `transaction.attach(user)` and answers with `transaction.respond()`.
   */
  onRequest(request: SipRequest, transaction: ServerTransaction, source: Endpoint): void;
  /** A response that matched no client transaction (e.g. a 2xx after Timer M; RFC 6026 §7.2). */
  onStrayResponse?(response: SipResponse, source: Endpoint): void;
  /** An ACK that matched no INVITE server transaction: normally the ACK for a 2xx (§13.3.1.4). */
  onStrayAck?(ack: SipRequest, source: Endpoint): void;
  /**
   * Where responses to a request go. @default `defaultResponseDestination` (RFC 3261 §18.2.2 and
   * RFC 3581).
   */
  responseDestination?(request: SipRequest, source: Endpoint): Endpoint;
  /**
   * An exception thrown by a TU callback; the transaction carries on. Justified beyond the brief:
   * listener exceptions are isolated (DESIGN), and this layer does no logging of its own.
   * @default process.emitWarning
   */
  onUserError?(error: unknown): void;
}

/**
 * RFC 3261 §18.2.2 / RFC 3581 §4: reliable transports answer over the connection the request came
 * on (its source). Over UDP: the `received` address (else the packet source), port from `rport`
 * when it has a value, the source port when `rport` is present without a value (the client asked
 * for symmetric response routing and nobody filled it in), else the sent-by port, else 5060.
 */
export function defaultResponseDestination(request: SipRequest, source: Endpoint): Endpoint {
  if (isReliable(source.protocol)) return source;
  const via = request.via[0];
  const received = via?.params.get('received');
  const address = received === undefined || received === null ? source.address : received.replace(/^\[|\]$/g, '');
  const rport = via?.params.get('rport');
  let port: number;
  if (rport === null) port = source.port;
  else if (rport !== undefined) port = Number(rport);
  else port = via?.port ?? 5060;
  // NOTE(deviation): a `maddr` in the Via (multicast responses, §18.2.2) is ignored; trunks do not use it.
  return { protocol: source.protocol, address, port };
}

const SEP = '\u0000';

/** §17.1.3: a client transaction is identified by its branch and the CSeq method. */
function clientKey(branch: string, method: string): string {
  return branch + SEP + method;
}

function sentBy(via: Via): string {
  return `${via.host.toLowerCase()}:${via.port ?? ''}`;
}

function tag(params: ReadonlyMap<string, string | null>): string {
  return params.get('tag') ?? '';
}

/**
 * §17.2.3 server transaction key for `request` as if its method were `method`. With the magic
 * cookie: branch + sent-by + method. Without (RFC 2543 peers): Request-URI, To tag, From tag,
 * Call-ID, CSeq and top Via. NOTE(deviation): the Request-URI and Via are compared in their
 * re-serialised form, not with the full §19.1.4 URI equality rules; retransmissions are
 * byte-identical in practice.
 */
function serverKey(request: SipRequest, method: string): string {
  const via = request.via[0] as Via;
  if (hasMagicCookie(via.branch)) return via.branch + SEP + sentBy(via) + SEP + method;
  return [
    '2543',
    formatUri(request.uri),
    tag(request.to.params),
    tag(request.from.params),
    request.callId,
    request.cseq.seq,
    method,
    formatVia(via),
  ].join(SEP);
}

/**
 * §17.2.3 (RFC 2543 ACK): "the Request-URI, From tag, Call-ID, CSeq number (not the method), and
 * top Via header field match those of the INVITE ... and the To tag of the ACK matches the To tag
 * of the response sent by the server transaction" — the last part is checked after the lookup.
 */
function legacyAckKey(request: SipRequest): string {
  const via = request.via[0] as Via;
  return [
    '2543-ack',
    formatUri(request.uri),
    tag(request.from.params),
    request.callId,
    request.cseq.seq,
    formatVia(via),
  ].join(SEP);
}

function defaultUserError(error: unknown): void {
  process.emitWarning(error instanceof Error ? error : new Error(String(error)), { type: 'TransactionUserError' });
}

/**
 * The transaction layer (RFC 3261 §17): creates client transactions for outgoing requests,
 * matches incoming responses (§17.1.3) and requests (§17.2.3) to transactions by Map lookup,
 * creates server transactions for new requests, and forgets transactions when they terminate.
 */
export class TransactionLayer {
  readonly timerConfig: TimerConfig;
  readonly #options: TransactionLayerOptions;
  readonly #unreliable: TransactionTimers;
  readonly #reliable: TransactionTimers;
  readonly #clients = new Map<string, ClientTransaction>();
  readonly #servers = new Map<string, ServerTransaction>();
  readonly #legacyAcks = new Map<string, InviteServerTransaction>();
  readonly #responseDestination: (request: SipRequest, source: Endpoint) => Endpoint;
  readonly #onUserError: (error: unknown) => void;
  readonly #send: (data: Buffer, destination: Endpoint) => Promise<void>;
  #closed = false;

  constructor(options: TransactionLayerOptions) {
    this.#options = options;
    this.timerConfig = resolveTimerConfig(options.timers);
    this.#unreliable = transactionTimers(this.timerConfig, false);
    this.#reliable = transactionTimers(this.timerConfig, true);
    this.#responseDestination = options.responseDestination ?? defaultResponseDestination;
    this.#onUserError = options.onUserError ?? defaultUserError;
    this.#send = (data, destination) => options.send(data, destination);
  }

  /** Live transactions, for metrics and tests. */
  get size(): { readonly clients: number; readonly servers: number } {
    return { clients: this.#clients.size, servers: this.#servers.size };
  }

  /**
   * Starts a client transaction for `request` (not ACK) and sends it. The top Via must carry a
   * `z9hG4bK` branch (see `newBranch()`). Throws for a programming error (ACK, no magic cookie,
   * a branch+method already in use, closed layer).
   */
  sendRequest(request: SipRequest, destination: Endpoint, user: ClientTransactionUser): ClientTransaction {
    if (this.#closed) throw new Error('TransactionLayer is closed');
    // RFC 3261 §17.1.1.3 / §13.2.2.4: ACK is never its own client transaction (non-2xx ACKs are
    // sent by the INVITE client transaction, 2xx ACKs by the TU through sendStateless).
    if (request.method === 'ACK') throw new Error('ACK is not sent in a client transaction; use sendStateless');
    const branch = request.via[0]?.branch;
    if (!hasMagicCookie(branch)) throw new Error(`request top Via needs a z9hG4bK branch, got ${String(branch)}`);
    const key = clientKey(branch, request.method);
    if (this.#clients.has(key)) throw new Error(`a ${request.method} client transaction with branch ${branch} exists`);
    const init = {
      request,
      destination,
      user,
      timers: this.#timersFor(destination),
      context: this.#context((transaction) => this.#forget(this.#clients, key, transaction)),
    };
    const transaction: ClientTransaction =
      request.method === 'INVITE' ? new InviteClientTransaction(init) : new NonInviteClientTransaction(init);
    this.#clients.set(key, transaction);
    transaction.start();
    return transaction;
  }

  /**
   * Sends a message outside any transaction (the ACK for a 2xx, §13.2.2.4; 2xx retransmissions
   * after the server transaction ended; stateless replies). Rejects with SIP_TRANSPORT_ERROR.
   */
  async sendStateless(message: SipMessage, destination: Endpoint): Promise<void> {
    try {
      await this.#options.send(serializeMessage(message), destination);
    } catch (error) {
      throw transportError(error, destination);
    }
  }

  /** Delivers a message from the transport (§17.1.3 for responses, §17.2.3 for requests). */
  receive(message: SipMessage, source: Endpoint): void {
    if (this.#closed) return;
    if (message.kind === 'response') this.#receiveResponse(message, source);
    else if (message.method === 'ACK') this.#receiveAck(message, source);
    else this.#receiveRequest(message, source);
  }

  /**
   * RFC 3261 §9.2: the INVITE server transaction a CANCEL refers to (same matching as §17.2.3 with
   * the INVITE method), for the UA core to answer it with 487. Undefined when none is live.
   */
  cancelTarget(cancel: SipRequest): InviteServerTransaction | undefined {
    const target = this.#servers.get(serverKey(cancel, 'INVITE'));
    return target instanceof InviteServerTransaction ? target : undefined;
  }

  /** Terminates every transaction (shutdown); TUs get onTerminated only. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const transaction of [...this.#clients.values(), ...this.#servers.values()]) transaction.terminate();
    this.#clients.clear();
    this.#servers.clear();
    this.#legacyAcks.clear();
  }

  #receiveResponse(response: SipResponse, source: Endpoint): void {
    // RFC 3261 §17.1.3: top Via branch + CSeq method identify the client transaction (the method
    // separates a CANCEL from the INVITE sharing its branch).
    const branch = response.via[0]?.branch;
    const transaction = branch === undefined ? undefined : this.#clients.get(clientKey(branch, response.cseq.method));
    if (transaction !== undefined) transaction.receiveResponse(response);
    else this.#notify(() => this.#options.onStrayResponse?.(response, source));
  }

  #receiveAck(ack: SipRequest, source: Endpoint): void {
    // RFC 3261 §17.2.3: an ACK matches the INVITE server transaction ("the method of the request
    // that created the transaction" is INVITE); RFC 2543 ACKs match with the To tag of the response.
    let transaction: InviteServerTransaction | undefined;
    if (hasMagicCookie(ack.via[0]?.branch)) {
      const found = this.#servers.get(serverKey(ack, 'INVITE'));
      if (found instanceof InviteServerTransaction) transaction = found;
    } else {
      const found = this.#legacyAcks.get(legacyAckKey(ack));
      const responseTag = found?.finalResponse?.to.params.get('tag');
      if (found !== undefined && responseTag !== undefined && responseTag === ack.to.params.get('tag'))
        transaction = found;
    }
    if (transaction !== undefined && transaction.receiveAck(ack)) return;
    this.#notify(() => this.#options.onStrayAck?.(ack, source));
  }

  #receiveRequest(request: SipRequest, source: Endpoint): void {
    const key = serverKey(request, request.method);
    const existing = this.#servers.get(key);
    if (existing !== undefined) {
      existing.receiveRequest();
      return;
    }
    const legacyKey =
      request.method === 'INVITE' && !hasMagicCookie(request.via[0]?.branch) ? legacyAckKey(request) : undefined;
    const init = {
      request,
      responseDestination: this.#responseDestination(request, source),
      timers: this.#timersFor(source),
      context: this.#context((transaction) => {
        this.#forget(this.#servers, key, transaction);
        if (legacyKey !== undefined) this.#forget(this.#legacyAcks, legacyKey, transaction);
      }),
    };
    // RFC 3261 §17.2.3: a request that matches no transaction creates a server transaction —
    // INVITE or non-INVITE; a CANCEL gets its own (its method differs from the INVITE's).
    const transaction: ServerTransaction =
      request.method === 'INVITE' ? new InviteServerTransaction(init) : new NonInviteServerTransaction(init);
    this.#servers.set(key, transaction);
    if (legacyKey !== undefined) this.#legacyAcks.set(legacyKey, transaction as InviteServerTransaction);
    transaction.start();
    try {
      this.#options.onRequest(request, transaction, source);
    } catch (error) {
      this.#onUserError(error);
      // NOTE(deviation): a TU that threw leaves the request unanswered; answer 500 so the server
      // transaction ends (an INVITE server transaction has no timeout of its own in Proceeding).
      if (transaction.finalResponse === undefined && transaction.state !== 'Terminated') {
        transaction.respond(createResponse(request, 500, { toTag: randomBytes(6).toString('hex') }));
      }
    }
  }

  #timersFor(endpoint: Endpoint): TransactionTimers {
    return isReliable(endpoint.protocol) ? this.#reliable : this.#unreliable;
  }

  #context(onTerminated: (transaction: object) => void): TransactionContext {
    return { clock: this.#options.clock, send: this.#send, onTerminated, onUserError: this.#onUserError };
  }

  /** Removes `key` if it still maps to `transaction` (terminated transactions leave the maps). */
  #forget<T>(map: Map<string, T>, key: string, transaction: object): void {
    if (map.get(key) === transaction) map.delete(key);
  }

  #notify(callback: () => void): void {
    try {
      callback();
    } catch (error) {
      this.#onUserError(error);
    }
  }
}
