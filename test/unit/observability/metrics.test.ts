/**
 * CallrecMetrics (issue "GDPR and administration", SPEC §8): the exposition parses as Prometheus
 * text 0.0.4 with HELP and TYPE for every callrec family; counters move with the events fed to
 * them; gauges read their sources at scrape time and a failing source neither breaks the scrape
 * nor leaks into other gauges; label values are escaped; each instance has its own registry.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CallrecMetrics } from '../../../src/observability/index.js';
import { parsePromText, sampleValue, samplesOf, sumOf, type PromFamily } from '../../support/prom-text.js';

const scrape = async (metrics: CallrecMetrics): Promise<Map<string, PromFamily>> => parsePromText(await metrics.text());

const CALLREC_FAMILIES: ReadonlyArray<readonly [string, string]> = [
  ['callrec_calls_started_total', 'counter'],
  ['callrec_calls_total', 'counter'],
  ['callrec_calls_active', 'gauge'],
  ['callrec_recordings_finished_total', 'counter'],
  ['callrec_recordings', 'gauge'],
  ['callrec_rtp_packets_relayed_total', 'counter'],
  ['callrec_rtp_packets_foreign_total', 'counter'],
  ['callrec_rtp_packets_lost_total', 'counter'],
  ['callrec_upload_queue', 'gauge'],
  ['callrec_failures_total', 'counter'],
  ['callrec_alarms_total', 'counter'],
  ['callrec_sip_messages_total', 'counter'],
];

describe('CallrecMetrics', () => {
  it('exposes every callrec family with HELP and TYPE, parseable as Prometheus text', async () => {
    const metrics = new CallrecMetrics({ processMetrics: false });
    const families = await scrape(metrics);
    for (const [name, type] of CALLREC_FAMILIES) {
      const family = families.get(name);
      assert.ok(family !== undefined, `${name} is exposed`);
      assert.equal(family.type, type, name);
      assert.ok((family.help ?? '').length > 10, `${name} has a help text`);
    }
    assert.match(metrics.contentType, /^text\/plain; version=0\.0\.4/);
  });

  it('starts the call and RTP counters at 0 for every direction, outcome and party', async () => {
    const families = await scrape(new CallrecMetrics({ processMetrics: false }));
    assert.equal(samplesOf(families, 'callrec_calls_total').length, 8);
    assert.equal(sumOf(families, 'callrec_calls_total'), 0);
    assert.equal(sampleValue(families, 'callrec_calls_started_total', { direction: 'outbound' }), 0);
    for (const party of ['caller', 'callee'])
      assert.equal(sampleValue(families, 'callrec_rtp_packets_relayed_total', { party }), 0, party);
  });

  it('counts calls by direction and outcome', async () => {
    const metrics = new CallrecMetrics({ processMetrics: false });
    metrics.callStarted('inbound');
    metrics.callStarted('inbound');
    metrics.callStarted('outbound');
    metrics.callEnded({ direction: 'inbound', outcome: 'answered' });
    metrics.callEnded({ direction: 'inbound', outcome: 'cancelled' });
    metrics.callEnded({ direction: 'outbound', outcome: 'answered' });
    const families = await scrape(metrics);
    assert.equal(sampleValue(families, 'callrec_calls_started_total', { direction: 'inbound' }), 2);
    assert.equal(sampleValue(families, 'callrec_calls_total', { direction: 'inbound', outcome: 'answered' }), 1);
    assert.equal(sampleValue(families, 'callrec_calls_total', { direction: 'inbound', outcome: 'cancelled' }), 1);
    assert.equal(sampleValue(families, 'callrec_calls_total', { direction: 'outbound', outcome: 'answered' }), 1);
    assert.equal(sumOf(families, 'callrec_calls_total'), 3);
  });

  it('adds the RTP counters of each closed call and the losses of each finished recording', async () => {
    const metrics = new CallrecMetrics({ processMetrics: false });
    metrics.mediaClosed([
      { party: 'caller', relayed: 150, foreign: 2 },
      { party: 'callee', relayed: 148, foreign: 0 },
    ]);
    metrics.mediaClosed([
      { party: 'caller', relayed: 50, foreign: 0 },
      { party: 'callee', relayed: 50, foreign: 1 },
    ]);
    metrics.recordingFinished({ complete: false, signed: true, lost: { caller: 3, callee: 0 } });
    metrics.recordingFinished({ complete: true, signed: true });
    const families = await scrape(metrics);
    assert.equal(sampleValue(families, 'callrec_rtp_packets_relayed_total', { party: 'caller' }), 200);
    assert.equal(sampleValue(families, 'callrec_rtp_packets_relayed_total', { party: 'callee' }), 198);
    assert.equal(sampleValue(families, 'callrec_rtp_packets_foreign_total', { party: 'caller' }), 2);
    assert.equal(sampleValue(families, 'callrec_rtp_packets_foreign_total', { party: 'callee' }), 1);
    assert.equal(sampleValue(families, 'callrec_rtp_packets_lost_total', { party: 'caller' }), 3);
    assert.equal(sampleValue(families, 'callrec_rtp_packets_lost_total', { party: 'callee' }), 0);
    assert.equal(sampleValue(families, 'callrec_recordings_finished_total', { complete: 'false', signed: 'true' }), 1);
    assert.equal(sampleValue(families, 'callrec_recordings_finished_total', { complete: 'true', signed: 'true' }), 1);
  });

  it('counts failures, alarms and SIP messages in and out', async () => {
    const metrics = new CallrecMetrics({ processMetrics: false });
    metrics.failure('sip-send');
    metrics.alarm('spool-reserve');
    metrics.alarm('spool-reserve');
    metrics.alarm('recorder-backlog');
    for (let i = 0; i < 5; i++) metrics.sipReceived();
    metrics.sipSent();
    const families = await scrape(metrics);
    assert.equal(sampleValue(families, 'callrec_failures_total', { kind: 'sip-send' }), 1);
    assert.equal(sampleValue(families, 'callrec_alarms_total', { name: 'spool-reserve' }), 2);
    assert.equal(sampleValue(families, 'callrec_alarms_total', { name: 'recorder-backlog' }), 1);
    assert.equal(sampleValue(families, 'callrec_sip_messages_total', { direction: 'in' }), 5);
    assert.equal(sampleValue(families, 'callrec_sip_messages_total', { direction: 'out' }), 1);
  });

  it('escapes quotes, backslashes and line breaks in label values', async () => {
    const metrics = new CallrecMetrics({ processMetrics: false });
    const name = 'odd "name" \\ with\na break';
    metrics.alarm(name);
    const text = await metrics.text();
    assert.ok(text.includes('name="odd \\"name\\" \\\\ with\\na break"'), text);
    assert.equal(sampleValue(parsePromText(text), 'callrec_alarms_total', { name }), 1);
  });

  it('reads the gauges from their sources at every scrape, dropping targets that went away', async () => {
    const metrics = new CallrecMetrics({ processMetrics: false });
    let active = 3;
    let targets = [
      { targetId: 'smb-1', pending: 2, uploading: 1, failed: 4, done: 10 },
      { targetId: 'sftp-1', pending: 0, uploading: 0, failed: 0, done: 7 },
    ];
    metrics.setSources({
      activeCalls: () => active,
      recordingStates: async () => ({ recording: 1, spooled: 5 }),
      uploadQueue: async () => targets,
    });
    let families = await scrape(metrics);
    assert.equal(sampleValue(families, 'callrec_calls_active'), 3);
    assert.equal(sampleValue(families, 'callrec_recordings', { state: 'spooled' }), 5);
    assert.equal(sampleValue(families, 'callrec_upload_queue', { target: 'smb-1', state: 'failed' }), 4);
    assert.equal(sampleValue(families, 'callrec_upload_queue', { target: 'sftp-1', state: 'done' }), 7);
    active = 0;
    targets = [{ targetId: 'sftp-1', pending: 1, uploading: 0, failed: 0, done: 8 }];
    families = await scrape(metrics);
    assert.equal(sampleValue(families, 'callrec_calls_active'), 0);
    assert.equal(samplesOf(families, 'callrec_upload_queue', { target: 'smb-1' }).length, 0);
    assert.equal(sampleValue(families, 'callrec_upload_queue', { target: 'sftp-1', state: 'pending' }), 1);
  });

  it('still answers when a source fails, and counts the failure', async () => {
    const metrics = new CallrecMetrics({ processMetrics: false });
    metrics.setSources({
      activeCalls: () => 2,
      uploadQueue: () => Promise.reject(new Error('database is locked')),
      recordingStates: () => {
        throw new Error('no catalogue');
      },
    });
    assert.equal(sampleValue(await scrape(metrics), 'callrec_calls_active'), 2);
    // A failure is counted while the scrape runs (after the counter may have been read): the next shows it
    const families = await scrape(metrics);
    assert.equal(sampleValue(families, 'callrec_calls_active'), 2);
    assert.ok(sampleValue(families, 'callrec_failures_total', { kind: 'metrics-source-upload-queue' }) >= 1);
    assert.ok(sampleValue(families, 'callrec_failures_total', { kind: 'metrics-source-recording-states' }) >= 1);
  });

  it('keeps two instances apart (own registries) and includes process metrics by default', async () => {
    const first = new CallrecMetrics();
    const second = new CallrecMetrics();
    first.callStarted('inbound');
    const [a, b] = await Promise.all([scrape(first), scrape(second)]);
    assert.equal(sampleValue(a, 'callrec_calls_started_total', { direction: 'inbound' }), 1);
    assert.equal(sampleValue(b, 'callrec_calls_started_total', { direction: 'inbound' }), 0);
    assert.ok(sampleValue(a, 'process_resident_memory_bytes') > 0, 'RSS is exposed');
    assert.equal(
      samplesOf(await scrape(new CallrecMetrics({ processMetrics: false })), 'process_resident_memory_bytes').length,
      0,
    );
  });
});
