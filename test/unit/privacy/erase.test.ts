/**
 * `eraseRecordings` (issue 9, SPEC §7, GDPR Art. 17) over really sealed recordings in a spool
 * and on two folder targets:
 *  - a number's recordings (as caller or callee) are deleted from the spool and every target,
 *    the catalogue and call rows keep only the pseudonym, each deletion is in the signed disposal
 *    log (action `erasure`, the number masked) and one `erase` audit entry has the counts — none
 *    of them holds the number in clear; other numbers' recordings stay;
 *  - a recording under legal hold is refused (also with --force) and not touched;
 *  - one inside a statutory retention is refused without --force --reason and erased with them;
 *  - a target that fails leaves the recording listed (failed), to be erased again;
 *  - a recording with uploads not yet done is refused (the uploader would bring it back);
 *  - recordings deleted earlier by retention get their call rows pseudonymised.
 */
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AppError } from '../../../src/errors.js';
import {
  eraseRecordings,
  type DisposalTarget,
  type EraseOptions,
  type ErasureOutcome,
} from '../../../src/privacy/index.js';
import { SqliteCallStore } from '../../../src/store/index.js';
import { folderTarget, sealedRecording, TARGET_FOLDER } from './export-fixtures.js';
import { removeSharedKey, startBed, type PrivacyBed } from './privacy-fixtures.js';

const NUMBER = '+4930111222';
const PSEUDONYM = 'erased:00aa11bb22cc';
const MASKED = '+4930*******22';

