import { randomBytes } from 'node:crypto';
import {
  buildRequest,
  createCancel,
  Dialog,
  isSipUri,
  newBranch,
  parseUri,
  sipUri,
  type ClientTransactionUser,
  type Endpoint,
  type SipRequest,
  type SipResponse,
  type SipUri,
  type TransportProtocol,
} from '../sip/index.js';
import type { CallContext } from './call-context.js';
import type { CallMedia } from './call-media.js';
import { rehostParty } from './rehost-party.js';
import { sendRequestToLeg, sendToLeg } from './send-to-leg.js';

/** What a {@link CalleeInvite} is built from. */
export interface CalleeInviteInit {
  readonly context: CallContext;
  /** The call's id, for log lines. */
  readonly callId: string;
  /** Where the B leg goes: Request-URI of the outgoing INVITE. */
  readonly target: SipUri;
  /** The call's SDP path, for a body the ACK carries. */
  readonly media: CallMedia;
}

/**
 * The INVITE toward the callee (leg b, callrec as UAC), with its own Call-ID, From tag, Via and
 * Contact: sent once, and again on the same Call-ID with CSeq + 1 when the caller answers a
 * challenge (the digest stays valid); at most one CANCEL; one ACK for the answering fork's 2xx,
 * repeated for its retransmissions; the 2xx of any other fork ACKed and BYEd.
 */
export class CalleeInvite {
  /** The B leg's Call-ID. */
  readonly callId = `${randomBytes(12).toString('hex')}@callrec`;
  readonly #fromTag = randomBytes(6).toString('hex');
  readonly #context: CallContext;
  readonly #sessionId: string;
  #target: SipUri;
  readonly #media: CallMedia;
  #destination: Endpoint | undefined;
  /** The caller's offer as sent to the callee (rewritten once, reused on an auth retry). */
  #offer: Buffer | undefined;
  #request: SipRequest | undefined;
  #cancelSent = false;
  #without100rel = false;
  #answer: { readonly response: SipResponse; readonly dialog: Dialog } | undefined;
  #ackSent: SipRequest | undefined;

  constructor(init: CalleeInviteInit) {
    this.#context = init.context;
    this.#sessionId = init.callId;
    this.#target = init.target;
    this.#media = init.media;
  }

  /** The INVITE last sent; `undefined` before the first. */
  get request(): SipRequest | undefined {
    return this.#request;
  }

