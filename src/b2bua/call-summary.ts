import { maskNumber, type Logger } from '../observability/index.js';
import type { SipRequest } from '../sip/index.js';
import type { CallDirection, CallFacts, RecordingDecision } from './call-policy.js';

/** Who ended the call, for the CDR. */
export type EndedBy = 'caller' | 'callee' | 'callrec';

/** What the B2BUA knows about a call: its CDR, complete once `endedAt` is set. */
export interface CallSummary {
  /** The call's UUID (also the recording id of a recorded call). */
  readonly id: string;
  readonly direction: CallDirection;
  /** SIP Call-ID of the caller's leg (a). */
  readonly callIdA: string;
  /** SIP Call-ID of the callee's leg (b), chosen by callrec. */
  readonly callIdB: string;
  /** The numbers as signalled (raw), as the policy saw them. */
  readonly facts: CallFacts;
  /** Display names of From and To, when given. */
  readonly callerName: string | undefined;
  readonly calleeName: string | undefined;
  readonly decision: RecordingDecision;
  readonly startedAt: Date;
  readonly answeredAt: Date | undefined;
  readonly endedAt: Date | undefined;
  readonly endedBy: EndedBy | undefined;
  readonly finalStatus: number | undefined;
  readonly endReason: string;
}

/** The CDR of a call refused at once with `status` (no callee leg, never answered). */
export function refusedCallSummary(
  id: string,
  request: SipRequest,
  facts: CallFacts,
  decision: RecordingDecision,
  status: number,
): CallSummary {
  const now = new Date();
  return {
    id,
    direction: facts.direction,
    callIdA: request.callId,
    callIdB: '',
    facts,
    callerName: request.from.displayName ?? undefined,
    calleeName: request.to.displayName ?? undefined,
    decision,
    startedAt: now,
    answeredAt: undefined,
    endedAt: now,
    endedBy: 'callrec',
    finalStatus: status,
    endReason: 'refused: recording unavailable',
  };
}

/** Observes calls (the protocol database's CDR rows); listener errors never reach the call. */
export interface CallObserver {
  started(call: CallSummary): void;
  /** Once per call, after its dialogs are closed. */
  ended(call: CallSummary): void;
}

/** Masks every run of 5+ digits in free text (a decision reason) unless personal data is on. */
export function maskDigits(text: string, personalData: boolean): string {
  return personalData ? text : text.replace(/\+?\d{5,}/g, (digits) => maskNumber(digits) ?? digits);
}

/** The one "call ended" line per call (numbers masked at INFO unless `personalData`). */
export function logCallEnded(logger: Logger, call: CallSummary, personalData: boolean): void {
  const mask = (value: string | undefined): string | undefined => (personalData ? value : maskNumber(value));
  logger.info(
    {
      call: call.id,
      callIdA: call.callIdA,
      callIdB: call.callIdB,
      direction: call.direction,
      from: mask(call.facts.callingNumbers.at(-1)),
      to: mask(call.facts.calledNumbers[0]),
      start: call.startedAt.toISOString(),
      answer: call.answeredAt?.toISOString() ?? null,
      end: call.endedAt?.toISOString() ?? null,
      endedBy: call.endedBy,
      status: call.finalStatus,
      reason: call.endReason,
      recorded: call.decision.record,
      profile: call.decision.record ? call.decision.profileId : null,
      decision: maskDigits(call.decision.reason, personalData),
    },
    'call ended',
  );
}
