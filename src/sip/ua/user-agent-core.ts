import { randomBytes } from 'node:crypto';
import type { AppError } from '../../errors.js';
import {
  createResponse,
  parseMessage,
  reasonPhrase,
  serializeMessage,
  type HeaderField,
  type ParseLimits,
  type SipParseError,
  type SipMessage,
  type SipRequest,
  type SipResponse,
} from '../message/index.js';
import {
  TransactionLayer,
  type Clock,
  type ClientTransaction,
  type ClientTransactionUser,
  type ServerTransaction,
  type TimerConfig,
} from '../transaction/index.js';
import { responseDestination, stampReceived } from '../transport/index.js';
import type { Endpoint, InboundData } from '../transport/transport.js';
import type { IncomingRequest, RespondOptions, SourceVerdict } from './incoming-request.js';
import { checkRequest, type RequestChecks } from './request-checks.js';

/** Something the core noticed that its owner may want to log or count. Never personal data. */
export type CoreEvent =
  | {
      readonly type: 'parse-error';
      readonly source: Endpoint;
      readonly error: SipParseError;
      readonly answered: boolean;
    }
  | { readonly type: 'source-dropped'; readonly source: Endpoint }
  | { readonly type: 'request-rejected'; readonly source: Endpoint; readonly method: string; readonly status: number }
  | { readonly type: 'transport-error'; readonly destination: Endpoint; readonly error: AppError }
  | { readonly type: 'user-error'; readonly error: unknown };

export interface UserAgentCoreOptions {
  /** Hands bytes to the transport layer. */
  readonly send: (data: Buffer, destination: Endpoint) => Promise<void>;
  readonly clock: Clock;
  readonly timers?: Partial<TimerConfig>;
  readonly limits?: Partial<ParseLimits>;
  /** The RFC 3261 §8.2 checks run on every request before the user sees it. */
  readonly checks: RequestChecks;
  /** ACL verdict per source, before parsing. @default accept everything */
  readonly screenSource?: (source: Endpoint) => SourceVerdict;
  /** Every request that passed the ACL and the checks (not ACK for 2xx, not CANCEL). */
  readonly onRequest: (incoming: IncomingRequest) => void;
  /** ACKs for 2xx responses (they form their own transaction, §17.1.1.3 / §13.2.2.4). */
  readonly onAck?: (ack: SipRequest, source: Endpoint) => void;
  /** Called when a CANCEL matched a pending INVITE (after the core answered the CANCEL 200). */
  readonly onCancel?: (invite: SipRequest, cancel: SipRequest) => void;
  readonly onEvent?: (event: CoreEvent) => void;
  /** Value of the Server header. @default 'callrec' */
  readonly serverName?: string;
}

/** Counters of the core, for /metrics and tests. */
export interface CoreStats {
  received: number;
  parseErrors: number;
  answeredMalformed: number;
  droppedSources: number;
  forbidden: number;
  rejected: number;
}

const REQUIRED_FOR_RESPONSE = ['Via', 'From', 'To', 'Call-ID', 'CSeq'];

/**
 * The user-agent core: the only SIP API the B2BUA uses. It turns inbound bytes into requests
 * (parsing, RFC 3581 stamping, ACL, §8.2 checks, CANCEL), hands them to its user with a way to
 * respond, and sends requests through client transactions. Transactions and transports stay
 * hidden behind it.
 */