describe('eraseRecordings', () => {
  let bed: PrivacyBed;
  let nas: Awaited<ReturnType<typeof folderTarget>>;
  let sftp: Awaited<ReturnType<typeof folderTarget>>;

  before(async () => {
    bed = await startBed();
    [nas, sftp] = await Promise.all([folderTarget('nas'), folderTarget('sftp')]);
  });
  after(async () => {
    await Promise.all([nas.remove(), sftp.remove()]);
    await bed.close();
    await removeSharedKey();
  });

  const exists = (path: string): Promise<boolean> =>
    stat(path).then(
      () => true,
      () => false,
    );

  async function erase(overrides: Partial<EraseOptions> = {}): Promise<Awaited<ReturnType<typeof eraseRecordings>>> {
    return eraseRecordings({
      recordings: await bed.catalogue.list({ numbers: [NUMBER] }),
      numbers: [NUMBER],
      pseudonym: PSEUDONYM,
      maskedNumber: MASKED,
      force: false,
      now: new Date('2024-06-01T00:00:00.000Z'),
      actor: 'cli:dpo',
      targets: [nas.target, sftp.target],
      uploads: bed.uploads,
      spoolRoot: bed.spoolRoot,
      disposalLog: bed.disposalLog,
      catalogue: bed.catalogue,
      calls: new SqliteCallStore(bed.db),
      audit: bed.audit,
      ...overrides,
    });
  }

  it("deletes the number's recordings everywhere and leaves only the pseudonym behind", async () => {
    await sealedRecording(bed, 'rec-caller', { targets: [nas.target, sftp.target] });
    await sealedRecording(bed, 'rec-callee', {
      caller: '+4940555666',
      callee: NUMBER,
      targets: [nas.target],
      removeSpool: true,
    });
    await sealedRecording(bed, 'rec-other', { caller: '+4940555666', targets: [nas.target] });
    const seen: ErasureOutcome[] = [];
    const summary = await erase({ reason: 'customer request 2024-117', onOutcome: (o) => seen.push(o) });

    assert.deepEqual([summary.erased, summary.refused, summary.failed], [2, 0, 0]);
    assert.deepEqual(
      seen.map((o) => `${o.result} ${o.recordingId}`),
      ['erased rec-callee', 'erased rec-caller'], // oldest first, then by id
    );
    assert.equal(await exists(join(bed.spoolRoot, 'rec-caller')), false);
    assert.deepEqual(
      (await nas.target.list(TARGET_FOLDER)).filter((n) => !n.startsWith('rec-other')),
      [],
    );
    assert.deepEqual(await sftp.target.list(TARGET_FOLDER), []);
    assert.equal((await nas.target.list(TARGET_FOLDER)).length, 5, 'rec-other stays on the target');
    assert.ok(await exists(join(bed.spoolRoot, 'rec-other')), 'rec-other stays in the spool');

    const caller = await bed.catalogue.find('rec-caller');
    assert.equal(caller?.state, 'deleted');
    assert.equal(caller?.caller, PSEUDONYM);
    assert.equal(caller?.callee, '+4930123456201', 'the other party is not the data subject');
    assert.equal(caller?.deletionReason, 'erasure: customer request 2024-117');
    assert.equal((await bed.catalogue.find('rec-callee'))?.callee, PSEUDONYM);
    assert.deepEqual(
      (await bed.catalogue.list({ numbers: [NUMBER], states: ['spooled', 'archived', 'deleted'] })).map((r) => r.id),
      [],
      'the number is nowhere in the catalogue',
    );
    const call = await new SqliteCallStore(bed.db).findCall('rec-caller');
    assert.equal(call?.caller, PSEUDONYM);

    const disposals = await bed.disposalLog.list();
    assert.deepEqual(
      disposals.map((entry) => [entry.recordingId, entry.action]),
      [
        ['rec-callee', 'erasure'],
        ['rec-caller', 'erasure'],
      ],
    );
    assert.equal(disposals[0]?.policy, `erase --number ${MASKED} reason customer request 2024-117`);
    assert.equal((await bed.disposalLog.verify(bed.keyStore.exportCertificatePem())).ok, true);

    const entry = (await bed.audit.list()).at(-1);
    assert.equal(entry?.action, 'erase');
    assert.equal(entry?.subject, `number:${PSEUDONYM}`);
    assert.equal(entry?.details['erased'], 2);
    assert.equal(entry?.details['reason'], 'customer request 2024-117');
    const everything = JSON.stringify({ disposals, entry });
    assert.ok(!everything.includes(NUMBER), 'the number is not in the disposal or audit log in clear');
  });

  it('refuses a recording under legal hold, also forced, and touches nothing of it', async () => {
    await sealedRecording(bed, 'rec-held', { targets: [nas.target] });
    await bed.catalogue.hold('rec-held', 'court case 17', 'cli:legal');
    const summary = await erase({ force: true, reason: 'customer request' });
    const [outcome] = summary.outcomes;
    assert.equal(outcome?.result, 'refused');
    assert.match(outcome?.result === 'refused' ? outcome.why : '', /legal hold .*wins over --force/);
    assert.equal(summary.refused, 1);
    assert.ok(await exists(join(bed.spoolRoot, 'rec-held', 'rec-held.sha256')));
    assert.ok((await nas.target.list(TARGET_FOLDER)).includes('rec-held.sha256'));
    const row = await bed.catalogue.find('rec-held');
    assert.equal(row?.state, 'archived');
    assert.equal(row?.caller, NUMBER);
    await bed.catalogue.release('rec-held');
  });

  it('refuses a statutory recording without --force --reason and erases it with them', async () => {
    await erase(); // rec-held, released
    await sealedRecording(bed, 'rec-mifid', { statutory: true, retentionDays: 2557, targets: [sftp.target] });
    const refused = await erase();
    assert.equal(refused.outcomes[0]?.result, 'refused');
    assert.match(refused.outcomes[0]?.result === 'refused' ? refused.outcomes[0].why : '', /statutory retention/);
    assert.ok(await exists(join(bed.spoolRoot, 'rec-mifid')));

    const forced = await erase({ force: true, reason: 'court order 2024-17' });
    const [outcome] = forced.outcomes;
    assert.equal(outcome?.result, 'erased');
    assert.equal(outcome?.result === 'erased' ? outcome.forcedUntil : '', '2031-01-01T10:00:00.000Z');
    assert.equal(await exists(join(bed.spoolRoot, 'rec-mifid')), false);
    const entry = (await bed.disposalLog.list({ recordingId: 'rec-mifid' }))[0];
    assert.match(
      entry?.policy ?? '',
      /reason court order 2024-17 \(forced within statutory retention until 2031-01-01/,
    );
    assert.equal((await bed.audit.list()).at(-1)?.details['forced'], 1);
  });

  it('reports a recording as failed when a target cannot delete, and leaves its row listed', async () => {
    await sealedRecording(bed, 'rec-unreachable', { targets: [nas.target] });
    const down: DisposalTarget = {
      id: 'nas',
      list: () => Promise.reject(new AppError('ARCHIVE_CONNECT', 'nas: connection refused', { retriable: true })),
      delete: () => Promise.resolve(),
    };
    const summary = await erase({ targets: [down, sftp.target] });
    const [outcome] = summary.outcomes;
    assert.equal(outcome?.result, 'failed');
    assert.match(outcome?.result === 'failed' ? outcome.why : '', /connection refused.*erase again/);
    assert.equal((await bed.catalogue.find('rec-unreachable'))?.state, 'archived');
    assert.ok((await nas.target.list(TARGET_FOLDER)).includes('rec-unreachable.sha256'));
    assert.equal((await erase()).erased, 1, 'erased on the next try');
  });

  it('refuses a recording whose uploads are not finished, so the uploader cannot bring it back', async () => {
    const dir = await sealedRecording(bed, 'rec-uploading');
    await bed.uploads.enqueue({
      recordingId: 'rec-uploading',
      dir,
      start: '2024-01-01T10:00:00.000Z',
      targets: [{ targetId: 'nas', folder: TARGET_FOLDER }],
    });
    const summary = await erase();
    const [outcome] = summary.outcomes;
    assert.equal(outcome?.result, 'refused');
    assert.equal(outcome?.result === 'refused' ? outcome.rule : '', 'archiving');
    assert.match(outcome?.result === 'refused' ? outcome.why : '', /not archived yet: uploads to nas \(pending\)/);
    assert.ok(await exists(join(dir, 'rec-uploading.sha256')), 'nothing deleted');
    assert.equal((await bed.catalogue.find('rec-uploading'))?.state, 'spooled');
    await bed.uploads.claimDue('nas', new Date('2100-01-01T00:00:00Z'), 100);
    await bed.uploads.markDone('rec-uploading', 'nas');
    assert.equal((await erase()).erased, 1, 'erased once archived');
  });

  it('pseudonymises the call rows of recordings deleted earlier by retention', async () => {
    await sealedRecording(bed, 'rec-expired', { targets: [] });
    await bed.catalogue.markDeleted('rec-expired', 'retention');
    const alreadyDeleted = await bed.catalogue.list({ numbers: [NUMBER], states: ['deleted'] });
    assert.deepEqual(
      alreadyDeleted.map((r) => r.id),
      ['rec-expired'],
    );
    const summary = await erase({ alreadyDeleted });
    assert.equal(summary.pseudonymisedOnly, 1);
    assert.equal((await new SqliteCallStore(bed.db).findCall('rec-expired'))?.caller, PSEUDONYM);
  });
});
