/**
 * Consent by legal basis end to end through the real callrec (SPEC §4): a SIPp caller whose test
 * RTP endpoint hears the consent request and keys RFC 4733 DTMF, a SIPp callee with its own.
 *  - consent (opt-in): the accept key during the announcement stops it, the call is connected
 *    and recorded; the metadata holds the evidence (accepted, the key, times, file hash) and
 *    the seal verifies;
 *  - consent without the key: after the timeout `connect-unrecorded` connects the callee and
 *    nothing is recorded; `reject` answers 603 and the callee side never sees a request; `route`
 *    sends the call, unrecorded, to the configured number on the callee's side;
 *  - opt-out: the key during the announcement connects unrecorded; the key soon after the answer
 *    stops the running recording (the call goes on) and the metadata says `opted-out`.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readWav } from './support/audio-analysis.js';
import {
  ANNOUNCEMENTS,
  assertVerifies,
  expectedPcmu,
  recordingOf,
  runAnnouncedCall,
  waitForLog,
} from './support/announcement-calls.js';
import { RtpEndpoint } from './support/announcement-endpoint.js';
import {
  assertNoCallsLeft,
  messagesOf,
  PBX_IP,
  reservePort,
  startTestbed,
  TRUNK_IP,
  type Testbed,
} from './support/b2bua.js';
import { runSippMediaUac } from './support/media.js';

const USERS = [
  { id: 'dave', extension: '204', numbers: ['+4930123456204'] },
  { id: 'frank', extension: '206', numbers: ['+4930123456206'] },
  { id: 'gina', extension: '207', numbers: ['+4930123456207'] },
  { id: 'ivan', extension: '209', numbers: ['+4930123456209'] },
];
const OPT_IN_ROUTE = '+4930123456209';
const ROUTE_TO = '+4930123456999';
const OPT_IN = '+4930123456204';
const OPT_IN_REJECT = '+4930123456206';
const OPT_OUT = '+4930123456207';
const CONSENT_WAV = join(ANNOUNCEMENTS, 'consent-request.wav');
const INBOUND_WAV = join(ANNOUNCEMENTS, 'inbound.wav');

const profile = (
  id: string,
  user: string,
  file: string,
  consent: Record<string, unknown>,
): Record<string, unknown> => ({
  id,
  users: [user],
  inbound: true,
  outbound: false,
  channels: 'both-separate',
  announcement: { inbound: file },
  consent,
  targets: [],
  retentionDays: 30,
});

describe('consent by legal basis through the real callrec', { concurrency: false }, () => {
  let bed: Testbed;
  before(async () => {
    bed = await startTestbed({
      config: {
        users: USERS,
        groups: [],
        profiles: [
          profile('opt-in', 'dave', CONSENT_WAV, {
            legalBasis: 'consent',
            acceptDigit: '1',
            timeoutSeconds: 2,
            onRefusal: 'connect-unrecorded',
          }),
          profile('opt-in-reject', 'frank', CONSENT_WAV, {
            legalBasis: 'consent',
            acceptDigit: '1',
            timeoutSeconds: 1,
            onRefusal: 'reject',
          }),
          profile('opt-out', 'gina', INBOUND_WAV, { legalBasis: 'opt-out', refuseDigit: '9', timeoutSeconds: 4 }),
          profile('opt-in-route', 'ivan', CONSENT_WAV, {
            legalBasis: 'consent',
            acceptDigit: '1',
            timeoutSeconds: 1,
            onRefusal: 'route',
            routeTo: ROUTE_TO,
          }),
        ],
        media: { timeoutSeconds: 30, strictSource: true, recordableCodecsOnly: true },
      },
    });
  });
  after(async () => {
    await bed?.stop();
  });

  const recordingsNow = (): Promise<string[]> =>
    readdir(join(bed.callrec.dir, 'data', 'recordings')).catch(() => [] as string[]);

  it('records after the accept key: the announcement stops, the evidence is signed with the recording', async () => {
    const call = await runAnnouncedCall(bed, {
      service: OPT_IN,
      callMs: 2000,
      onAnnouncement: (caller) => setTimeout(() => void caller.key('1'), 1000),
    });
    assert.equal(call.uac.code, 0, call.uac.errors);
    assert.equal(call.uas?.code, 0, call.uas?.errors);
    const announcement = call.caller.packets.filter((p) => p.ssrc === call.announcementSsrc);
    const full = (await expectedPcmu(CONSENT_WAV)).length;
    assert.ok(announcement.length < full - 40, `stopped by the key: ${announcement.length} of ${full} packets`);
    const keyed = call.caller.keysSent[0];
    assert.ok(keyed !== undefined);
    assert.ok((announcement.at(-1)?.wallMs ?? 0) <= keyed.endWallMs + 150, 'nothing played after the key');

    const recording = await recordingOf(bed, call.id);
    const consent = recording.metadata['consent'] as Record<string, unknown>;
    assert.equal(consent['legalBasis'], 'consent');
    assert.equal(consent['outcome'], 'accepted');
    assert.equal(consent['digit'], '1');
    assert.equal(consent['timeoutSeconds'], 2);
    const decidedAt = Date.parse(String(consent['decidedAt']));
    assert.ok(Math.abs(decidedAt - keyed.endWallMs) < 300, 'decided when the key arrived');
    assert.ok(decidedAt <= Date.parse(String(recording.metadata['answer'])), 'consent before any recording');
    assert.equal((consent['announcement'] as { file: string }).file, 'consent-request.wav');
    await assertVerifies(bed, recording.dir);
    await assertNoCallsLeft(bed.callrec);
  });

  it('connects unrecorded when no key comes within the timeout (connect-unrecorded)', async () => {
    const before = await recordingsNow();
    const call = await runAnnouncedCall(bed, { service: OPT_IN, callMs: 1500 });
    assert.equal(call.uac.code, 0, call.uac.errors);
    assert.equal(call.uas?.code, 0, call.uas?.errors);
    const announcement = call.caller.packets.filter((p) => p.ssrc === call.announcementSsrc);
    assert.equal(announcement.length, (await expectedPcmu(CONSENT_WAV)).length, 'the whole request was played');
    assert.ok(call.uas !== undefined);
    const invitedAt = messagesOf(call.uas, 'received', 'INVITE')[0]?.time ?? 0;
    const waited = invitedAt - (announcement.at(-1)?.wallMs ?? 0);
    assert.ok(waited >= 1700 && waited <= 3500, `the callee was called after the 2 s timeout (${waited} ms)`);
    assert.ok(call.callee.packets.length > 30, 'the call is connected');
    const ended = await waitForLog(bed, call.id, 'call ended');
    assert.equal(ended['status'], 200);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(
      bed.callrec.logs().some((l) => l['call'] === call.id && l['msg'] === 'recording started'),
      false,
      'nothing recorded',
    );
    assert.deepEqual(await recordingsNow(), before);
    await assertNoCallsLeft(bed.callrec);
  });

  it('rejects with 603 without the key (reject) and never calls the callee', async () => {
    const caller = await RtpEndpoint.bind(TRUNK_IP);
    const calleeSide = createSocket('udp4');
    const seen: Buffer[] = [];
    calleeSide.on('message', (data) => seen.push(data));
    await new Promise<void>((resolve) => calleeSide.bind(bed.pbxPort, PBX_IP, () => resolve()));
    try {
      const run = await runSippMediaUac({
        scenario: 'uac-announce-expect-603.xml',
        port: bed.callrec.port,
        localIp: TRUNK_IP,
        localPort: await reservePort(TRUNK_IP),
        service: OPT_IN_REJECT,
        timeoutSeconds: 20,
        traceMessages: true,
        variables: { rtp_port: String(caller.port) },
      });
      assert.equal(run.code, 0, `${run.errors}\n${run.messageLog.slice(0, 3000)}`);
      const announcement = caller.packets.length;
      assert.equal(announcement, (await expectedPcmu(CONSENT_WAV)).length);
      const rejectedAt = messagesOf(run, 'received', 603)[0]?.time ?? 0;
      const waited = rejectedAt - (caller.packets.at(-1)?.wallMs ?? 0);
      assert.ok(waited >= 800 && waited <= 2500, `rejected after the 1 s timeout (${waited} ms)`);
      assert.equal(seen.length, 0, 'nothing reached the callee side');
      await assertNoCallsLeft(bed.callrec);
    } finally {
      await caller.close();
      await new Promise<void>((resolve) => calleeSide.close(() => resolve()));
    }
  });

  it('routes the call unrecorded to routeTo without the key (route)', async () => {
    const before = await recordingsNow();
    const call = await runAnnouncedCall(bed, { service: OPT_IN_ROUTE, callMs: 1500 });
    assert.equal(call.uac.code, 0, call.uac.errors);
    assert.equal(call.uas?.code, 0, call.uas?.errors);
    assert.ok(call.uas !== undefined);
    const invite = messagesOf(call.uas, 'received', 'INVITE')[0];
    assert.ok(invite?.startLine.startsWith(`INVITE sip:${ROUTE_TO}@`), invite?.startLine);
    assert.ok(call.callee.packets.length > 30, 'the call is connected to the route target');
    const decided = await waitForLog(bed, call.id, 'announcement ended');
    assert.equal(decided['outcome'], 'timeout');
    assert.equal(decided['next'], 'route');
    await waitForLog(bed, call.id, 'call ended');
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(await recordingsNow(), before, 'nothing recorded');
    await assertNoCallsLeft(bed.callrec);
  });

  it('opt-out during the announcement: connected, nothing recorded', async () => {
    const before = await recordingsNow();
    const call = await runAnnouncedCall(bed, {
      service: OPT_OUT,
      callMs: 1500,
      onAnnouncement: (caller) => setTimeout(() => void caller.key('9'), 600),
    });
    assert.equal(call.uac.code, 0, call.uac.errors);
    assert.equal(call.uas?.code, 0, call.uas?.errors);
    assert.ok(call.callee.packets.length > 30, 'the call is connected');
    await waitForLog(bed, call.id, 'call ended');
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(await recordingsNow(), before, 'nothing recorded');
    const decided = await waitForLog(bed, call.id, 'announcement ended');
    assert.equal(decided['outcome'], 'opted-out');
    await assertNoCallsLeft(bed.callrec);
  });

  it('opt-out after the answer: the recording stops, the call goes on, the metadata says opted-out', async () => {
    const call = await runAnnouncedCall(bed, {
      service: OPT_OUT,
      callMs: 3500,
      onConnected: (_callee, caller) => setTimeout(() => void caller.key('9'), 1000),
    });
    assert.equal(call.uac.code, 0, call.uac.errors);
    assert.equal(call.uas?.code, 0, call.uas?.errors);
    const recording = await recordingOf(bed, call.id);
    const consent = recording.metadata['consent'] as Record<string, unknown>;
    assert.equal(consent['legalBasis'], 'opt-out');
    assert.equal(consent['outcome'], 'opted-out');
    assert.equal(consent['digit'], '9');
    const keyed = call.caller.keysSent[0];
    assert.ok(keyed !== undefined);
    const answeredAt = Date.parse(String(recording.metadata['answer']));
    const wav = await readWav(join(recording.dir, `${call.id}-caller.wav`));
    const expectedMs = keyed.endWallMs - answeredAt;
    assert.ok(
      Math.abs(wav.durationMs - expectedMs) < 400,
      `recorded ${wav.durationMs} ms, opted out after ${expectedMs} ms`,
    );
    // the call itself went on to the caller's BYE
    const ended = await waitForLog(bed, call.id, 'call ended');
    assert.equal(ended['endedBy'], 'caller');
    assert.ok(call.callee.packets.at(-1)!.wallMs - keyed.endWallMs > 1500, 'audio flowed after the opt-out');
    await assertVerifies(bed, recording.dir);
    await assertNoCallsLeft(bed.callrec);
  });
});
