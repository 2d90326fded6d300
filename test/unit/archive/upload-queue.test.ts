/**
 * The uploader (SPEC §6, issue 8) on LocalTargets in temp folders, a fake clock and a fake
 * target that can be down, corrupt a read-back or hold uploads:
 *  - every file of a sealed recording lands in the expanded folder, no temporary, and
 *    `shasum -a 256 -c` of its checksum file holds there;
 *  - the spool copy is removed only when every target has the recording, kept with keepLocal;
 *  - a target that is down: failed with the interval doubling up to the cap, attempts counted,
 *    the next attempt honoured; back: delivered, "recovered" once;
 *  - a read-back that differs is a failed attempt and retried;
 *  - a crash mid-upload (row left `uploading`, temporary on the target) completes after restart;
 *  - at most `concurrency` uploads per target run at once.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { temporaryName } from '../../../src/archive/index.js';
import {
  assertArchived,
  exists,
  harness as newHarness,
  recording,
  spoolRecording,
  START,
  T0,
  type Harness,
} from './upload-queue-fakes.js';

let root: string;
let counter = 0;
const harnesses: Harness[] = [];

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'callrec-upload-queue-'));
});

after(async () => {
  await Promise.all(harnesses.map((h) => h.db.close()));
  await rm(root, { recursive: true, force: true });
});

async function harness(): Promise<Harness> {
  const h = await newHarness(join(root, `case-${++counter}`));
  harnesses.push(h);
  return h;
}

describe('UploadQueue', () => {
  it('delivers to every target in the expanded folder and removes the spool copy only when all have it', async () => {
    const h = await harness();
    const [nas, sftp] = [await h.target('nas'), await h.target('sftp')];
    await spoolRecording(h.spool, 'rec-1');
    let release = (): void => undefined;
    sftp.gate = new Promise((resolve) => (release = resolve));
    const nasDelivered = new Promise<void>((resolve) => (nas.onActive = resolve));
    const queue = h.queue([nas, sftp]);
    await queue.start();
    await queue.enqueue(recording(h.spool, 'rec-1', ['nas', 'sftp']));
    await nasDelivered;
    while (h.delivered.length === 0) await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(
      h.delivered.map((e) => e.targetId),
      ['nas'],
    );
    assert.ok(await exists(join(h.spool, 'rec-1')), 'kept while sftp has not got it');
    assert.deepEqual(h.archived, []);
    release();
    await queue.idle();
    // 22:10 UTC on 30 June is 00:10 on 1 July in Berlin.
    await assertArchived(nas, 'rec/2024/07/01', 'rec-1');
    await assertArchived(sftp, 'rec/2024/07/01', 'rec-1');
    assert.equal(await exists(join(h.spool, 'rec-1')), false);
    assert.deepEqual(h.archived, [
      { recordingId: 'rec-1', profileId: 'trading', start: START, targets: ['nas', 'sftp'], localRemoved: true },
    ]);
    assert.equal(h.delivered[0]?.files, 4);
    assert.equal(h.delivered[0]?.profileId, 'trading');
    assert.deepEqual(h.failed, []);
    await queue.stop();
  });

  it('keeps the spool copy with keepLocal', async () => {
    const h = await harness();
    const nas = await h.target('nas');
    const dir = await spoolRecording(h.spool, 'rec-1');
    const queue = h.queue([nas], { keepLocal: true });
    await queue.start();
    await queue.enqueue(recording(h.spool, 'rec-1', ['nas']));
    await queue.idle();
    await assertArchived(nas, 'rec/2024/07/01', 'rec-1');
    assert.ok(await exists(join(dir, 'rec-1.wav')));
    assert.deepEqual(
      h.archived.map((e) => [e.recordingId, e.localRemoved]),
      [['rec-1', false]],
    );
    await queue.stop();
  });

  it('retries a target that is down after the interval, doubling up to the cap; back: delivered and recovered', async () => {
    const h = await harness();
    const nas = await h.target('nas');
    await spoolRecording(h.spool, 'rec-1');
    nas.down = true;
    const queue = h.queue([nas]);
    await queue.start();
    await queue.enqueue(recording(h.spool, 'rec-1', ['nas']));
    await queue.idle();
    const advance = async (seconds: number): Promise<void> => {
      h.clock.advance(seconds * 1000);
      await queue.idle();
    };
    const attempts = (): number[] => h.failed.map((e) => e.attempts);
    const next = (): number[] => h.failed.map((e) => (e.nextAttemptAt.getTime() - T0) / 1000);
    assert.deepEqual(attempts(), [1]);
    assert.deepEqual(next(), [60]);
    assert.equal(h.failed[0]?.error.code, 'ARCHIVE_CONNECT');
    assert.deepEqual([h.failed[0]?.profileId, h.failed[0]?.start], ['trading', START]);
    const [status] = await queue.status();
    assert.equal(status?.failed, 1);
    assert.match(status?.lastError ?? '', /^ARCHIVE_CONNECT: nas: connection refused/);
    await advance(59);
    assert.deepEqual(attempts(), [1], 'not before the next attempt is due');
    await advance(1);
    assert.deepEqual(next(), [60, 180]);
    await advance(60);
    assert.deepEqual(attempts(), [1, 2], 'the second retry waits twice the interval');
    await advance(60);
    await advance(240);
    await advance(240);
    assert.deepEqual(attempts(), [1, 2, 3, 4, 5]);
    assert.deepEqual(next(), [60, 180, 420, 660, 900], 'capped at maxBackoffSeconds');
    assert.ok(await exists(join(h.spool, 'rec-1')), 'stays in the spool while failing');
    assert.deepEqual(h.recovered, []);
    nas.down = false;
    await advance(240);
    assert.deepEqual(
      h.delivered.map((e) => [e.targetId, e.attempts]),
      [['nas', 6]],
    );
    assert.deepEqual(h.recovered, ['nas']);
    assert.equal(await exists(join(h.spool, 'rec-1')), false);
    await assertArchived(nas, 'rec/2024/07/01', 'rec-1');
    assert.equal((await queue.status())[0]?.lastError, null);
    await queue.stop();
  });

  it('retries a corrupted read-back, then counts the target done', async () => {
    const h = await harness();
    const nas = await h.target('nas');
    await spoolRecording(h.spool, 'rec-1');
    nas.corruptReads = 1;
    const queue = h.queue([nas]);
    await queue.start();
    await queue.enqueue(recording(h.spool, 'rec-1', ['nas']));
    await queue.idle();
    assert.equal(h.failed.length, 1);
    assert.equal(h.failed[0]?.error.code, 'ARCHIVE_VERIFY');
    assert.equal(h.failed[0]?.error.retriable, true);
    assert.match(h.failed[0]?.error.message ?? '', /read-back of rec-1\.json .* differs/);
    assert.ok(await exists(join(h.spool, 'rec-1')));
    h.clock.advance(60_000);
    await queue.idle();
    assert.deepEqual(
      h.delivered.map((e) => e.attempts),
      [2],
    );
    assert.deepEqual(h.recovered, ['nas']);
    await assertArchived(nas, 'rec/2024/07/01', 'rec-1');
    await queue.stop();
  });

  it('refuses, without retry, a spool copy that no longer matches its checksum file', async () => {
    const h = await harness();
    const nas = await h.target('nas');
    const dir = await spoolRecording(h.spool, 'rec-1');
    await writeFile(join(dir, 'rec-1.wav'), 'tampered');
    const queue = h.queue([nas]);
    await queue.start();
    await queue.enqueue(recording(h.spool, 'rec-1', ['nas']));
    await queue.idle();
    assert.equal(h.failed[0]?.error.code, 'ARCHIVE_VERIFY');
    assert.equal(h.failed[0]?.error.retriable, false);
    assert.match(h.failed[0]?.error.message ?? '', /spool copy of rec-1\.wav no longer matches/);
    assert.equal(h.failed[0]?.nextAttemptAt.getTime(), T0 + 240_000, 'a non-retriable error waits the cap');
    assert.ok(await exists(dir));
    await queue.stop();
  });

  it('verifies an unsigned recording against the local files', async () => {
    const h = await harness();
    const nas = await h.target('nas');
    await spoolRecording(h.spool, 'rec-1', false);
    nas.corruptReads = 1;
    const queue = h.queue([nas]);
    await queue.start();
    await queue.enqueue(recording(h.spool, 'rec-1', ['nas'], ''));
    await queue.idle();
    assert.equal(h.failed[0]?.error.code, 'ARCHIVE_VERIFY');
    h.clock.advance(60_000);
    await queue.idle();
    await assertArchived(nas, '', 'rec-1', false);
    assert.equal(h.archived.length, 1);
    await queue.stop();
  });

  it('completes an upload a crash interrupted, leaving no temporary on the target', async () => {
    const h = await harness();
    const nas = await h.target('nas');
    await spoolRecording(h.spool, 'rec-1');
    await h.queue([nas]).enqueue(recording(h.spool, 'rec-1', ['nas']));
    // The crashed process had claimed the upload and written part of a file.
    assert.equal((await h.store.claimDue('nas', h.clock.now(), 1)).length, 1);
    await nas.ensureFolder('rec/2024/07/01');
    await writeFile(join(nas.inner.root, 'rec/2024/07/01', temporaryName('rec-1.wav')), 'partial');
    await writeFile(join(nas.inner.root, 'rec/2024/07/01', temporaryName('rec-1.wav.old')), 'older partial');
    const restarted = h.queue([nas]);
    await restarted.start();
    await restarted.idle();
    await assertArchived(nas, 'rec/2024/07/01', 'rec-1');
    const [row] = await h.store.uploadsOf('rec-1');
    assert.deepEqual([row?.state, row?.attempts], ['done', 2]);
    assert.equal(await exists(join(h.spool, 'rec-1')), false);
    await restarted.stop();
  });

  it('finishes at start the archiving a crash interrupted after the last upload', async () => {
    const h = await harness();
    const nas = await h.target('nas');
    await spoolRecording(h.spool, 'rec-1');
    await h.queue([nas]).enqueue(recording(h.spool, 'rec-1', ['nas']));
    await h.store.claimDue('nas', h.clock.now(), 1);
    await h.store.markDone('rec-1', 'nas', h.clock.now());
    const restarted = h.queue([nas]);
    await restarted.start();
    await restarted.idle();
    assert.equal(await exists(join(h.spool, 'rec-1')), false);
    assert.deepEqual(
      h.archived.map((e) => [e.recordingId, e.targets]),
      [['rec-1', ['nas']]],
    );
    await restarted.stop();
  });

  it('runs at most `concurrency` uploads per target at once', async () => {
    const h = await harness();
    const nas = await h.target('nas');
    let release = (): void => undefined;
    nas.gate = new Promise((resolve) => (release = resolve));
    const ids = ['rec-1', 'rec-2', 'rec-3', 'rec-4', 'rec-5'];
    for (const id of ids) await spoolRecording(h.spool, id);
    const queue = h.queue([nas], { concurrency: 2 });
    await queue.start();
    for (const id of ids) await queue.enqueue(recording(h.spool, id, ['nas']));
    while (nas.active < 2) await new Promise((resolve) => setImmediate(resolve));
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    h.clock.advance(60_000); // an interval tick claims nothing beyond the limit either
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(nas.active, 2);
    const [status] = await queue.status();
    assert.deepEqual([status?.uploading, status?.pending], [2, 3]);
    release();
    await queue.idle();
    assert.equal(nas.maxActive, 2);
    assert.equal(h.archived.length, 5);
    for (const id of ids) await assertArchived(nas, 'rec/2024/07/01', id);
    await queue.stop();
  });

  it('retries failed uploads at once on retryFailed and isolates throwing listeners', async () => {
    const h = await harness();
    const nas = await h.target('nas');
    await spoolRecording(h.spool, 'rec-1');
    nas.down = true;
    const queue = h.queue([nas], {
      onDelivered: () => {
        throw new Error('listener bug');
      },
      onArchived: (event) => h.archived.push(event),
    });
    await queue.start();
    await queue.enqueue(recording(h.spool, 'rec-1', ['nas']));
    await queue.idle();
    nas.down = false;
    assert.equal(await queue.retryFailed(), 1);
    await queue.idle();
    assert.deepEqual(
      h.archived.map((e) => [e.recordingId, e.localRemoved]),
      [['rec-1', true]],
    );
    await queue.stop();
  });

  it('rejects unknown targets and bad templates before queueing; reports configured targets', async () => {
    const h = await harness();
    const nas = await h.target('nas');
    const queue = h.queue([nas]);
    await assert.rejects(queue.enqueue(recording(h.spool, 'rec-1', ['nas', 'ftp'])), { code: 'ARCHIVE_CONFIG' });
    await assert.rejects(queue.enqueue(recording(h.spool, 'rec-1', ['nas'], '../$Y')), { code: 'ARCHIVE_PATH' });
    assert.deepEqual(await h.store.uploadsOf('rec-1'), []);
    assert.deepEqual(
      (await queue.status()).map((s) => [s.targetId, s.pending, s.failed]),
      [['nas', 0, 0]],
    );
  });

  it('stop waits for uploads in flight and claims nothing more', async () => {
    const h = await harness();
    const nas = await h.target('nas');
    let release = (): void => undefined;
    nas.gate = new Promise((resolve) => (release = resolve));
    for (const id of ['rec-1', 'rec-2']) await spoolRecording(h.spool, id);
    const queue = h.queue([nas], { concurrency: 1 });
    await queue.start();
    await queue.enqueue(recording(h.spool, 'rec-1', ['nas']));
    await queue.enqueue(recording(h.spool, 'rec-2', ['nas']));
    while (nas.active < 1) await new Promise((resolve) => setImmediate(resolve));
    let stopped = false;
    const stopping = queue.stop().then(() => (stopped = true));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(stopped, false);
    release();
    await stopping;
    assert.deepEqual(
      h.delivered.map((e) => e.recordingId),
      ['rec-1'],
    );
    const status = await h.store.uploadsOf('rec-2');
    assert.equal(status[0]?.state, 'pending');
  });
});
