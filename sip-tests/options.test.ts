/**
 * End to end, real callrec process + real SIPp on loopback (issue "SIP foundation"):
 *  - OPTIONS over UDP and TCP answered 200 with Allow, Accept, Supported;
 *  - with 30 % packet loss (sipp -lost 30) every OPTIONS still completes by retransmission;
 *  - a source that is neither trunk nor PBX (SIPp bound to 127.0.0.2) gets 403, or nothing with
 *    onReject "drop";
 *  - 501 for unimplemented methods, 483 for Max-Forwards 0, 505 for another SIP version, 400 for
 *    a malformed but answerable request;
 *  - SIGTERM stops the server cleanly (exit 0);
 *  - bin/callrec gives `run` a 16-thread libuv pool unless UV_THREADPOOL_SIZE says otherwise.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { startCallrec, type CallrecProcess } from './support/callrec-process.js';
import { runSipp, type SippRun } from './support/sipp.js';

function explain(run: SippRun): string {
  return `sipp exit ${run.code}, successful ${run.stats['SuccessfulCall(C)']}, failed ${run.stats['FailedCall(C)']}\n${run.errors.slice(0, 2000)}`;
}

describe('callrec answers SIPp', () => {
  let callrec: CallrecProcess;
  before(async () => {
    callrec = await startCallrec();
  });
  after(async () => {
    await callrec.stop();
  });

  it('answers OPTIONS over UDP with 200', async () => {
    const run = await runSipp({ scenario: 'uac-options-expect-200.xml', port: callrec.port, calls: 5 });
    assert.equal(run.code, 0, explain(run));
    assert.equal(run.stats['SuccessfulCall(C)'], '5');
  });

  it('answers OPTIONS over TCP with 200', async () => {
    const run = await runSipp({
      scenario: 'uac-options-expect-200.xml',
      port: callrec.port,
      transport: 't1',
      calls: 5,
    });
    assert.equal(run.code, 0, explain(run));
    assert.equal(run.stats['SuccessfulCall(C)'], '5');
  });

  it('completes every OPTIONS through retransmission with 30 % packet loss', async () => {
    const run = await runSipp({
      scenario: 'uac-options-expect-200.xml',
      port: callrec.port,
      calls: 60,
      rate: 30,
      timeoutSeconds: 120,
      extraArgs: ['-lost', '30', '-max_retrans', '30', '-max_non_invite_retrans', '30'],
    });
    assert.equal(run.code, 0, explain(run));
    assert.equal(run.stats['SuccessfulCall(C)'], '60');
    assert.ok(Number(run.stats['Retransmissions(C)']) > 0, 'loss must have forced retransmissions');
  });

  it('refuses a source that is neither trunk nor PBX with 403', async () => {
    const run = await runSipp({
      scenario: 'uac-options-expect-403.xml',
      port: callrec.port,
      localIp: '127.0.0.2',
      calls: 3,
    });
    assert.equal(run.code, 0, explain(run));
    assert.ok(
      callrec.logs().some((l) => l['source'] === '127.0.0.2' && String(l['msg']).includes('neither trunk nor PBX')),
    );
  });

  it('answers an unimplemented method with 501 and Allow', async () => {
    const run = await runSipp({ scenario: 'uac-publish-expect-501.xml', port: callrec.port });
    assert.equal(run.code, 0, explain(run));
  });

  it('answers an INVITE with Max-Forwards 0 with 483', async () => {
    const run = await runSipp({ scenario: 'uac-invite-maxforwards0-expect-483.xml', port: callrec.port });
    assert.equal(run.code, 0, explain(run));
  });

  it('answers another SIP version with 505', async () => {
    const run = await runSipp({ scenario: 'uac-badversion-expect-505.xml', port: callrec.port });
    assert.equal(run.code, 0, explain(run));
  });

  it('answers a malformed but answerable request with 400', async () => {
    const run = await runSipp({ scenario: 'uac-malformed-expect-400.xml', port: callrec.port });
    assert.equal(run.code, 0, explain(run));
  });
});

describe('callrec with onReject "drop"', () => {
  it('sends nothing at all to a non-peer', async () => {
    const callrec = await startCallrec({ onReject: 'drop' });
    try {
      const run = await runSipp({
        scenario: 'uac-options-expect-403.xml',
        port: callrec.port,
        localIp: '127.0.0.2',
        timeoutSeconds: 4,
        extraArgs: ['-max_retrans', '2'],
      });
      assert.notEqual(run.code, 0, 'no response may reach a non-peer');
      assert.equal(run.stats['SuccessfulCall(C)'] ?? '0', '0');
    } finally {
      assert.equal(await callrec.stop(), 0);
    }
  });
});

describe('callrec lifecycle', () => {
  it('stops cleanly on SIGTERM', async () => {
    const callrec = await startCallrec();
    const code = await callrec.stop();
    assert.equal(code, 0);
    assert.ok(callrec.logs().some((l) => l['msg'] === 'stopped'));
  });

  it('runs with a 16-thread pool when started by hand, and warns when the environment asks for less', async () => {
    const withoutSize = { ...process.env };
    delete withoutSize['UV_THREADPOOL_SIZE'];
    const byHand = await startCallrec({ env: withoutSize });
    try {
      assert.equal(byHand.logs().find((l) => l['msg'] === 'thread pool')?.['threadPool'], 16);
      // The pool threads exist from its first use on (the keystore and database at start)
      const pid = byHand.child.pid;
      assert.ok(pid !== undefined);
      const threads = readdirSync(`/proc/${pid}/task`).length;
      assert.ok(threads >= 16 + 4, `callrec runs ${threads} threads; a 16-thread pool plus node's own needs more`);
    } finally {
      await byHand.stop();
    }
    const small = await startCallrec({ env: { ...withoutSize, UV_THREADPOOL_SIZE: '4' } });
    try {
      const warning = small.logs().find((l) => l['threadPool'] === 4);
      assert.equal(warning?.['level'], 'warn', JSON.stringify(warning));
      assert.match(String(warning?.['msg']), /UV_THREADPOOL_SIZE=4.*set UV_THREADPOOL_SIZE=16/);
      assert.ok(readdirSync(`/proc/${small.child.pid}/task`).length < 16);
    } finally {
      await small.stop();
    }
  });
});
