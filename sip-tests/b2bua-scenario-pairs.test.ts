/**
 * The B2BUA scenario pairs of sipp-scenarios/ are correct SIP on their own: each UAC runs directly
 * against its UAS (no callrec; UAC on 127.0.0.1, UAS on 127.0.0.3), so that when a test through
 * callrec fails, the scenario is not the suspect. The basic pairs also run over TCP.
 * Also a self-test of the harness: the topology-hiding check must flag a direct call (the same
 * Call-ID, tags and ports on both sides) and the Max-Forwards check an undecremented INVITE.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  assertInviteArrived,
  assertTopologyHidden,
  PBX_IP,
  reservePort,
  TRUNK_IP,
  type CallRun,
  type SippTransport,
} from './support/b2bua.js';
import { runSipp, startSippUas } from './support/sipp.js';

/** [UAC, UAS, transports] */
const PAIRS: ReadonlyArray<readonly [string, string, readonly SippTransport[]]> = [
  ['uac-call-hangup-expect-200.xml', 'uas-answer-await-bye.xml', ['u1', 't1']],
  ['uac-call-await-bye-expect-200.xml', 'uas-answer-hangup.xml', ['u1', 't1']],
  ['uac-invite-cancel-expect-487.xml', 'uas-ring-expect-cancel.xml', ['u1']],
  ['uac-invite-expect-486.xml', 'uas-busy-486.xml', ['u1']],
  ['uac-invite-expect-404.xml', 'uas-not-found-404.xml', ['u1']],
  // Stand-in for callrec's ring timeout: the callee gives up with 408 itself.
  ['uac-invite-expect-408.xml', 'uas-ring-reject-408.xml', ['u1']],
  ['uac-call-early-media-expect-200.xml', 'uas-early-media-answer.xml', ['u1']],
  ['uac-call-forked-early-expect-200.xml', 'uas-forked-early-dialogs.xml', ['u1']],
  ['uac-call-100rel-prack-expect-200.xml', 'uas-100rel-prack-answer.xml', ['u1']],
  ['uac-call-hold-resume-expect-200.xml', 'uas-answer-accept-reinvite.xml', ['u1']],
  ['uac-call-accept-hold-resume-expect-200.xml', 'uas-answer-hold-resume.xml', ['u1']],
  ['uac-call-update-expect-200.xml', 'uas-answer-accept-update.xml', ['u1']],
  ['uac-call-accept-update-expect-200.xml', 'uas-answer-send-update.xml', ['u1']],
  ['uac-call-info-dtmf-expect-200.xml', 'uas-answer-accept-info.xml', ['u1']],
  ['uac-call-accept-info-expect-200.xml', 'uas-answer-send-info.xml', ['u1']],
  ['uac-invite-auth-retry-expect-200.xml', 'uas-challenge-407-answer.xml', ['u1']],
  ['uac-register-expect-200.xml', 'uas-registrar-200.xml', ['u1']],
];

/** Runs a UAC directly against a UAS, both on loopback. */
async function backToBack(uac: string, uas: string, transport: SippTransport): Promise<CallRun> {
  const uasPort = await reservePort(PBX_IP);
  const uacPort = await reservePort(TRUNK_IP);
  const far = await startSippUas({ scenario: uas, localIp: PBX_IP, port: uasPort, transport, timeoutSeconds: 20 });
  try {
    const uacRun = await runSipp({
      scenario: uac,
      host: PBX_IP,
      port: uasPort,
      localIp: TRUNK_IP,
      localPort: uacPort,
      transport,
      timeoutSeconds: 15,
      service: '+4930123456500',
      callIdFormat: 'uac-%u-%p@trunk.example',
      traceMessages: true,
    });
    const uasRun = await far.finish(5000);
    return {
      direction: 'inbound',
      transport,
      uac: uacRun,
      uas: uasRun,
      uacIp: TRUNK_IP,
      uacPort,
      uasIp: PBX_IP,
      uasPort,
    };
  } finally {
    far.kill();
  }
}

describe('B2BUA scenario pairs back to back (no callrec)', { concurrency: true }, () => {
  for (const [uac, uas, transports] of PAIRS) {
    for (const transport of transports) {
      it(`${uac} against ${uas} over ${transport === 't1' ? 'TCP' : 'UDP'}`, async () => {
        const run = await backToBack(uac, uas, transport);
        assert.equal(run.uac.code, 0, `UAC: ${run.uac.errors}`);
        assert.equal(run.uas.code, 0, `UAS: ${run.uas.errors}`);
      });
    }
  }

  it('the harness flags a direct call: no topology hiding, no Max-Forwards decrement', async () => {
    const run = await backToBack('uac-call-hangup-expect-200.xml', 'uas-answer-await-bye.xml', 'u1');
    assert.equal(run.uac.code, 0, run.uac.errors);
    assert.throws(() => assertTopologyHidden(run), /saw the A-leg Call-ID/);
    assert.throws(() => assertInviteArrived(run, `sip:+4930123456500@${PBX_IP}:${run.uasPort}`), /Max-Forwards/);
  });
});
