import type { Dialog, IncomingRequest, SipRequest, SipResponse, Uas2xxRetransmitter } from '../sip/index.js';
import { otherLeg, type CallContext, type LegName } from './call-context.js';
import type { CallMedia } from './call-media.js';
import type { SdpRole } from './call-media-port.js';
import type { DialogPairs } from './dialog-pairs.js';
import { retransmitResponse } from './retransmit-response.js';
import { sendToLeg } from './send-to-leg.js';

/** A re-INVITE (or other in-dialog INVITE) relayed and waiting for the originator's ACK. */
interface PendingAck {
  readonly from: LegName;
  readonly forwarded: SipRequest;
  readonly response: SipResponse;
  readonly retransmitter: Uas2xxRetransmitter;
}

/** What {@link InDialogRelay} works with. */
export interface InDialogRelayInit {
  readonly context: CallContext;
  /** The call's id, for log lines. */
  readonly callId: string;
  readonly media: CallMedia;
  readonly pairs: DialogPairs;
  /** Ends the call on both legs (callrec's decision) for `reason`. */
  readonly hangUp: (reason: string) => void;
}

/**
 * Requests inside a call's dialogs (other than BYE and the caller's PRACK) relayed to the mirroring
 * dialog on the other leg, and their responses back, SDP through the media. One INVITE at a time
 * (glare: 491); a relayed 2xx to a re-INVITE is retransmitted until the originator's ACK, which is
 * then forwarded to the other leg.
 */
export class InDialogRelay {
  readonly #context: CallContext;
  readonly #callId: string;
  readonly #media: CallMedia;
  readonly #pairs: DialogPairs;
  readonly #hangUp: (reason: string) => void;
  #pendingAck: PendingAck | undefined;
  #reInviteInProgress = false;

  constructor(init: InDialogRelayInit) {
    this.#context = init.context;
    this.#callId = init.callId;
    this.#media = init.media;
    this.#pairs = init.pairs;
    this.#hangUp = init.hangUp;
  }

  /** A request from leg `leg` in `dialog`, already accepted by the dialog (§12.2.2). */
  relay(incoming: IncomingRequest, leg: LegName, dialog: Dialog): void {
    const request = incoming.request;
    const target = this.#pairs.peerOf(dialog, leg);
    if (target === undefined) {
      incoming.respond(481);
      return;
    }
    if (request.method === 'INVITE') {
      if (this.#reInviteInProgress || this.#pendingAck !== undefined) {
        incoming.respond(491); // RFC 3261 §14.2: glare
        return;
      }
      this.#reInviteInProgress = true;
    }
    const offer = this.#media.relaySdp(leg, request, 'offer');
    if (!offer.ok) {
      if (request.method === 'INVITE') this.#reInviteInProgress = false;
      incoming.respond(488, { reason: 'Not Acceptable Here', headers: [['Warning', `399 callrec "${offer.reason}"`]] });
      return;
    }
    const forwarded = target.createRequest(request.method, {
      headers: this.#context.headers.carry(request.headers),
      body: offer.body,
    });
    const to = otherLeg(leg);
    void this.#context.resolve(forwarded.route[0]?.uri ?? forwarded.uri).then(
      (destination) => {
        this.#context.sendRequest(forwarded, destination, {
          onResponse: (response) => this.#relayResponse(incoming, leg, forwarded, response),
          onTimeout: () => {
            if (request.method === 'INVITE') this.#reInviteInProgress = false;
            incoming.respond(408);
            if (request.method === 'INVITE' || request.method === 'UPDATE')
              this.#hangUp(`${request.method} timeout on leg ${to}`);
          },
          onTransportError: () => {
            if (request.method === 'INVITE') this.#reInviteInProgress = false;
            incoming.respond(503);
          },
        });
      },
      () => {
        if (request.method === 'INVITE') this.#reInviteInProgress = false;
        incoming.respond(503);
      },
    );
  }

  /** An ACK from leg `leg`: the one a relayed re-INVITE 2xx waits for is forwarded to the other leg. */
  onAck(ack: SipRequest, leg: LegName): void {
    const pending = this.#pendingAck;
    if (pending === undefined || pending.from !== leg) return;
    pending.retransmitter.acknowledge();
    this.#pendingAck = undefined;
    const dialog = this.#pairs.dialogOf(otherLeg(leg));
    if (dialog === undefined) return;
    const forwardedAck = dialog.createAck(pending.forwarded, pending.response, {
      body: this.#media.relayAnswer(leg, ack),
      headers: this.#context.headers.carry(ack.headers).filter(([n]) => n === 'Content-Type'),
    });
    sendToLeg(this.#context, this.#callId, forwardedAck);
  }

  /** Stops retransmitting a relayed 2xx (the call ended). */
  stop(): void {
    this.#pendingAck?.retransmitter.stop();
  }

  #relayResponse(incoming: IncomingRequest, from: LegName, forwarded: SipRequest, response: SipResponse): void {
    if (response.status === 100) return;
    const method = incoming.request.method;
    const role: SdpRole = incoming.request.body.length > 0 ? 'answer' : 'offer';
    const relayBody = (): Buffer => this.#media.relayAnswer(otherLeg(from), response, role);
    const headers = this.#context.headers.carry(response.headers);
    const withContact =
      method === 'INVITE' || method === 'UPDATE' || method === 'SUBSCRIBE' || method === 'NOTIFY' || method === 'REFER';
    const contactHeader: Array<readonly [string, string]> =
      withContact && response.status < 300 ? [['Contact', this.#context.contact(incoming.source.protocol)]] : [];
    if (method === 'INVITE' && response.status >= 200) {
      this.#reInviteInProgress = false;
      if (response.status < 300) {
        const pending = this.#pendingAck;
        if (pending !== undefined && pending.response.cseq.seq === response.cseq.seq) {
          return; // 2xx retransmission; our ACK follows the originator's
        }
        const sent = incoming.respond(response.status, {
          reason: response.reason,
          headers: [...headers, ...contactHeader],
          body: relayBody(),
        });
        const retransmitter = retransmitResponse(this.#context, {
          response: sent,
          destination: () => incoming.responseDestination,
          onNoAck: () => {
            this.#pendingAck = undefined;
            this.#hangUp('re-INVITE not acknowledged');
          },
        });
        this.#pendingAck = { from, forwarded, response, retransmitter };
        return;
      }
    }
    if (response.status === 481 || response.status === 408) {
      incoming.respond(response.status, { reason: response.reason, headers });
      if (method !== 'NOTIFY' && method !== 'INFO') this.#hangUp(`${response.status} on in-dialog ${method}`);
      return;
    }
    incoming.respond(response.status, {
      reason: response.reason,
      headers: [...headers, ...contactHeader],
      body: response.status < 300 ? relayBody() : response.body,
    });
  }
}
