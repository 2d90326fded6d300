/**
 * Pause and resume by DTMF end to end through the real callrec (SPEC §4): the recorded party (the
 * callee of an inbound call, behind the PBX) keys the profile's pause code (*1) and later its
 * resume code (*2) as RFC 4733 events while the caller talks on.
 *  - the paused span is silence on both channels of the same timeline, as long as the time
 *    between the two codes (±100 ms), and the file still covers the whole connected call;
 *  - the metadata lists it (`pauses: [{ from, to, by: 'dtmf' }]`); the keys never reach the file
 *    (the callee's channel holds its tone and silence only) and the seal verifies.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { activeDurationMs, channelHasToneOnly, dominantToneSegments, readWav } from './support/audio-analysis.js';
import {
  ANNOUNCEMENTS,
  assertVerifies,
  CALLEE_TONE_HZ,
  CALLER_TONE_HZ,
  recordingOf,
  runAnnouncedCall,
} from './support/announcement-calls.js';
import { assertNoCallsLeft, startTestbed, type Testbed } from './support/b2bua.js';

const PAUSED_NUMBER = '+4930123456208';
/** Every DTMF key has one of the high-group tones; 697 Hz is the low tone of 1 and 2. */
const KEY_TONE_HZ = [697, 1209, 1336, 1477];

describe('pause and resume by DTMF through the real callrec', { concurrency: false }, () => {
  let bed: Testbed;
  before(async () => {
    bed = await startTestbed({
      config: {
        users: [{ id: 'helen', extension: '208', numbers: [PAUSED_NUMBER] }],
        groups: [],
        profiles: [
          {
            id: 'card-payments',
            users: ['helen'],
            inbound: true,
            outbound: true,
            channels: 'both-separate',
            announcement: { inbound: join(ANNOUNCEMENTS, 'beep.wav') },
            consent: { legalBasis: 'obligation' },
            pause: { pauseCode: '*1', resumeCode: '*2' },
            targets: [],
            retentionDays: 30,
          },
        ],
        media: { timeoutSeconds: 30, strictSource: true, recordableCodecsOnly: true },
      },
    });
  });
  after(async () => {
    await bed?.stop();
  });

  it('leaves silence of the paused length on both channels and lists the pause', async () => {
    const call = await runAnnouncedCall(bed, {
      service: PAUSED_NUMBER,
      callMs: 5000,
      onConnected: (callee) => {
        setTimeout(() => {
          void callee.key('*');
          void callee.key('1');
        }, 1000);
        setTimeout(() => {
          void callee.key('*');
          void callee.key('2');
        }, 2800);
      },
    });
    assert.equal(call.uac.code, 0, call.uac.errors);
    assert.equal(call.uas?.code, 0, call.uas?.errors);
    const keys = call.callee.keysSent;
    assert.deepEqual(
      keys.map((k) => k.key),
      ['*', '1', '*', '2'],
    );
    const sentPauseMs = (keys[3]?.endWallMs ?? 0) - (keys[1]?.endWallMs ?? 0);

    const recording = await recordingOf(bed, call.id);
    const pauses = recording.metadata['pauses'] as Array<{ from: number; to: number; by: string }>;
    assert.equal(pauses.length, 1, JSON.stringify(pauses));
    const pause = pauses[0];
    assert.ok(pause !== undefined);
    assert.equal(pause.by, 'dtmf');
    assert.ok(
      Math.abs(pause.to - pause.from - sentPauseMs) <= 100,
      `listed ${pause.to - pause.from} ms, keyed ${sentPauseMs} ms`,
    );

    const caller = await readWav(join(recording.dir, `${call.id}-caller.wav`));
    const callee = await readWav(join(recording.dir, `${call.id}-callee.wav`));
    const [callerChannel] = caller.channels;
    const [calleeChannel] = callee.channels;
    assert.ok(callerChannel !== undefined && calleeChannel !== undefined);
    // The caller talks throughout: its channel's one long silence is the pause
    const silences = dominantToneSegments(callerChannel.samples, callerChannel.sampleRate, [CALLER_TONE_HZ]).filter(
      (s) => s.freq === 'silence' && s.endMs - s.startMs >= 300,
    );
    assert.equal(silences.length, 1, JSON.stringify(silences));
    const silence = silences[0];
    assert.ok(silence !== undefined);
    const silentMs = silence.endMs - silence.startMs;
    assert.ok(Math.abs(silentMs - sentPauseMs) <= 100, `${silentMs} ms of silence for ${sentPauseMs} ms paused`);
    assert.ok(
      Math.abs(silence.startMs - pause.from) <= 100,
      `silence at ${silence.startMs} ms, pause from ${pause.from}`,
    );
    // ... on the callee's channel too, on the same timeline
    const rate = calleeChannel.sampleRate;
    const inner = calleeChannel.samples.subarray(
      Math.round(((pause.from + 60) * rate) / 1000),
      Math.round(((pause.to - 60) * rate) / 1000),
    );
    assert.equal(activeDurationMs(inner, rate), 0, 'the callee channel is silent while paused');
    assert.ok(Math.abs(caller.durationMs - callee.durationMs) <= 20, 'one timeline');
    const connectedMs =
      Date.parse(String(recording.metadata['end'])) - Date.parse(String(recording.metadata['answer']));
    assert.ok(Math.abs(caller.durationMs - connectedMs) <= 300, 'the file covers the whole call, pause included');
    // The keys are not audio: the callee's channel holds its tone (and silence) only
    for (const hz of KEY_TONE_HZ) assert.ok(channelHasToneOnly(calleeChannel, CALLEE_TONE_HZ, hz, 20), `no ${hz} Hz`);
    assert.ok(channelHasToneOnly(callerChannel, CALLER_TONE_HZ, CALLEE_TONE_HZ));
    await assertVerifies(bed, recording.dir);
    await assertNoCallsLeft(bed.callrec);
  });
});