export class UserAgentCore {
  readonly #options: UserAgentCoreOptions;
  readonly #transactions: TransactionLayer;
  readonly #stats: CoreStats = {
    received: 0,
    parseErrors: 0,
    answeredMalformed: 0,
    droppedSources: 0,
    forbidden: 0,
    rejected: 0,
  };
  #closed = false;

  constructor(options: UserAgentCoreOptions) {
    this.#options = options;
    this.#transactions = new TransactionLayer({
      clock: options.clock,
      ...(options.timers === undefined ? {} : { timers: options.timers }),
      send: options.send,
      onRequest: (request, transaction, source) => this.#onRequest(request, transaction, source),
      onStrayAck: (ack, source) => options.onAck?.(ack, source),
      // One implementation of RFC 3261 §18.2.2 / RFC 3581 for stateful and stateless answers
      responseDestination: (request, source) => {
        const top = request.via[0];
        return top === undefined ? source : responseDestination(top, source);
      },
      onUserError: (error) => this.#emit({ type: 'user-error', error }),
    });
  }

  /** Wire this to the transport layer's `onData`. Never throws. */
  receive(inbound: InboundData): void {
    if (this.#closed) return;
    this.#stats.received++;
    const { source } = inbound;
    const verdict = this.#options.screenSource?.(source) ?? 'accept';
    if (verdict === 'drop') {
      this.#stats.droppedSources++;
      this.#emit({ type: 'source-dropped', source });
      return;
    }
    const parsed = parseMessage(inbound.data, {
      datagram: source.protocol === 'udp',
      ...(this.#options.limits === undefined ? {} : { limits: this.#options.limits }),
    });
    if (!parsed.ok) {
      this.#stats.parseErrors++;
      // Peers get a 400 where one can be addressed; a non-peer gets nothing at all.
      const answered = verdict === 'accept' && this.#answerMalformed(parsed.error, source);
      if (answered) this.#stats.answeredMalformed++;
      this.#emit({ type: 'parse-error', source, error: parsed.error, answered });
      return;
    }
    const message = parsed.message;
    if (message.kind === 'response') {
      if (verdict === 'accept') this.#transactions.receive(message, source);
      return;
    }
    const request = stampReceived(message, source);
    if (verdict === 'forbid') {
      this.#stats.forbidden++;
      if (request.method !== 'ACK') this.#respondStatelessly(request, source, 403, []);
      return;
    }
    if (request.cseq.method !== request.method) {
      // No transaction can answer it (its responses would name another method): 501/400 statelessly.
      const rejection = checkRequest(request, this.#options.checks);
      this.#stats.rejected++;
      const status = rejection?.status ?? 400;
      this.#emit({ type: 'request-rejected', source, method: request.method, status });
      if (request.method !== 'ACK') this.#respondStatelessly(request, source, status, rejection?.headers ?? []);
      return;
    }
    this.#transactions.receive(request, source);
  }

  /** Sends a request through a new client transaction. */
  sendRequest(request: SipRequest, destination: Endpoint, user: ClientTransactionUser): ClientTransaction {
    return this.#transactions.sendRequest(request, destination, user);
  }

  /** Sends a message outside any transaction: ACK for 2xx, 2xx retransmissions (§13.3.1.4). */
  sendStateless(message: SipMessage, destination: Endpoint): Promise<void> {
    return this.#transactions.sendStateless(message, destination);
  }

  /** Live transactions (client + server), for health checks and leak tests. */
  get transactionCount(): number {
    const { clients, servers } = this.#transactions.size;
    return clients + servers;
  }

  stats(): Readonly<CoreStats> {
    return { ...this.#stats };
  }

  /** Stops accepting input and ends all transactions. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#transactions.close();
  }

  #onRequest(request: SipRequest, transaction: ServerTransaction, source: Endpoint): void {
    const toTag = randomBytes(6).toString('hex');
    const respond = (status: number, options: RespondOptions = {}): SipResponse => {
      const response = createResponse(request, status, {
        toTag: options.toTag ?? toTag,
        headers: [['Server', this.#options.serverName ?? 'callrec'], ...(options.headers ?? [])],
        ...(options.reason === undefined ? {} : { reason: options.reason }),
        ...(options.body === undefined ? {} : { body: options.body }),
      });
      transaction.respond(response);
      return response;
    };
    transaction.attach({
      onTransportError: (error) => this.#emit({ type: 'transport-error', destination: source, error }),
    });

    if (request.method === 'CANCEL') {
      this.#onCancel(request, respond);
      return;
    }
    const rejection = checkRequest(request, this.#options.checks);
    if (rejection !== undefined) {
      this.#stats.rejected++;
      this.#emit({ type: 'request-rejected', source, method: request.method, status: rejection.status });
      respond(rejection.status, {
        headers: rejection.headers,
        ...(rejection.reason === undefined ? {} : { reason: rejection.reason }),
      });
      return;
    }
    try {
      this.#options.onRequest({
        request,
        source,
        respond,
        toTag,
        responseDestination: transaction.responseDestination,
      });
    } catch (error) {
      this.#emit({ type: 'user-error', error });
      respond(500);
    }
  }

  /** RFC 3261 §9.2: 200 to a CANCEL that matches a pending INVITE, 481 otherwise. */
  #onCancel(cancel: SipRequest, respond: (status: number) => SipResponse): void {
    const invite = this.#transactions.cancelTarget(cancel);
    if (invite === undefined) {
      respond(481);
      return;
    }
    respond(200);
    this.#options.onCancel?.(invite.request, cancel);
  }

  /**
   * A 400 (or 505/513) for a request that failed to parse, built from the raw header fields so
   * the sender can match it (§8.2.6.2); only when the essentials were at least split out.
   */
  #answerMalformed(error: SipParseError, source: Endpoint): boolean {
    if (error.kind !== 'request' || error.method === 'ACK' || error.headers === undefined) return false;
    const copied: HeaderField[] = [];
    for (const name of REQUIRED_FOR_RESPONSE) {
      const fields = error.headers.filter((h) => h.name === name);
      if (fields.length === 0 || (name !== 'Via' && fields.length > 1)) return false;
      copied.push(...fields);
    }
    const detail = error.message.replace(/[^\x20-\x7e]/g, '?').slice(0, 100);
    const reason = `${reasonPhrase(error.suggestedStatus)} (${detail})`;
    let text = `SIP/2.0 ${error.suggestedStatus} ${reason}\r\n`;
    for (const h of copied) text += `${h.name}: ${h.value}\r\n`;
    text += `Server: ${this.#options.serverName ?? 'callrec'}\r\nContent-Length: 0\r\n\r\n`;
    this.#sendQuietly(Buffer.from(text, 'utf8'), source);
    return true;
  }

  /** A response without a transaction (403 to non-peers: nothing is kept for them). */
  #respondStatelessly(
    request: SipRequest,
    source: Endpoint,
    status: number,
    headers: ReadonlyArray<readonly [string, string]>,
  ): void {
    const response = createResponse(request, status, {
      toTag: randomBytes(6).toString('hex'),
      headers: [['Server', this.#options.serverName ?? 'callrec'], ...headers],
    });
    const top = request.via[0];
    this.#sendQuietly(serializeMessage(response), top === undefined ? source : responseDestination(top, source));
  }

  #sendQuietly(data: Buffer, destination: Endpoint): void {
    this.#options.send(data, destination).catch((error: AppError) => {
      this.#emit({ type: 'transport-error', destination, error });
    });
  }

  #emit(event: CoreEvent): void {
    try {
      this.#options.onEvent?.(event);
    } catch {
      // An observer must never break the SIP path.
    }
  }
}
