import { randomBytes } from 'node:crypto';
import { AppError } from '../errors.js';
import {
  buildRequest,
  createCancel,
  createResponse,
  Dialog,
  formatNameAddr,
  getHeader,
  getHeaderValues,
  isSipUri,
  newBranch,
  sipUri,
  Uas2xxRetransmitter,
  type Endpoint,
  type IncomingRequest,
  type NameAddr,
  type SipRequest,
  type SipResponse,
  type SipUri,
  type TimerHandle,
} from '../sip/index.js';
import { otherLeg, type CallContext, type LegName } from './call-context.js';
import type { CallDirection, CallFacts, RecordingDecision } from './call-policy.js';
import { logCallEnded, type CallSummary, type EndedBy } from './call-summary.js';
import type { CallMediaPort, SdpRelay, SdpRole } from './call-media-port.js';

export type CallState = 'calling' | 'early' | 'confirmed' | 'challenged' | 'ended';

export interface CallSessionInit {
  /** The call's UUID (also its recording id). */
  readonly id: string;
  readonly context: CallContext;
  readonly direction: CallDirection;
  /** The caller's INVITE. */
  readonly incoming: IncomingRequest;
  /** Where the B leg goes: Request-URI of the outgoing INVITE. */
  readonly target: SipUri;
  /** The recording decision, taken once when the call arrived (kept across config reloads). */
  readonly decision: RecordingDecision;
  /** The numbers the decision was taken on. */
  readonly facts: CallFacts;
  /** Opens the call's anchored media; without it SDP is relayed unchanged (pass-through). */
  readonly openMedia?: () => Promise<CallMediaPort>;
  /** Called when the session has fully ended (dialogs closed, CDR written). */
  readonly onEnded: (session: CallSession) => void;
}

/** One early or confirmed dialog pair: the callee's fork and the caller-side dialog mirroring it. */
interface DialogPair {
  readonly b: Dialog;
  readonly a: Dialog;
  readonly aTag: string;
}

/** A re-INVITE (or other in-dialog INVITE) relayed and waiting for the originator's ACK. */
interface PendingAck {
  readonly from: LegName;
  readonly forwarded: SipRequest;
  readonly response: SipResponse;
  readonly retransmitter: Uas2xxRetransmitter;
}

/** A reliable provisional relayed to the caller: our RSeq -> the callee's RSeq and fork. */
interface ReliableProvisional {
  readonly bRSeq: number;
  readonly pair: DialogPair;
  readonly retransmitter: Uas2xxRetransmitter;
}

const AUTH_RETRY_WINDOW_MS = 32_000;
const REASONS_FOR_503 = 'SIP;cause=503;text="callee side unavailable"';

function tag(): string {
  return randomBytes(6).toString('hex');
}

function headerList(response: SipResponse, name: string): string[] {
  return getHeaderValues(response, name).map((v) => v.toLowerCase());
}

function withoutTagAndHost(party: NameAddr, host: string, port: number | undefined): string {
  const user = isSipUri(party.uri)
    ? party.uri.user
    : party.uri.scheme === 'tel'
      ? (party.uri as { number: string }).number
      : undefined;
  const uri = sipUri({ user, host, ...(port === undefined ? {} : { port }) });
  return formatNameAddr({ displayName: party.displayName, uri, params: new Map() });
}

/**
 * One call: the caller's dialog (leg a, callrec as UAS) and the callee's dialog (leg b, callrec
 * as UAC), each with its own Call-ID, tags, CSeq, Via and Contact. Every relay decision is made
 * once here, parameterised by leg.
 */
