/**
 * Announcements end to end through the real callrec (issue "Announcements, consent, pause/resume";
 * SPEC §2): a SIPp caller and callee, each with a test RTP endpoint for its media.
 *  - early media: the caller gets 183 with callrec's SDP and the announcement file, packet for
 *    packet (PCMU, 20 ms, one SSRC, marker first, consecutive sequence and timestamps), all of it
 *    before the 200; the callee is called only after it and never hears it;
 *  - the recording starts after the announcement: what the caller sent during it is not in the
 *    file; the metadata holds the consent evidence (obligation, announced, file and SHA-256,
 *    times) and `callrec verify` passes;
 *  - CANCEL during the announcement: 487, nothing sent to the callee, ports released;
 *  - answer-first: 200 to the caller first, then the announcement, then the callee; also the
 *    fallback for an INVITE without SDP (callrec offers, the caller answers in its ACK).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { channelHasToneOnly, readWav } from './support/audio-analysis.js';
import {
  ANNOUNCEMENTS,
  assertVerifies,
  CALLEE_TONE_HZ,
  CALLER_TONE_HZ,
  EARLY_TONE_HZ,
  expectedPcmu,
  recordingOf,
  runAnnouncedCall,
  waitForLog,
} from './support/announcement-calls.js';
import { RtpEndpoint } from './support/announcement-endpoint.js';
import { assertNoCallsLeft, messagesOf, reservePort, startTestbed, TRUNK_IP, type Testbed } from './support/b2bua.js';
import { runSippMediaUac } from './support/media.js';
import type { SippRun } from './support/sipp.js';

const USERS = [
  { id: 'carol', extension: '203', numbers: ['+4930123456203'] },
  { id: 'erin', extension: '205', numbers: ['+4930123456205'] },
];
const OBLIGATION_NUMBER = '+4930123456203';
const ANSWER_FIRST_NUMBER = '+4930123456205';
const INBOUND_WAV = join(ANNOUNCEMENTS, 'inbound.wav');

const profile = (id: string, users: string[], mode: string): Record<string, unknown> => ({
  id,
  users,
  inbound: true,
  outbound: true,
  channels: 'both-separate',
  announcement: { inbound: INBOUND_WAV, outbound: join(ANNOUNCEMENTS, 'beep.wav'), mode },
  consent: { legalBasis: 'obligation' },
  targets: [],
  retentionDays: 30,
});

/** Wall-clock time of the first message of a trace (ms since the epoch). */
function timeOf(run: SippRun, direction: 'sent' | 'received', kind: string | number): number {
  const message = messagesOf(run, direction, kind)[0];
  assert.ok(message !== undefined, `no ${kind} ${direction} in the trace`);
  return message.time;
}

