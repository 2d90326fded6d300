/**
 * End to end through the real callrec B2BUA: requests inside a confirmed call, in both call
 * directions (UDP), each sent once by the caller and once by the callee.
 *  - hold/resume re-INVITE (a=sendonly answered a=recvonly, then a=sendrecv):
 *    caller side uac-call-hold-resume-expect-200 / uas-answer-accept-reinvite,
 *    callee side uac-call-accept-hold-resume-expect-200 / uas-answer-hold-resume;
 *  - UPDATE with a codec change (PCMA only) answered with SDP:
 *    uac-call-update-expect-200 / uas-answer-accept-update,
 *    uac-call-accept-update-expect-200 / uas-answer-send-update;
 *  - INFO application/dtmf-relay:
 *    uac-call-info-dtmf-expect-200 / uas-answer-accept-info,
 *    uac-call-accept-info-expect-200 / uas-answer-send-info;
 *  - the SIPp scenarios check the SDP direction attributes, codecs, bodies, Content-Type and that
 *    each in-dialog request carries the receiving side's own tag; the test checks topology
 *    hiding and that the relayed requests use each leg's own CSeq space;
 *  - no call/dialog after each, no transaction at the end.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  assertCallSucceeded,
  assertDrained,
  assertNoCallsLeft,
  assertTopologyHidden,
  explainCall,
  messagesOf,
  startTestbed,
  type CallRun,
  type Direction,
  type Testbed,
} from './support/b2bua.js';

const DIRECTIONS: readonly Direction[] = ['inbound', 'outbound'];

/**
 * The requests of one method that a side received in its dialog carry strictly increasing CSeqs
 * (RFC 3261 §12.2.1.1; retransmissions collapse): callrec numbers each leg in its own space.
 */
function assertIncreasingCSeq(run: CallRun, side: 'uac' | 'uas', method: string): void {
  const received = messagesOf(run[side], 'received', method).map((m) => m.cseq ?? -1);
  const distinct = [...new Set(received)];
  for (let i = 1; i < distinct.length; i++) {
    assert.ok(
      (distinct[i] ?? 0) > (distinct[i - 1] ?? 0),
      `${method} CSeqs at the ${side} must increase: ${distinct.join(', ')}\n${explainCall(run)}`,
    );
  }
}

const FLOWS: ReadonlyArray<{ name: string; uac: string; uas: string; check?: (run: CallRun) => void }> = [
  {
    name: 'relays hold and resume re-INVITEs from the caller',
    uac: 'uac-call-hold-resume-expect-200.xml',
    uas: 'uas-answer-accept-reinvite.xml',
    check: (run) => {
      assert.equal(messagesOf(run.uas, 'received', 'INVITE').length >= 3, true, explainCall(run));
      assertIncreasingCSeq(run, 'uas', 'INVITE');
    },
  },
  {
    name: 'relays hold and resume re-INVITEs from the callee',
    uac: 'uac-call-accept-hold-resume-expect-200.xml',
    uas: 'uas-answer-hold-resume.xml',
    check: (run) => {
      assert.equal(messagesOf(run.uac, 'received', 'INVITE').length >= 2, true, explainCall(run));
      assertIncreasingCSeq(run, 'uac', 'INVITE');
    },
  },
  {
    name: 'relays an UPDATE (codec change) from the caller',
    uac: 'uac-call-update-expect-200.xml',
    uas: 'uas-answer-accept-update.xml',
  },
  {
    name: 'relays an UPDATE (codec change) from the callee',
    uac: 'uac-call-accept-update-expect-200.xml',
    uas: 'uas-answer-send-update.xml',
  },
  {
    name: 'relays an INFO (application/dtmf-relay) from the caller',
    uac: 'uac-call-info-dtmf-expect-200.xml',
    uas: 'uas-answer-accept-info.xml',
  },
  {
    name: 'relays an INFO (application/dtmf-relay) from the callee',
    uac: 'uac-call-accept-info-expect-200.xml',
    uas: 'uas-answer-send-info.xml',
  },
];

describe('B2BUA in-dialog requests', { concurrency: true }, () => {
  for (const direction of DIRECTIONS) {
    describe(`${direction} over UDP`, { concurrency: false }, () => {
      let bed: Testbed;
      before(async () => {
        bed = await startTestbed();
      });
      after(async () => {
        await bed?.stop();
      });

      for (const flow of FLOWS) {
        it(flow.name, async () => {
          const run = await bed.call({ direction, uac: flow.uac, uas: flow.uas });
          assertCallSucceeded(run);
          assertTopologyHidden(run);
          flow.check?.(run);
          await assertNoCallsLeft(bed.callrec);
        });
      }

      it('leaves no call, dialog or transaction behind', async () => {
        await assertDrained(bed.callrec);
      });
    });
  }
});
