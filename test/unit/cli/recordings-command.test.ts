/**
 * `callrec recordings list|hold|release` and `callrec retention run` (SPEC §7, §11) through the
 * run* functions the CLI calls, on a real database, key store and local archive target: what they
 * print (`--json` fields are a stable interface), what they audit, their exit codes; and the
 * daily retention job of `callrec run` (at start, never overlapping, failures logged).
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runRecordingsHold, runRecordingsList } from '../../../src/cli/commands/recordings.js';
import { runRetentionCommand, startDailyRetention } from '../../../src/cli/commands/retention.js';
import { createLogger } from '../../../src/observability/index.js';
import type { RetentionSummary } from '../../../src/privacy/index.js';
import {
  databasePath,
  openDatabase,
  SqliteAuditLog,
  SqliteRecordingStore,
  SqliteUploadStore,
} from '../../../src/store/index.js';
import { repoRoot } from '../../support/paths.js';

type Json = Record<string, unknown>;

interface Run {
  readonly code: number;
  readonly log: string[];
  readonly error: string[];
}

let root: string;
let counter = 0;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'callrec-recordings-command-'));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

interface Setup {
  readonly configPath: string;
  readonly dataDir: string;
  /** The local target's root; recordings are archived to `<archive>/2024`. */
  readonly archive: string;
}

const RECORDING_FILES = (id: string): string[] => [`${id}.json`, `${id}.sha256`, `${id}.wav`];

/**
 * The example config with its own dataDir, a literal keystore password, one local target, and two
 * spooled recordings of 2024-01-01 (`r1` caller +4940111222 → callee 201; `r2` 202 → +4930999)
 * with files in the spool and on the target.
 */
async function setup(): Promise<Setup> {
  const dir = join(root, String(++counter));
  const archive = join(dir, 'archive');
  await mkdir(dir);
  const config = JSON.parse(await readFile(join(repoRoot, 'config', 'callrec.example.json'), 'utf8')) as Json;
  const dataDir = join(dir, 'var');
  config.installation = { dataDir, keystorePassword: 'unit-test' };
  config.targets = [{ id: 'mounted', type: 'local', path: join(archive, '$Y') }];
  for (const profile of config.profiles as Json[]) profile.targets = ['mounted'];
  delete config.$schema;
  delete config.email;
  const configPath = join(dir, 'callrec.json');
  await writeFile(configPath, JSON.stringify(config));
  await mkdir(join(dataDir, 'recordings'), { recursive: true });
  const db = await openDatabase(databasePath(dataDir));
  try {
    const catalogue = new SqliteRecordingStore(db);
    const uploads = new SqliteUploadStore(db);
    for (const [id, caller, callee] of [
      ['r1', '+4940111222', '201'],
      ['r2', '202', '+4930999'],
    ] as const) {
      const spool = join(dataDir, 'recordings', id);
      const start = `2024-01-01T10:0${id === 'r1' ? 0 : 1}:00.000Z`;
      await catalogue.register({
        id,
        dir: spool,
        profile: 'trading',
        direction: 'inbound',
        caller,
        callee,
        start,
        retentionDays: 30,
        statutory: true,
      });
      await catalogue.markSpooled(id, { at: start, reason: 'caller hung up' });
      await uploads.enqueue({ recordingId: id, dir: spool, start, targets: [{ targetId: 'mounted', folder: '2024' }] });
      await uploads.claimDue('mounted', new Date('2100-01-01T00:00:00Z'));
      await uploads.markDone(id, 'mounted');
      await mkdir(spool);
      await mkdir(join(archive, '2024'), { recursive: true });
      for (const name of RECORDING_FILES(id)) {
        await writeFile(join(spool, name), name);
        await writeFile(join(archive, '2024', name), name);
      }
    }
  } finally {
    await db.close();
  }
  return { configPath, dataDir, archive };
}