  /** The transport toward the callee (known once `resolve` succeeded). */
  get protocol(): TransportProtocol {
    return (this.#destination as Endpoint).protocol;
  }

  /**
   * Sends the call elsewhere before the INVITE goes out (consent refused: `route`): a sip: URI, or
   * a number on the callee's side (the target with that user part). False when `to` is neither;
   * resolve again afterwards.
   */
  retarget(to: string): boolean {
    if (this.#request !== undefined) throw new Error('the INVITE to the callee was already sent');
    const current = this.#target;
    const uri = /^sips?:/i.test(to) ? parseUri(to) : undefined;
    let target: SipUri | undefined;
    if (uri !== undefined) target = isSipUri(uri) ? uri : undefined;
    else if (/^\+?[0-9*#]+$/.test(to))
      target = sipUri({
        scheme: current.scheme,
        user: to,
        host: current.host,
        port: current.port,
        params: current.params,
      });
    if (target === undefined) return false;
    this.#target = target;
    this.#destination = undefined;
    return true;
  }

  /** Finds where the INVITE goes; rejects when the target does not resolve. */
  async resolve(): Promise<void> {
    this.#destination = await this.#context.resolve(this.#target);
  }

  /** The SDP offer to send (the caller's, through the media anchor). */
  setOffer(body: Buffer): void {
    this.#offer = body;
  }

  /** Sends the INVITE built from the caller's `caller` INVITE with CSeq `cseq`. */
  send(caller: SipRequest, cseq: number, user: ClientTransactionUser): void {
    const destination = this.#destination as Endpoint;
    const via = this.#context.via(destination.protocol);
    const maxForwards = Math.max(0, (caller.maxForwards ?? 70) - 1);
    const headers: Array<readonly [string, string]> = [
      [
        'Via',
        `SIP/2.0/${via.transport} ${via.host.includes(':') ? `[${via.host}]` : via.host}${via.port === undefined ? '' : `:${via.port}`};branch=${newBranch()};rport`,
      ],
      ['Max-Forwards', String(maxForwards)],
      ['From', `${rehostParty(caller.from, via.host, undefined)};tag=${this.#fromTag}`],
      ['To', rehostParty(caller.to, this.#target.host, this.#target.port)],
      ['Call-ID', this.callId],
      ['CSeq', `${cseq} INVITE`],
      ['Contact', this.#context.contact(destination.protocol)],
      ...withoutReliableProvisionals(this.#context.headers.carry(caller.headers), this.#without100rel),
    ];
    const invite = buildRequest({ method: 'INVITE', uri: this.#target, headers, body: this.#offer ?? caller.body });
    this.#request = invite;
    this.#context.sendRequest(invite, destination, user);
  }

  /**
   * callrec answered the caller itself (announcement, answer-first): the callee's provisionals go
   * nowhere, so its INVITE neither supports nor requires 100rel (RFC 3262) — no PRACK is owed.
   */
  withoutReliableProvisionals(): void {
    this.#without100rel = true;
  }

  /** CANCELs the INVITE, once; not before one was sent. */
  cancel(): void {
    if (this.#request === undefined || this.#destination === undefined || this.#cancelSent) return;
    this.#cancelSent = true;
    this.#context.sendRequest(createCancel(this.#request), this.#destination, {
      onResponse: () => undefined,
      onTimeout: () => undefined,
      onTransportError: () => undefined,
    });
  }

  /** The 2xx of the fork that answered the call, and the fork's dialog. */
  answered(response2xx: SipResponse, dialog: Dialog): void {
    this.#answer = { response: response2xx, dialog };
  }

  /** The ACK for the answering fork's 2xx, sent once; carries the caller's ACK body (late offer). */
  ack(callerAck?: SipRequest): void {
    if (this.#answer === undefined || this.#request === undefined || this.#ackSent !== undefined) return;
    const ack = this.#answer.dialog.createAck(this.#request, this.#answer.response, {
      ...(callerAck === undefined
        ? {}
        : {
            body: this.#media.relayAnswer('a', callerAck),
            headers: this.#context.headers.carry(callerAck.headers).filter(([n]) => n === 'Content-Type'),
          }),
    });
    this.#ackSent = ack;
    sendToLeg(this.#context, this.#sessionId, ack);
  }

  /** The answering fork retransmitted its 2xx: our ACK again, if sent. */
  repeatAck(): void {
    if (this.#ackSent !== undefined) sendToLeg(this.#context, this.#sessionId, this.#ackSent);
  }

  /** A 2xx from a fork we do not keep: ACK it and BYE it (RFC 3261 §13.2.2.4). */
  ackAndByeStray(response: SipResponse): void {
    if (this.#request === undefined || response.contact.length === 0) return;
    const protocol = this.protocol;
    const dialog = Dialog.asUac(this.#request, response, { via: this.#context.via(protocol), protocol });
    sendToLeg(this.#context, this.#sessionId, dialog.createAck(this.#request, response));
    sendRequestToLeg(this.#context, this.#sessionId, dialog.createRequest('BYE'), () => undefined);
    dialog.terminate();
  }
}

/** `headers` without the 100rel option tag in Supported and Require (when `drop`). */
function withoutReliableProvisionals(
  headers: Array<readonly [string, string]>,
  drop: boolean,
): Array<readonly [string, string]> {
  if (!drop) return headers;
  return headers.flatMap(([name, value]): Array<readonly [string, string]> => {
    const lower = name.toLowerCase();
    if (lower !== 'supported' && lower !== 'require' && lower !== 'k') return [[name, value]];
    const tags = value
      .split(',')
      .map((tag) => tag.trim())
      .filter((tag) => tag !== '' && tag.toLowerCase() !== '100rel');
    return tags.length === 0 ? [] : [[name, tags.join(', ')]];
  });
}
