/**
 * Graceful drain (SPEC §9, issue "Reliability"), through the real callrec: on SIGTERM new calls get
 * 503 with Retry-After while a running call goes on; callrec exits 0 once it ended, with its
 * recording finalised; a call still up when `b2bua.shutdownGraceSeconds` runs out gets BYE on both
 * legs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertCallSucceeded, startTestbed, type Testbed } from './support/b2bua.js';
import { runMediaCall } from './support/media.js';
import { runSipp } from './support/sipp.js';

const PROFILE = {
  id: 'trading',
  enabled: true,
  groups: ['trading'],
  users: [],
  inbound: true,
  outbound: true,
  recordDirectCallsToActiveMembers: false,
  channels: 'both-stereo',
  consent: { legalBasis: 'obligation' },
  signing: true,
  targets: [],
  retentionDays: 30,
  onRecordingFailure: 'continue',
};

async function waitForLog(bed: Testbed, msg: string, timeoutMs = 15_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = bed.callrec.logs().find((l) => l['msg'] === msg);
    if (line !== undefined) return line;
    if (Date.now() > deadline) throw new Error(`no "${msg}" log line within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const exited = (bed: Testbed): Promise<number | null> =>
  bed.callrec.child.exitCode !== null
    ? Promise.resolve(bed.callrec.child.exitCode)
    : new Promise((resolve) => bed.callrec.child.once('exit', (code) => resolve(code)));

describe('graceful drain on SIGTERM', { concurrency: true }, () => {
  it('refuses new calls with 503 while a running call finishes, then exits 0 with the recording finalised', async () => {
    const bed = await startTestbed({
      config: {
        users: [{ id: 'alice', extension: '201', numbers: ['+4930123456201'] }],
        groups: [{ id: 'trading', numbers: ['+4930123456500'], members: ['alice'] }],
        profiles: [PROFILE],
        b2bua: { shutdownGraceSeconds: 20 },
      },
    });
    try {
      const running = runMediaCall(bed, { direction: 'inbound', service: '+4930123456500', audioMs: 4000 });
      const started = await waitForLog(bed, 'recording started');
      bed.callrec.child.kill('SIGTERM');
      await waitForLog(bed, 'draining: new calls get 503');
      const refused = await runSipp({
        scenario: 'uac-invite-expect-503.xml',
        port: bed.callrec.port,
        service: '+4930123456500',
        timeoutSeconds: 10,
      });
      assert.equal(refused.code, 0, `a new call gets 503: ${refused.errors}`);
      assertCallSucceeded(await running);
      assert.equal(await exited(bed), 0);
      const finished = bed.callrec
        .logs()
        .find((l) => l['msg'] === 'recording finished' && l['call'] === started['call']);
      assert.ok(finished !== undefined, 'the recording was finalised before exit');
      assert.ok(bed.callrec.logs().some((l) => l['msg'] === 'stopped'));
    } finally {
      await bed.stop();
    }
  });

  it('hangs up a call still up when the grace period runs out, BYE to both legs', async () => {
    const bed = await startTestbed({ config: { b2bua: { shutdownGraceSeconds: 1 } } });
    try {
      const running = bed.call({
        direction: 'inbound',
        uac: 'uac-call-await-bye-expect-200.xml',
        uas: 'uas-answer-await-bye.xml',
        service: '+4930123456204',
      });
      await waitForLog(bed, 'call started');
      await new Promise((r) => setTimeout(r, 500));
      bed.callrec.child.kill('SIGTERM');
      const run = await running;
      assertCallSucceeded(run);
      const ended = bed.callrec.logs().find((l) => l['msg'] === 'call ended');
      assert.equal(ended?.['reason'], 'shutdown');
      assert.equal(await exited(bed), 0);
    } finally {
      await bed.stop();
    }
  });
});
