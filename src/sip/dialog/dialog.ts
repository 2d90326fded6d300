import { randomInt } from 'node:crypto';
import { AppError } from '../../errors.js';
import {
  buildRequest,
  formatNameAddr,
  type HeaderParams,
  type NameAddr,
  type SipRequest,
  type SipResponse,
  type Uri,
} from '../message/index.js';
import { newBranch } from '../transaction/index.js';
import { dialogIdOfResponse, dialogKey, type DialogId } from './dialog-id.js';
import type { DialogOptions, InDialogRequestOptions } from './dialog-options.js';
import { requestTarget, uacRouteSet, uasRouteSet, type RouteSet } from './route-set.js';

/** RFC 3261 §12: a dialog is early (after a 1xx with To tag) or confirmed (after a 2xx). */
export type DialogState = 'early' | 'confirmed' | 'terminated';

/** Which side created the dialog. */
export type DialogRole = 'uac' | 'uas';

export type { DialogOptions, InDialogRequestOptions, ViaSentBy } from './dialog-options.js';

/** The outcome of checking an in-dialog request (§12.2.2). */
export type InDialogRequestVerdict =
  { readonly accepted: true } | { readonly accepted: false; readonly status: 481 | 500; readonly reason: string };

/**
 * Methods whose requests and 2xx responses refresh the remote target (RFC 3261 §12.2: re-INVITE;
 * RFC 3311 UPDATE; RFC 6665 SUBSCRIBE/NOTIFY; RFC 3515 REFER).
 */
export const TARGET_REFRESH_METHODS: ReadonlySet<string> = new Set([
  'INVITE',
  'UPDATE',
  'SUBSCRIBE',
  'NOTIFY',
  'REFER',
]);

const MAX_CSEQ = 2 ** 31 - 1;

function withoutTag(value: NameAddr): NameAddr {
  if (!value.params.has('tag')) return value;
  const params = new Map(value.params);
  params.delete('tag');
  return { ...value, params };
}

function withTag(value: NameAddr, tag: string): string {
  if (tag === '') return formatNameAddr(value);
  const params: HeaderParams = new Map([...value.params, ['tag', tag]]);
  return formatNameAddr({ ...value, params });
}

/** The URI of the first Contact of a message, if any. */
function contactUri(message: SipRequest | SipResponse): Uri | undefined {
  const first = message.contact[0];
  return first === undefined || first.wildcard === true ? undefined : first.uri;
}

function dialogStateError(message: string): AppError {
  return new AppError('SIP_DIALOG_STATE', message);
}

interface DialogInit {
  readonly role: DialogRole;
  readonly state: DialogState;
  readonly id: DialogId;
  readonly localParty: NameAddr;
  readonly remoteParty: NameAddr;
  readonly localSeq: number | undefined;
  readonly remoteSeq: number | undefined;
  readonly remoteTarget: Uri;
  readonly routeSet: RouteSet;
  readonly secure: boolean;
  readonly options: DialogOptions;
}

/**
 * A dialog (RFC 3261 §12): its ID, the local and remote URI, the remote target, the route set,
 * both CSeq counters and the secure flag; builds in-dialog requests and the ACK for a 2xx.
 */
export class Dialog {
  readonly role: DialogRole;
  readonly id: DialogId;
  /** `dialogKey(id)`, for maps. */
  readonly key: string;
  /** The local URI with display name (From of our requests, without tag). */
  readonly localParty: NameAddr;
  /** The remote URI with display name (To of our requests, without tag). */
  readonly remoteParty: NameAddr;
  readonly secure: boolean;
  readonly #options: DialogOptions;
  #state: DialogState;
  #localSeq: number | undefined;
  #remoteSeq: number | undefined;
  #remoteTarget: Uri;
  #routeSet: RouteSet;
  #onTerminated: (() => void) | undefined;

  private constructor(init: DialogInit) {
    this.role = init.role;
    this.id = init.id;
    this.key = dialogKey(init.id);
    this.localParty = init.localParty;
    this.remoteParty = init.remoteParty;
    this.secure = init.secure;
    this.#options = init.options;
    this.#state = init.state;
    this.#localSeq = init.localSeq;
    this.#remoteSeq = init.remoteSeq;
    this.#remoteTarget = init.remoteTarget;
    this.#routeSet = init.routeSet;
  }

