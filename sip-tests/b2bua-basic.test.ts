/**
 * End to end through the real callrec B2BUA (issue "B2BUA call handling"), SIPp on both sides:
 *  - basic call, caller hangs up (uac-call-hangup-expect-200 / uas-answer-await-bye) and callee
 *    hangs up (uac-call-await-bye-expect-200 / uas-answer-hangup);
 *  - inbound (trunk 127.0.0.1 -> PBX 127.0.0.3) and outbound (PBX -> trunk), over UDP and TCP;
 *  - the Request-URI user part is kept, the far side's host/port used, From display name and user
 *    carried, Max-Forwards decremented;
 *  - topology hiding: no Call-ID, tag, Via branch or Via/Contact port of one side on the other;
 *  - after each call /healthz shows no call and no dialog; at the end no transaction either.
 * Each direction/transport has its own callrec so the four run concurrently.
 */
import { after, before, describe, it } from 'node:test';
import {
  assertCallSucceeded,
  assertDrained,
  assertInviteArrived,
  assertNoCallsLeft,
  assertTopologyHidden,
  CALLED_NUMBER,
  startTestbed,
  type CallRun,
  type Direction,
  type SippTransport,
  type Testbed,
} from './support/b2bua.js';

const TRANSPORTS: ReadonlyArray<[SippTransport, string]> = [
  ['u1', 'UDP'],
  ['t1', 'TCP'],
];
const DIRECTIONS: readonly Direction[] = ['inbound', 'outbound'];

function assertBasicCall(run: CallRun): void {
  assertCallSucceeded(run);
  assertInviteArrived(run, `sip:${CALLED_NUMBER[run.direction]}@${run.uasIp}:${run.uasPort}`);
  assertTopologyHidden(run);
}

describe('B2BUA basic call', { concurrency: true }, () => {
  for (const [transport, label] of TRANSPORTS) {
    for (const direction of DIRECTIONS) {
      describe(`${direction} over ${label}`, { concurrency: false }, () => {
        let bed: Testbed;
        before(async () => {
          bed = await startTestbed({ transport });
        });
        after(async () => {
          await bed?.stop();
        });

        it("connects the call and relays the caller's BYE", async () => {
          const run = await bed.call({
            direction,
            uac: 'uac-call-hangup-expect-200.xml',
            uas: 'uas-answer-await-bye.xml',
          });
          assertBasicCall(run);
          await assertNoCallsLeft(bed.callrec);
        });

        it("connects the call and relays the callee's BYE", async () => {
          const run = await bed.call({
            direction,
            uac: 'uac-call-await-bye-expect-200.xml',
            uas: 'uas-answer-hangup.xml',
          });
          assertBasicCall(run);
          await assertNoCallsLeft(bed.callrec);
        });

        it('leaves no call, dialog or transaction behind', async () => {
          await assertDrained(bed.callrec);
        });
      });
    }
  }
});
