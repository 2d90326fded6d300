/**
 * Disposing of one recording (SPEC §7): its spool folder and its files on every target it was
 * uploaded to are deleted — only names of that recording, temporaries included, in a folder
 * recordings share — then the signed disposal entry is written and the row marked deleted. Files
 * already gone are fine; a legal hold or an unsealed recording is refused before anything is
 * touched; a failed location leaves the row undeleted and unlogged for the next run.
 */
import assert from 'node:assert/strict';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AppError } from '../../../src/errors.js';
import { disposeRecording, isRecordingFileName, type DisposeRecordingOptions } from '../../../src/privacy/index.js';
import {
  addRecording,
  MemoryTarget,
  recordingFiles,
  removeSharedKey,
  startBed,
  type PrivacyBed,
} from './privacy-fixtures.js';

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

async function options(
  b: PrivacyBed,
  id: string,
  overrides: Partial<DisposeRecordingOptions> = {},
): Promise<DisposeRecordingOptions> {
  const recording = await b.catalogue.find(id);
  assert.ok(recording !== undefined, id);
  return {
    recording,
    targets: [b.nas, b.sftp],
    uploads: b.uploads,
    spoolRoot: b.spoolRoot,
    action: 'retention',
    reason: 'retention',
    actor: 'cli:root',
    policy: 'profile trading: retentionDays 30',
    disposalLog: b.disposalLog,
    catalogue: b.catalogue,
    ...overrides,
  };
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

function code(expected: string, pattern: RegExp): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(error instanceof AppError, String(error));
    assert.equal(error.code, expected);
    assert.match(error.message, pattern);
    return true;
  };
}

describe('isRecordingFileName', () => {
  it("matches the recording's names and upload temporaries, not another id sharing the prefix", () => {
    for (const name of ['r1', 'r1.wav', 'r1-caller.wav', 'r1.sha256.SHA256withRSA.sig', '.r1.wav.callrec-partial'])
      assert.equal(isRecordingFileName('r1', name), true, name);
    for (const name of ['r10.wav', 'r1x.wav', '.r1.wav', 'xr1.wav', '.r10.json.callrec-partial', 'README'])
      assert.equal(isRecordingFileName('r1', name), false, name);
  });
});

