/**
 * Crash recovery (SPEC §9, issue 10) is idempotent and never loses what a crash left:
 *  - a recording sealed before the crash but left `finalizing` only gets its row fixed and is queued;
 *  - metadata the finalisation wrote before the crash is sealed as written (the call's own end);
 *  - a recovery that sealed but stopped before marking the row is finished without a second seal;
 *  - a stereo merge that finished before the crash is kept, the leftover input dropped;
 *  - a known call end beyond the audio is stated as a gap;
 *  - one recording that cannot be recovered is logged at ERROR and kept for the next attempt,
 *    the others are recovered.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { recoverRecordings, type RecoverySummary } from '../../../src/cli/recover-recordings.js';
import { sealRecording, verifyFolder, type RecordingSigner } from '../../../src/integrity/index.js';
import { recoverRecording } from '../../../src/pipeline/index.js';
import {
  crashedCall,
  crashedWav,
  makeSigner,
  recoveryConfig,
  startRecoveryBed,
  toneBytes,
  type RecoveryBed,
} from './recover-fixtures.js';

let signer: RecordingSigner;
let bed: RecoveryBed;
let queued: string[] = [];
before(async () => {
  signer = makeSigner();
  bed = await startRecoveryBed(signer);
});
after(async () => {
  await bed.close();
});

async function recover(): Promise<RecoverySummary> {
  return recoverRecordings({
    config: recoveryConfig(join(bed.root, 'archive')),
    catalogue: bed.catalogue,
    calls: bed.calls,
    ledgerStore: bed.ledgerStore,
    ledger: bed.ledger,
    signer: bed.signer,
    logger: bed.logger,
    queue: (recording) => {
      queued.push(recording.id);
    },
  });
}

const metadataOf = async (dir: string, id: string): Promise<Record<string, unknown>> =>
  JSON.parse(await readFile(join(dir, `${id}.json`), 'utf8')) as Record<string, unknown>;

async function assertVerifies(dir: string): Promise<void> {
  const verdict = await verifyFolder(dir, { certificatePem: signer.certificatePem });
  assert.equal(verdict.ok, true, JSON.stringify(verdict));
}

/** Metadata as the normal finalisation writes it (shape only as far as recovery reads it). */
function finalisedMetadata(id: string, start: Date, end: Date, wavBytes: number): Record<string, unknown> {
  return {
    format: 'callrec-recording/1',
    id,
    answer: start.toISOString(),
    end: end.toISOString(),
    endReason: 'BYE',
    endedBy: 'callee',
    finalStatus: 200,
    recordingDurationMs: end.getTime() - start.getTime(),
    files: [{ name: `${id}.wav`, parties: ['caller', 'callee'], bytes: wavBytes }],
    completeness: { complete: true, problems: [] },
  };
}

