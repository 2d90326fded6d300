/** Test doubles for the transaction layer: a send recorder, message builders, TU recorders. */
import type { AppError } from '../../../../src/errors.js';
import {
  buildRequest,
  createResponse,
  parseMessage,
  type SipMessage,
  type SipRequest,
  type SipResponse,
} from '../../../../src/sip/message/index.js';
import type { Endpoint } from '../../../../src/sip/transport/transport.js';
import {
  FakeClock,
  newBranch,
  TransactionLayer,
  type ClientTransactionUser,
  type ServerTransaction,
  type ServerTransactionUser,
  type TransactionLayerOptions,
} from '../../../../src/sip/transaction/index.js';

export const UDP_PEER: Endpoint = { protocol: 'udp', address: '192.0.2.20', port: 5060 };
export const TCP_PEER: Endpoint = { protocol: 'tcp', address: '192.0.2.20', port: 5060 };

export interface SentMessage {
  readonly at: number;
  readonly message: SipMessage;
  readonly destination: Endpoint;
}

/** Collects what `send` was called with (parsed back), at which virtual time; can fail sends. */
export class SendRecorder {
  readonly sent: SentMessage[] = [];
  readonly #clock: FakeClock;
  #failures: unknown[] = [];

  constructor(clock: FakeClock) {
    this.#clock = clock;
  }

