/**
 * SPEC §4 fail policy (pure): a recorded call while the recorder cannot guarantee the recording is
 * refused under `onRecordingFailure: reject` and connected, flagged, under `continue`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { admitRecordedCall } from '../../../src/policy/index.js';

describe('admitRecordedCall', () => {
  it('admits unflagged when the recorder has no problems, whatever the policy', () => {
    for (const policy of ['continue', 'reject'] as const)
      assert.deepEqual(admitRecordedCall(policy, { problems: [] }), { admit: true, degraded: [] });
  });

  it('refuses under reject, the reason naming every problem', () => {
    assert.deepEqual(admitRecordedCall('reject', { problems: ['spool below reserve', 'recorder backlog'] }), {
      admit: false,
      reason: 'recording unavailable: spool below reserve; recorder backlog',
    });
  });

  it('admits under continue, listing the problems to flag', () => {
    assert.deepEqual(admitRecordedCall('continue', { problems: ['spool below reserve'] }), {
      admit: true,
      degraded: ['spool below reserve'],
    });
  });
});
