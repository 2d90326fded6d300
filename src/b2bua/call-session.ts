import { parseInfoDigit } from '../media/index.js';
import { getHeader, type Dialog, type IncomingRequest, type SipRequest, type SipUri } from '../sip/index.js';
import type { AnnouncementStage } from './announcement.js';
import type { AnnouncementPlan } from './announcement-plan.js';
import { runAnnouncement } from './announcement-flow.js';
import { AnsweredCaller } from './announcement-answer.js';
import type { CallContext, LegName } from './call-context.js';
import { CallMedia } from './call-media.js';
import type { CallMediaPort, RecordingAction } from './call-media-port.js';
import type { CallDirection, CallFacts, RecordingDecision } from './call-policy.js';
import { CallProgress, type CallState } from './call-progress.js';
import { CallSetup } from './call-setup.js';
import { logCallEnded, type CallSummary, type EndedBy } from './call-summary.js';
import { CalleeInvite } from './callee-invite.js';
import { CallerInvite } from './caller-invite.js';
import { DialogPairs } from './dialog-pairs.js';
import { InDialogRelay } from './in-dialog-relay.js';
import type { ConsentEvidence } from './consent.js';
import { RecordingControl, type OptOutWindow } from './recording-control.js';
import { ReliableProvisionals } from './reliable-provisionals.js';
import { sendRequestToLeg } from './send-to-leg.js';

export type { CallState } from './call-progress.js';

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

/**
 * One call: the caller's dialog (leg a, callrec as UAS) and the callee's dialog (leg b, callrec
 * as UAC), each with its own Call-ID, tags, CSeq, Via and Contact. The session owns the call's
 * parts and its one way out (hangUp / end); the parts make every relay decision once,
 * parameterised by leg: CallerInvite and CalleeInvite (the two INVITEs), CallSetup (the callee's
 * responses until answer or failure), DialogPairs (the dialogs per fork), ReliableProvisionals
 * (RFC 3262), InDialogRelay (requests in the dialogs) and CallMedia (SDP through the media anchor).
 */
export class CallSession {
  readonly id: string;
  readonly direction: CallDirection;
  readonly decision: RecordingDecision;
  readonly facts: CallFacts;
  readonly #context: CallContext;
  readonly #onEnded: (session: CallSession) => void;
  readonly #openMedia: (() => Promise<CallMediaPort>) | undefined;
  readonly #progress = new CallProgress();
  readonly #media: CallMedia;
  readonly #caller: CallerInvite;
  readonly #callee: CalleeInvite;
  readonly #pairs: DialogPairs;
  readonly #reliable: ReliableProvisionals;
  readonly #setup: CallSetup;
  readonly #inDialog: InDialogRelay;
  readonly #answered: AnsweredCaller;
  #stage: AnnouncementStage | undefined;
  #control: RecordingControl | undefined;
  #optOut: OptOutWindow | undefined;