  readonly send = (data: Buffer, destination: Endpoint): Promise<void> => {
    const parsed = parseMessage(data);
    if (!parsed.ok) throw new Error(`sent an unparseable message: ${parsed.error.message}`);
    this.sent.push({ at: this.#clock.now(), message: parsed.message, destination });
    const failure = this.#failures.shift();
    return failure === undefined ? Promise.resolve() : Promise.reject(failure);
  };

  /** Makes the next `count` sends reject with `error`. */
  failNext(count = 1, error: unknown = new Error('ECONNRESET')): void {
    for (let i = 0; i < count; i++) this.#failures.push(error);
  }

  requests(method?: string): Array<SentMessage & { readonly message: SipRequest }> {
    return this.sent.filter(
      (s): s is SentMessage & { message: SipRequest } =>
        s.message.kind === 'request' && (method === undefined || s.message.method === method),
    );
  }

  responses(status?: number): Array<SentMessage & { readonly message: SipResponse }> {
    return this.sent.filter(
      (s): s is SentMessage & { message: SipResponse } =>
        s.message.kind === 'response' && (status === undefined || s.message.status === status),
    );
  }

  /** Send times of requests of `method`. */
  requestTimes(method: string): number[] {
    return this.requests(method).map((s) => s.at);
  }

  /** Send times of responses with `status`. */
  responseTimes(status: number): number[] {
    return this.responses(status).map((s) => s.at);
  }
}

export interface RequestInit {
  readonly method?: string;
  /** Branch of the top Via; `null` for none (RFC 2543 peers). @default newBranch() */
  readonly branch?: string | null;
  /** @default '192.0.2.10:5060' */
  readonly sentBy?: string;
  /** @default 'UDP' */
  readonly transport?: string;
  /** Extra Via parameters appended after the branch, e.g. ';rport'. */
  readonly viaParams?: string;
  /** @default 'sip:bob@192.0.2.20' */
  readonly uri?: string;
  readonly callId?: string;
  readonly cseq?: number;
  /** @default 'a1' */
  readonly fromTag?: string;
  readonly toTag?: string;
  readonly route?: readonly string[];
  readonly recordRoute?: readonly string[];
  readonly contact?: string;
  readonly extraHeaders?: ReadonlyArray<readonly [string, string]>;
}

/** A request as a UAC on 192.0.2.10 would send it. */
export function makeRequest(init: RequestInit = {}): SipRequest {
  const method = init.method ?? 'INVITE';
  const branch = init.branch === undefined ? newBranch() : init.branch;
  const via = `SIP/2.0/${init.transport ?? 'UDP'} ${init.sentBy ?? '192.0.2.10:5060'}${branch === null ? '' : `;branch=${branch}`}${init.viaParams ?? ''}`;
  const headers: Array<readonly [string, string]> = [
    ['Via', via],
    ['Max-Forwards', '70'],
  ];
  for (const route of init.route ?? []) headers.push(['Route', route]);
  for (const rr of init.recordRoute ?? []) headers.push(['Record-Route', rr]);
  headers.push(
    ['From', `"Alice" <sip:alice@192.0.2.10>;tag=${init.fromTag ?? 'a1'}`],
    ['To', `<sip:bob@192.0.2.20>${init.toTag === undefined ? '' : `;tag=${init.toTag}`}`],
    ['Call-ID', init.callId ?? 'call-1@192.0.2.10'],
    ['CSeq', `${init.cseq ?? 1} ${method}`],
  );
  if (init.contact !== undefined) headers.push(['Contact', init.contact]);
  headers.push(...(init.extraHeaders ?? []));
  return buildRequest({ method, uri: init.uri ?? 'sip:bob@192.0.2.20', headers });
}

/**
 * A response to `request`; a To tag (`b1` unless given) is added for status > 100 unless the
 * request has one; `toTag: null` leaves it out (RFC 2543 peers, tagless provisionals).
 */
export function makeResponse(
  request: SipRequest,
  status: number,
  options: { toTag?: string | null; headers?: ReadonlyArray<readonly [string, string]> } = {},
): SipResponse {
  const toTag = options.toTag === null ? undefined : (options.toTag ?? (status > 100 ? 'b1' : undefined));
  return createResponse(request, status, {
    ...(toTag === undefined ? {} : { toTag }),
    ...(options.headers === undefined ? {} : { headers: options.headers }),
  });
}

export type ClientEvent =
  | { readonly at: number; readonly type: 'response'; readonly status: number; readonly response: SipResponse }
  | { readonly at: number; readonly type: 'timeout' }
  | { readonly at: number; readonly type: 'transportError'; readonly error: AppError }
  | { readonly at: number; readonly type: 'terminated' };

/** A client TU that records what it is told, with virtual times. */
export class ClientUserRecorder implements ClientTransactionUser {
  readonly events: ClientEvent[] = [];
  readonly #clock: FakeClock;

  constructor(clock: FakeClock) {
    this.#clock = clock;
  }

  onResponse(response: SipResponse): void {
    this.events.push({ at: this.#clock.now(), type: 'response', status: response.status, response });
  }

  onTimeout(): void {
    this.events.push({ at: this.#clock.now(), type: 'timeout' });
  }

  onTransportError(error: AppError): void {
    this.events.push({ at: this.#clock.now(), type: 'transportError', error });
  }

  onTerminated(): void {
    this.events.push({ at: this.#clock.now(), type: 'terminated' });
  }

  /** Compact `type[:status]@time` strings, for exact sequence assertions. */
  summary(): string[] {
    return this.events.map((e) => (e.type === 'response' ? `response:${e.status}@${e.at}` : `${e.type}@${e.at}`));
  }
}

export type ServerEvent =
  | { readonly at: number; readonly type: 'ack'; readonly ack: SipRequest }
  | { readonly at: number; readonly type: 'timeout' }
  | { readonly at: number; readonly type: 'transportError'; readonly error: AppError }
  | { readonly at: number; readonly type: 'terminated' };

/** A server TU that records what it is told; `withAck: false` leaves out onAck. */
export function serverUserRecorder(
  clock: FakeClock,
  options: { withAck?: boolean } = {},
): ServerTransactionUser & { readonly events: ServerEvent[]; summary(): string[] } {
  const events: ServerEvent[] = [];
  const user: ServerTransactionUser & { events: ServerEvent[]; summary(): string[] } = {
    events,
    onTimeout: () => events.push({ at: clock.now(), type: 'timeout' }),
    onTransportError: (error) => events.push({ at: clock.now(), type: 'transportError', error }),
    onTerminated: () => events.push({ at: clock.now(), type: 'terminated' }),
    summary: () => events.map((e) => `${e.type}@${e.at}`),
  };
  if (options.withAck !== false) user.onAck = (ack) => events.push({ at: clock.now(), type: 'ack', ack });
  return user;
}

export interface IncomingRequest {
  readonly request: SipRequest;
  readonly transaction: ServerTransaction;
  readonly source: Endpoint;
}

/** A layer on a FakeClock with a SendRecorder, recording everything it hands to the TU. */
export function makeLayer(
  overrides: Partial<Omit<TransactionLayerOptions, 'clock' | 'send'>> & {
    /** Runs inside onRequest (after recording), e.g. to attach a TU and respond. */
    readonly onIncoming?: (incoming: IncomingRequest) => void;
  } = {},
) {
  const clock = new FakeClock();
  const recorder = new SendRecorder(clock);
  const incoming: IncomingRequest[] = [];
  const strayResponses: SipResponse[] = [];
  const strayAcks: SipRequest[] = [];
  const userErrors: unknown[] = [];
  const { onIncoming, ...rest } = overrides;
  const layer = new TransactionLayer({
    onStrayResponse: (response) => strayResponses.push(response),
    onStrayAck: (ack) => strayAcks.push(ack),
    onUserError: (error) => userErrors.push(error),
    ...rest,
    clock,
    send: recorder.send,
    onRequest: (request, transaction, source) => {
      incoming.push({ request, transaction, source });
      onIncoming?.({ request, transaction, source });
    },
  });
  return { clock, recorder, layer, incoming, strayResponses, strayAcks, userErrors };
}

/** Lets rejected sends reach the transactions (they are reported asynchronously). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The top Via value of a message as text (for exact comparisons). */
export function topViaBranch(message: SipMessage): string | undefined {
  return message.via[0]?.branch;
}
