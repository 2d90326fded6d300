/**
 * End to end through the real callrec (issue "GDPR and administration": admin HTTP, SPEC §8):
 *  - `GET /metrics` is Prometheus text 0.0.4 that a strict parser accepts, before and after calls;
 *  - the call counters move by exactly the calls made through SIPp (a recorded inbound call with
 *    audio, an unrecorded outbound call, a callee's 486, a caller's CANCEL), by direction and
 *    outcome; active calls drop back to 0; RTP packets relayed and the finished recording are
 *    counted; SIP messages and process memory are exposed;
 *  - `GET /healthz` answers 200 with every check (SIP listeners with the bound port, database,
 *    keystore, spool, uploads) holding;
 *  - with `admin.http.token` (from a file) every request needs the bearer token.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parsePromText, sampleValue, sumOf, type PromFamily } from '../test/support/prom-text.js';
import { startCallrec } from './support/callrec-process.js';
import { assertCallSucceeded, assertDrained, assertNoCallsLeft, startTestbed, type Testbed } from './support/b2bua.js';
import { runMediaCall } from './support/media.js';

const USERS = [{ id: 'alice', extension: '201', numbers: ['+4930123456201'] }];
const GROUPS = [{ id: 'trading', numbers: ['+4930123456500'], members: ['alice'] }];
const PROFILE = {
  id: 'trading',
  enabled: true,
  groups: ['trading'],
  users: [],
  inbound: true,
  outbound: false,
  recordDirectCallsToActiveMembers: false,
  channels: 'both-stereo',
  consent: { legalBasis: 'obligation' },
  signing: true,
  targets: [],
  retentionDays: 30,
  onRecordingFailure: 'continue',
};

interface Scrape {
  readonly families: Map<string, PromFamily>;
  readonly contentType: string;
}

async function scrape(port: number): Promise<Scrape> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) });
  assert.equal(response.status, 200);
  return { families: parsePromText(await response.text()), contentType: response.headers.get('content-type') ?? '' };
}

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('admin HTTP /metrics and /healthz through the real callrec', { concurrency: false }, () => {
  let bed: Testbed;
  before(async () => {
    bed = await startTestbed({ config: { users: USERS, groups: GROUPS, profiles: [PROFILE] } });
  });
  after(async () => {
    await bed?.stop();
  });

  it('moves the call counters by exactly the calls made, by direction and outcome', async () => {
    const before = await scrape(bed.callrec.adminPort);
    assert.match(before.contentType, /^text\/plain; version=0\.0\.4/);
    const calls = (scrape: Scrape, labels: Record<string, string> = {}): number =>
      sumOf(scrape.families, 'callrec_calls_total', labels);
    const started = (scrape: Scrape): number => sumOf(scrape.families, 'callrec_calls_started_total');

    const media = await runMediaCall(bed, { direction: 'inbound', audioMs: 2000 });
    assertCallSucceeded(media);
    assertCallSucceeded(
      await bed.call({
        direction: 'outbound',
        uac: 'uac-call-as-caller-hangup-expect-200.xml',
        uas: 'uas-answer-await-bye.xml',
        keys: { caller: '209' },
      }),
    );
    assertCallSucceeded(
      await bed.call({ direction: 'outbound', uac: 'uac-invite-expect-486.xml', uas: 'uas-busy-486.xml' }),
    );
    assertCallSucceeded(
      await bed.call({
        direction: 'outbound',
        uac: 'uac-invite-cancel-expect-487.xml',
        uas: 'uas-ring-expect-cancel.xml',
      }),
    );
    await assertNoCallsLeft(bed.callrec);
    await waitFor('recording finished', () =>
      bed.callrec.logs().find((line) => String(line['msg']).startsWith('recording finished')),
    );

    const after = await scrape(bed.callrec.adminPort);
    const delta = (labels: Record<string, string>): number => calls(after, labels) - calls(before, labels);
    assert.equal(calls(after) - calls(before), 4, 'four calls ended');
    assert.equal(started(after) - started(before), 4, 'four calls started');
    assert.equal(delta({ direction: 'inbound', outcome: 'answered' }), 1);
    assert.equal(delta({ direction: 'outbound', outcome: 'answered' }), 1);
    assert.equal(delta({ direction: 'outbound', outcome: 'rejected' }), 1);
    assert.equal(delta({ direction: 'outbound', outcome: 'cancelled' }), 1);
    assert.equal(sampleValue(after.families, 'callrec_calls_active'), 0);

    // 2 s of 20 ms packets each way through the anchored media of the recorded call
    const relayed = (party: string): number =>
      sumOf(after.families, 'callrec_rtp_packets_relayed_total', { party }) -
      sumOf(before.families, 'callrec_rtp_packets_relayed_total', { party });
    assert.ok(relayed('caller') >= 80, `caller packets relayed: ${relayed('caller')}`);
    assert.ok(relayed('callee') >= 80, `callee packets relayed: ${relayed('callee')}`);
    assert.equal(
      sumOf(after.families, 'callrec_recordings_finished_total') -
        sumOf(before.families, 'callrec_recordings_finished_total'),
      1,
    );
    assert.equal(sumOf(after.families, 'callrec_recordings_finished_total', { signed: 'true' }), 1);
    assert.ok(after.families.has('callrec_recordings'), 'recordings by state');
    assert.ok(
      sumOf(after.families, 'callrec_sip_messages_total', { direction: 'in' }) -
        sumOf(before.families, 'callrec_sip_messages_total', { direction: 'in' }) >=
        4 * 3,
      'SIP messages in are counted',
    );
    assert.ok(sampleValue(after.families, 'process_resident_memory_bytes') > 0);
  });

  it('answers /healthz with 200 and every check holding, the SIP listener among them', async () => {
    const response = await fetch(`http://127.0.0.1:${bed.callrec.adminPort}/healthz`, {
      signal: AbortSignal.timeout(5000),
    });
    const body = (await response.json()) as Record<string, unknown>;
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.equal(body['status'], 'ok');
    const checks = body['checks'] as Record<string, { ok: boolean; [field: string]: unknown }>;
    assert.deepEqual(Object.keys(checks).sort(), ['database', 'keystore', 'sip', 'spool', 'uploads']);
    for (const [name, check] of Object.entries(checks))
      assert.equal(check.ok, true, `${name}: ${JSON.stringify(check)}`);
    const listeners = checks['sip']?.['listeners'] as Array<{ transport: string; port: number }>;
    assert.ok(listeners.some((l) => l.transport === 'udp' && l.port === bed.callrec.port));
    assert.ok(Number(checks['spool']?.['freeBytes']) > 0);
    assert.equal(typeof checks['keystore']?.['notAfter'], 'string');
    assert.equal(body['calls'], 0);
  });

  it('answers 404 for an unknown path and 405 for a wrong method', async () => {
    const base = `http://127.0.0.1:${bed.callrec.adminPort}`;
    assert.equal((await fetch(`${base}/nothing-here`)).status, 404);
    assert.equal((await fetch(`${base}/metrics`, { method: 'POST' })).status, 405);
  });

  it('leaves no call, dialog or transaction behind', async () => {
    await assertDrained(bed.callrec);
  });
});

describe('admin HTTP with a bearer token through the real callrec', () => {
  it('refuses requests without the token from admin.http.token and serves them with it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'callrec-admin-token-'));
    const token = 'e2e-token-9f8d7c6b5a';
    await writeFile(join(dir, 'admin-token'), `${token}\n`, { mode: 0o600 });
    const callrec = await startCallrec({
      config: { admin: { http: { token: { file: join(dir, 'admin-token') } } } },
    });
    try {
      // "listening" (all startCallrec waits for) comes before the admin endpoint is up
      await waitFor('admin http listening', () =>
        callrec.logs().find((line) => line['msg'] === 'admin http listening'),
      );
      const base = `http://127.0.0.1:${callrec.adminPort}`;
      const without = await fetch(`${base}/metrics`);
      assert.equal(without.status, 401);
      assert.equal(without.headers.get('www-authenticate'), 'Bearer realm="callrec"');
      assert.equal((await fetch(`${base}/healthz`, { headers: { authorization: 'Bearer wrong' } })).status, 401);
      const health = await fetch(`${base}/healthz`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(health.status, 200);
      const metrics = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(metrics.status, 200);
      parsePromText(await metrics.text());
      assert.ok(!JSON.stringify(callrec.logs()).includes(token), 'the token is never logged');
    } finally {
      await callrec.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