export class CallSession {
  readonly id: string;
  readonly direction: CallDirection;
  readonly decision: RecordingDecision;
  readonly facts: CallFacts;
  readonly #context: CallContext;
  readonly #onEnded: (session: CallSession) => void;
  readonly #openMedia: (() => Promise<CallMediaPort>) | undefined;
  #media: CallMediaPort | undefined;
  #incoming: IncomingRequest;
  readonly #target: SipUri;
  readonly #bCallId = `${randomBytes(12).toString('hex')}@callrec`;
  readonly #bFromTag = tag();
  #bInvite: SipRequest | undefined;
  /** The caller's offer as sent to the callee (rewritten once, reused on an auth retry). */
  #bOffer: Buffer | undefined;
  #bDestination: Endpoint | undefined;
  #state: CallState = 'calling';
  #finalSent = false;
  #provisionalFromB = false;
  #cancelRequested = false;
  #cancelSent = false;
  readonly #pairs = new Map<string, DialogPair>();
  #confirmed: DialogPair | undefined;
  #a2xx: Uas2xxRetransmitter | undefined;
  #b2xx: SipResponse | undefined;
  #bAckSent: SipRequest | undefined;
  #pendingAck: PendingAck | undefined;
  #reInviteInProgress = false;
  #ringTimer: TimerHandle | undefined;
  #challengeTimer: TimerHandle | undefined;
  #aRSeq = Math.floor(Math.random() * 1000) + 1;
  readonly #reliable = new Map<number, ReliableProvisional>();
  readonly #started = new Date();
  #answered: Date | undefined;
  #endedAt: Date | undefined;
  #endedBy: EndedBy | undefined;
  #finalStatus: number | undefined;
  #endReason = '';

  constructor(init: CallSessionInit) {
    this.id = init.id;
    this.#context = init.context;
    this.direction = init.direction;
    this.decision = init.decision;
    this.facts = init.facts;
    this.#openMedia = init.openMedia;
    this.#incoming = init.incoming;
    this.#target = init.target;
    this.#onEnded = init.onEnded;
  }

  get state(): CallState {
    return this.#state;
  }

  /** The call's CDR as far as it is known. */
  summary(): CallSummary {
    const a = this.#incoming.request;
    return {
      id: this.id,
      direction: this.direction,
      callIdA: a.callId,
      callIdB: this.#bCallId,
      facts: this.facts,
      callerName: a.from.displayName ?? undefined,
      calleeName: a.to.displayName ?? undefined,
      decision: this.decision,
      startedAt: this.#started,
      answeredAt: this.#answered,
      endedAt: this.#endedAt,
      endedBy: this.#endedBy,
      finalStatus: this.#finalStatus,
      endReason: this.#endReason,
    };
  }

  /** Caller's Call-ID and From tag: how a retried INVITE (after 401/407) finds this call. */
  get callerKey(): string {
    return `${this.#incoming.request.callId}\u0000${this.#incoming.request.from.params.get('tag') ?? ''}`;
  }

