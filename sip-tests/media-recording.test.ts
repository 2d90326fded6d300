/**
 * End to end through the real callrec (issue "Media anchoring and the recorder"): SIPp calls with
 * RTP both ways (caller 440 Hz, callee 1000 Hz) through callrec's anchored media:
 *  - both-separate: `<id>-caller.wav` holds only the caller's tone, `<id>-callee.wav` only the
 *    callee's; both last as long as the connected call (±0.3 s) and are aligned;
 *  - both-stereo: one `<id>.wav`, caller left, callee right;
 *  - an unrecorded call writes nothing, and its audio still flows;
 *  - packets from a third address never reach a file (dropped and counted as foreign);
 *  - a call on hold keeps its timeline: the hold is silence of its length, listed in the metadata;
 *  - the metadata labels the parties from SIP and the recording is sealed (`callrec verify`).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repoRoot } from '../test/support/paths.js';
import { assertCallSucceeded, startTestbed, type Testbed } from './support/b2bua.js';
import {
  channelHasToneOnly,
  dominantToneSegments,
  firstToneOnsetMs,
  readWav,
  type Wav,
} from './support/audio-analysis.js';
import {
  CALLEE_TONE_HZ,
  CALLER_TONE_HZ,
  MEDIA_SCENARIOS,
  runMediaCall,
  sendRtpFrom,
  THIRD_PARTY_TONE_HZ,
  type MediaCallOptions,
} from './support/media.js';

const USERS = [
  { id: 'alice', extension: '201', numbers: ['+4930123456201'] },
  { id: 'carol', extension: '203', numbers: ['+4930123456203'] },
  { id: 'dave', extension: '204', numbers: ['+4930123456204'] },
];
const GROUPS = [{ id: 'trading', numbers: ['+4930123456500'], members: ['alice'] }];
const profile = (id: string, channels: string, groups: string[], users: string[]): Record<string, unknown> => ({
  id,
  enabled: true,
  groups,
  users,
  inbound: true,
  outbound: true,
  recordDirectCallsToActiveMembers: false,
  channels,
  consent: { legalBasis: 'obligation' },
  signing: true,
  targets: [],
  retentionDays: 30,
  onRecordingFailure: 'continue',
});
const STEREO_NUMBER = '+4930123456500';
const SEPARATE_NUMBER = '+4930123456203';
const UNRECORDED_NUMBER = '+4930123456204';

interface Recorded {
  readonly id: string;
  readonly dir: string;
  readonly files: string[];
  readonly metadata: Record<string, unknown>;
  readonly connectedMs: number;
}

function runCli(args: readonly string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(repoRoot, 'bin', 'callrec'), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.once('exit', (code) => resolve({ code, output }));
  });
}

describe('media anchoring and recording through the real callrec', { concurrency: false }, () => {
  let bed: Testbed;
  before(async () => {
    bed = await startTestbed({
      config: {
        users: USERS,
        groups: GROUPS,
        profiles: [
          profile('stereo', 'both-stereo', ['trading'], []),
          profile('separate', 'both-separate', [], ['carol']),
        ],
        media: { timeoutSeconds: 30, strictSource: true, recordableCodecsOnly: true },
      },
    });
  });
  after(async () => {
    await bed?.stop();
  });

  const logsFor = (call: string, msg: string): Record<string, unknown> | undefined =>
    bed.callrec.logs().find((l) => l['call'] === call && String(l['msg']).startsWith(msg));

  const waitFor = async <T>(what: string, probe: () => T | undefined, timeoutMs = 15_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  /** Runs a media call and returns the call id; `during` runs while the call is up. */
  const mediaCall = async (
    options: Omit<MediaCallOptions, 'direction'>,
    during?: (callId: string) => Promise<void>,
  ): Promise<string> => {
    const before = bed.callrec.logs().length;
    const running = runMediaCall(bed, { direction: 'inbound', ...options });
    let duringDone: Promise<void> | undefined;
    if (during !== undefined) {
      const started = await waitFor('call started', () =>
        bed.callrec
          .logs()
          .slice(before)
          .find((l) => l['msg'] === 'call started'),
      );
      duringDone = during(String(started['call']));
    }
    const run = await running;
    await duringDone;
    assertCallSucceeded(run);
    const started = bed.callrec
      .logs()
      .slice(before)
      .find((l) => l['msg'] === 'call started');
    assert.ok(started !== undefined);
    return String(started['call']);
  };

  const recordingOf = async (id: string): Promise<Recorded> => {
    const finished = await waitFor('recording finished', () => logsFor(id, 'recording finished'));
    const dir = join(bed.callrec.dir, 'data', 'recordings', id);
    const metadata = JSON.parse(await readFile(join(dir, `${id}.json`), 'utf8')) as Record<string, unknown>;
    const connectedMs = Date.parse(String(metadata['end'])) - Date.parse(String(metadata['answer']));
    assert.ok(finished !== undefined);
    return { id, dir, files: (await readdir(dir)).sort(), metadata, connectedMs };
  };

  const assertCoversCall = (wav: Wav, recording: Recorded, file: string): void => {
    assert.ok(
      Math.abs(wav.durationMs - recording.connectedMs) <= 300,
      `${file}: ${wav.durationMs} ms of audio for ${recording.connectedMs} ms connected`,
    );
  };

  it('writes one file per party, each with its own tone only, as long as the call and aligned', async () => {
    const id = await mediaCall({ service: SEPARATE_NUMBER, audioMs: 3000 });
    const recording = await recordingOf(id);
    assert.deepEqual(recording.files, [
      `${id}-callee.wav`,
      `${id}-caller.wav`,
      `${id}.json`,
      `${id}.sha256`,
      `${id}.sha256.SHA256withRSA.sig`,
    ]);
    const caller = await readWav(join(recording.dir, `${id}-caller.wav`));
    const callee = await readWav(join(recording.dir, `${id}-callee.wav`));
    const [callerChannel] = caller.channels;
    const [calleeChannel] = callee.channels;
    assert.ok(callerChannel !== undefined && calleeChannel !== undefined);
    assert.ok(channelHasToneOnly(callerChannel, CALLER_TONE_HZ, CALLEE_TONE_HZ), 'caller file: 440 Hz only');
    assert.ok(channelHasToneOnly(calleeChannel, CALLEE_TONE_HZ, CALLER_TONE_HZ), 'callee file: 1000 Hz only');
    assertCoversCall(caller, recording, 'caller');
    assertCoversCall(callee, recording, 'callee');
    assert.ok(Math.abs(caller.durationMs - callee.durationMs) <= 20, 'both files end together');
    // SIPp starts both tones at the ACK, within a few ms of each other
    const callerOnset = firstToneOnsetMs(callerChannel.samples, callerChannel.sampleRate, CALLER_TONE_HZ);
    const calleeOnset = firstToneOnsetMs(calleeChannel.samples, calleeChannel.sampleRate, CALLEE_TONE_HZ);
    assert.ok(callerOnset !== undefined && calleeOnset !== undefined);
    assert.ok(Math.abs(callerOnset - calleeOnset) < 60, `onsets ${callerOnset} / ${calleeOnset} ms`);

    const metadata = recording.metadata;
    assert.equal(metadata['direction'], 'inbound');
    assert.equal(metadata['profile'], 'separate');
    assert.equal(metadata['channels'], 'both-separate');
    assert.deepEqual(metadata['callee'], { number: SEPARATE_NUMBER, raw: SEPARATE_NUMBER, name: null });
    assert.equal((metadata['caller'] as { name: string }).name, 'SIPp Caller');
    const legs = metadata['legs'] as Array<{ party: string; packets: { received: number; lost: number } }>;
    assert.deepEqual(
      legs.map((leg) => leg.party),
      ['caller', 'callee'],
    );
    for (const leg of legs) assert.ok(leg.packets.received >= 140, `${leg.party}: ${leg.packets.received} packets`);
    const cert = join(bed.callrec.dir, 'cert.pem');
    const exported = await runCli(['cert', 'export', '--out', cert, '--config', bed.callrec.configPath]);
    assert.equal(exported.code, 0, exported.output);
    const verify = await runCli(['verify', recording.dir, '--cert', cert, '--allow-gaps']);
    assert.equal(verify.code, 0, verify.output);
  });

  it('writes one stereo file with the caller left and the callee right', async () => {
    const id = await mediaCall({ service: STEREO_NUMBER, audioMs: 2000, codec: 'pcma' });
    const recording = await recordingOf(id);
    assert.deepEqual(recording.files, [`${id}.json`, `${id}.sha256`, `${id}.sha256.SHA256withRSA.sig`, `${id}.wav`]);
    const wav = await readWav(join(recording.dir, `${id}.wav`));
    assert.equal(wav.channelCount, 2);
    const [left, right] = wav.channels;
    assert.ok(left !== undefined && right !== undefined);
    assert.ok(channelHasToneOnly(left, CALLER_TONE_HZ, CALLEE_TONE_HZ), 'left: the caller');
    assert.ok(channelHasToneOnly(right, CALLEE_TONE_HZ, CALLER_TONE_HZ), 'right: the callee');
    assertCoversCall(wav, recording, 'stereo');
    assert.equal((recording.metadata['completeness'] as { complete: boolean }).complete, true);
  });

  it('records nothing for an unrecorded call', async () => {
    const recordings = join(bed.callrec.dir, 'data', 'recordings');
    const before = await readdir(recordings).catch(() => []);
    const id = await mediaCall({ service: UNRECORDED_NUMBER, audioMs: 1000 });
    const ended = await waitFor('call ended', () => logsFor(id, 'call ended'));
    assert.equal(ended['recorded'], false);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(await readdir(recordings).catch(() => []), before);
    assert.equal(logsFor(id, 'recording started'), undefined);
  });

  it('never records packets from a third address and counts them as foreign', async () => {
    const id = await mediaCall({ service: SEPARATE_NUMBER, audioMs: 3000 }, async (callId) => {
      const anchored = await waitFor('media anchored', () => logsFor(callId, 'media anchored'));
      await waitFor('recording started', () => logsFor(callId, 'recording started'));
      // From 127.0.0.5, to both of the call's callrec ports: RTP bleed / injection
      await Promise.all([
        sendRtpFrom('127.0.0.1', Number(anchored['callerPort']), 50, { localAddress: '127.0.0.5' }),
        sendRtpFrom('127.0.0.1', Number(anchored['calleePort']), 50, { localAddress: '127.0.0.5' }),
      ]);
    });
    const recording = await recordingOf(id);
    for (const party of ['caller', 'callee']) {
      const wav = await readWav(join(recording.dir, `${id}-${party}.wav`));
      const [channel] = wav.channels;
      assert.ok(channel !== undefined);
      const own = party === 'caller' ? CALLER_TONE_HZ : CALLEE_TONE_HZ;
      assert.ok(channelHasToneOnly(channel, own, THIRD_PARTY_TONE_HZ), `${party}: no third-party tone`);
    }
    const legs = recording.metadata['legs'] as Array<{ party: string; packets: { foreign: number } }>;
    const foreign = legs.reduce((sum, leg) => sum + leg.packets.foreign, 0);
    assert.equal(foreign, 100, 'every third-party packet dropped and counted');
  });

  it('keeps the timeline across a hold: silence of the hold length, listed in the metadata', async () => {
    const id = await mediaCall({
      service: SEPARATE_NUMBER,
      uac: MEDIA_SCENARIOS.uacHold,
      audioMs: 2000,
      holdMs: 2000,
      resumeMs: 2000,
    });
    const recording = await recordingOf(id);
    const wav = await readWav(join(recording.dir, `${id}-caller.wav`));
    const [channel] = wav.channels;
    assert.ok(channel !== undefined);
    assertCoversCall(wav, recording, 'caller');
    const segments = dominantToneSegments(channel.samples, channel.sampleRate, [CALLER_TONE_HZ]).filter(
      (s) => s.endMs - s.startMs >= 200,
    );
    const tones = segments.filter((s) => s.freq === CALLER_TONE_HZ);
    assert.ok(tones.length >= 2, `tone before and after the hold: ${JSON.stringify(segments)}`);
    const gap = (tones[1]?.startMs ?? 0) - (tones[0]?.endMs ?? 0);
    assert.ok(gap >= 1700 && gap <= 2800, `the hold is ${gap} ms of silence on the timeline`);
    const legs = recording.metadata['legs'] as Array<{ party: string; holdSpans: unknown[] }>;
    assert.ok(
      legs.every((leg) => leg.holdSpans.length >= 1),
      'hold spans listed',
    );
  });
});