function capture(): { out: { log(line: string): void; error(line: string): void }; log: string[]; error: string[] } {
  const log: string[] = [];
  const error: string[] = [];
  return { out: { log: (line) => log.push(line), error: (line) => error.push(line) }, log, error };
}

async function list(
  configPath: string,
  options: Omit<Parameters<typeof runRecordingsList>[0], 'configPath' | 'out'> = {},
): Promise<Run> {
  const { out, log, error } = capture();
  const code = await runRecordingsList({ configPath, out, ...options });
  return { code, log, error };
}

async function hold(configPath: string, action: 'hold' | 'release', id: string, reason?: string): Promise<Run> {
  const { out, log, error } = capture();
  const code = await runRecordingsHold(action, { configPath, out, id, ...(reason === undefined ? {} : { reason }) });
  return { code, log, error };
}

async function retention(configPath: string, asOf?: string, dryRun = false): Promise<Run> {
  const { out, log, error } = capture();
  const code = await runRetentionCommand({ configPath, out, dryRun, ...(asOf === undefined ? {} : { asOf }) });
  return { code, log, error };
}

async function auditLines(dataDir: string): Promise<string[]> {
  const db = await openDatabase(databasePath(dataDir));
  try {
    return (await new SqliteAuditLog(db).list()).map(
      (e) => `${e.actor.startsWith('cli:') ? 'cli' : e.actor} ${e.action} ${e.subject} ${JSON.stringify(e.details)}`,
    );
  } finally {
    await db.close();
  }
}

describe('callrec recordings list', () => {
  it('prints the SPEC §11 fields as JSON and audits the listing with its query', async () => {
    const { configPath, dataDir } = await setup();
    const run = await list(configPath, { json: true, number: '0049 40 111222' });
    assert.equal(run.code, 0, run.error.join('\n'));
    const items = JSON.parse(run.log.join('\n')) as Json[];
    assert.equal(items.length, 1);
    assert.deepEqual(items[0], {
      id: 'r1',
      profile: 'trading',
      direction: 'inbound',
      start: '2024-01-01T10:00:00.000Z',
      end: '2024-01-01T10:00:00.000Z',
      caller: '+4940111222',
      callee: '201',
      state: 'spooled',
      hold: false,
      holdReason: null,
      heldSince: null,
      heldBy: null,
      endReason: 'caller hung up',
      retentionDays: 30,
      retentionEnds: '2024-01-31T10:00:00.000Z',
      statutory: true,
      deletedAt: null,
      deletionReason: null,
    });
    assert.deepEqual(await auditLines(dataDir), [
      'cli recordings.list number:0049 40 111222 {"recordings":1,"numbers":["+4940111222"]}',
    ]);
  });

  it('matches an extension and its company DID alike; no match is an empty list', async () => {
    const { configPath } = await setup();
    const ids = async (number: string): Promise<unknown[]> =>
      (JSON.parse((await list(configPath, { json: true, number })).log.join('\n')) as Json[]).map((r) => r['id']);
    assert.deepEqual(await ids('+49 30 123456-201'), ['r1']);
    assert.deepEqual(await ids('202'), ['r2']);
    assert.deepEqual(await ids('+4912345'), []);
    assert.deepEqual(await ids('anonymous'), []);
  });

  it('prints a table with every number unmasked, or "no recordings"', async () => {
    const { configPath } = await setup();
    const run = await list(configPath);
    assert.equal(run.code, 0);
    assert.match(run.log[0] ?? '', /^ID +START +END +PROFILE +DIRECTION +CALLER +CALLEE +STATE +HOLD$/);
    assert.match(run.log[1] ?? '', /^r1 +2024-01-01T10:00:00.000Z .* \+4940111222 +201 +spooled +-$/);
    assert.match(run.log[2] ?? '', /^r2 .* 202 +\+4930999 +spooled +-$/);
    assert.deepEqual((await list(configPath, { since: '2025-01-01T00:00:00Z' })).log, ['no recordings']);
  });

  it('exits 2 for a bad time or an empty number, before opening anything', async () => {
    const { configPath, dataDir } = await setup();
    const since = await list(configPath, { since: 'yesterday' });
    assert.deepEqual(
      [since.code, since.error],
      [2, ['callrec recordings list: --since: not an ISO 8601 time: yesterday']],
    );
    assert.equal((await list(configPath, { until: '2024-13-45' })).code, 2);
    assert.equal((await list(configPath, { number: ' ' })).code, 2);
    assert.deepEqual(await auditLines(dataDir), []);
  });
});

