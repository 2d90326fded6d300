/**
 * Crash recovery (SPEC §9, issue 10) of recordings left `recording` by a crash, from crafted
 * folders: every WAV's header is rebuilt from the data on disk (zeroed RIFF sizes, stale RF64 ds64
 * sizes, a partial last frame), both-stereo per-party files are merged, the metadata has end reason
 * `recovered`, the end at the audio's end and the gap stated; the recording is sealed (verifies),
 * its catalogue row spooled, its call row ended by callrec and it is queued for upload.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { recoverRecordings, uploadRequestFor, type RecoverySummary } from '../../../src/cli/recover-recordings.js';
import { verifyFolder, type RecordingSigner } from '../../../src/integrity/index.js';
import { parseWavHeader } from '../../../src/recorder/index.js';
import type { RecoveredRecording } from '../../../src/pipeline/index.js';
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
before(async () => {
  signer = makeSigner();
});

const soxi = (flag: string, path: string): string => execFileSync('soxi', [flag, path], { encoding: 'utf8' }).trim();

interface Queued {
  readonly recording: RecoveredRecording;
  readonly profileId: string | undefined;
}

async function recover(): Promise<{ summary: RecoverySummary; queued: Queued[] }> {
  const queued: Queued[] = [];
  const summary = await recoverRecordings({
    config: recoveryConfig(join(bed.root, 'archive')),
    catalogue: bed.catalogue,
    calls: bed.calls,
    ledgerStore: bed.ledgerStore,
    ledger: bed.ledger,
    signer: bed.signer,
    logger: bed.logger,
    audit: { log: bed.audit, actor: 'callrec' },
    queue: (recording, profileId) => {
      queued.push({ recording, profileId });
    },
  });
  return { summary, queued };
}

async function metadataOf(dir: string, id: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(join(dir, `${id}.json`), 'utf8')) as Record<string, unknown>;
}

async function headerOf(path: string) {
  const bytes = await readFile(path);
  const parsed = parseWavHeader(bytes, bytes.length);
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.error.message);
  return parsed.info;
}

async function assertVerifies(dir: string): Promise<void> {
  const verdict = await verifyFolder(dir, { certificatePem: signer.certificatePem });
  assert.deepEqual(
    verdict.recordings.map((r) => r.problems),
    verdict.recordings.map(() => []),
    JSON.stringify(verdict),
  );
  assert.equal(verdict.ok, true, JSON.stringify(verdict));
}

describe('crash recovery of a recording cut off during the call', () => {
  before(async () => {
    bed = await startRecoveryBed(signer);
  });
  after(async () => {
    await bed.close();
  });

  it('repairs a never-patched RIFF header, seals with end reason "recovered" and states the gap', async () => {
    const { id, dir, start } = await crashedCall(bed, { profile: 'solo' });
    await writeFile(join(dir, `${id}.wav`), crashedWav(toneBytes(8000 * 7)));
    const lastWrite = new Date(start.getTime() + 7400);
    await utimes(join(dir, `${id}.wav`), lastWrite, lastWrite);

    const { summary, queued } = await recover();
    assert.deepEqual(summary.failed, []);
    assert.equal(summary.recovered.length, 1);
    const result = summary.recovered[0];
    assert.ok(result !== undefined);
    assert.equal(result.action, 'recovered');
    assert.equal(result.coveredMs, 7000);
    const info = await headerOf(join(dir, `${id}.wav`));
    assert.equal(info.sizesMatch, true);
    assert.equal(info.dataBytes, 8000 * 7 * 2);
    assert.equal(soxi('-D', join(dir, `${id}.wav`)), '7.000000');
    assert.equal((await stat(join(dir, `${id}.wav`))).mtime.getTime(), lastWrite.getTime(), 'last write time kept');

    const metadata = await metadataOf(dir, id);
    assert.equal(metadata['endReason'], 'recovered');
    assert.equal(metadata['endedBy'], 'callrec');
    assert.equal(metadata['answer'], start.toISOString());
    assert.equal(metadata['end'], new Date(start.getTime() + 7000).toISOString());
    assert.equal(metadata['channels'], 'caller');
    assert.deepEqual(metadata['callIds'], { caller: `a-${id}@trunk.example`, callee: `b-${id}@callrec` });
    assert.deepEqual(metadata['caller'], { number: '+4940111222', raw: null, name: null });
    assert.equal(metadata['profile'], 'solo');
    const completeness = metadata['completeness'] as { complete: boolean; problems: string[] };
    assert.equal(completeness.complete, false);
    assert.equal(
      completeness.problems[0],
      `callrec stopped at about ${lastWrite.toISOString()}; audio after ${new Date(start.getTime() + 7000).toISOString()} is missing; the call's real end is unknown`,
    );
    const recovery = metadata['recovery'] as Record<string, unknown>;
    assert.equal(recovery['stateAtCrash'], 'recording');
    assert.deepEqual(recovery['gap'], { from: new Date(start.getTime() + 7000).toISOString(), to: null });
    assert.deepEqual(recovery['repairs'], [{ name: `${id}.wav`, repaired: true, bytesCut: 0, durationMs: 7000 }]);
    // profile "solo" has signing: false: metadata only
    assert.deepEqual((await readdir(dir)).sort(), [`${id}.json`, `${id}.wav`]);

    const row = await bed.catalogue.find(id);
    assert.equal(row?.state, 'spooled');
    assert.equal(row?.endReason, 'recovered');
    assert.equal(row?.end, new Date(start.getTime() + 7000).toISOString());
    const callRow = await bed.calls.findCall(id);
    assert.equal(callRow?.endedBy, 'callrec');
    assert.equal(callRow?.endReason, 'recovered');
    assert.equal(callRow?.finalStatus, 200);
    assert.equal(callRow?.answeredAt, start.toISOString());
    assert.deepEqual(
      queued.map((q) => [q.recording.id, q.profileId]),
      [[id, 'solo']],
    );
    const line = bed.lines.find((l) => l['msg'] === 'recording recovered' && l['recordingId'] === id);
    assert.equal(line?.['coveredMs'], 7000);
    assert.equal(line?.['gap'], completeness.problems[0]);
    assert.ok(bed.lines.some((l) => l['msg'] === 'crash recovery done' && l['recovered'] === 1));
    const audit = await bed.audit.list();
    assert.ok(audit.some((e) => e.action === 'recording.recover' && e.subject === `recording:${id}`));
  });

  it('merges both-stereo per-party files of different lengths, cutting a partial frame, and seals the stereo file', async () => {
    const { id, dir, start } = await crashedCall(bed, { profile: 'trading' });
    // caller: patched at 4 s, 5.5 s on disk and half a frame; callee: never patched, 6 s on disk
    await writeFile(
      join(dir, `${id}-caller.wav`),
      crashedWav(Buffer.concat([toneBytes(44000, 8000, 440), Buffer.from([1])]), { declaredBytes: 64000 }),
    );
    await writeFile(join(dir, `${id}-callee.wav`), crashedWav(toneBytes(48000, 8000, 1000)));
    // an interrupted merge of the finalisation left a partial stereo file
    await writeFile(join(dir, `${id}.wav`), crashedWav(toneBytes(1000, 8000, 440, 2), { channels: 2 }));

    const { summary, queued } = await recover();
    const result = summary.recovered.find((r) => r.id === id);
    assert.ok(result !== undefined, JSON.stringify(summary));
    assert.equal(result.coveredMs, 6000);
    assert.deepEqual((await readdir(dir)).sort(), [
      `${id}.json`,
      `${id}.sha256`,
      `${id}.sha256.SHA256withRSA.sig`,
      `${id}.wav`,
    ]);
    const wav = join(dir, `${id}.wav`);
    assert.equal(soxi('-c', wav), '2');
    assert.equal(soxi('-s', wav), '48000');
    const metadata = await metadataOf(dir, id);
    assert.equal(metadata['channels'], 'both-stereo');
    const legs = metadata['legs'] as Array<{ party: string; durationMs: number }>;
    assert.deepEqual(
      legs.map((leg) => [leg.party, leg.durationMs]),
      [
        ['caller', 5500],
        ['callee', 6000],
      ],
    );
    const repairs = (metadata['recovery'] as { repairs: Array<{ name: string; bytesCut: number }> }).repairs;
    assert.equal(repairs.find((r) => r.name === `${id}-caller.wav`)?.bytesCut, 1);
    assert.equal(metadata['end'], new Date(start.getTime() + 6000).toISOString());
    await assertVerifies(dir);
    const archived = queued.find((q) => q.recording.id === id);
    assert.equal(archived?.profileId, 'trading');
    const request = uploadRequestFor(recoveryConfig('/mnt/a'), result, 'trading');
    const day = start.toISOString().slice(0, 10).replaceAll('-', '_');
    assert.deepEqual(request.targets, [{ targetId: 'archive', folder: `Record-${day}` }]);
  });

  it('keeps RF64 files RF64 and both-separate files separate', async () => {
    const { id, dir } = await crashedCall(bed, { profile: 'separate' });
    await writeFile(
      join(dir, `${id}-caller.wav`),
      crashedWav(toneBytes(16000 * 3, 16000), { sampleRate: 16000, rf64: true, declaredBytes: 32000 }),
    );
    await writeFile(join(dir, `${id}-callee.wav`), crashedWav(toneBytes(8000 * 3)));

    const { summary } = await recover();
    assert.ok(summary.recovered.some((r) => r.id === id));
    const caller = await headerOf(join(dir, `${id}-caller.wav`));
    assert.equal(caller.container, 'RF64');
    assert.equal(caller.dataBytes, 96000);
    assert.equal(soxi('-s', join(dir, `${id}-caller.wav`)), '48000');
    const metadata = await metadataOf(dir, id);
    assert.equal(metadata['channels'], 'both-separate');
    assert.deepEqual(
      (metadata['files'] as Array<{ name: string; container: string; durationMs: number }>).map((f) => [
        f.name,
        f.container,
        f.durationMs,
      ]),
      [
        [`${id}-caller.wav`, 'RF64', 3000],
        [`${id}-callee.wav`, 'RIFF', 3000],
      ],
    );
    await assertVerifies(dir);
  });

  it('seals a recording without any audio as evidence that it existed, stating so', async () => {
    const { id, dir, start } = await crashedCall(bed, { profile: 'trading', noDir: true });
    const { summary } = await recover();
    const result = summary.recovered.find((r) => r.id === id);
    assert.ok(result !== undefined, JSON.stringify(summary));
    assert.equal(result.coveredMs, 0);
    const metadata = await metadataOf(dir, id);
    assert.deepEqual(metadata['files'], []);
    assert.equal(metadata['end'], start.toISOString());
    const problems = (metadata['completeness'] as { problems: string[] }).problems;
    assert.match(problems[0] ?? '', /no audio reached the disk; the call's real end is unknown$/);
    assert.ok(problems.includes('no audio file: callrec stopped before any audio reached the disk'));
    await assertVerifies(dir);
  });

  it('keeps and seals a file that is not a usable WAV, and says the stereo merge was impossible', async () => {
    const { id, dir } = await crashedCall(bed, { profile: 'trading' });
    await writeFile(join(dir, `${id}-caller.wav`), Buffer.from('RIFF'));
    await writeFile(join(dir, `${id}-callee.wav`), crashedWav(toneBytes(8000)));
    const { summary } = await recover();
    assert.ok(
      summary.recovered.some((r) => r.id === id),
      JSON.stringify(summary),
    );
    assert.equal((await readFile(join(dir, `${id}-caller.wav`))).toString(), 'RIFF', 'kept unchanged');
    const metadata = await metadataOf(dir, id);
    const problems = (metadata['completeness'] as { problems: string[] }).problems;
    assert.ok(
      problems.some((p) => p.startsWith(`${id}-caller.wav: not a usable WAV file`)),
      problems.join('\n'),
    );
    assert.ok(problems.includes('stereo merge impossible: a party has no usable file'), problems.join('\n'));
    const files = metadata['files'] as Array<{ name: string; unusable?: string }>;
    assert.equal(files.find((f) => f.name === `${id}-caller.wav`)?.unusable !== undefined, true);
    await assertVerifies(dir);
  });
});
