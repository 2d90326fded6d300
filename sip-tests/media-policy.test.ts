/**
 * End to end through the real callrec (issue "Media anchoring and the recorder"):
 *  - media timeout: a connected call without RTP in either direction for `media.timeoutSeconds`
 *    is ended by callrec with BYE on both legs (reason "media timeout");
 *  - `media.recordableCodecsOnly`: a recorded call that offers only codecs the recorder cannot
 *    decode (G.729) is refused with 488 and never reaches the far side; an unrecorded one with the
 *    same offer is connected (its offer is not restricted).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertCallSucceeded, explainCall, startTestbed, type Testbed } from './support/b2bua.js';

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

describe('media timeout and recordable codecs through the real callrec', { concurrency: false }, () => {
  let bed: Testbed;
  before(async () => {
    bed = await startTestbed({
      config: {
        users: [{ id: 'alice', extension: '201', numbers: ['+4930123456201'] }],
        groups: [{ id: 'trading', numbers: ['+4930123456500'], members: ['alice'] }],
        profiles: [PROFILE],
        media: { timeoutSeconds: 2, recordableCodecsOnly: true },
      },
    });
  });
  after(async () => {
    await bed?.stop();
  });

  it('ends a call without RTP after media.timeoutSeconds with BYE on both legs', async () => {
    const before = bed.callrec.logs().length;
    const started = Date.now();
    const run = await bed.call({
      direction: 'inbound',
      uac: 'uac-call-await-bye-expect-200.xml',
      uas: 'uas-answer-await-bye.xml',
      service: '+4930123456204',
    });
    assertCallSucceeded(run);
    const ended = bed.callrec
      .logs()
      .slice(before)
      .find((l) => l['msg'] === 'call ended');
    assert.ok(ended !== undefined);
    assert.equal(ended['reason'], 'media timeout');
    assert.equal(ended['endedBy'], 'callrec');
    const byes = [...run.uac.messages, ...run.uas.messages].filter(
      (m) => m.direction === 'received' && m.startLine.startsWith('BYE '),
    );
    assert.equal(byes.length, 2, `a BYE to each side\n${explainCall(run)}`);
    assert.ok(Date.now() - started >= 2000, 'not before the timeout');
  });

  it('refuses a recorded call offering only unrecordable codecs with 488, the far side sees nothing', async () => {
    const before = bed.callrec.logs().length;
    const run = await bed.call({
      direction: 'inbound',
      uac: 'uac-invite-g729-expect-488.xml',
      uas: 'uas-answer-await-bye.xml',
      service: '+4930123456500',
      uasGraceMs: 500,
    });
    assert.equal(run.uac.code, 0, explainCall(run));
    assert.equal(run.uas.messages.length, 0, 'nothing reached the callee');
    const ended = bed.callrec
      .logs()
      .slice(before)
      .find((l) => l['msg'] === 'call ended');
    assert.equal(ended?.['status'], 488);
  });
});