describe('callrec recordings hold / release', () => {
  it('holds and releases with audit entries; the hold shows in the list', async () => {
    const { configPath, dataDir } = await setup();
    const held = await hold(configPath, 'hold', 'r1', 'case 4711');
    assert.equal(held.code, 0, held.error.join('\n'));
    assert.match(held.log[0] ?? '', /^r1: under legal hold since \S+ \(case 4711\); retention and erasure skip it$/);
    const listed = JSON.parse((await list(configPath, { json: true })).log.join('\n')) as Json[];
    assert.deepEqual(
      listed.map((r) => [r['id'], r['hold'], r['holdReason']]),
      [
        ['r1', true, 'case 4711'],
        ['r2', false, null],
      ],
    );
    assert.deepEqual((await hold(configPath, 'release', 'r1')).log, ['r1: legal hold released']);
    assert.deepEqual((await hold(configPath, 'release', 'r1')).log, ['r1: had no legal hold']);
    const lines = (await auditLines(dataDir)).filter((line) => !line.includes('recordings.list'));
    assert.deepEqual(lines, [
      'cli recordings.hold r1 {"reason":"case 4711"}',
      'cli recordings.release r1 {"held":true}',
      'cli recordings.release r1 {"held":false}',
    ]);
  });

  it('exits 1 for an unknown recording (nothing audited) and 2 without a reason', async () => {
    const { configPath, dataDir } = await setup();
    assert.deepEqual(await hold(configPath, 'hold', 'nope', 'x'), {
      code: 1,
      log: [],
      error: ['callrec recordings hold: no recording nope'],
    });
    assert.equal((await hold(configPath, 'release', 'nope')).code, 1);
    const noReason = await hold(configPath, 'hold', 'r1', '  ');
    assert.equal(noReason.code, 2);
    assert.match(noReason.error[0] ?? '', /--reason <text> is required/);
    assert.deepEqual(await auditLines(dataDir), []);
  });
});

