import type { AppError } from '../errors.js';
import type { IncomingRequest, SipResponse, TimerHandle } from '../sip/index.js';
import type { AnsweredCaller } from './announcement-answer.js';
import type { CallContext } from './call-context.js';
import type { CallMedia } from './call-media.js';
import type { SdpRole } from './call-media-port.js';
import type { CallProgress } from './call-progress.js';
import type { EndedBy } from './call-summary.js';
import { failureToCaller } from './callee-failure.js';
import type { CalleeInvite } from './callee-invite.js';
import type { CallerInvite } from './caller-invite.js';
import type { DialogPairs } from './dialog-pairs.js';
import type { ReliableProvisionals } from './reliable-provisionals.js';

const AUTH_RETRY_WINDOW_MS = 32_000;

/** What {@link CallSetup} acts on, and the two ways it ends its session. */
export interface CallSetupInit {
  readonly context: CallContext;
  /** The call's id, for log lines. */
  readonly callId: string;
  readonly progress: CallProgress;
  readonly caller: CallerInvite;
  readonly callee: CalleeInvite;
  readonly pairs: DialogPairs;
  readonly reliable: ReliableProvisionals;
  readonly media: CallMedia;
  /** Ends the session (the one way out; idempotent). */
  readonly end: (endedBy: EndedBy, status: number, reason: string) => void;
  /** Ends an answered call with BYE on both legs (callrec's decision). */
  readonly hangUp: (reason: string) => void;
  /** The caller's dialog when callrec answered it before the callee (announcement, answer-first). */
  readonly answered?: AnsweredCaller;
}

/**
 * The setup of one call: the INVITE to the callee and its responses relayed to the caller —
 * provisionals per fork (reliably where both sides can), the answer, a failure, a digest challenge
 * the caller may answer on the same B call — and the caller's CANCEL, the ring timeout and the
 * CANCEL toward the callee, sent only once a provisional allows it (RFC 3261 §9.1).
 */
export class CallSetup {
  readonly #context: CallContext;
  readonly #callId: string;
  readonly #progress: CallProgress;
  readonly #caller: CallerInvite;
  readonly #callee: CalleeInvite;
  readonly #pairs: DialogPairs;
  readonly #reliable: ReliableProvisionals;
  readonly #media: CallMedia;
  readonly #end: (endedBy: EndedBy, status: number, reason: string) => void;
  readonly #hangUp: (reason: string) => void;
  readonly #answered: AnsweredCaller | undefined;
  #provisionalFromB = false;
  #cancelRequested = false;
  #ringTimer: TimerHandle | undefined;
  #challengeTimer: TimerHandle | undefined;

  constructor(init: CallSetupInit) {
    this.#context = init.context;
    this.#callId = init.callId;
    this.#progress = init.progress;
    this.#caller = init.caller;
    this.#callee = init.callee;
    this.#pairs = init.pairs;
    this.#reliable = init.reliable;
    this.#media = init.media;
    this.#end = init.end;
    this.#hangUp = init.hangUp;
    this.#answered = init.answered;
  }

  /** Whether the call is to end before the callee answers (CANCEL sent, or due once allowed). */
  get cancelRequested(): boolean {
    return this.#cancelRequested;
  }