  /** Sends the B-leg INVITE. */
  async start(): Promise<void> {
    this.#incoming.respond(100);
    try {
      this.#bDestination = await this.#context.resolve(this.#target);
    } catch (error) {
      this.#context.logger.warn({ err: String(error), call: this.id }, 'callee side not resolvable');
      this.#failCaller(503, 'callee side unresolvable');
      return;
    }
    if (this.#openMedia !== undefined) {
      try {
        this.#media = await this.#openMedia();
      } catch (error) {
        this.#context.logger.warn({ call: this.id, err: String(error) }, 'no media ports for the call');
        if (this.#state !== 'ended') this.#failCaller(503, 'no media ports');
        return;
      }
    }
    if (this.#state === 'ended') {
      this.#media?.close(this.summary());
      return;
    }
    if (this.#cancelRequested) {
      // Cancelled before anything went to the callee
      this.#end(this.#endedBy ?? 'caller', this.#finalStatus ?? 487, this.#endReason || 'cancelled');
      return;
    }
    const offer = this.#relaySdp('a', this.#incoming.request, 'offer');
    if (!offer.ok) {
      this.#respondToCaller(488, {
        reason: 'Not Acceptable Here',
        headers: [['Warning', `399 callrec "${offer.reason}"`]],
      });
      this.#end('callrec', 488, offer.reason);
      return;
    }
    this.#bOffer = offer.body;
    this.#sendBInvite(1);
    this.#ringTimer = this.#context.clock.setTimer(() => this.#ringTimeout(), this.#context.ringTimeoutMs);
  }

  /**
   * An SDP body on its way from leg `from` to the other leg, through the media anchor. Bodies that
   * are not SDP, and every body of a call without anchoring, pass unchanged.
   */
  #relaySdp(from: LegName, message: SipRequest | SipResponse, role: SdpRole): SdpRelay {
    const body = message.body;
    const type = (getHeader(message, 'Content-Type') ?? '').split(';')[0]?.trim().toLowerCase();
    if (this.#media === undefined || body.length === 0 || type !== 'application/sdp') return { ok: true, body };
    return this.#media.relaySdp(from, body, role);
  }

  /** Like #relaySdp where the message cannot be refused any more (answers): unchanged on failure. */
  #relayAnswer(from: LegName, message: SipRequest | SipResponse, role: SdpRole = 'answer'): Buffer {
    const relayed = this.#relaySdp(from, message, role);
    if (relayed.ok) return relayed.body;
    this.#context.logger.warn({ call: this.id, leg: from, err: relayed.reason }, 'SDP not anchored; relayed as is');
    return message.body;
  }

  /** The caller retried after our relayed 401/407: same B call, CSeq + 1 (digest stays valid). */
  retryAfterChallenge(incoming: IncomingRequest): void {
    if (this.#state !== 'challenged' || this.#bInvite === undefined) {
      incoming.respond(500);
      return;
    }
    if (this.#challengeTimer !== undefined) this.#context.clock.clearTimer(this.#challengeTimer);
    this.#challengeTimer = undefined;
    this.#incoming = incoming;
    this.#state = 'calling';
    this.#finalSent = false;
    this.#provisionalFromB = false;
    incoming.respond(100);
    this.#sendBInvite(this.#bInvite.cseq.seq + 1);
    this.#ringTimer = this.#context.clock.setTimer(() => this.#ringTimeout(), this.#context.ringTimeoutMs);
  }

  #sendBInvite(cseq: number): void {
    const destination = this.#bDestination as Endpoint;
    const a = this.#incoming.request;
    const via = this.#context.via(destination.protocol);
    const maxForwards = Math.max(0, (a.maxForwards ?? 70) - 1);
    const headers: Array<readonly [string, string]> = [
      [
        'Via',
        `SIP/2.0/${via.transport} ${via.host.includes(':') ? `[${via.host}]` : via.host}${via.port === undefined ? '' : `:${via.port}`};branch=${newBranch()};rport`,
      ],
      ['Max-Forwards', String(maxForwards)],
      ['From', `${withoutTagAndHost(a.from, via.host, undefined)};tag=${this.#bFromTag}`],
      ['To', withoutTagAndHost(a.to, this.#target.host, this.#target.port)],
      ['Call-ID', this.#bCallId],
      ['CSeq', `${cseq} INVITE`],
      ['Contact', this.#context.contact(destination.protocol)],
      ...this.#context.headers.carry(a.headers),
    ];
    const invite = buildRequest({ method: 'INVITE', uri: this.#target, headers, body: this.#bOffer ?? a.body });
    this.#bInvite = invite;
    this.#context.sendRequest(invite, destination, {
      onResponse: (response) => this.#onBInviteResponse(response),
      onTimeout: () => this.#onBInviteTimeout(),
      onTransportError: (error) => this.#onBTransportError(error),
    });
  }

  // ---- responses from the callee to the initial INVITE ------------------------------------

  #onBInviteResponse(response: SipResponse): void {
    if (this.#state === 'ended') {
      if (response.status >= 200 && response.status < 300) this.#ackAndByeStray(response);
      return;
    }
    if (response.status < 200) {
      this.#onBProvisional(response);
      return;
    }
    if (response.status < 300) {
      this.#onB2xx(response);
      return;
    }
    this.#onBFailure(response);
  }

  #onBProvisional(response: SipResponse): void {
    if (response.status === 100) return;
    this.#provisionalFromB = true;
    if (this.#cancelRequested && !this.#cancelSent) this.#sendCancel();
    if (this.#finalSent) return;
    const pair = this.#pairFor(response);
    if (pair !== undefined && this.#state === 'calling') this.#state = 'early';
    const headers = this.#context.headers.carryExcept(response.headers, ['Require', 'RSeq']);
    const body = this.#relayAnswer('b', response, this.#initialRole());
    const reliable = headerList(response, 'Require').includes('100rel') && getHeader(response, 'RSeq') !== undefined;
    const callerSupports100rel = [
      ...getHeaderValues(this.#incoming.request, 'Supported'),
      ...getHeaderValues(this.#incoming.request, 'Require'),
    ].some((t) => t.toLowerCase() === '100rel');
    if (reliable && pair !== undefined) {
      const bRSeq = Number(getHeader(response, 'RSeq'));
      if (callerSupports100rel) {
        // RFC 3262 end to end: our own RSeq toward the caller, mapped back on PRACK
        const rseq = this.#aRSeq++;
        const sent = this.#respondToCaller(response.status, {
          reason: response.reason,
          toTag: pair.aTag,
          headers: [...headers, ['Require', '100rel'], ['RSeq', String(rseq)], ['Contact', this.#callerContact()]],
          body,
        });
        const retransmitter = new Uas2xxRetransmitter({
          clock: this.#context.clock,
          timers: this.#context.timers,
          retransmit: () =>
            void this.#context.sendStateless(sent, this.#incoming.responseDestination).catch(() => undefined),
          onNoAck: () => this.#reliable.delete(rseq),
        });
        retransmitter.start();
        this.#reliable.set(rseq, { bRSeq, pair, retransmitter });
        return;
      }
      // The caller cannot PRACK: callrec acknowledges the callee itself and relays unreliably
      this.#sendPrack(pair.b, bRSeq, response.cseq.seq);
    }
    this.#respondToCaller(response.status, {
      reason: response.reason,
      ...(pair === undefined ? {} : { toTag: pair.aTag }),
      headers: [...headers, ['Contact', this.#callerContact()]],
      body,
    });
  }

  /** The role of the callee's SDP in responses to the initial INVITE: answer, or offer (late offer). */
  #initialRole(): SdpRole {
    return this.#incoming.request.body.length > 0 ? 'answer' : 'offer';
  }

  /** The dialog pair of a callee fork (created on its first dialog-creating response). */
  #pairFor(response: SipResponse): DialogPair | undefined {
    const bTag = response.to.params.get('tag');
    if (bTag === undefined || bTag === null || this.#bInvite === undefined) return undefined;
    const existing = this.#pairs.get(bTag);
    if (existing !== undefined) {
      existing.b.receiveResponse(response);
      return existing;
    }
    if (response.contact.length === 0 && response.status >= 200) return undefined;
    const protocol = (this.#bDestination as Endpoint).protocol;
    const b = Dialog.asUac(this.#bInvite, response, {
      via: this.#context.via(protocol),
      localContact: this.#context.contact(protocol),
      protocol,
    });
    const aTag = this.#pairs.size === 0 ? this.#incoming.toTag : tag();
    const aProtocol = this.#incoming.source.protocol;
    const a = Dialog.asUas(this.#incoming.request, this.#syntheticResponse(aTag), {
      via: this.#context.via(aProtocol),
      localContact: this.#context.contact(aProtocol),
      protocol: aProtocol,
    });
    const pair: DialogPair = { a, b, aTag };
    this.#pairs.set(bTag, pair);
    this.#context.addDialog(a, 'a');
    this.#context.addDialog(b, 'b');
    return pair;
  }

  /** A response with our To tag and Contact, only to seed the caller-side dialog state. */
  #syntheticResponse(aTag: string): SipResponse {
    return createResponse(this.#incoming.request, 180, { toTag: aTag, headers: [['Contact', this.#callerContact()]] });
  }

  #onB2xx(response: SipResponse): void {
    const bTag = response.to.params.get('tag') ?? '';
    if (this.#confirmed !== undefined) {
      // A retransmitted 2xx (RFC 6026 Accepted): repeat our ACK; another fork's 2xx: ACK and BYE it.
      if (this.#confirmed.b.remoteTag === bTag) {
        if (this.#bAckSent !== undefined) this.#sendToB(this.#bAckSent);
      } else this.#ackAndByeStray(response);
      return;
    }
    const pair = this.#pairFor(response);
    if (pair === undefined) {
      this.#ackAndByeStray(response);
      this.#failCaller(502, 'invalid 2xx from callee');
      return;
    }
    this.#clearRingTimer();
    this.#confirmed = pair;
    this.#b2xx = response;
    this.#state = 'confirmed';
    this.#answered = new Date();
    for (const [key, other] of this.#pairs) {
      if (other === pair) continue;
      other.a.terminate();
      other.b.terminate();
      this.#pairs.delete(key);
    }
    for (const reliable of this.#reliable.values()) reliable.retransmitter.stop();
    this.#reliable.clear();
    pair.a.confirm();
    const sent = this.#respondToCaller(response.status, {
      reason: response.reason,
      toTag: pair.aTag,
      headers: [...this.#context.headers.carry(response.headers), ['Contact', this.#callerContact()]],
      body: this.#relayAnswer('b', response, this.#initialRole()),
    });
    this.#media?.connected();
    this.#a2xx = new Uas2xxRetransmitter({
      clock: this.#context.clock,
      timers: this.#context.timers,
      retransmit: () =>
        void this.#context.sendStateless(sent, this.#incoming.responseDestination).catch(() => undefined),
      onNoAck: () => {
        // §13.3.1.4: no ACK for our 2xx: the caller's dialog is dead, end the call
        this.#context.logger.warn({ call: this.id }, 'no ACK from the caller for the 2xx; ending the call');
        this.#ackB(undefined);
        this.hangUp('callrec', 'no ACK from caller');
      },
    });
    this.#a2xx.start();
  }

  #onBFailure(response: SipResponse): void {
    this.#clearRingTimer();
    for (const pair of this.#pairs.values()) {
      pair.a.terminate();
      pair.b.terminate();
    }
    this.#pairs.clear();
    if (this.#cancelRequested) {
      this.#end(this.#endedBy ?? 'caller', 487, 'cancelled');
      return;
    }
    if (this.#finalSent) {
      this.#end('callrec', this.#finalStatus ?? response.status, 'callee failed after final');
      return;
    }
    const status = response.status;
    const carried = this.#context.headers.carry(response.headers);
    if (status === 401 || status === 407) {
      // Digest relay: the caller answers the challenge, the retry goes out on this same B call
      this.#respondToCaller(status, { reason: response.reason, headers: carried });
      this.#state = 'challenged';
      this.#challengeTimer = this.#context.clock.setTimer(
        () => this.#end('callee', status, 'challenge not answered'),
        AUTH_RETRY_WINDOW_MS,
      );
      return;
    }
    if (status >= 300 && status < 400) {
      // Redirect targets are relayed through callrec, never as the far side's addresses
      const contacts = response.contact.flatMap((c) =>
        c.wildcard === true ? [] : [withoutTagAndHost(c, this.#localHost(), this.#localPort())],
      );
      this.#respondToCaller(status, {
        reason: response.reason,
        headers: [...carried, ...contacts.map((c) => ['Contact', c] as const)],
      });
      this.#end('callee', status, 'redirected');
      return;
    }
    if (status === 503) {
      // Overload of the far side is not ours to propagate (cf. RFC 3261 §16.7 step 6)
      this.#respondToCaller(500, {
        reason: 'Callee Side Unavailable',
        headers: [...carried.filter(([n]) => n !== 'Retry-After'), ['Reason', REASONS_FOR_503]],
      });
      this.#end('callee', 500, 'callee side 503');
      return;
    }
    this.#respondToCaller(status, { reason: response.reason, headers: carried });
    this.#end('callee', status, 'rejected');
  }

  #onBInviteTimeout(): void {
    if (this.#state === 'ended' || this.#state === 'confirmed') return;
    this.#failCaller(408, 'callee side did not answer the INVITE');
  }

  #onBTransportError(error: AppError): void {
    this.#context.logger.warn({ call: this.id, err: error.message }, 'cannot reach the callee side');
    if (this.#state !== 'ended' && this.#state !== 'confirmed') this.#failCaller(503, 'callee side unreachable');
  }

  #ringTimeout(): void {
    this.#ringTimer = undefined;
    if (this.#state !== 'calling' && this.#state !== 'early') return;
    this.#respondToCaller(408, { reason: 'No Answer' });
    this.#endedBy = 'callrec';
    this.#endReason = 'ring timeout';
    this.#cancelRequested = true;
    if (this.#provisionalFromB) this.#sendCancel();
    // Without any provisional a CANCEL is not allowed yet (§9.1); Timer B ends the B INVITE.
  }

  // ---- requests from the caller / callee --------------------------------------------------

  /** CANCEL from the caller matched our INVITE (the core answered the CANCEL 200). */
  cancel(): void {
    if (this.#state !== 'calling' && this.#state !== 'early') return;
    this.#clearRingTimer();
    this.#respondToCaller(487);
    this.#endedBy = 'caller';
    this.#cancelRequested = true;
    if (this.#provisionalFromB) this.#sendCancel();
  }

  #sendCancel(): void {
    if (this.#bInvite === undefined || this.#bDestination === undefined || this.#cancelSent) return;
    this.#cancelSent = true;
    this.#context.sendRequest(createCancel(this.#bInvite), this.#bDestination, {
      onResponse: () => undefined,
      onTimeout: () => undefined,
      onTransportError: () => undefined,
    });
  }

  /** ACK for a 2xx, from leg `leg` (matched by dialog). */
  onAck(ack: SipRequest, leg: LegName): void {
    if (leg === 'a' && this.#a2xx !== undefined && ack.cseq.seq === this.#incoming.request.cseq.seq) {
      // The caller's ACK for the call's 2xx (or a retransmission of it)
      this.#a2xx.acknowledge();
      this.#ackB(ack);
      return;
    }
    const pending = this.#pendingAck;
    if (pending !== undefined && pending.from === leg) {
      pending.retransmitter.acknowledge();
      this.#pendingAck = undefined;
      const dialog = this.#dialogOf(otherLeg(leg));
      if (dialog === undefined) return;
      const forwardedAck = dialog.createAck(pending.forwarded, pending.response, {
        body: this.#relayAnswer(leg, ack),
        headers: this.#context.headers.carry(ack.headers).filter(([n]) => n === 'Content-Type'),
      });
      this.#sendToLeg(otherLeg(leg), forwardedAck);
    }
  }

  /** The ACK toward the callee for its 2xx; carries the caller's ACK body (late offer). */
  #ackB(callerAck: SipRequest | undefined): void {
    if (
      this.#confirmed === undefined ||
      this.#b2xx === undefined ||
      this.#bInvite === undefined ||
      this.#bAckSent !== undefined
    )
      return;
    const ack = this.#confirmed.b.createAck(this.#bInvite, this.#b2xx, {
      ...(callerAck === undefined
        ? {}
        : {
            body: this.#relayAnswer('a', callerAck),
            headers: this.#context.headers.carry(callerAck.headers).filter(([n]) => n === 'Content-Type'),
          }),
    });
    this.#bAckSent = ack;
    this.#sendToB(ack);
  }

  /** A request inside one of this call's dialogs, from leg `leg`. */
  relayInDialog(incoming: IncomingRequest, leg: LegName, dialog: Dialog): void {
    const request = incoming.request;
    const verdict = dialog.receiveRequest(request);
    if (!verdict.accepted) {
      incoming.respond(verdict.status, { reason: verdict.reason });
      return;
    }
    if (request.method === 'BYE') {
      incoming.respond(200);
      this.#endedBy = leg === 'a' ? 'caller' : 'callee';
      this.hangUp(this.#endedBy, 'BYE', leg);
      return;
    }
    if (request.method === 'PRACK' && leg === 'a') {
      this.#relayPrack(incoming);
      return;
    }
    const target = this.#peerDialog(dialog, leg);
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
    const offer = this.#relaySdp(leg, request, 'offer');
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
          onResponse: (response) => this.#relayInDialogResponse(incoming, leg, forwarded, response, dialog),
          onTimeout: () => {
            if (request.method === 'INVITE') this.#reInviteInProgress = false;
            incoming.respond(408);
            if (request.method === 'INVITE' || request.method === 'UPDATE')
              this.hangUp('callrec', `${request.method} timeout on leg ${to}`);
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

  #relayInDialogResponse(
    incoming: IncomingRequest,
    from: LegName,
    forwarded: SipRequest,
    response: SipResponse,
    originDialog: Dialog,
  ): void {
    if (response.status === 100) return;
    const method = incoming.request.method;
    const role: SdpRole = incoming.request.body.length > 0 ? 'answer' : 'offer';
    const relayBody = (): Buffer => this.#relayAnswer(otherLeg(from), response, role);
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
        const retransmitter = new Uas2xxRetransmitter({
          clock: this.#context.clock,
          timers: this.#context.timers,
          retransmit: () => void this.#context.sendStateless(sent, incoming.responseDestination).catch(() => undefined),
          onNoAck: () => {
            this.#pendingAck = undefined;
            this.hangUp('callrec', 're-INVITE not acknowledged');
          },
        });
        retransmitter.start();
        this.#pendingAck = { from, forwarded, response, retransmitter };
        void originDialog;
        return;
      }
    }
    if (response.status === 481 || response.status === 408) {
      incoming.respond(response.status, { reason: response.reason, headers });
      if (method !== 'NOTIFY' && method !== 'INFO') this.hangUp('callrec', `${response.status} on in-dialog ${method}`);
      return;
    }
    incoming.respond(response.status, {
      reason: response.reason,
      headers: [...headers, ...contactHeader],
      body: response.status < 300 ? relayBody() : response.body,
    });
  }

  /** PRACK from the caller: mapped to the callee's RSeq on the matching fork (RFC 3262 §7.2). */
  #relayPrack(incoming: IncomingRequest): void {
    const rack = (getHeader(incoming.request, 'RAck') ?? '').trim().split(/\s+/);
    const rseq = Number(rack[0]);
    const reliable = this.#reliable.get(rseq);
    if (reliable === undefined || this.#bInvite === undefined) {
      incoming.respond(481, { reason: 'No Matching Reliable Provisional' });
      return;
    }
    reliable.retransmitter.acknowledge();
    this.#reliable.delete(rseq);
    this.#sendPrack(reliable.pair.b, reliable.bRSeq, this.#bInvite.cseq.seq, incoming);
  }

  #sendPrack(dialog: Dialog, bRSeq: number, inviteSeq: number, incoming?: IncomingRequest): void {
    const prack = dialog.createRequest('PRACK', {
      headers: [
        ['RAck', `${bRSeq} ${inviteSeq} INVITE`],
        ...(incoming === undefined ? [] : this.#context.headers.carry(incoming.request.headers)),
      ],
      // RFC 3262 §5: a PRACK answers an offer in the reliable provisional (late offer) or makes one
      ...(incoming === undefined ? {} : { body: this.#relayAnswer('a', incoming.request, this.#prackRole()) }),
    });
    this.#sendRequestToLeg('b', prack, (response) => {
      if (incoming !== undefined && response.status >= 200) {
        incoming.respond(response.status, {
          reason: response.reason,
          headers: this.#context.headers.carry(response.headers),
          body:
            response.status < 300
              ? this.#relayAnswer('b', response, this.#prackRole() === 'offer' ? 'answer' : 'offer')
              : response.body,
        });
      }
    });
  }

  #prackRole(): SdpRole {
    return this.#incoming.request.body.length > 0 ? 'offer' : 'answer';
  }

  // ---- ending ------------------------------------------------------------------------------

  /** Ends a call: BYE (or CANCEL) toward every leg that is still up, except `except`. Idempotent. */
  hangUp(endedBy: EndedBy, reason: string, except?: LegName): void {
    if (this.#state === 'ended') return;
    this.#endedBy ??= endedBy;
    this.#endReason = reason;
    if (this.#state === 'calling' || this.#state === 'early') {
      this.#respondToCaller(endedBy === 'callrec' ? 500 : 487);
      this.#cancelRequested = true;
      if (this.#provisionalFromB) this.#sendCancel();
      return;
    }
    const pair = this.#confirmed;
    if (pair !== undefined) {
      for (const leg of ['a', 'b'] as const) {
        if (leg === except) continue;
        const dialog = leg === 'a' ? pair.a : pair.b;
        if (dialog.state === 'terminated') continue;
        if (leg === 'b' && this.#bAckSent === undefined) this.#ackB(undefined);
        try {
          const bye = dialog.createRequest('BYE', { headers: [['Reason', `SIP;text="${reason.replace(/"/g, "'")}"`]] });
          this.#sendRequestToLeg(leg, bye, () => undefined);
        } catch {
          // a dialog that cannot send any more is already gone
        }
      }
    }
    this.#end(this.#endedBy, this.#finalStatus ?? 200, reason);
  }

  #end(endedBy: EndedBy, status: number, reason: string): void {
    if (this.#state === 'ended') return;
    this.#state = 'ended';
    this.#endedBy ??= endedBy;
    this.#finalStatus ??= status;
    if (this.#endReason === '') this.#endReason = reason;
    this.#clearRingTimer();
    if (this.#challengeTimer !== undefined) this.#context.clock.clearTimer(this.#challengeTimer);
    this.#a2xx?.stop();
    this.#pendingAck?.retransmitter.stop();
    for (const reliable of this.#reliable.values()) reliable.retransmitter.stop();
    this.#reliable.clear();
    for (const pair of this.#pairs.values()) {
      pair.a.terminate();
      pair.b.terminate();
    }
    this.#pairs.clear();
    this.#endedAt = new Date();
    const summary = this.summary();
    try {
      this.#media?.close(summary);
    } catch (error) {
      this.#context.logger.error(
        { call: this.id, err: error instanceof Error ? error.message : String(error) },
        'closing media failed',
      );
    }
    logCallEnded(this.#context.logger, summary, this.#context.personalData);
    this.#onEnded(this);
  }

  #failCaller(status: number, reason: string): void {
    this.#clearRingTimer();
    this.#respondToCaller(status);
    this.#end('callrec', status, reason);
  }

  // ---- helpers -----------------------------------------------------------------------------

  #respondToCaller(
    status: number,
    options: {
      reason?: string;
      toTag?: string;
      headers?: ReadonlyArray<readonly [string, string]>;
      body?: Buffer;
    } = {},
  ): SipResponse {
    if (status >= 200) {
      if (this.#finalSent) throw new AppError('SIP_DIALOG_STATE', `final response already sent, not ${status}`);
      this.#finalSent = true;
      this.#finalStatus = status;
    }
    return this.#incoming.respond(status, {
      ...(options.reason === undefined ? {} : { reason: options.reason }),
      ...(options.toTag === undefined ? {} : { toTag: options.toTag }),
      ...(options.headers === undefined ? {} : { headers: options.headers }),
      ...(options.body === undefined || options.body.length === 0 ? {} : { body: options.body }),
    });
  }

  #callerContact(): string {
    return this.#context.contact(this.#incoming.source.protocol);
  }

  #localHost(): string {
    return this.#context.via(this.#incoming.source.protocol).host;
  }

  #localPort(): number | undefined {
    return this.#context.via(this.#incoming.source.protocol).port;
  }

  #dialogOf(leg: LegName): Dialog | undefined {
    const pair = this.#confirmed;
    if (pair === undefined) return undefined;
    return leg === 'a' ? pair.a : pair.b;
  }

  /** The dialog on the other leg that mirrors `dialog` (confirmed pair or the early fork). */
  #peerDialog(dialog: Dialog, leg: LegName): Dialog | undefined {
    for (const pair of this.#confirmed === undefined ? this.#pairs.values() : [this.#confirmed]) {
      if ((leg === 'a' ? pair.a : pair.b) === dialog) return leg === 'a' ? pair.b : pair.a;
    }
    return undefined;
  }

  #clearRingTimer(): void {
    if (this.#ringTimer !== undefined) this.#context.clock.clearTimer(this.#ringTimer);
    this.#ringTimer = undefined;
  }

  #sendToB(message: SipRequest): void {
    this.#sendToLeg('b', message);
  }

  /** Sends a message outside a transaction (ACK) to where its Request-URI / Route points. */
  #sendToLeg(_leg: LegName, message: SipRequest): void {
    void this.#context
      .resolve(message.route[0]?.uri ?? message.uri)
      .then((destination) => this.#context.sendStateless(message, destination))
      .catch((error: unknown) => this.#context.logger.warn({ call: this.id, err: String(error) }, 'ACK not sent'));
  }

  #sendRequestToLeg(_leg: LegName, request: SipRequest, onFinal: (response: SipResponse) => void): void {
    void this.#context.resolve(request.route[0]?.uri ?? request.uri).then(
      (destination) => {
        this.#context.sendRequest(request, destination, {
          onResponse: (response) => onFinal(response),
          onTimeout: () => undefined,
          onTransportError: () => undefined,
        });
      },
      (error: unknown) =>
        this.#context.logger.warn({ call: this.id, err: String(error) }, `${request.method} not sent`),
    );
  }

  /** A 2xx from a fork we do not keep: ACK it and BYE it (RFC 3261 §13.2.2.4). */
  #ackAndByeStray(response: SipResponse): void {
    if (this.#bInvite === undefined || response.contact.length === 0) return;
    const protocol = (this.#bDestination as Endpoint).protocol;
    const dialog = Dialog.asUac(this.#bInvite, response, { via: this.#context.via(protocol), protocol });
    this.#sendToB(dialog.createAck(this.#bInvite, response));
    this.#sendRequestToLeg('b', dialog.createRequest('BYE'), () => undefined);
    dialog.terminate();
  }
}