describe('disposeRecording', () => {
  it('deletes spool and target files of the recording only, logs the entry and marks the row deleted', async () => {
    const b = await bed();
    const { folder } = await addRecording(b, 'r1', { targets: [b.nas, b.sftp] });
    await addRecording(b, 'r10', { targets: [b.nas] });
    b.nas.put(folder, '.r1.wav.callrec-partial', 'notes.txt');
    const result = await disposeRecording(await options(b, 'r1'));
    assert.equal(result.disposed, true, result.error);
    assert.equal(await exists(join(b.spoolRoot, 'r1')), false, 'spool folder gone');
    assert.deepEqual(await readdir(join(b.spoolRoot, 'r10')), recordingFiles('r10').sort(), 'other spool kept');
    assert.deepEqual(b.nas.names(folder), ['notes.txt', ...recordingFiles('r10')].sort());
    assert.deepEqual(b.sftp.names(folder), []);
    assert.deepEqual(result.locations, [
      { kind: 'spool', path: join(b.spoolRoot, 'r1'), ok: true, deleted: recordingFiles('r1').sort() },
      {
        kind: 'target',
        targetId: 'nas',
        folder,
        ok: true,
        deleted: ['.r1.wav.callrec-partial', ...recordingFiles('r1')].sort(),
      },
      { kind: 'target', targetId: 'sftp', folder, ok: true, deleted: recordingFiles('r1').sort() },
    ]);
    const row = await b.catalogue.find('r1');
    assert.deepEqual([row?.state, row?.deletionReason, row?.deletedAt], ['deleted', 'retention', result.entry?.at]);
    const entries = await b.disposalLog.list();
    assert.equal(entries.length, 1);
    assert.deepEqual(entries[0], result.entry);
    assert.deepEqual(
      [entries[0]?.recordingId, entries[0]?.action, entries[0]?.policy, entries[0]?.actor],
      ['r1', 'retention', 'profile trading: retentionDays 30', 'cli:root'],
    );
    assert.deepEqual(entries[0]?.locations, result.locations);
  });

  it('counts files and folders already gone as deleted (archived, spool removed)', async () => {
    const b = await bed();
    const { folder } = await addRecording(b, 'r1', { targets: [b.nas], spool: false });
    b.nas.folders.delete(folder);
    const result = await disposeRecording(await options(b, 'r1'));
    assert.equal(result.disposed, true, result.error);
    assert.deepEqual(
      result.locations.map((l) => [l.kind, l.ok, l.deleted]),
      [
        ['spool', true, []],
        ['target', true, []],
      ],
    );
  });

  it('refuses a recording under legal hold and touches nothing', async () => {
    const b = await bed();
    const { folder } = await addRecording(b, 'r1', { targets: [b.nas] });
    const opts = await options(b, 'r1');
    await b.catalogue.hold('r1', 'case 4711', 'cli:alice'); // after the caller read the row
    await assert.rejects(disposeRecording(opts), code('PRIVACY_LEGAL_HOLD', /r1 is under legal hold .*case 4711/));
    assert.equal(await exists(join(b.spoolRoot, 'r1', 'r1.wav')), true);
    assert.deepEqual(b.nas.names(folder), recordingFiles('r1').sort());
    assert.equal((await b.catalogue.find('r1'))?.state, 'spooled');
    assert.deepEqual(await b.disposalLog.list(), []);
  });

  it('refuses a recording still being recorded, or already deleted', async () => {
    const b = await bed();
    await b.catalogue.register({
      id: 'live',
      dir: join(b.spoolRoot, 'live'),
      profile: 'trading',
      direction: 'inbound',
      caller: null,
      callee: null,
      start: '2024-01-01T10:00:00Z',
      retentionDays: 1,
      statutory: false,
    });
    await assert.rejects(disposeRecording(await options(b, 'live')), code('PRIVACY_DISPOSAL', /live is recording/));
    await addRecording(b, 'r1');
    const opts = await options(b, 'r1');
    assert.equal((await disposeRecording(opts)).disposed, true);
    await assert.rejects(disposeRecording(opts), code('PRIVACY_DISPOSAL', /r1 is deleted/));
  });

  it('leaves the recording undeleted and unlogged when a target fails; the next run finishes it', async () => {
    const b = await bed();
    const { folder } = await addRecording(b, 'r1', { targets: [b.nas, b.sftp] });
    b.sftp.fail = 'list';
    const failed = await disposeRecording(await options(b, 'r1'));
    assert.equal(failed.disposed, false);
    assert.match(failed.error ?? '', /^target sftp Rec\/2024-01-01: sftp: connection refused$/);
    assert.deepEqual(
      failed.locations.map((l) => [l.kind === 'spool' ? 'spool' : l.targetId, l.ok]),
      [
        ['spool', true],
        ['nas', true],
        ['sftp', false],
      ],
    );
    assert.equal((await b.catalogue.find('r1'))?.state, 'spooled');
    assert.deepEqual(await b.disposalLog.list(), []);
    assert.deepEqual(b.sftp.names(folder), recordingFiles('r1').sort());

    b.sftp.fail = undefined;
    const retried = await disposeRecording(await options(b, 'r1'));
    assert.equal(retried.disposed, true, retried.error);
    assert.deepEqual(b.sftp.names(folder), []);
    assert.equal((await b.catalogue.find('r1'))?.state, 'deleted');
  });

  it('reports the files deleted before a delete failed', async () => {
    const b = await bed();
    await addRecording(b, 'r1', { targets: [b.nas] });
    b.nas.fail = 'delete';
    const result = await disposeRecording(await options(b, 'r1'));
    assert.equal(result.disposed, false);
    assert.deepEqual(result.locations[1], {
      kind: 'target',
      targetId: 'nas',
      folder: 'Rec/2024-01-01',
      ok: false,
      deleted: [],
      error: 'nas: connection refused',
    });
  });

  it('fails for a target that is no longer configured', async () => {
    const b = await bed();
    await addRecording(b, 'r1', { targets: [b.nas, new MemoryTarget('old-nas')] });
    const result = await disposeRecording(await options(b, 'r1'));
    assert.equal(result.disposed, false);
    assert.equal(result.error, 'target old-nas Rec/2024-01-01: target is no longer configured');
  });

  it('touches nothing while an upload of the recording is in progress', async () => {
    const b = await bed();
    await addRecording(b, 'r1');
    await b.uploads.enqueue({
      recordingId: 'r1',
      dir: join(b.spoolRoot, 'r1'),
      start: '2024-01-01T10:00:00Z',
      targets: [{ targetId: 'nas', folder: 'Rec' }],
    });
    await b.uploads.claimDue('nas', new Date('2100-01-01T00:00:00Z'));
    const result = await disposeRecording(await options(b, 'r1'));
    assert.deepEqual(
      [result.disposed, result.error],
      [false, 'an upload to nas is in progress; nothing deleted, retried next run'],
    );
    assert.equal(await exists(join(b.spoolRoot, 'r1', 'r1.wav')), true);
  });

  it('pseudonymises the numbers and keeps the erasure reason (erasure)', async () => {
    const b = await bed();
    await addRecording(b, 'r1');
    const result = await disposeRecording(
      await options(b, 'r1', {
        action: 'erasure',
        reason: 'erasure: request 12',
        policy: 'erase --number +4930111 reason request 12',
        pseudonym: { caller: 'erased-1', callee: null },
      }),
    );
    assert.equal(result.disposed, true);
    const row = await b.catalogue.find('r1');
    assert.deepEqual([row?.caller, row?.callee, row?.deletionReason], ['erased-1', null, 'erasure: request 12']);
    assert.equal(result.entry?.action, 'erasure');
  });
});
