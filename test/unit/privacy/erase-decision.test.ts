/**
 * `decideErasure` (issue 9, SPEC §7, GDPR Art. 17(3)): the table of legal hold × statutory
 * retention (running, over, indefinite, none) × `--force` × `--reason`. A legal hold always
 * refuses, also forced; a running statutory retention refuses unless forced with a reason; an
 * unsealed recording is refused; everything else is erased.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideErasure, statutoryEnd, type ErasureFacts } from '../../../src/privacy/index.js';

const NOW = new Date('2024-06-01T00:00:00.000Z');
const HOLD = { reason: 'court case 17', since: '2024-05-01T00:00:00.000Z', by: 'cli:legal' };

type Statutory = 'none' | 'running' | 'over' | 'indefinite';

function facts(hold: boolean, statutory: Statutory): ErasureFacts {
  return {
    id: 'rec-1',
    state: 'archived',
    start: '2024-01-01T00:00:00.000Z',
    hold: hold ? HOLD : null,
    statutory: statutory !== 'none',
    // 2024-01-01 + 365 days is after NOW; + 30 days is before it.
    retentionDays: statutory === 'indefinite' ? null : statutory === 'over' ? 30 : 365,
  };
}

describe('decideErasure', () => {
  const table: Array<
    [hold: boolean, statutory: Statutory, force: boolean, reason: string | undefined, expected: string]
  > = [
    [false, 'none', false, undefined, 'erase'],
    [false, 'none', true, 'customer request', 'erase'],
    [false, 'over', false, undefined, 'erase'],
    [false, 'running', false, undefined, 'refused statutory'],
    [false, 'running', false, 'customer request', 'refused statutory'],
    [false, 'running', true, undefined, 'refused statutory'],
    [false, 'running', true, '   ', 'refused statutory'],
    [false, 'running', true, 'court order 2024-17', 'erase forced'],
    [false, 'indefinite', false, undefined, 'refused statutory'],
    [false, 'indefinite', true, 'court order 2024-17', 'erase forced'],
    [true, 'none', false, undefined, 'refused hold'],
    [true, 'none', true, 'customer request', 'refused hold'],
    [true, 'running', true, 'court order 2024-17', 'refused hold'],
    [true, 'over', true, 'customer request', 'refused hold'],
  ];
  for (const [hold, statutory, force, reason, expected] of table) {
    const name = `hold ${hold ? 'yes' : 'no'}, statutory ${statutory}, force ${force ? 'yes' : 'no'}, reason ${JSON.stringify(reason ?? null)} → ${expected}`;
    it(name, () => {
      const decision = decideErasure(facts(hold, statutory), {
        now: NOW,
        force,
        ...(reason === undefined ? {} : { reason }),
      });
      const got = decision.erase
        ? `erase${decision.forcedUntil === undefined ? '' : ' forced'}`
        : `refused ${decision.rule}`;
      assert.equal(got, expected);
    });
  }

  it('says a legal hold wins over --force and how to release it', () => {
    const decision = decideErasure(facts(true, 'running'), { now: NOW, force: true, reason: 'x' });
    assert.equal(decision.erase, false);
    assert.match(decision.erase ? '' : decision.why, /legal hold since 2024-05-01.*court case 17.*wins over --force/);
    assert.match(decision.erase ? '' : decision.why, /callrec recordings release rec-1/);
  });

  it('names the end of a running statutory retention and the way to override it', () => {
    const decision = decideErasure(facts(false, 'running'), { now: NOW, force: false });
    assert.match(decision.erase ? '' : decision.why, /until 2024-12-31T00:00:00\.000Z.*--force --reason/);
    const forced = decideErasure(facts(false, 'running'), { now: NOW, force: true, reason: 'court order' });
    assert.deepEqual(forced, { erase: true, forcedUntil: '2024-12-31T00:00:00.000Z' });
  });

  it('refuses a recording that is not sealed yet, even forced', () => {
    for (const state of ['recording', 'finalizing'] as const) {
      const decision = decideErasure({ ...facts(false, 'none'), state }, { now: NOW, force: true, reason: 'x' });
      assert.equal(decision.erase ? 'erase' : decision.rule, 'unsealed');
    }
  });

  it('computes the statutory end as start + retentionDays × 24 h, none without retentionDays', () => {
    assert.equal(
      statutoryEnd({ start: '2024-01-01T10:00:00.000Z', retentionDays: 2 })?.toISOString(),
      '2024-01-03T10:00:00.000Z',
    );
    assert.equal(statutoryEnd({ start: '2024-01-01T10:00:00.000Z', retentionDays: null }), undefined);
  });
});
