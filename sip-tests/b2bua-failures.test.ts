/**
 * End to end through the real callrec B2BUA: calls that do not connect, in both directions (UDP).
 *  - CANCEL while ringing: 200 for the CANCEL and 487 for the INVITE to the caller; the callee
 *    gets a CANCEL, answers 200 + 487 and gets its ACK (uac-invite-cancel-expect-487 /
 *    uas-ring-expect-cancel);
 *  - 486 Busy Here and 404 Not Found relayed as such, ACKed hop by hop (uac-invite-expect-486 /
 *    uas-busy-486, uac-invite-expect-404 / uas-not-found-404);
 *  - ring timeout (b2bua.ringTimeoutSeconds = 3): the callee rings and never answers; the caller
 *    gets 408 about 3 s after its INVITE, the callee a CANCEL (uac-invite-expect-408 /
 *    uas-ring-expect-cancel);
 *  - an INVITE from a source that is neither trunk nor PBX (127.0.0.2) gets 403 and nothing reaches
 *    either far side (no open relay; uac-invite-expect-403 against a waiting uas-answer-await-bye);
 *  - topology hiding on every flow; no call/dialog after each, no transaction at the end.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  assertCallSucceeded,
  assertDrained,
  assertNoCallsLeft,
  assertTopologyHidden,
  CALLED_NUMBER,
  explainCall,
  messagesOf,
  reservePort,
  startTestbed,
  type Direction,
  type Testbed,
} from './support/b2bua.js';
import { runSipp } from './support/sipp.js';

const RING_TIMEOUT_SECONDS = 3;
const DIRECTIONS: readonly Direction[] = ['inbound', 'outbound'];

describe('B2BUA failed calls', { concurrency: true }, () => {
  for (const direction of DIRECTIONS) {
    describe(`${direction} over UDP`, { concurrency: false }, () => {
      let bed: Testbed;
      before(async () => {
        bed = await startTestbed({ config: { b2bua: { ringTimeoutSeconds: RING_TIMEOUT_SECONDS } } });
      });
      after(async () => {
        await bed?.stop();
      });

      it('relays a CANCEL while ringing: 200 for the CANCEL, 487 for the INVITE on both legs', async () => {
        const run = await bed.call({
          direction,
          uac: 'uac-invite-cancel-expect-487.xml',
          uas: 'uas-ring-expect-cancel.xml',
        });
        assertCallSucceeded(run);
        assertTopologyHidden(run);
        assert.equal(messagesOf(run.uas, 'received', 'CANCEL').length >= 1, true, 'the callee got the CANCEL');
        await assertNoCallsLeft(bed.callrec);
      });

      it('relays 486 Busy Here', async () => {
        const run = await bed.call({ direction, uac: 'uac-invite-expect-486.xml', uas: 'uas-busy-486.xml' });
        assertCallSucceeded(run);
        assertTopologyHidden(run);
        await assertNoCallsLeft(bed.callrec);
      });

      it('relays 404 Not Found', async () => {
        const run = await bed.call({ direction, uac: 'uac-invite-expect-404.xml', uas: 'uas-not-found-404.xml' });
        assertCallSucceeded(run);
        assertTopologyHidden(run);
        await assertNoCallsLeft(bed.callrec);
      });

      it(`answers 408 after the ring timeout (${RING_TIMEOUT_SECONDS} s) and cancels the callee`, async () => {
        const run = await bed.call({
          direction,
          uac: 'uac-invite-expect-408.xml',
          uas: 'uas-ring-expect-cancel.xml',
          uacTimeoutSeconds: RING_TIMEOUT_SECONDS + 15,
        });
        assertCallSucceeded(run);
        assertTopologyHidden(run);
        const invite = messagesOf(run.uac, 'sent', 'INVITE')[0];
        const timeout = messagesOf(run.uac, 'received', 408)[0];
        assert.ok(invite !== undefined && timeout !== undefined, explainCall(run));
        const elapsed = timeout.time - invite.time;
        assert.ok(
          elapsed >= RING_TIMEOUT_SECONDS * 1000 - 500 && elapsed <= RING_TIMEOUT_SECONDS * 1000 + 3000,
          `408 after ${elapsed} ms, expected about ${RING_TIMEOUT_SECONDS} s`,
        );
        await assertNoCallsLeft(bed.callrec);
      });

      it('refuses an INVITE from a source that is neither trunk nor PBX with 403 and relays nothing', async () => {
        const far = await bed.startUas(direction, 'uas-answer-await-bye.xml', undefined, 15);
        let code: number | null;
        let errors: string;
        try {
          const run = await runSipp({
            scenario: 'uac-invite-expect-403.xml',
            port: bed.callrec.port,
            localIp: '127.0.0.2',
            localPort: await reservePort('127.0.0.2'),
            service: CALLED_NUMBER[direction],
            timeoutSeconds: 10,
          });
          code = run.code;
          errors = run.errors;
          // Give a wrongly relayed INVITE time to arrive before stopping the far side.
          await new Promise((r) => setTimeout(r, 500));
        } finally {
          far.kill();
        }
        assert.equal(code, 0, `the non-peer must get 403\n${errors}`);
        const seen = await far.done;
        assert.deepEqual(
          seen.messages.map((m) => m.startLine),
          [],
          "nothing of a non-peer's call may reach the far side",
        );
        await assertNoCallsLeft(bed.callrec);
      });

      it('leaves no call, dialog or transaction behind', async () => {
        await assertDrained(bed.callrec);
      });
    });
  }
});
