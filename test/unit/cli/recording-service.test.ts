/**
 * The recorder behind the media anchor (cli/recording-service.ts), driven as the B2BUA drives it:
 *  - the recording's timeline ends when the call ends, even when the catalogue write that follows
 *    queues behind a busy database for seconds (a burst of hang-ups): no silence is appended for
 *    the wait (the soak found WAVs 3.6 s longer than their calls);
 *  - a catalogue that fails to mark the recording finalizing loses nothing: the recording is still
 *    finalised and handed on.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { CallSummary, LegMedia, MediaCallInfo } from '../../../src/b2bua/index.js';
import { RecordingService, type RecordingServiceOptions } from '../../../src/cli/recording-service.js';
import { createRecordingPolicy } from '../../../src/cli/recording-policy.js';
import { loadConfig, type CallrecConfig } from '../../../src/config/index.js';
import { Ledger, type RecordingSigner } from '../../../src/integrity/index.js';
import {
  linearToUlaw,
  STATIC_PAYLOAD_FORMATS,
  writeRtpHeader,
  type RelayLegStats,
  type RelaySessionStats,
} from '../../../src/media/index.js';
import { createLogger } from '../../../src/observability/index.js';
import type { FinalisedRecording } from '../../../src/pipeline/index.js';
import { Membership } from '../../../src/policy/index.js';
import { parseWavHeader } from '../../../src/recorder/index.js';
import {
  openDatabase,
  SqliteRecordingStore,
  type LedgerStore,
  type MembershipStore,
  type SqliteDatabase,
} from '../../../src/store/index.js';
import { repoRoot } from '../../support/paths.js';

type Json = Record<string, unknown>;

const NO_SWITCHES: MembershipStore = {
  setActive: () => Promise.reject(new Error('not in this test')),
  isActive: () => Promise.resolve(undefined),
  list: () => Promise.resolve([]),
  dataVersion: () => Promise.resolve(1),
};

/** Profile `plain` has `signing: false`: the signer and the ledger must never be asked. */
const UNUSED_SIGNER: RecordingSigner = {
  sign: () => {
    throw new Error('a signing: false profile was signed');
  },
  certificatePem: '',
  chainPem: [],
  installationId: 'test',
};
const UNUSED_LEDGER_STORE = new Proxy({} as LedgerStore, {
  get: () => () => Promise.reject(new Error('a signing: false profile was chained')),
});

const SDP_FORMATS = [...STATIC_PAYLOAD_FORMATS.values()].filter((format) => format.payloadType === 0);
const LEG: LegMedia = { formats: STATIC_PAYLOAD_FORMATS, negotiated: SDP_FORMATS, onHold: false };

function packet(seq: number, level: number): Buffer {
  const datagram = Buffer.alloc(12 + 160, linearToUlaw(level));
  writeRtpHeader(datagram, { payloadType: 0, sequenceNumber: seq, timestamp: seq * 160, ssrc: 0x4242 });
  return datagram;
}

function legStats(leg: 'a' | 'b'): RelayLegStats {
  return {
    leg,
    localRtpPort: 40000,
    localRtcpPort: 40001,
    remote: undefined,
    rtpSource: undefined,
    rtcpSource: undefined,
    packetsIn: 50,
    rtcpPacketsIn: 0,
    bytesIn: 50 * 172,
    packetsOut: 50,
    bytesOut: 50 * 172,
    foreignDropped: 0,
    undeliverable: 0,
    sendErrors: 0,
    forkErrors: 0,
    lastPacketMs: 0,
  };
}

const RELAY: RelaySessionStats = {
  a: legStats('a'),
  b: legStats('b'),
  timedOut: false,
  listenerErrors: 0,
  closed: true,
};

