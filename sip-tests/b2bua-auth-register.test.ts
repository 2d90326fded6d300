/**
 * End to end through the real callrec B2BUA: digest authentication relay and REGISTER relay.
 *  - 407 challenge and retry, in both directions (uac-invite-auth-retry-expect-200 /
 *    uas-challenge-407-answer): the caller gets the far side's 407 with its Proxy-Authenticate;
 *    its retry goes out on the SAME far-side call (same Call-ID and From tag, CSeq + 1, same
 *    Request-URI) with the Proxy-Authorization unchanged, so the digest (user alice, password
 *    secret, the far side's nonce) verifies;
 *  - REGISTER relay: the PBX (SIPp on 127.0.0.3:<contact port>) registers 201 toward the trunk
 *    (uac-register-expect-200 / uas-registrar-200). The trunk's registrar sees nothing of the
 *    PBX (no 127.0.0.3, no PBX port; the Contact points at callrec, user 201 kept); the PBX gets
 *    its own contact back in the 200 with an expiry; /healthz counts the registration. Then an
 *    inbound call from the trunk to the registered contact arrives at the PBX's real contact,
 *    not at pbx.uri (nothing listens there in this test);
 *  - topology hiding on every flow; no call/dialog after each, no transaction at the end.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  assertCallSucceeded,
  assertDrained,
  assertInviteArrived,
  assertNoCallsLeft,
  assertTopologyHidden,
  digestParams,
  digestValid,
  explainCall,
  findMessage,
  messagesOf,
  PBX_IP,
  reservePort,
  startTestbed,
  tagOf,
  waitForHealth,
  type Direction,
  type Testbed,
} from './support/b2bua.js';
import type { SipTraceMessage } from './support/sipp.js';

const DIRECTIONS: readonly Direction[] = ['inbound', 'outbound'];

/** Requests without their retransmissions (same top Via branch and CSeq). */
function distinctRequests(messages: readonly SipTraceMessage[]): SipTraceMessage[] {
  const seen = new Set<string>();
  return messages.filter((m) => {
    const key = `${m.header('Via') ?? ''}|${m.header('CSeq') ?? ''}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

describe('B2BUA digest authentication and registration relay', { concurrency: true }, () => {
  for (const direction of DIRECTIONS) {
    describe(`407 challenge ${direction} over UDP`, { concurrency: false }, () => {
      let bed: Testbed;
      before(async () => {
        bed = await startTestbed();
      });
      after(async () => {
        await bed?.stop();
      });

      it('relays the 407 and sends the retry on the same far-side call', async () => {
        const run = await bed.call({
          direction,
          uac: 'uac-invite-auth-retry-expect-200.xml',
          uas: 'uas-challenge-407-answer.xml',
        });
        assertCallSucceeded(run);
        assertTopologyHidden(run);
        const context = explainCall(run);

        const invites = distinctRequests(messagesOf(run.uas, 'received', 'INVITE'));
        assert.equal(invites.length, 2, `two INVITEs at the far side\n${context}`);
        const [first, second] = invites as [SipTraceMessage, SipTraceMessage];
        assert.equal(second.header('Call-ID'), first.header('Call-ID'), 'the retry goes out on the same far call');
        assert.equal(tagOf(second.header('From')), tagOf(first.header('From')), 'same From tag on the retry');
        assert.equal(second.cseq, (first.cseq ?? NaN) + 1, 'the retry has CSeq + 1');
        assert.equal(second.startLine, first.startLine, 'the retry has the same Request-URI');
        assert.equal(first.header('Proxy-Authorization'), undefined, 'no credentials on the first INVITE');

        const challenge = findMessage(run.uas, (m) => m.direction === 'sent' && m.status === 407, '407', context);
        const nonce = digestParams(challenge.header('Proxy-Authenticate') ?? '').get('nonce');
        const relayed = findMessage(run.uac, (m) => m.direction === 'received' && m.status === 407, '407', context);
        const relayedChallenge = digestParams(relayed.header('Proxy-Authenticate') ?? '');
        assert.equal(relayedChallenge.get('nonce'), nonce, "the caller gets the far side's challenge");
        assert.equal(relayedChallenge.get('realm'), 'trunk.example');

        const sent = messagesOf(run.uac, 'sent', 'INVITE').find((m) => m.header('Proxy-Authorization') !== undefined);
        const credentials = second.header('Proxy-Authorization');
        assert.ok(sent !== undefined && credentials !== undefined, context);
        assert.equal(credentials, sent.header('Proxy-Authorization'), 'credentials relayed unchanged');
        assert.equal(digestParams(credentials).get('nonce'), nonce);
        assert.ok(digestValid(credentials, 'INVITE', 'secret'), `digest does not verify: ${credentials}`);
        await assertNoCallsLeft(bed.callrec);
      });

      it('leaves no call, dialog or transaction behind', async () => {
        await assertDrained(bed.callrec);
      });
    });
  }

  describe('REGISTER relay over UDP', { concurrency: false }, () => {
    let bed: Testbed;
    let contactPort: number;
    before(async () => {
      // pbx.uri points at bed.pbxPort where nothing listens: calls must use the registered contact.
      bed = await startTestbed();
      contactPort = await reservePort(PBX_IP);
    });
    after(async () => {
      await bed?.stop();
    });

    it("relays the PBX's REGISTER to the trunk with the Contact rewritten to callrec", async () => {
      const run = await bed.call({
        direction: 'outbound',
        uac: 'uac-register-expect-200.xml',
        uas: 'uas-registrar-200.xml',
        uacPort: contactPort,
      });
      assertCallSucceeded(run);
      assertTopologyHidden(run);
      const context = explainCall(run);

      const register = findMessage(
        run.uas,
        (m) => m.direction === 'received' && m.method === 'REGISTER',
        'REGISTER at the trunk',
        context,
      );
      assert.ok(!register.text.includes(PBX_IP), `the trunk must see nothing of the PBX address\n${register.text}`);
      const contacts = register.headers('Contact');
      assert.equal(contacts.length, 1, `one Contact: ${contacts.join(' | ')}`);
      assert.match(
        contacts[0] ?? '',
        new RegExp(`sip:201@127\\.0\\.0\\.1:${bed.callrec.port}(?![0-9])`),
        'the Contact points at callrec and keeps the AOR user',
      );
      assert.match(register.header('To') ?? '', /sip:201@/);
      assert.ok(
        register.header('Expires') === '3600' || /;\s*expires=3600/i.test(contacts[0] ?? ''),
        'the requested expiry is relayed',
      );

      const ok = findMessage(
        run.uac,
        (m) => m.direction === 'received' && m.status === 200 && m.cseqMethod === 'REGISTER',
        '200 for the REGISTER at the PBX',
        context,
      );
      assert.ok(
        ok.headers('Contact').some((c) => c.includes(`sip:201@${PBX_IP}:${contactPort}`)),
        `the PBX gets its own contact back in the 200: ${ok.headers('Contact').join(' | ')}`,
      );
      assert.ok(
        ok.header('Expires') === '3600' || ok.headers('Contact').some((c) => /;\s*expires=3600/i.test(c)),
        'the granted expiry reaches the PBX',
      );
      await waitForHealth(bed.callrec, (h) => h.registrations >= 1, 5000);
      await assertNoCallsLeft(bed.callrec);
    });

    it("routes an inbound call for the registered user to the PBX's registered contact", async () => {
      const run = await bed.call({
        direction: 'inbound',
        uac: 'uac-call-hangup-expect-200.xml',
        uas: 'uas-answer-await-bye.xml',
        uasPort: contactPort,
        service: '201',
      });
      assertCallSucceeded(run);
      assertInviteArrived(run, `sip:201@${PBX_IP}:${contactPort}`);
      assertTopologyHidden(run);
      await assertNoCallsLeft(bed.callrec);
    });

    it('leaves no call, dialog or transaction behind', async () => {
      await assertDrained(bed.callrec);
    });
  });
});