  constructor(init: CallSessionInit) {
    const context = init.context;
    const callId = init.id;
    this.id = init.id;
    this.#context = context;
    this.direction = init.direction;
    this.decision = init.decision;
    this.facts = init.facts;
    this.#openMedia = init.openMedia;
    this.#onEnded = init.onEnded;
    const media = new CallMedia(context, callId);
    const caller = new CallerInvite(context, init.incoming, this.#progress);
    const callee = new CalleeInvite({ context, callId, target: init.target, media });
    const pairs = new DialogPairs({ context, caller, callee });
    const reliable = new ReliableProvisionals({ context, callId, caller, callee, media });
    this.#media = media;
    this.#caller = caller;
    this.#callee = callee;
    this.#pairs = pairs;
    this.#reliable = reliable;
    this.#answered = new AnsweredCaller(context, callId, caller);
    const hangUp = (reason: string): void => this.hangUp('callrec', reason);
    this.#setup = new CallSetup({
      context,
      callId,
      progress: this.#progress,
      caller,
      callee,
      pairs,
      reliable,
      media,
      end: (endedBy, status, reason) => this.#end(endedBy, status, reason),
      hangUp,
      answered: this.#answered,
    });
    this.#inDialog = new InDialogRelay({ context, callId, media, pairs, hangUp });
  }

  get state(): CallState {
    return this.#progress.state;
  }

  /** The call's CDR as far as it is known. */
  summary(): CallSummary {
    const a = this.#caller.request;
    const progress = this.#progress;
    return {
      id: this.id,
      direction: this.direction,
      callIdA: a.callId,
      callIdB: this.#callee.callId,
      facts: this.facts,
      callerName: a.from.displayName ?? undefined,
      calleeName: a.to.displayName ?? undefined,
      decision: this.decision,
      startedAt: progress.startedAt,
      answeredAt: progress.answeredAt,
      endedAt: progress.endedAt,
      endedBy: progress.endedBy,
      finalStatus: progress.finalStatus,
      endReason: progress.endReason,
    };
  }

  /** Caller's Call-ID and From tag: how a retried INVITE (after 401/407) finds this call. */
  get callerKey(): string {
    return `${this.#caller.request.callId}\u0000${this.#caller.request.from.params.get('tag') ?? ''}`;
  }

  /** Sends the B-leg INVITE. */
  async start(): Promise<void> {
    this.#caller.incoming.respond(100);
    try {
      await this.#callee.resolve();
    } catch (error) {
      this.#context.logger.warn({ err: String(error), call: this.id }, 'callee side not resolvable');
      this.#setup.fail(503, 'callee side unresolvable');
      return;
    }
    if (this.#openMedia !== undefined) {
      try {
        this.#media.attach(await this.#openMedia());
      } catch (error) {
        this.#context.logger.warn({ call: this.id, err: String(error) }, 'no media ports for the call');
        if (this.#progress.state !== 'ended') this.#setup.fail(503, 'no media ports');
        return;
      }
    }
    if (this.#progress.state === 'ended') {
      this.#media.close(this.summary());
      return;
    }
    if (this.#setup.cancelRequested) {
      // Cancelled before anything went to the callee
      const progress = this.#progress;
      this.#end(progress.endedBy ?? 'caller', progress.finalStatus ?? 487, progress.endReason || 'cancelled');
      return;
    }
    let offerFrom = this.#caller.request;
    const port = this.#media.port;
    const announcement = port?.features?.announcement;
    if (port !== undefined && announcement !== undefined) {
      const ready = await this.#announce(port, announcement);
      if (ready === undefined) return;
      offerFrom = ready;
    }
    if (port !== undefined && this.decision.record) {
      this.#control = new RecordingControl({
        context: this.#context,
        callId: this.id,
        port,
        recordedLeg: this.direction === 'inbound' ? 'b' : 'a',
        pauseCodes: port.features?.pauseCodes,
        optOut: this.#optOut,
      });
    }
    const offer = this.#media.relaySdp('a', offerFrom, 'offer');
    if (!offer.ok && this.#answered.active) {
      this.#setup.fail(488, offer.reason); // answered by callrec (announcement): BYE
      return;
    }
    if (!offer.ok) {
      this.#caller.respond(488, {
        reason: 'Not Acceptable Here',
        headers: [['Warning', `399 callrec "${offer.reason}"`]],
      });
      this.#end('callrec', 488, offer.reason);
      return;
    }
    this.#callee.setOffer(offer.body);
    this.#setup.invite(1);
  }

  /** The announcement stage before the callee is called; see `runAnnouncement`. */
  async #announce(port: CallMediaPort, plan: AnnouncementPlan): Promise<SipRequest | undefined> {
    const result = await runAnnouncement({
      context: this.#context,
      callId: this.id,
      plan,
      caller: this.#caller,
      callee: this.#callee,
      port,
      answered: this.#answered,
      ended: () => this.#progress.state === 'ended',
      fail: (status, reason) => this.#setup.fail(status, reason),
      hangUp: (reason) => this.hangUp('callrec', reason),
      onStage: (stage) => (this.#stage = stage),
      onOptOut: (evidence) => this.#optedOut(evidence),
    });
    this.#optOut = result?.optOut;
    return result?.offerFrom;
  }

  /** The caller pressed the opt-out key in time: no recording from now on (the call goes on). */
  #optedOut(evidence: ConsentEvidence): void {
    const port = this.#media.port;
    if (port === undefined) return;
    port.setConsent(evidence);
    port.recordOnConnect(false);
    port.stopRecording({ ...this.summary(), endReason: 'caller opted out' });
  }

  /** Whether `callId` names this call: its id (the recording id) or the caller's SIP Call-ID. */
  answersTo(callId: string): boolean {
    return this.id === callId || this.#caller.request.callId === callId;
  }

  /** Pauses or resumes the recording of an answered call (CLI / admin API); true when it is now so. */
  controlRecording(action: RecordingAction, by: string): boolean {
    if (this.#progress.state !== 'confirmed') return false;
    return this.#control?.control(action, by) ?? false;
  }

  /** The caller retried after our relayed 401/407: same B call, CSeq + 1 (digest stays valid). */
  retryAfterChallenge(incoming: IncomingRequest): void {
    this.#setup.retry(incoming);
  }

  // ---- requests from the caller / callee --------------------------------------------------

  /** CANCEL from the caller matched our INVITE (the core answered the CANCEL 200). */
  cancel(): void {
    this.#setup.cancel();
    if (this.#stage !== undefined && this.#callee.request === undefined) {
      // Cancelled during the announcement: nothing went to the callee
      this.#end('caller', 487, 'cancelled');
    }
  }

  /** ACK for a 2xx, from leg `leg` (matched by dialog). */
  onAck(ack: SipRequest, leg: LegName): void {
    if (leg === 'a' && this.#caller.acknowledge(ack)) {
      // The caller's ACK for the call's 2xx (or a retransmission of it)
      this.#stage?.onAck(ack);
      this.#callee.ack(ack);
      return;
    }
    this.#inDialog.onAck(ack, leg);
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
      this.#progress.endedBy = leg === 'a' ? 'caller' : 'callee';
      this.hangUp(this.#progress.endedBy, 'BYE', leg);
      return;
    }
    if (request.method === 'PRACK' && leg === 'a') {
      this.#reliable.onPrack(incoming);
      return;
    }
    if (request.method === 'INFO') {
      const key = parseInfoDigit(getHeader(request, 'Content-Type'), request.body);
      if (key !== undefined && leg === 'a' && this.#stage?.active === true) this.#stage.onKey(key);
      else if (key !== undefined) this.#control?.onKey(leg, key);
      if (this.#answered.active) {
        // callrec's own dialog with the caller (answer-first): no callee to relay to yet
        incoming.respond(key === undefined ? 415 : 200);
        return;
      }
    }
    this.#inDialog.relay(incoming, leg, dialog);
  }

  // ---- ending ------------------------------------------------------------------------------

  /** Ends a call: BYE (or CANCEL) toward every leg that is still up, except `except`. Idempotent. */
  hangUp(endedBy: EndedBy, reason: string, except?: LegName): void {
    const progress = this.#progress;
    if (progress.state === 'ended') return;
    progress.endedBy ??= endedBy;
    progress.endReason = reason;
    if (progress.ringing) {
      this.#stage?.abort();
      if (this.#answered.active) this.#answered.bye(reason, except === 'a');
      else if (!this.#caller.finalSent) this.#caller.respond(endedBy === 'callrec' ? 500 : 487);
      if (this.#stage !== undefined && this.#callee.request === undefined) {
        // Ended during the announcement: nothing went to the callee
        this.#end(progress.endedBy, progress.finalStatus ?? 487, reason);
        return;
      }
      this.#setup.cancelCallee();
      return;
    }
    const pair = this.#pairs.confirmed;
    if (pair !== undefined) {
      for (const leg of ['a', 'b'] as const) {
        if (leg === except) continue;
        const dialog = leg === 'a' ? pair.a : pair.b;
        if (dialog.state === 'terminated') continue;
        if (leg === 'b') this.#callee.ack();
        try {
          const bye = dialog.createRequest('BYE', { headers: [['Reason', `SIP;text="${reason.replace(/"/g, "'")}"`]] });
          sendRequestToLeg(this.#context, this.id, bye, () => undefined);
        } catch {
          // a dialog that cannot send any more is already gone
        }
      }
    }
    this.#end(progress.endedBy, progress.finalStatus ?? 200, reason);
  }

  #end(endedBy: EndedBy, status: number, reason: string): void {
    const progress = this.#progress;
    if (progress.state === 'ended') return;
    progress.state = 'ended';
    progress.endedBy ??= endedBy;
    progress.finalStatus ??= status;
    if (progress.endReason === '') progress.endReason = reason;
    this.#setup.stop();
    this.#stage?.abort();
    this.#control?.stop();
    this.#caller.stop();
    this.#inDialog.stop();
    this.#reliable.stopAll();
    this.#pairs.terminateAll();
    progress.endedAt = new Date();
    const summary = this.summary();
    try {
      this.#media.close(summary);
    } catch (error) {
      this.#context.logger.error(
        { call: this.id, err: error instanceof Error ? error.message : String(error) },
        'closing media failed',
      );
    }
    logCallEnded(this.#context.logger, summary, this.#context.personalData);
    this.#onEnded(this);
  }
}
