/**
 * How call, media and recording events become metrics: the outcome of an ended call, the relay
 * counters per party, a finalised recording's losses read from its completeness report (bad
 * shapes ignored), the call observer that counts and still forwards, and SIP core failures.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  callOutcomeOf,
  countCoreEvent,
  observeCallsWithMetrics,
  recordingFactsOf,
  relayCountsOf,
} from '../../../src/admin/index.js';
import type { CallSummary } from '../../../src/b2bua/index.js';
import type { RelaySessionStats } from '../../../src/media/index.js';
import { CallrecMetrics } from '../../../src/observability/index.js';
import type { FinalisedRecording } from '../../../src/pipeline/index.js';
import type { CoreEvent } from '../../../src/sip/index.js';
import { parsePromText, sampleValue } from '../../support/prom-text.js';

describe('metric feeds', () => {
  it('classifies an ended call: answered, cancelled by the caller, rejected by the callee side, failed in callrec', () => {
    const answeredAt = new Date();
    assert.equal(callOutcomeOf({ answeredAt, endedBy: 'caller', finalStatus: 200 }), 'answered');
    assert.equal(callOutcomeOf({ answeredAt: undefined, endedBy: 'caller', finalStatus: 487 }), 'cancelled');
    assert.equal(callOutcomeOf({ answeredAt: undefined, endedBy: undefined, finalStatus: 487 }), 'cancelled');
    assert.equal(callOutcomeOf({ answeredAt: undefined, endedBy: 'callee', finalStatus: 486 }), 'rejected');
    assert.equal(callOutcomeOf({ answeredAt: undefined, endedBy: 'callrec', finalStatus: 408 }), 'failed');
    assert.equal(callOutcomeOf({ answeredAt: undefined, endedBy: undefined, finalStatus: undefined }), 'failed');
  });

  it('maps relay leg a to the caller and b to the callee', () => {
    const leg = (packetsIn: number, foreignDropped: number) => ({ packetsIn, foreignDropped });
    const stats = { a: leg(100, 3), b: leg(90, 0) } as unknown as RelaySessionStats;
    assert.deepEqual(relayCountsOf(stats), [
      { party: 'caller', relayed: 100, foreign: 3 },
      { party: 'callee', relayed: 90, foreign: 0 },
    ]);
  });

  it("reads a recording's losses per party from its metadata and ignores malformed legs", () => {
    const recording = (legs: unknown): FinalisedRecording =>
      ({
        complete: false,
        seal: { signed: true },
        metadata: { legs },
      }) as unknown as FinalisedRecording;
    assert.deepEqual(
      recordingFactsOf(
        recording([
          { party: 'caller', packets: { lost: 4 } },
          { party: 'callee', packets: { lost: 0 } },
        ]),
      ),
      { complete: false, signed: true, lost: { caller: 4, callee: 0 } },
    );
    assert.deepEqual(
      recordingFactsOf(
        recording([
          null,
          { party: 'caller' },
          { party: 'x', packets: { lost: 1 } },
          { party: 'callee', packets: { lost: '2' } },
        ]),
      ).lost,
      {},
    );
    assert.deepEqual(recordingFactsOf(recording('not a list')).lost, {});
  });

  it('counts every call start and end and still hands them to the wrapped observer', async () => {
    const metrics = new CallrecMetrics({ processMetrics: false });
    const seen: string[] = [];
    const observer = observeCallsWithMetrics(
      { started: (call) => seen.push(`started ${call.id}`), ended: (call) => seen.push(`ended ${call.id}`) },
      metrics,
    );
    const call = {
      id: 'c1',
      direction: 'outbound',
      answeredAt: undefined,
      endedBy: 'callee',
      finalStatus: 486,
    } as unknown as CallSummary;
    observer.started(call);
    observer.ended(call);
    assert.deepEqual(seen, ['started c1', 'ended c1']);
    const families = parsePromText(await metrics.text());
    assert.equal(sampleValue(families, 'callrec_calls_started_total', { direction: 'outbound' }), 1);
    assert.equal(sampleValue(families, 'callrec_calls_total', { direction: 'outbound', outcome: 'rejected' }), 1);
  });

  it('counts SIP send and request handling failures, not malformed messages from peers', async () => {
    const metrics = new CallrecMetrics({ processMetrics: false });
    countCoreEvent(metrics, { type: 'transport-error' } as CoreEvent);
    countCoreEvent(metrics, { type: 'user-error' } as CoreEvent);
    countCoreEvent(metrics, { type: 'parse-error' } as CoreEvent);
    const families = parsePromText(await metrics.text());
    assert.equal(sampleValue(families, 'callrec_failures_total', { kind: 'sip-send' }), 1);
    assert.equal(sampleValue(families, 'callrec_failures_total', { kind: 'sip-request-handling' }), 1);
    assert.equal(families.get('callrec_failures_total')?.samples.length, 2);
  });
});
