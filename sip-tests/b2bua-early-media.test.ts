/**
 * End to end through the real callrec B2BUA: provisional responses, in both directions (UDP).
 *  - 183 Session Progress with SDP (early media), then 200 (uac-call-early-media-expect-200 /
 *    uas-early-media-answer);
 *  - two early dialogs from a forking callee: 180 with To tag A, 183 with tag B, 200 on tag B
 *    (uac-call-forked-early-expect-200 / uas-forked-early-dialogs). The caller sees two early
 *    dialogs (different To tags on 180 and 183), the 200 confirms the one of the 183, and
 *    callrec's ACK and BYE go to fork B (tag and Contact checked by the UAS scenario);
 *  - PRACK / 100rel end to end (uac-call-100rel-prack-expect-200 / uas-100rel-prack-answer):
 *    Supported: 100rel reaches the callee, the reliable 183 reaches the caller with Require:
 *    100rel and an RSeq, the caller's PRACK reaches the callee with RAck: 1 <B-leg INVITE CSeq>
 *    INVITE;
 *  - topology hiding on every flow; no call/dialog after each, no transaction at the end.
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
  tagOf,
  startTestbed,
  type Direction,
  type Testbed,
} from './support/b2bua.js';

const DIRECTIONS: readonly Direction[] = ['inbound', 'outbound'];

describe('B2BUA early media', { concurrency: true }, () => {
  for (const direction of DIRECTIONS) {
    describe(`${direction} over UDP`, { concurrency: false }, () => {
      let bed: Testbed;
      before(async () => {
        bed = await startTestbed();
      });
      after(async () => {
        await bed?.stop();
      });

      it('relays 183 with SDP, then 200', async () => {
        const run = await bed.call({
          direction,
          uac: 'uac-call-early-media-expect-200.xml',
          uas: 'uas-early-media-answer.xml',
        });
        assertCallSucceeded(run);
        assertTopologyHidden(run);
        await assertNoCallsLeft(bed.callrec);
      });

      it('relays two early dialogs of a forking callee and confirms the one that answers', async () => {
        const run = await bed.call({
          direction,
          uac: 'uac-call-forked-early-expect-200.xml',
          uas: 'uas-forked-early-dialogs.xml',
        });
        assertCallSucceeded(run);
        assertTopologyHidden(run);
        const ringing = messagesOf(run.uac, 'received', 180)[0];
        const progress = messagesOf(run.uac, 'received', 183)[0];
        const answer = messagesOf(run.uac, 'received', 200, 'INVITE')[0];
        assert.ok(ringing !== undefined && progress !== undefined && answer !== undefined, explainCall(run));
        assert.notEqual(
          tagOf(ringing.header('To')),
          tagOf(progress.header('To')),
          'each early dialog of the far side is its own early dialog toward the caller',
        );
        assert.equal(
          tagOf(answer.header('To')),
          tagOf(progress.header('To')),
          'the 200 confirms the early dialog of the fork that answered (the 183)',
        );
        await assertNoCallsLeft(bed.callrec);
      });

      it('relays a reliable 183 and its PRACK (100rel) end to end', async () => {
        const run = await bed.call({
          direction,
          uac: 'uac-call-100rel-prack-expect-200.xml',
          uas: 'uas-100rel-prack-answer.xml',
        });
        assertCallSucceeded(run);
        assertTopologyHidden(run);
        const invite = messagesOf(run.uas, 'received', 'INVITE')[0];
        const prack = messagesOf(run.uas, 'received', 'PRACK')[0];
        assert.ok(invite !== undefined && prack !== undefined, explainCall(run));
        assert.equal(
          (prack.header('RAck') ?? '').trim().replace(/\s+/g, ' '),
          `1 ${invite.cseq} INVITE`,
          "RAck must name the callee's RSeq and the B leg's INVITE CSeq",
        );
        const reliable = messagesOf(run.uac, 'received', 183)[0];
        assert.ok(reliable !== undefined, explainCall(run));
        assert.match(reliable.header('Require') ?? '', /100rel/i);
        assert.match(reliable.header('RSeq') ?? '', /^\s*\d+\s*$/);
        await assertNoCallsLeft(bed.callrec);
      });

      it('leaves no call, dialog or transaction behind', async () => {
        await assertDrained(bed.callrec);
      });
    });
  }
});
