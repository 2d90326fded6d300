import type { DtmfDigit } from '../media/index.js';
import { getHeader, getHeaderValues, type SipRequest, type TimerHandle } from '../sip/index.js';
import type { AnsweredCaller } from './announcement-answer.js';
import type { AnnouncementMode, AnnouncementPlan } from './announcement-plan.js';
import type { CallContext } from './call-context.js';
import type { CallerPlayback, CallMediaPort } from './call-media-port.js';
import type { CallerInvite } from './caller-invite.js';
import {
  ConsentGate,
  consentEvidence,
  type AnnouncementEvidence,
  type ConsentDecision,
  type ConsentEvent,
  type ConsentEvidence,
} from './consent.js';

/** How the stage ended: connect the callee (recorded or not), reject, route, or the call went away. */
export type AnnouncementOutcome =
  | {
      readonly kind: 'connect';
      readonly record: boolean;
      readonly evidence: ConsentEvidence;
      /** opt-out: the key still counts this long after the announcement ended. */
      readonly optOutWindowMs: number;
    }
  | { readonly kind: 'reject'; readonly status: number; readonly evidence: ConsentEvidence }
  | { readonly kind: 'route'; readonly to: string; readonly evidence: ConsentEvidence }
  | { readonly kind: 'aborted' };

export interface AnnouncementStageInit {
  readonly context: CallContext;
  /** The call's id, for log lines. */
  readonly callId: string;
  readonly plan: AnnouncementPlan;
  readonly caller: CallerInvite;
  readonly port: CallMediaPort;
  /** The caller's dialog when callrec answers it (answer-first). */
  readonly answered: AnsweredCaller;
  /** answer-first: the caller never ACKed callrec's 200. */
  readonly onNoAck: () => void;
}

/** Whether the caller's INVITE allows early media from callrec: SDP offer, and no 100rel demanded. */
export function modeFor(plan: AnnouncementPlan, invite: SipRequest): AnnouncementMode {
  if (plan.mode === 'answer-first') return 'answer-first';
  const type = (getHeader(invite, 'Content-Type') ?? '').split(';')[0]?.trim().toLowerCase();
  const offer = invite.body.length > 0 && type === 'application/sdp';
  // RFC 3262 §3: a caller that requires 100rel would need the 183 sent reliably
  const requires100rel = getHeaderValues(invite, 'Require').some((tag) => tag.trim().toLowerCase() === '100rel');
  return offer && !requires100rel ? 'early-media' : 'answer-first';
}

/**
 * The announcement stage of one call (SPEC §2, §4), before the callee is called: answers the
 * caller with callrec's own SDP (183, or 200 in answer-first), plays the profile's announcement to
 * the caller only, and feeds the caller's keys, the end of the announcement and the key timeout to
 * the consent gate until it decides. Ends at most once: with the decision, or `aborted`.
 */
export class AnnouncementStage {
  readonly #init: AnnouncementStageInit;
  readonly #gate: ConsentGate;
  readonly #mode: AnnouncementMode;
  #resolve: ((outcome: AnnouncementOutcome) => void) | undefined;
  readonly #done: Promise<AnnouncementOutcome>;
  #playback: CallerPlayback | undefined;
  #startedAt: Date | undefined;
  #endedAt: Date | undefined;
  #keyTimer: TimerHandle | undefined;
  #stopKeys: (() => void) | undefined;
  #ackWaiter: ((ack: SipRequest | undefined) => void) | undefined;
  #playbackFailed = false;
  #settled = false;

  constructor(init: AnnouncementStageInit) {
    this.#init = init;
    this.#gate = new ConsentGate(init.plan.consent);
    this.#mode = modeFor(init.plan, init.caller.request);
    this.#done = new Promise((resolve) => (this.#resolve = resolve));
  }

  /** The mode used for this call (early media unless the INVITE or the profile rule it out). */
  get mode(): AnnouncementMode {
    return this.#mode;
  }

  /** Whether the stage is still running (no decision yet). */
  get active(): boolean {
    return !this.#settled;
  }

