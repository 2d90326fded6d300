/**
 * Overload (SPEC §9, issue "Reliability"), through the real callrec and real SIPp:
 *  - an INVITE flood from one trunk address (127.0.0.1) beyond b2bua.maxInvitesPerSecondPerSource
 *    gets 503 with Retry-After for most of its INVITEs, the admitted ones complete, while calls
 *    from another trunk address (127.0.0.2) placed during the flood all complete normally; the
 *    refusals are logged a few times, not once per INVITE;
 *  - b2bua.maxCalls: with one call ringing, the next gets 503 "Call Limit Reached" with Retry-After
 *    and never reaches the far side; the ringing call is unaffected.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CALLED_NUMBER, PBX_IP, explainCall, reservePort, startTestbed } from './support/b2bua.js';
import { runSipp, startSippUas, type SipTraceMessage } from './support/sipp.js';

const UNRECORDED_NUMBER = '+4930123456204';

/** The reason phrase of a response's status line. */
const reasonOf = (message: SipTraceMessage | undefined): string | undefined =>
  message?.startLine.replace(/^SIP\/2\.0\s+\d{3}\s*/, '');
const FLOOD_CALLS = 60;
const RATE_LIMIT = 5;

describe('overload: per-source INVITE rate and total call limit', { concurrency: true }, () => {
  it('answers a flooding source 503 + Retry-After while another source completes every call', async () => {
    const bed = await startTestbed({
      config: {
        trunk: { addresses: ['127.0.0.1', '127.0.0.2'] },
        b2bua: { maxInvitesPerSecondPerSource: RATE_LIMIT, retryAfterSeconds: 9 },
      },
    });
    try {
      const uas = await startSippUas({
        scenario: 'uas-answer-await-bye.xml',
        localIp: PBX_IP,
        port: bed.pbxPort,
        calls: 1000,
        timeoutSeconds: 90,
        traceMessages: false,
      });
      try {
        const flood = runSipp({
          scenario: 'uac-invite-flood-expect-503.xml',
          port: bed.callrec.port,
          localIp: '127.0.0.1',
          localPort: await reservePort('127.0.0.1'),
          calls: FLOOD_CALLS,
          rate: 200,
          service: UNRECORDED_NUMBER,
          timeoutSeconds: 60,
          traceMessages: true,
        });
        // A steady caller from the other trunk address, well under the limit, during the flood
        const other = runSipp({
          scenario: 'uac-call-hangup-expect-200.xml',
          port: bed.callrec.port,
          localIp: '127.0.0.2',
          localPort: await reservePort('127.0.0.2'),
          calls: 4,
          rate: 2,
          service: UNRECORDED_NUMBER,
          timeoutSeconds: 60,
          traceMessages: true,
        });
        const [flooded, steady] = await Promise.all([flood, other]);
        assert.equal(steady.code, 0, `every call from 127.0.0.2 completes: ${steady.errors}`);
        assert.equal(steady.stats['SuccessfulCall(C)'], '4');
        assert.ok(!steady.messages.some((m) => m.status === 503), 'the other source never sees a 503');
        assert.equal(flooded.code, 0, `each flood call either refused or completed: ${flooded.errors.slice(0, 2000)}`);
        const refusals = flooded.messages.filter((m) => m.direction === 'received' && m.status === 503);
        const refusedCalls = new Set(refusals.map((m) => m.header('Call-ID')));
        const admitted = flooded.messages.filter(
          (m) => m.direction === 'received' && m.status === 200 && m.cseqMethod === 'INVITE',
        );
        const admittedCalls = new Set(admitted.map((m) => m.header('Call-ID')));
        // Admitted: a burst of twice the rate plus the refill while the flood lasted (+1 s of slack)
        const invites = flooded.messages.filter((m) => m.direction === 'sent' && m.method === 'INVITE');
        const spanSeconds = ((invites.at(-1)?.time ?? 0) - (invites[0]?.time ?? 0)) / 1000;
        const mostAdmitted = 2 * RATE_LIMIT + Math.ceil(RATE_LIMIT * (spanSeconds + 1));
        assert.ok(
          admittedCalls.size >= RATE_LIMIT && admittedCalls.size <= mostAdmitted,
          `admitted ${admittedCalls.size}, at most ${mostAdmitted} in ${spanSeconds} s`,
        );
        assert.ok(refusedCalls.size >= FLOOD_CALLS / 3, `refused ${refusedCalls.size} of ${FLOOD_CALLS}`);
        assert.equal(refusedCalls.size + admittedCalls.size, FLOOD_CALLS);
        for (const refusal of refusals) {
          assert.equal(reasonOf(refusal), 'Too Many Calls From Source');
          assert.equal(refusal.header('Retry-After'), '9');
        }
        const logged = bed.callrec.logs().filter((l) => l['msg'] === 'new call refused: limit reached');
        assert.ok(logged.length >= 1 && logged.length <= 3, `${logged.length} log lines for the flood`);
        assert.ok(logged.every((l) => l['source'] === '127.0.0.1' && l['limit'] === 'rate'));
        const health = await bed.callrec.health();
        assert.equal(health.status, 'ok');
      } finally {
        uas.kill();
      }
    } finally {
      await bed.stop();
    }
  });

  it('answers 503 Call Limit Reached with Retry-After beyond b2bua.maxCalls; the running call is unaffected', async () => {
    const bed = await startTestbed({
      config: { b2bua: { maxCalls: 1, ringTimeoutSeconds: 5, retryAfterSeconds: 11 } },
    });
    try {
      // The first call rings until callrec's ring timeout answers it 408
      const ringing = bed.call({
        direction: 'inbound',
        uac: 'uac-invite-expect-408.xml',
        uas: 'uas-ring-expect-cancel.xml',
        service: CALLED_NUMBER.inbound,
      });
      const deadline = Date.now() + 10_000;
      while (!bed.callrec.logs().some((l) => l['msg'] === 'call started')) {
        if (Date.now() > deadline) throw new Error('the first call did not start');
        await new Promise((r) => setTimeout(r, 50));
      }
      const refused = await runSipp({
        scenario: 'uac-invite-expect-503-retry-after.xml',
        port: bed.callrec.port,
        localIp: PBX_IP,
        localPort: await reservePort(PBX_IP),
        service: '004940111222',
        timeoutSeconds: 10,
        traceMessages: true,
      });
      assert.equal(refused.code, 0, `the second call gets 503: ${refused.errors}`);
      const response = refused.messages.find((m) => m.direction === 'received' && m.status === 503);
      assert.equal(reasonOf(response), 'Call Limit Reached');
      assert.equal(response?.header('Retry-After'), '11');
      const run = await ringing;
      assert.equal(run.uac.code, 0, `the ringing call ends as it would have: 408\n${explainCall(run)}`);
      assert.equal(run.uas.code, 0, explainCall(run));
      const logged = bed.callrec.logs().find((l) => l['msg'] === 'new call refused: limit reached');
      assert.equal(logged?.['limit'], 'max-calls');
      assert.equal(
        bed.callrec.logs().filter((l) => l['msg'] === 'call started').length,
        1,
        'the refused call never started (nothing toward the trunk)',
      );
    } finally {
      await bed.stop();
    }
  });
});