  /**
   * RFC 3261 §12.1.2: the UAC's dialog from a 101–199 (with To tag, early) or 2xx (confirmed)
   * response to `request`: route set = Record-Route reversed, remote target = Contact, local
   * CSeq = the request's, remote CSeq empty, local tag = From tag, remote tag = To tag.
   */
  static asUac(request: SipRequest, response: SipResponse, options: DialogOptions = {}): Dialog {
    if (response.status <= 100 || response.status >= 300) {
      throw dialogStateError(`a ${response.status} response does not create a dialog`);
    }
    const id = dialogIdOfResponse(response);
    if (id === undefined) throw dialogStateError('a dialog-creating request needs a From tag');
    // RFC 3261 §12.1: only a provisional "with a To tag" creates an early dialog; a tagless 2xx
    // (RFC 2543 UAS) creates one with a null remote tag (§12.1.2).
    if (response.status < 200 && id.remoteTag === '')
      throw dialogStateError('a provisional without To tag creates no dialog');
    return new Dialog({
      role: 'uac',
      state: response.status < 200 ? 'early' : 'confirmed',
      id,
      localParty: withoutTag(request.from),
      remoteParty: withoutTag(request.to),
      localSeq: request.cseq.seq,
      remoteSeq: undefined,
      // NOTE(deviation): a 1xx without Contact (seen from some gateways) gets the Request-URI as
      // provisional remote target instead of being refused; the 2xx Contact replaces it.
      remoteTarget: contactUri(response) ?? request.uri,
      routeSet: uacRouteSet(response),
      secure: options.protocol === 'tls' && request.uri.scheme === 'sips',
      options,
    });
  }

  /**
   * RFC 3261 §12.1.1: the UAS's dialog from the request and the 101–199 or 2xx response it sent
   * (which carries the local tag): route set = Record-Route in order, remote target = Contact,
   * remote CSeq = the request's, local CSeq empty, local tag = To tag of the response, remote tag =
   * From tag.
   */
  static asUas(request: SipRequest, response: SipResponse, options: DialogOptions = {}): Dialog {
    if (response.status <= 100 || response.status >= 300) {
      throw dialogStateError(`a ${response.status} response does not create a dialog`);
    }
    const localTag = response.to.params.get('tag');
    if (localTag === undefined || localTag === null)
      throw dialogStateError('the response creating a dialog needs a To tag');
    return new Dialog({
      role: 'uas',
      state: response.status < 200 ? 'early' : 'confirmed',
      id: { callId: request.callId, localTag, remoteTag: request.from.params.get('tag') ?? '' },
      localParty: withoutTag(request.to),
      remoteParty: withoutTag(request.from),
      localSeq: undefined,
      remoteSeq: request.cseq.seq,
      // NOTE(deviation): an INVITE without Contact (a §8.1.1.8 violation) falls back to the From URI.
      remoteTarget: contactUri(request) ?? request.from.uri,
      routeSet: uasRouteSet(request),
      secure: options.protocol === 'tls' && request.uri.scheme === 'sips',
      options,
    });
  }

  get state(): DialogState {
    return this.#state;
  }

  get callId(): string {
    return this.id.callId;
  }

  get localTag(): string {
    return this.id.localTag;
  }

  get remoteTag(): string {
    return this.id.remoteTag;
  }

  get localUri(): Uri {
    return this.localParty.uri;
  }

  get remoteUri(): Uri {
    return this.remoteParty.uri;
  }

  get remoteTarget(): Uri {
    return this.#remoteTarget;
  }

  get routeSet(): RouteSet {
    return this.#routeSet;
  }

  /** The last CSeq number this side used; undefined while empty (UAS before its first request). */
  get localSeq(): number | undefined {
    return this.#localSeq;
  }

  /** The highest CSeq number seen from the peer; undefined while empty (UAC before a request). */
  get remoteSeq(): number | undefined {
    return this.#remoteSeq;
  }