  /** Runs the stage; resolves with its outcome (never rejects). */
  run(): Promise<AnnouncementOutcome> {
    void this.#start().catch((error: unknown) => {
      this.#init.context.logger.error(
        { call: this.#init.callId, err: error instanceof Error ? error.message : String(error) },
        'announcement failed',
      );
      this.#event({ type: 'announcement-failed' });
    });
    return this.#done;
  }

  /** answer-first: the caller's ACK for callrec's 200 (late offer: it carries the caller's answer). */
  onAck(ack: SipRequest): void {
    this.#init.answered.acknowledged(ack);
    const waiter = this.#ackWaiter;
    this.#ackWaiter = undefined;
    waiter?.(ack);
  }

  /** A key from SIP INFO in the caller's dialog (answer-first). */
  onKey(key: DtmfDigit): void {
    if (!this.#settled) this.#event({ type: 'key', key });
  }

  /** The call went away (CANCEL, BYE, shutdown): stops everything; the outcome is `aborted`. */
  abort(): void {
    this.#settle({ kind: 'aborted' });
  }

  async #start(): Promise<void> {
    const { caller, port, plan, answered, context } = this.#init;
    if (this.#mode === 'early-media') {
      const answer = port.answerCaller(caller.request.body);
      if (!answer.ok) {
        context.logger.warn({ call: this.#init.callId, err: answer.reason }, 'no early media for the announcement');
        this.#event({ type: 'announcement-failed' });
        return;
      }
      caller.respond(183, {
        reason: 'Session Progress',
        toTag: caller.incoming.toTag,
        headers: [
          ['Contact', caller.contact()],
          ['Content-Type', 'application/sdp'],
        ],
        body: answer.body,
      });
    } else if (!(await this.#answerFirst(caller, port, answered))) {
      return;
    }
    if (this.#settled) return;
    this.#stopKeys = port.onDigit('a', (key) => this.onKey(key));
    this.#startedAt = new Date();
    if (plan.file === undefined) {
      this.#endedAt = this.#startedAt;
      this.#event({ type: 'announcement-ended' });
      return;
    }
    let playback: CallerPlayback;
    try {
      playback = await port.playToCaller({ file: plan.file });
    } catch (error) {
      context.logger.error(
        { call: this.#init.callId, file: plan.file, err: error instanceof Error ? error.message : String(error) },
        'announcement cannot be played',
      );
      this.#event({ type: 'announcement-failed' });
      return;
    }
    if (this.#settled) {
      playback.stop();
      return;
    }
    this.#playback = playback;
    context.logger.info(
      { call: this.#init.callId, file: playback.name, mode: this.#mode, legalBasis: plan.consent.legalBasis },
      'announcement started',
    );
    void playback.done.then((end) => {
      this.#endedAt ??= new Date();
      if (end === 'completed') this.#event({ type: 'announcement-ended' });
    });
  }

  /** answer-first: 200 to the caller (callrec's answer, or its offer and the ACK's answer). */
  async #answerFirst(caller: CallerInvite, port: CallMediaPort, answered: AnsweredCaller): Promise<boolean> {
    const offer = caller.request.body;
    const type = (getHeader(caller.request, 'Content-Type') ?? '').split(';')[0]?.trim().toLowerCase();
    if (offer.length > 0 && type === 'application/sdp') {
      const answer = port.answerCaller(offer);
      if (!answer.ok) {
        this.#init.context.logger.warn({ call: this.#init.callId, err: answer.reason }, 'announcement not answerable');
        this.#event({ type: 'announcement-failed' });
        return false;
      }
      answered.answer(answer.body, this.#init.onNoAck);
      return true;
    }
    // Late offer (RFC 3261 §13.2.1): callrec offers, the caller answers in its ACK
    const ack = new Promise<SipRequest | undefined>((resolve) => (this.#ackWaiter = resolve));
    answered.answer(port.offerToCaller(), this.#init.onNoAck);
    const received = await ack;
    if (received === undefined || this.#settled) return false;
    const accepted = port.acceptCallerAnswer(received.body);
    if (!accepted.ok) {
      this.#init.context.logger.warn({ call: this.#init.callId, err: accepted.reason }, 'caller answer not usable');
      this.#event({ type: 'announcement-failed' });
      return false;
    }
    return true;
  }

  #event(event: ConsentEvent): void {
    if (this.#settled) return;
    if (event.type === 'announcement-failed') this.#playbackFailed = true;
    this.#apply(this.#gate.next(event));
  }

  #apply(decision: ConsentDecision): void {
    const { context, plan } = this.#init;
    switch (decision.kind) {
      case 'wait':
        return;
      case 'await-key':
        this.#keyTimer = context.clock.setTimer(() => {
          this.#keyTimer = undefined;
          this.#event({ type: 'timeout' });
        }, decision.ms);
        return;
      default: {
        const now = new Date();
        this.#endedAt ??= now;
        const evidence = consentEvidence(plan.consent, decision, now, this.#evidence());
        context.logger.info(
          {
            call: this.#init.callId,
            legalBasis: evidence.legalBasis,
            outcome: evidence.outcome,
            // the configured accept/refuse key (config, not the caller's data); other keys never
            key: evidence.digit,
            next:
              decision.kind === 'connect'
                ? decision.record
                  ? 'connect recorded'
                  : 'connect unrecorded'
                : decision.kind,
          },
          'announcement ended',
        );
        if (decision.kind === 'connect')
          this.#settle({ kind: 'connect', record: decision.record, evidence, optOutWindowMs: decision.optOutWindowMs });
        else if (decision.kind === 'reject') this.#settle({ kind: 'reject', status: decision.status, evidence });
        else this.#settle({ kind: 'route', to: decision.to, evidence });
      }
    }
  }

  #evidence(): AnnouncementEvidence | null {
    const playback = this.#playback;
    if (playback === undefined || this.#startedAt === undefined || this.#playbackFailed) return null;
    return {
      file: playback.name,
      sha256: playback.sha256,
      mode: this.#mode,
      startedAt: this.#startedAt.toISOString(),
      endedAt: (this.#endedAt ?? new Date()).toISOString(),
    };
  }

  #settle(outcome: AnnouncementOutcome): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#playback?.stop();
    this.#stopKeys?.();
    this.#stopKeys = undefined;
    if (this.#keyTimer !== undefined) this.#init.context.clock.clearTimer(this.#keyTimer);
    this.#keyTimer = undefined;
    const resolve = this.#resolve;
    this.#resolve = undefined;
    resolve?.(outcome);
    // A late-offer wait for the ACK ends with the stage
    const waiter = this.#ackWaiter;
    this.#ackWaiter = undefined;
    waiter?.(undefined);
  }
}