  /** Sends the INVITE with CSeq `cseq` to the callee and starts ringing. */
  invite(cseq: number): void {
    this.#callee.send(this.#caller.request, cseq, {
      onResponse: (response) => this.#onResponse(response),
      onTimeout: () => this.#onTimeout(),
      onTransportError: (error) => this.#onTransportError(error),
    });
    this.#ringTimer = this.#context.clock.setTimer(() => this.#ringTimeout(), this.#context.ringTimeoutMs);
  }

  /** The caller retried after our relayed 401/407: same B call, CSeq + 1 (digest stays valid). */
  retry(incoming: IncomingRequest): void {
    const invite = this.#callee.request;
    if (this.#progress.state !== 'challenged' || invite === undefined) {
      incoming.respond(500);
      return;
    }
    if (this.#challengeTimer !== undefined) this.#context.clock.clearTimer(this.#challengeTimer);
    this.#challengeTimer = undefined;
    this.#caller.retry(incoming);
    this.#progress.state = 'calling';
    this.#provisionalFromB = false;
    incoming.respond(100);
    this.invite(invite.cseq.seq + 1);
  }

  /** CANCEL from the caller matched our INVITE (the core answered the CANCEL 200). */
  cancel(): void {
    if (!this.#progress.ringing) return;
    this.#clearRingTimer();
    this.#caller.respond(487);
    this.#progress.endedBy = 'caller';
    this.cancelCallee();
  }

  /** The call is to end while ringing: CANCEL the callee now if a provisional allows, else on the first. */
  cancelCallee(): void {
    this.#cancelRequested = true;
    if (this.#provisionalFromB) this.#callee.cancel();
  }

  /** Fails the call toward the caller with `status` (callrec's decision) and ends it. */
  fail(status: number, reason: string): void {
    this.#clearRingTimer();
    // A caller callrec answered itself (announcement) gets a BYE instead of the status
    if (this.#answered?.active === true) this.#answered.bye(reason);
    else if (!this.#caller.finalSent) this.#caller.respond(status);
    this.#end('callrec', status, reason);
  }

  /** Stops the ring and challenge timers (the call ended). */
  stop(): void {
    this.#clearRingTimer();
    if (this.#challengeTimer !== undefined) this.#context.clock.clearTimer(this.#challengeTimer);
  }

  // ---- responses from the callee to the initial INVITE ------------------------------------

  #onResponse(response: SipResponse): void {
    if (this.#progress.state === 'ended') {
      if (response.status >= 200 && response.status < 300) this.#callee.ackAndByeStray(response);
      return;
    }
    if (response.status < 200) {
      this.#onProvisional(response);
      return;
    }
    if (response.status < 300) {
      this.#on2xx(response);
      return;
    }
    this.#onFailure(response);
  }

  #onProvisional(response: SipResponse): void {
    if (response.status === 100) return;
    this.#provisionalFromB = true;
    if (this.#cancelRequested) this.#callee.cancel();
    if (this.#caller.finalSent) return;
    const pair = this.#pairs.forResponse(response);
    if (pair !== undefined && this.#progress.state === 'calling') this.#progress.state = 'early';
    const headers = this.#context.headers.carryExcept(response.headers, ['Require', 'RSeq']);
    const body = this.#media.relayAnswer('b', response, this.#initialRole());
    if (pair !== undefined && this.#reliable.relay(response, pair, headers, body)) return;
    this.#caller.respond(response.status, {
      reason: response.reason,
      ...(pair === undefined ? {} : { toTag: pair.aTag }),
      headers: [...headers, ['Contact', this.#caller.contact()]],
      body,
    });
  }

  /** The role of the callee's SDP in responses to the initial INVITE: answer, or offer (late offer). */
  #initialRole(): SdpRole {
    return this.#caller.request.body.length > 0 ? 'answer' : 'offer';
  }

  #on2xx(response: SipResponse): void {
    const bTag = response.to.params.get('tag') ?? '';
    const confirmed = this.#pairs.confirmed;
    if (confirmed !== undefined) {
      // A retransmitted 2xx (RFC 6026 Accepted): repeat our ACK; another fork's 2xx: ACK and BYE it.
      if (confirmed.b.remoteTag === bTag) this.#callee.repeatAck();
      else this.#callee.ackAndByeStray(response);
      return;
    }
    const answered = this.#answered?.active === true ? this.#answered : undefined;
    // The pair's caller-side dialog takes over the one callrec answered (same tags)
    answered?.release();
    const pair = this.#pairs.forResponse(response);
    if (pair === undefined) {
      this.#callee.ackAndByeStray(response);
      this.fail(502, 'invalid 2xx from callee');
      return;
    }
    this.#clearRingTimer();
    this.#pairs.confirm(pair);
    this.#callee.answered(response, pair.b);
    this.#progress.state = 'confirmed';
    this.#progress.answeredAt = new Date();
    this.#reliable.stopAll();
    pair.a.confirm();
    if (answered !== undefined) {
      // The caller already has callrec's answer in that codec: the callee's answer stays on its leg
      this.#media.relayAnswer('b', response, 'answer');
      this.#callee.ack();
      this.#media.connected();
      return;
    }
    const sent = this.#caller.respond(response.status, {
      reason: response.reason,
      toTag: pair.aTag,
      headers: [...this.#context.headers.carry(response.headers), ['Contact', this.#caller.contact()]],
      body: this.#media.relayAnswer('b', response, this.#initialRole()),
    });
    this.#media.connected();
    this.#caller.retransmitUntilAck(sent, () => {
      // §13.3.1.4: no ACK for our 2xx: the caller's dialog is dead, end the call
      this.#context.logger.warn({ call: this.#callId }, 'no ACK from the caller for the 2xx; ending the call');
      this.#callee.ack();
      this.#hangUp('no ACK from caller');
    });
  }

  #onFailure(response: SipResponse): void {
    this.#clearRingTimer();
    this.#pairs.terminateAll();
    if (this.#cancelRequested) {
      this.#end(this.#progress.endedBy ?? 'caller', 487, 'cancelled');
      return;
    }
    if (this.#caller.finalSent) {
      this.#answered?.bye(`callee answered ${response.status}`);
      this.#end('callrec', this.#progress.finalStatus ?? response.status, 'callee failed after final');
      return;
    }
    const carried = this.#context.headers.carry(response.headers);
    const relayed = failureToCaller(response, carried, this.#caller.sentBy());
    this.#caller.respond(relayed.status, { reason: relayed.reason, headers: relayed.headers });
    if (relayed.endReason !== undefined) {
      this.#end('callee', relayed.status, relayed.endReason);
      return;
    }
    // Digest relay: the caller answers the challenge, the retry goes out on this same B call
    const status = relayed.status;
    this.#progress.state = 'challenged';
    this.#challengeTimer = this.#context.clock.setTimer(
      () => this.#end('callee', status, 'challenge not answered'),
      AUTH_RETRY_WINDOW_MS,
    );
  }

  #onTimeout(): void {
    if (this.#progress.state === 'ended' || this.#progress.state === 'confirmed') return;
    this.fail(408, 'callee side did not answer the INVITE');
  }

  #onTransportError(error: AppError): void {
    this.#context.logger.warn({ call: this.#callId, err: error.message }, 'cannot reach the callee side');
    if (this.#progress.state !== 'ended' && this.#progress.state !== 'confirmed') {
      this.fail(503, 'callee side unreachable');
    }
  }

  #ringTimeout(): void {
    this.#ringTimer = undefined;
    if (!this.#progress.ringing) return;
    if (this.#answered?.active === true) this.#answered.bye('No Answer');
    else this.#caller.respond(408, { reason: 'No Answer' });
    this.#progress.endedBy = 'callrec';
    this.#progress.endReason = 'ring timeout';
    this.cancelCallee();
    // Without any provisional a CANCEL is not allowed yet (§9.1); Timer B ends the B INVITE.
  }

  #clearRingTimer(): void {
    if (this.#ringTimer !== undefined) this.#context.clock.clearTimer(this.#ringTimer);
    this.#ringTimer = undefined;
  }
}