  /**
   * RFC 3261 §12.2.2: checks and applies an in-dialog request from the peer. A CSeq lower than the
   * remote CSeq is out of order (answer 500); otherwise the remote CSeq follows the request, and a
   * target-refresh request with a Contact replaces the remote target. ACK and CANCEL carry the
   * INVITE's CSeq and are not checked. A terminated dialog answers 481 (§12.2.2).
   */
  receiveRequest(request: SipRequest): InDialogRequestVerdict {
    if (this.#state === 'terminated') return { accepted: false, status: 481, reason: 'dialog terminated' };
    if (request.method === 'ACK' || request.method === 'CANCEL') return { accepted: true };
    const seq = request.cseq.seq;
    if (this.#remoteSeq !== undefined && seq < this.#remoteSeq) {
      return { accepted: false, status: 500, reason: `CSeq ${seq} lower than ${this.#remoteSeq}` };
    }
    this.#remoteSeq = seq;
    if (TARGET_REFRESH_METHODS.has(request.method)) this.#refreshTarget(request);
    return { accepted: true };
  }

  /**
   * UAC side: a response to a request sent in this dialog (or to the dialog-creating INVITE).
   *  - §13.2.2.4: a 2xx to the INVITE confirms an early dialog and recomputes the route set from it;
   *  - §12.2.1.2: a 2xx to a target-refresh request replaces the remote target with its Contact;
   *  - §12.3: a 300–699 to the initial INVITE terminates an early dialog;
   *  - §12.2.1.2: a 481 or 408 to an in-dialog request terminates the dialog.
   */
  receiveResponse(response: SipResponse): void {
    if (this.#state === 'terminated') return;
    const status = response.status;
    const method = response.cseq.method;
    if (status < 200) {
      // NOTE(deviation): RFC 3261 is silent on 1xx; a Contact in a later 1xx of an early dialog
      // refreshes the target, as RFC 3262 reliable provisionals establish it anyway.
      if (this.#state === 'early' && status > 100 && method === 'INVITE') this.#refreshTarget(response);
      return;
    }
    if (status < 300) {
      if (method === 'INVITE' && this.#state === 'early') {
        this.#state = 'confirmed';
        if (this.role === 'uac') this.#routeSet = uacRouteSet(response);
      }
      if (TARGET_REFRESH_METHODS.has(method)) this.#refreshTarget(response);
      return;
    }
    if (this.#state === 'early' && method === 'INVITE') this.terminate();
    else if (status === 481 || status === 408) this.terminate();
  }

  /** UAS side: the 2xx for the dialog-creating INVITE was sent (early -> confirmed). */
  confirm(): void {
    if (this.#state === 'terminated') throw dialogStateError('cannot confirm a terminated dialog');
    this.#state = 'confirmed';
  }

  /**
   * RFC 3261 §12.2.1.1: a new request in this dialog (not ACK, not CANCEL). Request-URI and Route
   * from the remote target and route set (loose or strict routing), To = remote URI + remote tag,
   * From = local URI + local tag, Call-ID, CSeq = local CSeq + 1 (or a fresh initial value),
   * Max-Forwards 70, a Via with a new branch, Contact for target-refresh methods.
   */
  createRequest(method: string, options: InDialogRequestOptions = {}): SipRequest {
    if (this.#state === 'terminated') throw dialogStateError(`cannot send ${method} in a terminated dialog`);
    if (method === 'ACK' || method === 'CANCEL') {
      throw new Error(`${method} is not a new in-dialog request: use createAck() / createCancel()`);
    }
    const seq = this.#nextLocalSeq();
    const extra = options.headers ?? [];
    const contact =
      TARGET_REFRESH_METHODS.has(method) &&
      this.#options.localContact !== undefined &&
      !extra.some(([name]) => name.toLowerCase() === 'contact' || name === 'm')
        ? this.#options.localContact
        : undefined;
    return this.#build(method, seq, options, contact === undefined ? [] : [['Contact', contact]]);
  }

  /**
   * RFC 3261 §13.2.2.4: the ACK for a 2xx to `invite` — built like any in-dialog request, but with
   * the INVITE's CSeq number (method ACK) and its credentials (Authorization, Proxy-Authorization);
   * the local CSeq does not move. Apply the 2xx with `receiveResponse` first (the dialog must be
   * confirmed and the 2xx must belong to it).
   */
  createAck(invite: SipRequest, response2xx: SipResponse, options: InDialogRequestOptions = {}): SipRequest {
    if (this.#state !== 'confirmed') throw dialogStateError(`cannot ACK in a ${this.#state} dialog`);
    if (response2xx.status < 200 || response2xx.status >= 300 || response2xx.cseq.method !== 'INVITE') {
      throw dialogStateError(`ACK is built for a 2xx to INVITE, not ${response2xx.status} ${response2xx.cseq.method}`);
    }
    const id = dialogIdOfResponse(response2xx);
    if (id === undefined || dialogKey(id) !== this.key || response2xx.cseq.seq !== invite.cseq.seq) {
      throw dialogStateError('the 2xx does not belong to this dialog and INVITE');
    }
    const credentials: Array<readonly [string, string]> = [];
    for (const h of invite.headers) {
      if (h.name === 'Authorization' || h.name === 'Proxy-Authorization') credentials.push([h.name, h.value]);
    }
    return this.#build('ACK', invite.cseq.seq, options, credentials);
  }

  /** Ends the dialog (BYE sent or received, final failure, 481/408); idempotent. */
  terminate(): void {
    if (this.#state === 'terminated') return;
    this.#state = 'terminated';
    const listener = this.#onTerminated;
    this.#onTerminated = undefined;
    listener?.();
  }

  /** One listener for termination (the DialogLayer's, to forget the dialog). */
  whenTerminated(listener: () => void): void {
    if (this.#onTerminated !== undefined) throw new Error('Dialog already has a termination listener');
    this.#onTerminated = listener;
  }

  #refreshTarget(message: SipRequest | SipResponse): void {
    const target = contactUri(message);
    if (target !== undefined) this.#remoteTarget = target;
  }

  #nextLocalSeq(): number {
    // RFC 3261 §12.2.1.1: "the CSeq ... MUST be incremented by one"; an empty local sequence
    // number gets an initial value per §8.1.1.5 (below 2**31).
    const next =
      this.#localSeq === undefined ? (this.#options.initialLocalSeq ?? randomInt(1, 2 ** 30)) : this.#localSeq + 1;
    if (next > MAX_CSEQ) throw dialogStateError('local CSeq exhausted');
    this.#localSeq = next;
    return next;
  }

  #via(options: InDialogRequestOptions): string {
    if (options.via !== undefined) return options.via;
    const sentBy = this.#options.via;
    if (sentBy === undefined) throw new Error('Dialog has no Via sent-by: pass DialogOptions.via or a per-request via');
    const host = sentBy.host.includes(':') ? `[${sentBy.host}]` : sentBy.host;
    const port = sentBy.port === undefined ? '' : `:${sentBy.port}`;
    return `SIP/2.0/${sentBy.transport.toUpperCase()} ${host}${port};branch=${newBranch()}${sentBy.rport === true ? ';rport' : ''}`;
  }

  #build(
    method: string,
    seq: number,
    options: InDialogRequestOptions,
    own: ReadonlyArray<readonly [string, string]>,
  ): SipRequest {
    const target = requestTarget(this.#remoteTarget, this.#routeSet);
    const headers: Array<readonly [string, string]> = [
      ['Via', this.#via(options)],
      ['Max-Forwards', '70'],
    ];
    for (const route of target.route) headers.push(['Route', formatNameAddr(route)]);
    headers.push(
      ['From', withTag(this.localParty, this.id.localTag)],
      ['To', withTag(this.remoteParty, this.id.remoteTag)],
      ['Call-ID', this.id.callId],
      ['CSeq', `${seq} ${method}`],
      ...own,
      ...(options.headers ?? []),
    );
    return buildRequest({
      method,
      uri: target.requestUri,
      headers,
      ...(options.body === undefined ? {} : { body: options.body }),
    });
  }
}