let dir: string;
let config: CallrecConfig;
let database: SqliteDatabase;
let membership: Membership;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'callrec-recording-service-'));
  const example = JSON.parse(await readFile(join(repoRoot, 'config', 'callrec.example.json'), 'utf8')) as Json;
  delete example['$schema'];
  const profile = (example['profiles'] as Json[])[0] as Json;
  example['profiles'] = [
    { ...profile, id: 'plain', channels: 'both-separate', signing: false, announcement: {} },
    { ...profile, id: 'signed', channels: 'both-separate', signing: true, announcement: {} },
  ];
  example['installation'] = {
    ...(example['installation'] as Json),
    dataDir: join(dir, 'data'),
    keystorePassword: 'unit-test',
  };
  const path = join(dir, 'callrec.json');
  await writeFile(path, JSON.stringify(example));
  const loaded = await loadConfig(path);
  assert.ok(loaded.ok, JSON.stringify(loaded));
  config = loaded.config;
  database = await openDatabase(join(dir, 'callrec.db'));
  membership = await Membership.load(NO_SWITCHES, config);
});

after(async () => {
  await database.close();
  await rm(dir, { recursive: true, force: true });
});

/** A catalogue whose `markFinalizing` takes `waitMs` of the fake clock (a queued database), or fails. */
class SlowCatalogue extends SqliteRecordingStore {
  constructor(
    private readonly clock: { ms: number },
    private readonly waitMs: number,
    private readonly fail = false,
  ) {
    super(database);
  }

  override async markFinalizing(id: string, end: string, endReason: string): Promise<void> {
    this.clock.ms += this.waitMs;
    await new Promise((resolve) => setTimeout(resolve, 20));
    if (this.fail) throw new Error('SQLITE_BUSY: database is locked');
    return super.markFinalizing(id, end, endReason);
  }
}

function newService(
  clock: { ms: number },
  finalised: FinalisedRecording[],
  extra: Partial<RecordingServiceOptions> = {},
): RecordingService {
  return new RecordingService({
    config: () => config,
    policy: () => createRecordingPolicy(config, membership),
    signer: UNUSED_SIGNER,
    ledger: new Ledger({ store: UNUSED_LEDGER_STORE, checkpointDir: join(dir, 'ledger') }),
    logger: createLogger({ level: process.env['DEBUG_TEST'] === undefined ? 'silent' : 'debug' }),
    now: () => clock.ms,
    onFinalised: (recording) => finalised.push(recording),
    ...extra,
  });
}

/** One recorded call, 1 s of audio on both legs (fake clock 1000–2000 ms), ended; not awaited. */
function playCall(service: RecordingService, id: string, clock: { ms: number }, profileId = 'plain'): void {
  const call: MediaCallInfo = {
    id,
    direction: 'inbound',
    decision: { record: true, profileId, reason: 'unit test' },
    onMediaTimeout: () => undefined,
  };
  clock.ms = 1000;
  const active = service.start(call, { a: LEG, b: LEG });
  assert.ok(active !== undefined);
  const startedAt = new Date();
  for (let seq = 0; seq < 50; seq++) {
    clock.ms = 1000 + seq * 20;
    active.push('a', packet(seq, 8000), clock.ms);
    active.push('b', packet(seq, -8000), clock.ms);
  }
  clock.ms = 2000;
  const summary: CallSummary = {
    id,
    direction: 'inbound',
    callIdA: `${id}-a`,
    callIdB: `${id}-b`,
    facts: { direction: 'inbound', calledNumbers: ['+4930123456500'], callingNumbers: ['+4940111222'] },
    callerName: undefined,
    calleeName: undefined,
    decision: call.decision,
    startedAt,
    answeredAt: startedAt,
    endedAt: new Date(startedAt.getTime() + 1000),
    endedBy: 'caller',
    finalStatus: 200,
    endReason: 'caller hung up',
  };
  active.finish(summary, RELAY);
}