describe('crash recovery is idempotent', { concurrency: false }, () => {
  it('only marks and queues a recording sealed before the crash', async () => {
    const start = new Date(Date.now() - 30_000);
    const end = new Date(start.getTime() + 2000);
    const { id, dir } = await crashedCall(bed, { start, finalizing: { at: end, reason: 'BYE' } });
    const wav = crashedWav(toneBytes(16000, 8000, 440, 2), { channels: 2, declaredBytes: 64000 });
    await writeFile(join(dir, `${id}.wav`), wav);
    await sealRecording({
      dir,
      id,
      audioFiles: [`${id}.wav`],
      metadata: finalisedMetadata(id, start, end, wav.length),
      signer,
      ledger: bed.ledger,
    });
    const before = await readFile(join(dir, `${id}.json`));
    queued = [];
    const summary = await recover();
    assert.deepEqual(
      summary.recovered.map((r) => [r.id, r.action, r.endReason]),
      [[id, 'already-sealed', 'BYE']],
    );
    assert.deepEqual(await readFile(join(dir, `${id}.json`)), before, 'nothing rewritten');
    const row = await bed.catalogue.find(id);
    assert.deepEqual([row?.state, row?.endReason, row?.end], ['spooled', 'BYE', end.toISOString()]);
    const call = await bed.calls.findCall(id);
    assert.deepEqual([call?.endedBy, call?.endReason, call?.endedAt], ['callee', 'BYE', end.toISOString()]);
    assert.deepEqual(queued, [id]);
    await assertVerifies(dir);
    assert.deepEqual(await recover(), { recovered: [], failed: [] }, 'a second run finds nothing');
  });

  it("seals metadata the finalisation wrote before the crash, keeping the call's own end", async () => {
    const start = new Date(Date.now() - 20_000);
    const end = new Date(start.getTime() + 2000);
    const { id, dir } = await crashedCall(bed, { start, finalizing: { at: end, reason: 'BYE' } });
    const wav = crashedWav(toneBytes(16000, 8000, 440, 2), { channels: 2, declaredBytes: 64000 });
    await writeFile(join(dir, `${id}.wav`), wav);
    await writeFile(join(dir, `${id}.json`), JSON.stringify(finalisedMetadata(id, start, end, wav.length)));
    const summary = await recover();
    assert.deepEqual(
      summary.recovered.map((r) => [r.id, r.action, r.endReason]),
      [[id, 'resealed', 'BYE']],
    );
    const metadata = await metadataOf(dir, id);
    assert.equal(metadata['endReason'], 'BYE');
    assert.deepEqual(metadata['completeness'], { complete: true, problems: [] });
    assert.match(String((metadata['recovery'] as { statement: string }).statement), /before it was sealed/);
    assert.equal(typeof (metadata['integrity'] as { chain: { sequence: number } }).chain.sequence, 'number');
    await assertVerifies(dir);
  });

  it('finishes a recovery that sealed but stopped before marking the row, without sealing twice', async () => {
    const { id, dir } = await crashedCall(bed);
    await writeFile(join(dir, `${id}-caller.wav`), crashedWav(toneBytes(8000)));
    await writeFile(join(dir, `${id}-callee.wav`), crashedWav(toneBytes(8000)));
    const row = await bed.catalogue.find(id);
    assert.ok(row !== undefined);
    const first = await recoverRecording({
      recording: row,
      call: await bed.calls.findCall(id),
      channels: 'both-stereo',
      signer,
      ledger: bed.ledger,
      sealedEntry: (recordingId) => bed.ledgerStore.ledgerEntryForRecording(recordingId),
    });
    const sealed = await readFile(join(dir, `${id}.json`));
    const summary = await recover();
    const second = summary.recovered.find((r) => r.id === id);
    assert.equal(second?.action, 'already-sealed');
    assert.equal(second?.gap, first.gap);
    assert.equal(second?.endReason, 'recovered');
    assert.deepEqual(await readFile(join(dir, `${id}.json`)), sealed);
    assert.equal((await bed.ledger.entries()).filter((e) => e.recordingId === id).length, 1);
    assert.deepEqual(await bed.ledger.verify(), []);
  });

  it('keeps a stereo merge that finished before the crash and drops the leftover input', async () => {
    const start = new Date(Date.now() - 10_000);
    const end = new Date(start.getTime() + 2000);
    const { id, dir } = await crashedCall(bed, { start, finalizing: { at: end, reason: 'BYE' } });
    await writeFile(
      join(dir, `${id}.wav`),
      crashedWav(toneBytes(16000, 8000, 440, 2), { channels: 2, declaredBytes: 64000 }),
    );
    await writeFile(join(dir, `${id}-callee.wav`), crashedWav(toneBytes(16000), { declaredBytes: 32000 }));
    const summary = await recover();
    const result = summary.recovered.find((r) => r.id === id);
    assert.equal(result?.action, 'recovered');
    assert.equal(result?.gap, null, 'the audio covers the known call');
    assert.deepEqual(
      (await readdir(dir)).filter((name) => name.endsWith('.wav')),
      [`${id}.wav`],
    );
    const metadata = await metadataOf(dir, id);
    assert.equal(metadata['end'], end.toISOString());
    const problems = (metadata['completeness'] as { problems: string[] }).problems;
    assert.match(
      problems[0] ?? '',
      /after the call ended at .* \(BYE\) and before the recording was sealed; the audio covers the call/,
    );
    await assertVerifies(dir);
  });

  it('states the gap between the audio and a known end of the call', async () => {
    const start = new Date(Date.now() - 10_000);
    const end = new Date(start.getTime() + 10_000);
    const { id, dir } = await crashedCall(bed, { start, profile: 'separate', finalizing: { at: end, reason: 'BYE' } });
    await writeFile(join(dir, `${id}-caller.wav`), crashedWav(toneBytes(32000)));
    await writeFile(join(dir, `${id}-callee.wav`), crashedWav(toneBytes(32000)));
    const summary = await recover();
    const result = summary.recovered.find((r) => r.id === id);
    const audioEnd = new Date(start.getTime() + 4000).toISOString();
    assert.match(result?.gap ?? '', new RegExp(`audio after ${audioEnd} is missing$`));
    const recovery = (await metadataOf(dir, id))['recovery'] as { gap: unknown; callEnd: unknown };
    assert.deepEqual(recovery.gap, { from: audioEnd, to: end.toISOString() });
    assert.deepEqual(recovery.callEnd, { at: end.toISOString(), reason: 'BYE' });
  });

  it('logs a recording it cannot recover at ERROR, keeps its row and recovers the others', async () => {
    const broken = await crashedCall(bed, { noDir: true });
    await writeFile(broken.dir, 'a file where the folder should be');
    const good = await crashedCall(bed);
    await writeFile(join(good.dir, `${good.id}-caller.wav`), crashedWav(toneBytes(8000)));
    await writeFile(join(good.dir, `${good.id}-callee.wav`), crashedWav(toneBytes(8000)));
    const summary = await recover();
    assert.deepEqual(
      summary.failed.map((f) => f.id),
      [broken.id],
    );
    assert.ok(summary.recovered.some((r) => r.id === good.id));
    assert.equal((await bed.catalogue.find(broken.id))?.state, 'recording', 'kept for the next attempt');
    const error = bed.lines.find((l) => l['msg'] === 'recording recovery failed; it is retried at the next start');
    assert.equal(error?.['recordingId'], broken.id);
    assert.equal(error?.['level'], 50);

    await rm(broken.dir);
    const again = await recover();
    assert.deepEqual(
      again.recovered.map((r) => r.id),
      [broken.id],
    );
    assert.deepEqual(again.failed, []);
    assert.deepEqual(await bed.ledger.verify(), []);
  });
});