describe('callrec retention run', () => {
  it('deletes the expired recordings from spool and target, keeps held ones, exit 0', async () => {
    const { configPath, dataDir, archive } = await setup();
    await hold(configPath, 'hold', 'r2', 'case');
    const early = await retention(configPath, '2024-01-31T09:59:59Z');
    assert.deepEqual(
      [early.code, early.log.at(-1)],
      [0, 'retention as of 2024-01-31T09:59:59.000Z: 0 due, 0 deleted, 0 kept under legal hold, 0 failed'],
    );
    const run = await retention(configPath, '2024-02-01T00:00:00Z');
    assert.equal(run.code, 0, run.error.join('\n'));
    assert.match(run.log[0] ?? '', /^deleted r1 \(profile trading: retentionDays 30, .*; disposal entry 1\)$/);
    assert.match(run.log[1] ?? '', /^kept r2 .*legal hold: case\)$/);
    assert.deepEqual(await readdir(join(dataDir, 'recordings')), ['r2']);
    assert.deepEqual(await readdir(join(archive, '2024')), RECORDING_FILES('r2'));
    const audits = await auditLines(dataDir);
    assert.match(
      audits.at(-1) ?? '',
      /^cli retention\.run all \{"asOf":"2024-02-01T00:00:00.000Z",.*"deleted":1,.*"held":1,"failed":0\}$/,
    );
  });

  it('exits 1 and keeps the recording when a file on the target cannot be deleted', async () => {
    const { configPath, dataDir, archive } = await setup();
    await mkdir(join(archive, '2024', 'r1-caller.wav')); // a directory: unlink fails
    const run = await retention(configPath, '2024-02-01T00:00:00Z');
    assert.equal(run.code, 1);
    assert.match(run.error[0] ?? '', /^FAILED r1 \(.*\): target mounted 2024: .*r1-caller\.wav.*; retried next run$/);
    assert.match(run.log.at(-1) ?? '', /2 due, 1 deleted, 0 kept under legal hold, 1 failed$/);
    const catalogue = JSON.parse((await list(configPath, { json: true, all: true })).log.join('\n')) as Json[];
    assert.deepEqual(
      catalogue.map((r) => [r['id'], r['state']]),
      [
        ['r1', 'spooled'],
        ['r2', 'deleted'],
      ],
    );
    assert.ok((await readdir(dataDir)).includes('callrec.db'));
  });

  it('touches nothing in a dry run; exits 2 for a bad as-of or a wrong keystore password', async () => {
    const { configPath, dataDir } = await setup();
    const dry = await retention(configPath, '2030-01-01T00:00:00Z', true);
    assert.equal(dry.code, 0);
    assert.deepEqual(
      dry.log.slice(0, 2).map((line) => line.split(' (')[0]),
      ['would delete r1', 'would delete r2'],
    );
    assert.deepEqual(await readdir(join(dataDir, 'recordings')), ['r1', 'r2']);
    assert.equal((await retention(configPath, 'soon')).code, 2);
    const config = JSON.parse(await readFile(configPath, 'utf8')) as Json;
    (config.installation as Json).keystorePassword = 'wrong';
    await writeFile(configPath, JSON.stringify(config));
    const wrong = await retention(configPath, '2030-01-01T00:00:00Z');
    assert.equal(wrong.code, 2);
    assert.match(wrong.error[0] ?? '', /^callrec retention run: /);
    assert.deepEqual(await readdir(join(dataDir, 'recordings')), ['r1', 'r2']);
  });
});

describe('daily retention job', () => {
  function summary(deleted: number): RetentionSummary {
    return {
      asOf: '2024-01-01T00:00:00.000Z',
      dryRun: false,
      due: deleted,
      deleted,
      wouldDelete: 0,
      held: 0,
      failed: 0,
      outcomes: [],
    };
  }

  function logger(): { lines: Json[]; logger: ReturnType<typeof createLogger> } {
    const lines: Json[] = [];
    return {
      lines,
      logger: createLogger({ destination: { write: (line: string) => lines.push(JSON.parse(line) as Json) } }),
    };
  }

  it('runs at start and then at each interval, never two runs at once, logging each summary', async () => {
    const { lines, logger: log } = logger();
    let runs = 0;
    let active = 0;
    let overlapped = false;
    const job = startDailyRetention({
      logger: log,
      intervalMs: 20,
      run: async () => {
        runs++;
        active++;
        overlapped ||= active > 1;
        await new Promise((resolve) => setTimeout(resolve, 50));
        active--;
        return summary(runs);
      },
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await job.stop();
    const stoppedAt = runs;
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.ok(runs >= 2, `ran ${runs} times`);
    assert.equal(runs, stoppedAt, 'no run after stop');
    assert.equal(overlapped, false);
    assert.ok(
      lines.some((l) => String(l['msg']).startsWith('retention as of 2024-01-01T00:00:00.000Z: 1 due, 1 deleted')),
    );
  });

  it('logs a failing run and keeps going', async () => {
    const { lines, logger: log } = logger();
    let runs = 0;
    const job = startDailyRetention({
      logger: log,
      intervalMs: 20,
      run: () => {
        runs++;
        return Promise.reject(new Error('database is locked'));
      },
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await job.stop();
    assert.ok(runs >= 2, `ran ${runs} times`);
    assert.ok(lines.some((l) => l['msg'] === 'retention run failed' && l['err'] === 'database is locked'));
  });
});