/** One recorded call through a fresh service; resolves with what the pipeline finalised. */
async function recordCall(id: string, catalogue: SlowCatalogue, clock: { ms: number }): Promise<FinalisedRecording> {
  const finalised: FinalisedRecording[] = [];
  const service = newService(clock, finalised, { catalogue });
  playCall(service, id, clock);
  await service.flush();
  assert.equal(finalised.length, 1, 'the recording is finalised and handed on');
  return finalised[0] as FinalisedRecording;
}

async function framesOf(path: string): Promise<number> {
  const parsed = parseWavHeader(await readFile(path));
  assert.ok(parsed.ok);
  return parsed.info.frames;
}

describe('RecordingService', () => {
  it('ends the timeline when the call ends, not when a slow catalogue write returns', async () => {
    const clock = { ms: 0 };
    const result = await recordCall('slow-db', new SlowCatalogue(clock, 5000), clock);
    assert.equal(result.audioFiles.length, 2);
    for (const file of result.audioFiles) {
      const frames = await framesOf(join(result.dir, file));
      // 1 s of audio at 8 kHz; five more seconds of silence before the fix
      assert.ok(Math.abs(frames - 8000) <= 160, `${file}: ${frames} frames, expected 8000 (1 s)`);
    }
    const row = await new SqliteRecordingStore(database).find('slow-db');
    assert.equal(row?.state, 'spooled');
  });

  it('seals a few recordings at a time; a backlog raises the alarm once and is a problem until it drains', async () => {
    const clock = { ms: 0 };
    const finalised: FinalisedRecording[] = [];
    const alarms: Array<{ name: string; details: Record<string, unknown> }> = [];
    let release: () => void = () => undefined;
    const chainFree = new Promise<void>((resolve) => (release = resolve));
    let sealing = 0;
    let mostAtOnce = 0;
    // A signed profile: every seal extends the chain, and the chain is held until released
    const ledgerStore = new Proxy({} as LedgerStore, {
      get: (_target, name) => {
        if (name === 'ledgerEntryForRecording')
          return async () => {
            mostAtOnce = Math.max(mostAtOnce, ++sealing);
            await chainFree;
            return undefined;
          };
        if (name === 'appendLedgerEntry')
          return () => {
            sealing--;
            return Promise.resolve();
          };
        return () => Promise.resolve(undefined);
      },
    });
    const service = newService(clock, finalised, {
      signer: { ...UNUSED_SIGNER, sign: () => Buffer.alloc(256, 7) },
      ledger: new Ledger({ store: ledgerStore, checkpointDir: join(dir, 'ledger') }),
      finaliseConcurrency: 1,
      finaliseBacklog: 2,
      onAlarm: (name, details) => alarms.push({ name, details }),
    });
    for (const id of ['q1', 'q2', 'q3', 'q4']) playCall(service, id, clock, 'signed');
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(finalised.length, 0, 'the chain is held');
    assert.match(
      service.problems().join('; '),
      /^recorder backlog: 3 recordings waiting to be sealed \(oldest \d+ s\)$/,
    );
    assert.deepEqual(
      alarms.map((alarm) => [alarm.name, alarm.details['waiting']]),
      [['recorder-backlog', 2]],
      'once per episode',
    );
    release();
    await service.flush();
    assert.deepEqual(finalised.map((recording) => recording.id).sort(), ['q1', 'q2', 'q3', 'q4']);
    assert.equal(mostAtOnce, 1, 'one finalisation at a time');
    assert.deepEqual(service.problems(), []);
    for (const recording of finalised) {
      for (const file of recording.audioFiles)
        assert.ok(Math.abs((await framesOf(join(recording.dir, file))) - 8000) <= 160, 'waiting did not lengthen it');
    }
  });

  it('still finalises the recording when the catalogue cannot mark it finalizing', async () => {
    const clock = { ms: 0 };
    const result = await recordCall('db-fails', new SlowCatalogue(clock, 0, true), clock);
    assert.equal(result.complete, true, JSON.stringify(result.problems));
    for (const file of result.audioFiles) assert.ok(Math.abs((await framesOf(join(result.dir, file))) - 8000) <= 160);
  });
});
