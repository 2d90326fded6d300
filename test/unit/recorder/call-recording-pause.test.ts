/**
 * Pause and resume of a whole call's recording (SPEC §4), and the consent evidence in its
 * metadata. Requirements verified:
 *  - `pause` silences every party at once on the same timeline, `resume` ends it; the files keep
 *    their length (no new file, nothing cut out) and the span is listed per leg with its reason;
 *  - pause/resume are idempotent (false when nothing changes) and refused after `finish`;
 *  - the metadata lists the pauses as `{ from, to, by }` and carries the consent object as given.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { linearToUlaw, STATIC_PAYLOAD_FORMATS, writeRtpHeader } from '../../../src/media/index.js';
import {
  buildRecordingMetadata,
  CallRecording,
  parseWavHeader,
  type RecordingCallInfo,
  type RecordingConsent,
} from '../../../src/recorder/index.js';

function packet(seq: number, level: number): Buffer {
  const datagram = Buffer.alloc(12 + 160, linearToUlaw(level));
  writeRtpHeader(datagram, { payloadType: 0, sequenceNumber: seq, timestamp: seq * 160, ssrc: 0x1234 });
  return datagram;
}

async function samplesOf(path: string): Promise<Int16Array> {
  const bytes = await readFile(path);
  const parsed = parseWavHeader(bytes);
  assert.ok(parsed.ok);
  const { dataOffset, dataBytes } = parsed.info;
  return Int16Array.from({ length: dataBytes / 2 }, (_, i) => bytes.readInt16LE(dataOffset + 2 * i));
}

const CONSENT: RecordingConsent = {
  legalBasis: 'consent',
  outcome: 'accepted',
  digit: '1',
  decidedAt: '2024-05-01T10:00:02.000Z',
  timeoutSeconds: 10,
  announcement: {
    file: 'consent-request.wav',
    sha256: 'cd'.repeat(32),
    mode: 'early-media',
    startedAt: '2024-05-01T10:00:00.000Z',
    endedAt: '2024-05-01T10:00:02.000Z',
  },
};

describe('CallRecording pause and resume', () => {
  it('silences both parties for the paused span on one timeline and lists it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'callrec-pause-'));
    try {
      let now = 1000;
      const recording = new CallRecording({
        id: 'rec',
        dir,
        channels: 'both-separate',
        formats: { caller: STATIC_PAYLOAD_FORMATS, callee: STATIC_PAYLOAD_FORMATS },
        now: () => now,
      });
      for (let i = 0; i < 50; i++) {
        now = 1000 + i * 20;
        if (i === 15) assert.equal(recording.pause('dtmf'), true);
        if (i === 16) assert.equal(recording.pause('api'), false, 'already paused');
        if (i === 30) assert.equal(recording.resume(), true);
        if (i === 31) assert.equal(recording.resume(), false, 'not paused');
        recording.push('caller', packet(i, 8000), now);
        recording.push('callee', packet(i, -8000), now);
        recording.tick();
      }
      now = 2000;
      const finished = await recording.finish();
      assert.equal(recording.pause('api'), false, 'finished');
      for (const leg of finished.legs) {
        assert.deepEqual(leg.stats.pauseSpans, [{ startMs: 300, endMs: 600, reason: 'dtmf' }]);
        const samples = await samplesOf(join(dir, leg.file));
        assert.equal(samples.length, 8000, `${leg.party}: the whole second, pause included`);
        const loud = (from: number, to: number): boolean =>
          samples.subarray(from * 8, to * 8).every((s) => Math.abs(s) > 4000);
        const silent = (from: number, to: number): boolean => samples.subarray(from * 8, to * 8).every((s) => s === 0);
        assert.ok(loud(20, 280), `${leg.party}: audio before the pause`);
        assert.ok(silent(300, 600), `${leg.party}: silence while paused`);
        assert.ok(loud(640, 980), `${leg.party}: audio after the resume`);
      }

      const call: RecordingCallInfo = {
        id: 'rec',
        direction: 'inbound',
        callIdCaller: 'a@x',
        callIdCallee: 'b@callrec',
        caller: { number: null, raw: null, name: null },
        callee: { number: null, raw: null, name: null },
        profile: 'p',
        decisionReason: 'test',
        startedAt: new Date(0),
        answeredAt: new Date(1000),
        endedAt: new Date(2000),
        endReason: 'BYE',
        endedBy: 'caller',
        finalStatus: 200,
        consent: CONSENT,
      };
      const metadata = buildRecordingMetadata({
        call,
        recording: finished,
        files: finished.legs.flatMap((leg) =>
          leg.wav === undefined ? [] : [{ name: leg.file, parties: [leg.party], wav: leg.wav }],
        ),
        relay: {},
        formats: {},
      });
      assert.deepEqual(metadata['pauses'], [{ from: 300, to: 600, by: 'dtmf' }]);
      assert.deepEqual(metadata['consent'], CONSENT);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('lists no pauses and no consent for a recording without them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'callrec-pause-'));
    try {
      const recording = new CallRecording({
        id: 'plain',
        dir,
        channels: 'caller',
        formats: { caller: STATIC_PAYLOAD_FORMATS, callee: STATIC_PAYLOAD_FORMATS },
        now: () => 0,
      });
      const finished = await recording.finish();
      const metadata = buildRecordingMetadata({
        call: {
          id: 'plain',
          direction: 'outbound',
          callIdCaller: 'a',
          callIdCallee: 'b',
          caller: { number: null, raw: null, name: null },
          callee: { number: null, raw: null, name: null },
          profile: 'p',
          decisionReason: 'test',
          startedAt: new Date(0),
          answeredAt: undefined,
          endedAt: new Date(0),
          endReason: '',
          endedBy: 'callrec',
          finalStatus: undefined,
        },
        recording: finished,
        files: [],
        relay: {},
        formats: {},
      });
      assert.deepEqual(metadata['pauses'], []);
      assert.equal('consent' in metadata, false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
