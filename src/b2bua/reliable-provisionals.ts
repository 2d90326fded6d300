import {
  getHeader,
  getHeaderValues,
  type Dialog,
  type IncomingRequest,
  type SipResponse,
  type Uas2xxRetransmitter,
} from '../sip/index.js';
import type { CallContext } from './call-context.js';
import type { CallMedia } from './call-media.js';
import type { SdpRole } from './call-media-port.js';
import type { CalleeInvite } from './callee-invite.js';
import type { CallerInvite } from './caller-invite.js';
import type { DialogPair } from './dialog-pairs.js';
import { retransmitResponse } from './retransmit-response.js';
import { sendRequestToLeg } from './send-to-leg.js';

/** A reliable provisional relayed to the caller: our RSeq -> the callee's RSeq and fork. */
interface ReliableProvisional {
  readonly bRSeq: number;
  readonly pair: DialogPair;
  readonly retransmitter: Uas2xxRetransmitter;
}

/** What {@link ReliableProvisionals} works with. */
export interface ReliableProvisionalsInit {
  readonly context: CallContext;
  /** The call's id, for log lines. */
  readonly callId: string;
  readonly caller: CallerInvite;
  readonly callee: CalleeInvite;
  readonly media: CallMedia;
}

function headerList(response: SipResponse, name: string): string[] {
  return getHeaderValues(response, name).map((v) => v.toLowerCase());
}

/**
 * RFC 3262 reliable provisionals through the B2BUA: end to end when the caller supports 100rel
 * (our own RSeq toward the caller, retransmitted until its PRACK, which is mapped back to the
 * callee's RSeq and fork); otherwise callrec PRACKs the callee itself.
 */
export class ReliableProvisionals {
  readonly #context: CallContext;
  readonly #callId: string;
  readonly #caller: CallerInvite;
  readonly #callee: CalleeInvite;
  readonly #media: CallMedia;
  #aRSeq = Math.floor(Math.random() * 1000) + 1;
  readonly #relayed = new Map<number, ReliableProvisional>();

  constructor(init: ReliableProvisionalsInit) {
    this.#context = init.context;
    this.#callId = init.callId;
    this.#caller = init.caller;
    this.#callee = init.callee;
    this.#media = init.media;
  }

  /**
   * A provisional from the callee's fork `pair`, with the header fields and body to relay. A
   * reliable one goes to a 100rel caller reliably (true: relayed); for any other caller callrec
   * PRACKs the callee itself, and the caller gets the provisional unreliably (false: not relayed).
   */
  relay(
    response: SipResponse,
    pair: DialogPair,
    headers: ReadonlyArray<readonly [string, string]>,
    body: Buffer,
  ): boolean {
    const reliable = headerList(response, 'Require').includes('100rel') && getHeader(response, 'RSeq') !== undefined;
    if (!reliable) return false;
    const callerSupports100rel = [
      ...getHeaderValues(this.#caller.request, 'Supported'),
      ...getHeaderValues(this.#caller.request, 'Require'),
    ].some((t) => t.toLowerCase() === '100rel');
    const bRSeq = Number(getHeader(response, 'RSeq'));
    if (callerSupports100rel) {
      // RFC 3262 end to end: our own RSeq toward the caller, mapped back on PRACK
      const rseq = this.#aRSeq++;
      const sent = this.#caller.respond(response.status, {
        reason: response.reason,
        toTag: pair.aTag,
        headers: [...headers, ['Require', '100rel'], ['RSeq', String(rseq)], ['Contact', this.#caller.contact()]],
        body,
      });
      const retransmitter = retransmitResponse(this.#context, {
        response: sent,
        destination: () => this.#caller.incoming.responseDestination,
        onNoAck: () => this.#relayed.delete(rseq),
      });
      this.#relayed.set(rseq, { bRSeq, pair, retransmitter });
      return true;
    }
    // The caller cannot PRACK: callrec acknowledges the callee itself and relays unreliably
    this.#sendPrack(pair.b, bRSeq, response.cseq.seq);
    return false;
  }

  /** PRACK from the caller: mapped to the callee's RSeq on the matching fork (RFC 3262 §7.2). */
  onPrack(incoming: IncomingRequest): void {
    const rack = (getHeader(incoming.request, 'RAck') ?? '').trim().split(/\s+/);
    const rseq = Number(rack[0]);
    const reliable = this.#relayed.get(rseq);
    const invite = this.#callee.request;
    if (reliable === undefined || invite === undefined) {
      incoming.respond(481, { reason: 'No Matching Reliable Provisional' });
      return;
    }
    reliable.retransmitter.acknowledge();
    this.#relayed.delete(rseq);
    this.#sendPrack(reliable.pair.b, reliable.bRSeq, invite.cseq.seq, incoming);
  }

  /** Stops every retransmission (the call was answered or ended). */
  stopAll(): void {
    for (const reliable of this.#relayed.values()) reliable.retransmitter.stop();
    this.#relayed.clear();
  }

  #sendPrack(dialog: Dialog, bRSeq: number, inviteSeq: number, incoming?: IncomingRequest): void {
    const prack = dialog.createRequest('PRACK', {
      headers: [
        ['RAck', `${bRSeq} ${inviteSeq} INVITE`],
        ...(incoming === undefined ? [] : this.#context.headers.carry(incoming.request.headers)),
      ],
      // RFC 3262 §5: a PRACK answers an offer in the reliable provisional (late offer) or makes one
      ...(incoming === undefined ? {} : { body: this.#media.relayAnswer('a', incoming.request, this.#prackRole()) }),
    });
    sendRequestToLeg(this.#context, this.#callId, prack, (response) => {
      if (incoming !== undefined && response.status >= 200) {
        incoming.respond(response.status, {
          reason: response.reason,
          headers: this.#context.headers.carry(response.headers),
          body:
            response.status < 300
              ? this.#media.relayAnswer('b', response, this.#prackRole() === 'offer' ? 'answer' : 'offer')
              : response.body,
        });
      }
    });
  }

  #prackRole(): SdpRole {
    return this.#caller.request.body.length > 0 ? 'offer' : 'answer';
  }
}
