import type { CallObserver, CallSummary } from '../b2bua/index.js';
import type { RelaySessionStats } from '../media/index.js';
import type { CallOutcome, CallParty, CallrecMetrics, CallRtpCounts } from '../observability/index.js';
import type { FinalisedRecording } from '../pipeline/index.js';
import type { CoreEvent } from '../sip/index.js';

/**
 * How a call ended: answered once connected; otherwise cancelled by the caller (487), rejected
 * by the callee side (its 4xx–6xx final response), or failed in callrec (timeouts, no common
 * codec, internal errors).
 */
export function callOutcomeOf(call: Pick<CallSummary, 'answeredAt' | 'endedBy' | 'finalStatus'>): CallOutcome {
  if (call.answeredAt !== undefined) return 'answered';
  if (call.finalStatus === 487 || call.endedBy === 'caller') return 'cancelled';
  if (call.endedBy === 'callee') return 'rejected';
  return 'failed';
}

/** `observer` plus the call counters: each start and end also moves the metrics. */
export function observeCallsWithMetrics(observer: CallObserver, metrics: CallrecMetrics): CallObserver {
  return {
    started: (call) => {
      metrics.callStarted(call.direction);
      observer.started(call);
    },
    ended: (call) => {
      metrics.callEnded({ direction: call.direction, outcome: callOutcomeOf(call) });
      observer.ended(call);
    },
  };
}

/** The relay counters of a closed call per party (leg a is the caller's, b the callee's). */
export function relayCountsOf(stats: RelaySessionStats): CallRtpCounts[] {
  return [
    { party: 'caller', relayed: stats.a.packetsIn, foreign: stats.a.foreignDropped },
    { party: 'callee', relayed: stats.b.packetsIn, foreign: stats.b.foreignDropped },
  ];
}

/** A finalised recording's verdict and its packets lost per party, from the completeness report. */
export function recordingFactsOf(recording: FinalisedRecording): {
  complete: boolean;
  signed: boolean;
  lost: Partial<Record<CallParty, number>>;
} {
  const lost: Partial<Record<CallParty, number>> = {};
  const legs = recording.metadata['legs'];
  if (Array.isArray(legs)) {
    for (const leg of legs as unknown[]) {
      if (typeof leg !== 'object' || leg === null) continue;
      const { party, packets } = leg as { party?: unknown; packets?: unknown };
      const count = typeof packets === 'object' && packets !== null ? (packets as { lost?: unknown }).lost : undefined;
      if ((party === 'caller' || party === 'callee') && typeof count === 'number') lost[party] = count;
    }
  }
  return { complete: recording.complete, signed: recording.seal.signed, lost };
}

/** Counts the SIP core's failure events (a malformed message from a peer is not callrec's failure). */
export function countCoreEvent(metrics: CallrecMetrics, event: CoreEvent): void {
  if (event.type === 'transport-error') metrics.failure('sip-send');
  else if (event.type === 'user-error') metrics.failure('sip-request-handling');
}
