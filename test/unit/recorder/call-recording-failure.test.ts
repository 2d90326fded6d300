/**
 * CallRecording when things go wrong (SPEC §4, issue "Reliability"): problems the owner flags
 * (e.g. the spool was below its reserve) reach the metadata's completeness report; a disk that
 * fills up mid-call never throws into the relay — the writer stops, the owner is told once per
 * file, and the file keeps the audio that reached the disk with a header that says exactly that
 * (closed cleanly, listed in the metadata with the error). The full disk is a real 64 KiB tmpfs.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { PayloadFormat } from '../../../src/media/codec/index.js';
import {
  buildRecordingMetadata,
  CallRecording,
  parseWavHeader,
  type FinishedRecording,
  type RecordedParty,
} from '../../../src/recorder/index.js';
import { skipOutsideCi } from '../../support/skip.js';

const PCMU: ReadonlyMap<number, PayloadFormat> = new Map([
  [0, { payloadType: 0, encoding: 'PCMU', clockRate: 8000, channels: 1 }],
]);

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'callrec-call-recording-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A PCMU RTP packet: 20 ms, sequence `seq`. */
function rtp(seq: number, ssrc: number): Buffer {
  const packet = Buffer.alloc(12 + 160, 0x55);
  packet[0] = 0x80;
  packet[1] = 0;
  packet.writeUInt16BE(seq & 0xffff, 2);
  packet.writeUInt32BE(seq * 160, 4);
  packet.writeUInt32BE(ssrc, 8);
  return packet;
}

/** Feeds `seconds` of audio on both legs at 20 ms steps of a fake clock, ticking as the owner does. */
function feed(recording: CallRecording, clock: { now: number }, seconds: number): void {
  for (let seq = 0; seq < seconds * 50; seq++) {
    clock.now += 20;
    recording.push('caller', rtp(seq, 1111), clock.now);
    recording.push('callee', rtp(seq, 2222), clock.now);
    recording.tick();
  }
}

function newRecording(dir: string, clock: { now: number }, errors: Array<[RecordedParty, Error]> = []): CallRecording {
  return new CallRecording({
    id: 'rec-1',
    dir,
    channels: 'both-separate',
    formats: { caller: PCMU, callee: PCMU },
    now: () => clock.now,
    patchIntervalMs: 60_000,
    onError: (party, error) => errors.push([party, error]),
  });
}

/** The completeness report the metadata would carry for a finished recording (one file per leg). */
function completenessOf(finished: FinishedRecording): { complete: boolean; problems: string[] } {
  const metadata = buildRecordingMetadata({
    call: {
      id: 'rec-1',
      direction: 'inbound',
      callIdCaller: 'a',
      callIdCallee: 'b',
      caller: { number: null, raw: null, name: null },
      callee: { number: null, raw: null, name: null },
      profile: 'trading',
      decisionReason: 'test',
      startedAt: new Date(0),
      answeredAt: new Date(0),
      endedAt: new Date(1000),
      endReason: 'BYE',
      endedBy: 'caller',
      finalStatus: 200,
    },
    recording: finished,
    files: finished.legs.flatMap((leg) =>
      leg.wav === undefined ? [] : [{ name: leg.file, parties: [leg.party], wav: leg.wav }],
    ),
    relay: {},
    formats: {},
  });
  return metadata['completeness'] as { complete: boolean; problems: string[] };
}

describe('CallRecording flags and folder', () => {
  it('creates its folder 0700 and puts flagged problems into the completeness report', async () => {
    const clock = { now: 1000 };
    const dir = join(root, 'flagged', 'rec-1');
    const recording = newRecording(dir, clock);
    recording.flag('recording started while spool below reserve');
    recording.flag('recording started while spool below reserve');
    feed(recording, clock, 1);
    const finished = await recording.finish();
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    assert.deepEqual(finished.problems, ['recording started while spool below reserve']);
    const completeness = completenessOf(finished);
    assert.equal(completeness.complete, false);
    assert.ok(completeness.problems.includes('recording started while spool below reserve'));
  });
});

describe('CallRecording on a full disk', () => {
  let mount: string | undefined;
  let skip: string | undefined;

  before(async () => {
    mount = join(root, 'tmpfs');
    await mkdir(mount);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', mount], { stdio: 'pipe' });
    } catch (error) {
      skip = skipOutsideCi(`cannot mount a tmpfs (needs root): ${String(error).split('\n')[0]}`);
      mount = undefined;
    }
  });
  after(() => {
    if (mount !== undefined) execFileSync('umount', [mount]);
  });

  it('keeps the call going, reports each file once, and closes the files with what reached the disk', async (t) => {
    if (mount === undefined) return t.skip(skip);
    const clock = { now: 1000 };
    const errors: Array<[RecordedParty, Error]> = [];
    const recording = newRecording(join(mount, 'rec-1'), clock, errors);
    // 10 s per leg is 160 KB of PCM: far more than the 64 KiB the file system holds
    for (let second = 0; second < 10; second++) {
      assert.doesNotThrow(() => feed(recording, clock, 1));
      await new Promise((resolve) => setImmediate(resolve)); // let the writers reach the disk
    }
    const finished = await recording.finish();
    assert.ok(errors.length >= 1 && errors.length <= 2, `one report per failed file, got ${errors.length}`);
    assert.ok(errors.every(([, error]) => /ENOSPC/.test(error.message)));
    const failed = finished.legs.filter((leg) => leg.error !== undefined);
    assert.equal(failed.length, errors.length);
    for (const leg of failed) {
      assert.match(leg.error ?? '', /ENOSPC/);
      assert.ok(leg.wav !== undefined, `${leg.party}: the file is kept`);
      assert.ok(leg.wav.frames > 0 && leg.wav.durationMs < 10_000);
      const handle = await open(leg.wav.path, 'r');
      const size = (await handle.stat()).size;
      const head = Buffer.alloc(4096);
      const { bytesRead } = await handle.read(head, 0, head.length, 0);
      await handle.close();
      const parsed = parseWavHeader(head.subarray(0, bytesRead), size);
      assert.ok(parsed.ok, 'a valid header');
      assert.equal(parsed.info.sizesMatch, true, 'the header describes what is on disk');
      assert.equal(parsed.info.frames, leg.wav.frames);
    }
    const problems = completenessOf(finished).problems;
    for (const leg of failed) {
      assert.ok(problems.some((p) => p.startsWith(`${leg.party}: cannot write `) && p.endsWith('ENOSPC')));
      assert.ok(
        problems.includes(
          `${leg.party}: ${Math.round(leg.wav?.durationMs ?? 0)} ms of 10000 ms written before the failure`,
        ),
        problems.join('; '),
      );
    }
  });
});
