import type { SipRequest } from '../sip/index.js';
import { AnnouncementStage } from './announcement.js';
import type { AnnouncementPlan } from './announcement-plan.js';
import type { AnsweredCaller } from './announcement-answer.js';
import type { CallContext } from './call-context.js';
import type { CallMediaPort } from './call-media-port.js';
import type { CalleeInvite } from './callee-invite.js';
import type { CallerInvite } from './caller-invite.js';
import type { ConsentEvidence } from './consent.js';
import type { OptOutWindow } from './recording-control.js';

/** What the announcement flow works with: the call's parts and its ways to end. */
export interface AnnouncementFlowInit {
  readonly context: CallContext;
  /** The call's id, for log lines. */
  readonly callId: string;
  readonly plan: AnnouncementPlan;
  readonly caller: CallerInvite;
  readonly callee: CalleeInvite;
  readonly port: CallMediaPort;
  readonly answered: AnsweredCaller;
  /** Whether the call has ended meanwhile (CANCEL, BYE, shutdown). */
  readonly ended: () => boolean;
  /** Fails the call toward the caller (a status, or BYE once callrec answered it) and ends it. */
  readonly fail: (status: number, reason: string) => void;
  /** Ends the call (callrec's decision). */
  readonly hangUp: (reason: string) => void;
  /** The stage, as soon as it exists (the session aborts it when the call goes away). */
  readonly onStage: (stage: AnnouncementStage) => void;
  /** opt-out: the caller pressed the key after the announcement, in time. */
  readonly onOptOut: (evidence: ConsentEvidence) => void;
}

/** How the call goes on to the callee after the announcement. */
export interface AnnouncementResult {
  /** The message whose SDP is offered to the callee: the INVITE, or the caller's ACK (late offer). */
  readonly offerFrom: SipRequest;
  /** opt-out: the key still counts for a while after the announcement. */
  readonly optOut: OptOutWindow | undefined;
}

/**
 * Runs the announcement stage of a recorded call (SPEC §2, §4) and carries out its outcome:
 * reject (the configured status, or BYE after answer-first), route (the callee INVITE goes to
 * the route target, unrecorded), or connect (recorded or not, the evidence handed to the media).
 * Undefined when the call does not go on to the callee.
 */
export async function runAnnouncement(init: AnnouncementFlowInit): Promise<AnnouncementResult | undefined> {
  const { port, plan } = init;
  const stage = new AnnouncementStage({
    context: init.context,
    callId: init.callId,
    plan,
    caller: init.caller,
    port,
    answered: init.answered,
    onNoAck: () => init.hangUp('no ACK from caller'),
  });
  init.onStage(stage);
  const outcome = await stage.run();
  if (init.ended() || outcome.kind === 'aborted') return undefined;
  if (outcome.kind === 'reject') {
    init.fail(outcome.status, `consent ${outcome.evidence.outcome}`);
    return undefined;
  }
  port.setConsent(outcome.evidence);
  let optOut: OptOutWindow | undefined;
  if (outcome.kind === 'route') {
    port.recordOnConnect(false);
    if (!init.callee.retarget(outcome.to)) {
      init.fail(500, 'consent refused: route target invalid');
      return undefined;
    }
    try {
      await init.callee.resolve();
    } catch {
      if (!init.ended()) init.fail(503, 'consent refused: route target unresolvable');
      return undefined;
    }
    if (init.ended()) return undefined;
  } else {
    port.recordOnConnect(outcome.record);
    if (outcome.record && outcome.optOutWindowMs > 0)
      optOut = {
        rules: plan.consent,
        evidence: outcome.evidence,
        windowMs: outcome.optOutWindowMs,
        onOptOut: init.onOptOut,
      };
  }
  if (stage.mode === 'answer-first') init.callee.withoutReliableProvisionals();
  // answer-first with a late offer: the caller's SDP came in its ACK
  const ack = init.answered.ack;
  const lateOffer = stage.mode === 'answer-first' && init.caller.request.body.length === 0;
  return { offerFrom: lateOffer && ack !== undefined ? ack : init.caller.request, optOut };
}
