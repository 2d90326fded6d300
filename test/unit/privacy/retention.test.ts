/**
 * Retention runs (SPEC §7, `callrec retention run [--as-of] [--dry-run]`): a sealed recording is
 * due when start + retentionDays × 24 h ≤ as-of; due ones are disposed of everywhere, held ones
 * kept, `statutoryRetention` changes nothing, a dry run deletes nothing, a failing target leaves
 * its recording for the next run; every run is audited as `retention.run` with its counts.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  describeRetentionOutcome,
  describeRetentionSummary,
  runRetention,
  type RetentionOptions,
  type RetentionOutcome,
} from '../../../src/privacy/index.js';
import { addRecording, recordingFiles, removeSharedKey, startBed, type PrivacyBed } from './privacy-fixtures.js';

const beds: PrivacyBed[] = [];
after(async () => {
  await Promise.all(beds.map((bed) => bed.close()));
  await removeSharedKey();
});

async function bed(): Promise<PrivacyBed> {
  const created = await startBed();
  beds.push(created);
  return created;
}

function retention(b: PrivacyBed, asOf: string, overrides: Partial<RetentionOptions> = {}): RetentionOptions {
  return {
    catalogue: b.catalogue,
    uploads: b.uploads,
    targets: [b.nas, b.sftp],
    spoolRoot: b.spoolRoot,
    disposalLog: b.disposalLog,
    audit: b.audit,
    actor: 'cli:root',
    asOf: new Date(asOf),
    ...overrides,
  };
}

const START = '2024-01-01T10:00:00.000Z';

describe('runRetention', () => {
  it('deletes a recording exactly when start + retentionDays is reached, not a millisecond before', async () => {
    const b = await bed();
    await addRecording(b, 'r1', { start: START, retentionDays: 30, targets: [b.nas] });
    const early = await runRetention(
      retention(b, '2024-01-31T10:00:00.000Z', { asOf: new Date(Date.UTC(2024, 0, 31, 10) - 1) }),
    );
    assert.deepEqual([early.due, early.deleted], [0, 0]);
    assert.equal((await b.catalogue.find('r1'))?.state, 'spooled');
    const due = await runRetention(retention(b, '2024-01-31T10:00:00.000Z'));
    assert.deepEqual([due.due, due.deleted, due.failed], [1, 1, 0]);
    assert.equal((await b.catalogue.find('r1'))?.state, 'deleted');
    assert.deepEqual(await readdir(b.spoolRoot), []);
    assert.deepEqual(b.nas.names('Rec/2024-01-01'), []);
    const [entry] = await b.disposalLog.list();
    assert.deepEqual(
      [entry?.recordingId, entry?.action, entry?.policy, entry?.actor],
      ['r1', 'retention', 'profile trading: retentionDays 30', 'cli:root'],
    );
  });

  it('keeps held recordings and those without retention, and reports one line each', async () => {
    const b = await bed();
    await addRecording(b, 'gone', { retentionDays: 1 });
    await addRecording(b, 'held', { retentionDays: 1 });
    await addRecording(b, 'forever', { retentionDays: null });
    await b.catalogue.hold('held', 'case 4711', 'cli:alice');
    const lines: string[] = [];
    const summary = await runRetention(
      retention(b, '2030-01-01T00:00:00Z', { onOutcome: (o) => lines.push(describeRetentionOutcome(o)) }),
    );
    assert.deepEqual(
      [summary.due, summary.deleted, summary.held, summary.failed, summary.wouldDelete],
      [2, 1, 1, 0, 0],
    );
    assert.deepEqual(lines, [
      'deleted gone (profile trading: retentionDays 1, started 2024-01-01T10:00:00.000Z, expired 2024-01-02T10:00:00.000Z; disposal entry 1)',
      'kept held (profile trading: retentionDays 1, started 2024-01-01T10:00:00.000Z, expired 2024-01-02T10:00:00.000Z; legal hold: case 4711)',
    ]);
    assert.equal(
      describeRetentionSummary(summary),
      'retention as of 2030-01-01T00:00:00.000Z: 2 due, 1 deleted, 1 kept under legal hold, 0 failed',
    );
    assert.equal((await b.catalogue.find('gone'))?.state, 'deleted');
    assert.equal((await b.catalogue.find('held'))?.state, 'spooled');
    assert.equal((await b.catalogue.find('forever'))?.state, 'spooled');
    assert.deepEqual(await readdir(join(b.spoolRoot, 'held')), recordingFiles('held').sort());
  });

  it('disposes of statutory recordings like any other once their retention is over', async () => {
    const b = await bed();
    await addRecording(b, 'mifid', { retentionDays: 2557, statutory: true, targets: [b.sftp] });
    const before = await runRetention(retention(b, '2030-12-31T00:00:00Z'));
    assert.equal(before.due, 0, 'within 2557 days of 2024-01-01');
    const after7y = await runRetention(retention(b, '2031-01-01T10:00:00Z'));
    assert.deepEqual([after7y.due, after7y.deleted], [1, 1]);
    assert.equal((await b.catalogue.find('mifid'))?.state, 'deleted');
  });

  it('touches nothing in a dry run but lists what would be deleted and audits the run', async () => {
    const b = await bed();
    const { folder } = await addRecording(b, 'r1', { retentionDays: 1, targets: [b.nas] });
    await addRecording(b, 'held', { retentionDays: 1 });
    await b.catalogue.hold('held', 'case', 'cli:alice');
    const outcomes: RetentionOutcome[] = [];
    const summary = await runRetention(
      retention(b, '2030-01-01T00:00:00Z', { dryRun: true, onOutcome: (o) => outcomes.push(o) }),
    );
    assert.deepEqual(
      outcomes.map((o) => [o.recording.id, o.result]),
      [
        ['held', 'held'],
        ['r1', 'would-delete'],
      ],
      'same start: by id',
    );
    assert.match(describeRetentionOutcome(outcomes[1]!), /^would delete r1 \(/);
    assert.match(describeRetentionSummary(summary), /1 would be deleted \(dry run, nothing deleted\)/);
    assert.equal((await b.catalogue.find('r1'))?.state, 'spooled');
    assert.deepEqual(await readdir(join(b.spoolRoot, 'r1')), recordingFiles('r1').sort());
    assert.deepEqual(b.nas.names(folder), recordingFiles('r1').sort());
    assert.deepEqual(b.nas.deletes, []);
    assert.deepEqual(await b.disposalLog.list(), []);
    const [audit] = await b.audit.list();
    assert.deepEqual([audit?.actor, audit?.action, audit?.subject], ['cli:root', 'retention.run', 'dry-run']);
    assert.deepEqual(audit?.details, {
      asOf: '2030-01-01T00:00:00.000Z',
      dryRun: true,
      due: 2,
      deleted: 0,
      wouldDelete: 1,
      held: 1,
      failed: 0,
    });
  });

  it('leaves a recording whose target fails undeleted, counts it failed, and finishes the others', async () => {
    const b = await bed();
    await addRecording(b, 'a', { retentionDays: 1, targets: [b.nas, b.sftp] });
    await addRecording(b, 'b', { start: '2024-01-02T10:00:00.000Z', retentionDays: 1, targets: [b.nas] });
    b.sftp.fail = 'delete';
    const lines: string[] = [];
    const summary = await runRetention(
      retention(b, '2030-01-01T00:00:00Z', {
        actor: 'callrec',
        onOutcome: (o) => lines.push(describeRetentionOutcome(o)),
      }),
    );
    assert.deepEqual([summary.due, summary.deleted, summary.failed], [2, 1, 1]);
    assert.match(
      lines[0] ?? '',
      /^FAILED a \(.*\): target sftp Rec\/2024-01-01: sftp: connection refused; retried next run$/,
    );
    assert.equal((await b.catalogue.find('a'))?.state, 'spooled');
    assert.equal((await b.catalogue.find('b'))?.state, 'deleted');
    assert.deepEqual(
      (await b.disposalLog.list()).map((e) => e.recordingId),
      ['b'],
    );
    const [audit] = await b.audit.list();
    assert.deepEqual([audit?.actor, audit?.details['failed'], audit?.details['deleted']], ['callrec', 1, 1]);
  });

  it('rejects an invalid as-of time', async () => {
    const b = await bed();
    await assert.rejects(runRetention(retention(b, 'not a time')), /as-of is not a valid time/);
  });
});