describe('announcements through the real callrec', { concurrency: false }, () => {
  let bed: Testbed;
  before(async () => {
    bed = await startTestbed({
      config: {
        users: USERS,
        groups: [],
        profiles: [profile('announced', ['carol'], 'early-media'), profile('answer-first', ['erin'], 'answer-first')],
        media: { timeoutSeconds: 30, strictSource: true, recordableCodecsOnly: true },
      },
    });
  });
  after(async () => {
    await bed?.stop();
  });

  it('plays the announcement to the caller in early media, before the callee is called and before the 200', async () => {
    const call = await runAnnouncedCall(bed, { service: OBLIGATION_NUMBER, callMs: 2500 });
    const context = `${call.uac.errors}\n${call.uac.messageLog.slice(0, 4000)}\nUAS: ${call.uas?.errors ?? ''}`;
    assert.equal(call.uac.code, 0, context);
    assert.equal(call.uas?.code, 0, context);

    // 183 with callrec's SDP first, then the callee's 180 and 200
    const provisional = messagesOf(call.uac, 'received', 183)[0];
    assert.ok(provisional !== undefined && /m=audio [1-9]\d* RTP\/AVP 0 101/.test(provisional.body), context);

    // The announcement, packet for packet
    const announcement = call.caller.packets.filter((p) => p.ssrc === call.announcementSsrc);
    const expected = await expectedPcmu(INBOUND_WAV);
    assert.equal(announcement.length, expected.length, 'every packet of the file, once');
    assert.ok(announcement.every((p, i) => p.payloadType === 0 && p.payload.equals(expected[i] ?? Buffer.alloc(0))));
    assert.equal(announcement[0]?.marker, true);
    assert.ok(announcement.slice(1).every((p) => !p.marker));
    const first = announcement[0];
    assert.ok(first !== undefined);
    announcement.forEach((p, i) => {
      assert.equal(p.sequence, (first.sequence + i) & 0xffff);
      assert.equal(p.timestamp, (first.timestamp + 160 * i) >>> 0);
    });
    const spanMs = (announcement.at(-1)?.atMs ?? 0) - first.atMs;
    const fileMs = (expected.length - 1) * 20;
    assert.ok(Math.abs(spanMs - fileMs) < 400, `paced: ${spanMs} ms for ${fileMs} ms of packets`);

    // ... all before the 200; the callee was called after it and never heard it
    const lastAnnouncementMs = announcement.at(-1)?.wallMs ?? 0;
    assert.ok(timeOf(call.uac, 'received', 200) >= lastAnnouncementMs - 20, 'announcement before the 200');
    assert.ok(call.uas !== undefined);
    assert.ok(
      timeOf(call.uas, 'received', 'INVITE') >= lastAnnouncementMs - 50,
      'callee called after the announcement',
    );
    assert.ok(call.callee.packets.length > 50, 'the callee hears the caller');
    assert.ok(
      call.callee.packets.every((p) => p.ssrc !== call.announcementSsrc),
      'the callee never gets an announcement packet',
    );

    // The recording starts after it: the caller's early tone is not in the file
    const recording = await recordingOf(bed, call.id);
    const callerWav = await readWav(join(recording.dir, `${call.id}-caller.wav`));
    const calleeWav = await readWav(join(recording.dir, `${call.id}-callee.wav`));
    const [callerChannel] = callerWav.channels;
    const [calleeChannel] = calleeWav.channels;
    assert.ok(callerChannel !== undefined && calleeChannel !== undefined);
    assert.ok(
      channelHasToneOnly(callerChannel, CALLER_TONE_HZ, EARLY_TONE_HZ),
      'caller: nothing from before the answer',
    );
    assert.ok(channelHasToneOnly(calleeChannel, CALLEE_TONE_HZ, EARLY_TONE_HZ), 'callee: its own tone');

    const consent = recording.metadata['consent'] as Record<string, unknown>;
    const file = consent['announcement'] as Record<string, unknown>;
    assert.equal(consent['legalBasis'], 'obligation');
    assert.equal(consent['outcome'], 'announced');
    assert.equal(consent['digit'], null);
    assert.equal(file['file'], 'inbound.wav');
    assert.equal(
      file['sha256'],
      createHash('sha256')
        .update(await readFile(INBOUND_WAV))
        .digest('hex'),
    );
    assert.equal(file['mode'], 'early-media');
    const answeredAt = Date.parse(String(recording.metadata['answer']));
    assert.ok(Date.parse(String(file['endedAt'])) <= answeredAt, 'announcement ended before the answer');
    assert.ok(Date.parse(String(file['endedAt'])) - Date.parse(String(file['startedAt'])) >= fileMs - 100);
    await assertVerifies(bed, recording.dir);
    await assertNoCallsLeft(bed.callrec);
  });

  it('answers 487 to a CANCEL during the announcement, calls nobody and releases the ports', async () => {
    const caller = await RtpEndpoint.bind(TRUNK_IP);
    const logsBefore = bed.callrec.logs().length;
    try {
      const run = await runSippMediaUac({
        scenario: 'uac-announce-cancel-expect-487.xml',
        port: bed.callrec.port,
        localIp: TRUNK_IP,
        localPort: await reservePort(TRUNK_IP),
        service: OBLIGATION_NUMBER,
        timeoutSeconds: 20,
        traceMessages: true,
        variables: { rtp_port: String(caller.port), cancel_ms: '800' },
      });
      assert.equal(run.code, 0, `${run.errors}\n${run.messageLog.slice(0, 3000)}`);
      assert.ok(caller.packets.length > 10, 'the announcement had started');
      const stoppedAt = caller.packets.at(-1)?.wallMs ?? 0;
      assert.ok(stoppedAt <= timeOf(run, 'received', 487) + 50, 'no announcement after the 487');
      const started = bed.callrec
        .logs()
        .slice(logsBefore)
        .find((l) => l['msg'] === 'call started');
      assert.ok(started !== undefined);
      const ended = await waitForLog(bed, String(started['call']), 'call ended');
      assert.equal(ended['status'], 487);
      assert.equal(ended['callIdB'] !== undefined, true);
      // no INVITE went to the callee side: nothing listens there, and callrec sent no request
      assert.equal(
        bed.callrec.logs().some((l) => l['call'] === started['call'] && l['msg'] === 'cannot reach the callee side'),
        false,
      );
      await assertNoCallsLeft(bed.callrec);
    } finally {
      await caller.close();
    }
  });

  it('answer-first: answers the caller, plays the announcement, then calls the callee', async () => {
    // The caller's 200 comes first: the call must outlast the announcement (2.7 s) and the ringing
    const call = await runAnnouncedCall(bed, { service: ANSWER_FIRST_NUMBER, callMs: 6000 });
    assert.equal(call.uac.code, 0, `${call.uac.errors}\n${call.uac.messageLog.slice(0, 4000)}`);
    assert.equal(call.uas?.code, 0, call.uas?.errors);
    assert.equal(messagesOf(call.uac, 'received', 183).length, 0, 'no early media');
    const announcement = call.caller.packets.filter((p) => p.ssrc === call.announcementSsrc);
    const logs = bed.callrec.logs().filter((l) => l['call'] === call.id);
    assert.equal(
      announcement.length,
      (await expectedPcmu(INBOUND_WAV)).length,
      `${JSON.stringify(announcement.map((p) => [p.sequence, Math.round(p.atMs)]))}\n${JSON.stringify(logs)}\n${call.uac.messageLog.slice(0, 3000)}`,
    );
    const okAt = timeOf(call.uac, 'received', 200);
    assert.ok(okAt <= (announcement[0]?.wallMs ?? 0) + 50, '200 before the announcement');
    assert.ok(call.uas !== undefined);
    assert.ok(timeOf(call.uas, 'received', 'INVITE') >= (announcement.at(-1)?.wallMs ?? 0) - 50);
    assert.ok(call.callee.packets.length > 30, 'connected to the callee without a re-INVITE');
    assert.equal(messagesOf(call.uac, 'received', 'INVITE').length, 0, 'no re-INVITE to the caller');
    const recording = await recordingOf(bed, call.id);
    const [callerChannel] = (await readWav(join(recording.dir, `${call.id}-caller.wav`))).channels;
    assert.ok(callerChannel !== undefined);
    assert.ok(channelHasToneOnly(callerChannel, CALLER_TONE_HZ, EARLY_TONE_HZ));
    const consent = recording.metadata['consent'] as { announcement: { mode: string } };
    assert.equal(consent.announcement.mode, 'answer-first');
    await assertNoCallsLeft(bed.callrec);
  });

  it('falls back to answer-first for an INVITE without SDP: offer in the 200, answer in the ACK', async () => {
    const call = await runAnnouncedCall(bed, {
      service: OBLIGATION_NUMBER,
      uac: 'uac-announce-late-offer-expect-200.xml',
      callMs: 6000,
    });
    assert.equal(call.uac.code, 0, `${call.uac.errors}\n${call.uac.messageLog.slice(0, 4000)}`);
    assert.equal(call.uas?.code, 0, call.uas?.errors);
    const ok = messagesOf(call.uac, 'received', 200)[0];
    assert.ok(ok !== undefined && /m=audio [1-9]\d* RTP\/AVP 8 0 9 101/.test(ok.body), ok?.body);
    const announcement = call.caller.packets.filter((p) => p.ssrc === call.announcementSsrc);
    const expected = await expectedPcmu(INBOUND_WAV);
    assert.equal(announcement.length, expected.length);
    assert.ok(announcement.every((p, i) => p.payloadType === 0 && p.payload.equals(expected[i] ?? Buffer.alloc(0))));
    assert.ok(call.uas !== undefined);
    assert.ok(timeOf(call.uas, 'received', 'INVITE') >= (announcement.at(-1)?.wallMs ?? 0) - 50);
    assert.ok(call.callee.packets.length > 30, 'connected to the callee');
    const recording = await recordingOf(bed, call.id);
    const [callerChannel] = (await readWav(join(recording.dir, `${call.id}-caller.wav`))).channels;
    assert.ok(callerChannel !== undefined);
    assert.ok(channelHasToneOnly(callerChannel, CALLER_TONE_HZ, EARLY_TONE_HZ));
    assert.equal(
      (recording.metadata['consent'] as { announcement: { mode: string } }).announcement.mode,
      'answer-first',
    );
    await assertNoCallsLeft(bed.callrec);
  });
});
