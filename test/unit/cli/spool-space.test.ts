/**
 * SpoolSpace (SPEC §4 fail policy, §9 disk nearly full): the spool's free space against
 * `installation.spoolReserveMegabytes`, checked with statfs and a write probe, cached between
 * checks; alarms on the way down (once), a log line on the way back; the emergency space that is
 * given back when a write fails for lack of space.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isOutOfSpace, SpoolSpace, type SpoolSpaceOptions } from '../../../src/cli/spool-space.js';
import { AppError } from '../../../src/errors.js';
import { createLogger } from '../../../src/observability/index.js';

const MIB = 1024 * 1024;

let root: string;
let counter = 0;
const opened: SpoolSpace[] = [];

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'callrec-spool-'));
});
after(async () => {
  for (const spool of opened) spool.close();
  await rm(root, { recursive: true, force: true });
});

interface Harness {
  readonly spool: SpoolSpace;
  readonly alarms: Array<{ name: string; details: Record<string, unknown> }>;
  readonly logs: Array<Record<string, unknown>>;
  /** Free bytes the fake statfs reports from now on. */
  setFree(bytes: number): void;
  statfsCalls(): number;
  advance(ms: number): void;
}

function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: simulated`), { code });
}

async function openSpool(
  options: { free: number; reserve: number; emergencyBytes?: number } & Partial<SpoolSpaceOptions>,
): Promise<Harness> {
  let free = options.free;
  let calls = 0;
  let now = 0;
  const alarms: Harness['alarms'] = [];
  const logs: Array<Record<string, unknown>> = [];
  const logger = createLogger({
    level: 'debug',
    destination: { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) },
  });
  const spool = await SpoolSpace.open({
    dir: join(root, `spool-${++counter}`, 'recordings'),
    reserveBytes: options.reserve,
    emergencyBytes: options.emergencyBytes ?? 0,
    // Long, so the real timer never checks during a test; `advance` moves the injected clock
    recheckMs: 60_000,
    now: () => now,
    statfs: () => {
      calls++;
      return Promise.resolve({ bavail: Math.floor(free / 4096), bsize: 4096 });
    },
    onAlarm: (name, details) => alarms.push({ name, details }),
    logger,
    ...options,
  });
  opened.push(spool);
  return {
    spool,
    alarms,
    logs,
    setFree: (bytes) => (free = bytes),
    statfsCalls: () => calls,
    advance: (ms) => (now += ms),
  };
}

describe('SpoolSpace', () => {
  it('creates the spool folder with mode 0700, its own files in .callrec/ and nothing else', async () => {
    const { spool } = await openSpool({ free: 10 * MIB, reserve: MIB });
    assert.equal((await stat(spool.dir)).mode & 0o777, 0o700);
    assert.equal((await stat(join(spool.dir, '.callrec'))).mode & 0o777, 0o700);
    assert.deepEqual(await readdir(spool.dir), ['.callrec']);
  });

  it('has no problems while the free space is at or above the reserve', async () => {
    const { spool, alarms } = await openSpool({ free: 4 * MIB, reserve: 4 * MIB });
    const state = spool.state();
    assert.equal(state.belowReserve, false);
    assert.equal(state.freeBytes, 4 * MIB);
    assert.deepEqual(spool.health(), { problems: [] });
    assert.deepEqual(alarms, []);
  });

  it('reports "spool below reserve" and raises spool-reserve once when the free space drops under it', async () => {
    const bed = await openSpool({ free: 8 * MIB, reserve: 4 * MIB });
    bed.setFree(3 * MIB);
    await bed.spool.refresh();
    assert.deepEqual(bed.spool.health(), { problems: ['spool below reserve'] });
    assert.equal(bed.spool.state().belowReserve, true);
    await bed.spool.refresh();
    await bed.spool.refresh();
    assert.equal(bed.alarms.length, 1, 'one alarm per crossing, not per check');
    assert.equal(bed.alarms[0]?.name, 'spool-reserve');
    assert.deepEqual(bed.alarms[0]?.details, { spool: bed.spool.dir, freeMiB: 3, reserveMiB: 4 });
  });

  it('logs when the spool is usable again and alarms again at the next crossing', async () => {
    const bed = await openSpool({ free: 1 * MIB, reserve: 2 * MIB });
    assert.equal(bed.alarms.length, 1, 'below the reserve from the first check');
    bed.setFree(3 * MIB);
    await bed.spool.refresh();
    assert.deepEqual(bed.spool.health().problems, []);
    assert.ok(bed.logs.some((line) => line['msg'] === 'spool usable again: free space above the reserve'));
    bed.setFree(MIB);
    await bed.spool.refresh();
    assert.equal(bed.alarms.length, 2);
  });

  it('never reports below the reserve when the reserve is 0', async () => {
    const { spool } = await openSpool({ free: 0, reserve: 0 });
    assert.deepEqual(spool.health().problems, []);
  });

  it('serves the cached state and checks again in the background only after recheckMs', async () => {
    const bed = await openSpool({ free: 8 * MIB, reserve: 4 * MIB });
    const initial = bed.statfsCalls();
    bed.setFree(MIB);
    bed.spool.state();
    bed.advance(59_999);
    assert.equal(bed.spool.state().belowReserve, false, 'still the cached state');
    assert.equal(bed.statfsCalls(), initial);
    bed.advance(1);
    assert.equal(bed.spool.state().belowReserve, false, 'the stale state is returned at once');
    await bed.spool.refresh();
    assert.equal(bed.spool.state().belowReserve, true);
    assert.equal(bed.statfsCalls(), initial + 1, 'the background check and refresh() shared one statfs');
  });

  it('treats a failing statfs as an unusable spool and raises recording-failed', async () => {
    const bed = await openSpool({
      free: 0,
      reserve: MIB,
      statfs: () => Promise.reject(errno('EIO')),
    });
    assert.deepEqual(bed.spool.health().problems, ['spool not accessible (EIO)']);
    assert.equal(bed.spool.state().freeBytes, undefined);
    assert.deepEqual(
      bed.alarms.map((alarm) => alarm.name),
      ['recording-failed'],
    );
  });

  it('treats a spool where no file can be created as unusable', async () => {
    const bed = await openSpool({ free: 8 * MIB, reserve: MIB, probe: () => Promise.reject(errno('EROFS')) });
    assert.deepEqual(bed.spool.health().problems, ['spool not writable (EROFS)']);
    assert.equal(bed.spool.state().writable, false);
    assert.equal(bed.alarms[0]?.details['problem'], 'spool not writable (EROFS)');
  });

  it('probes by creating and removing a file, leaving nothing behind', async () => {
    const { spool } = await openSpool({ free: 8 * MIB, reserve: MIB });
    assert.equal(spool.state().writable, true);
    await assert.rejects(stat(join(spool.dir, '.callrec', 'write-probe')), { code: 'ENOENT' });
  });
});

describe('SpoolSpace emergency space', () => {
  it('keeps a file of emergencyBytes real bytes while there is room above the reserve', async () => {
    const { spool } = await openSpool({ free: 64 * MIB, reserve: MIB, emergencyBytes: 64 * 1024 });
    const info = await stat(join(spool.dir, '.callrec', 'emergency-space'));
    assert.equal(info.size, 64 * 1024);
    assert.ok(info.blocks * 512 >= 64 * 1024, 'allocated, not sparse');
    assert.equal(info.mode & 0o777, 0o600);
  });

  it('does not take the emergency space out of the reserve', async () => {
    const { spool } = await openSpool({ free: MIB + 100 * 1024, reserve: MIB, emergencyBytes: 64 * 1024 });
    await assert.rejects(stat(join(spool.dir, '.callrec', 'emergency-space')), { code: 'ENOENT' });
    assert.equal(await spool.releaseEmergencySpace(), false, 'nothing to release');
  });

  it('gives the space back once when a write fails for lack of space, and keeps it again a minute later', async () => {
    const bed = await openSpool({ free: 64 * MIB, reserve: MIB, emergencyBytes: 64 * 1024 });
    const file = join(bed.spool.dir, '.callrec', 'emergency-space');
    assert.equal(await bed.spool.releaseEmergencySpace(), true);
    await assert.rejects(stat(file), { code: 'ENOENT' });
    assert.equal(await bed.spool.releaseEmergencySpace(), false, 'released only once');
    assert.ok(bed.logs.some((line) => line['msg'] === 'spool full: emergency space released'));
    // Kept again once there is room above the reserve and a minute has passed
    await bed.spool.refresh();
    await assert.rejects(stat(file), { code: 'ENOENT' });
    bed.advance(60_000);
    await bed.spool.refresh();
    assert.equal((await stat(file)).size, 64 * 1024);
  });

  it('adopts the emergency file an earlier run left', async () => {
    const first = await openSpool({ free: 64 * MIB, reserve: MIB, emergencyBytes: 64 * 1024 });
    first.spool.close();
    const again = await SpoolSpace.open({
      dir: first.spool.dir,
      reserveBytes: MIB,
      emergencyBytes: 64 * 1024,
      statfs: () => Promise.resolve({ bavail: 0, bsize: 4096 }),
    });
    opened.push(again);
    assert.equal(await again.releaseEmergencySpace(), true);
  });
});

describe('isOutOfSpace', () => {
  it('recognises ENOSPC and EDQUOT, also as the cause of an AppError or in its message', () => {
    assert.equal(isOutOfSpace(errno('ENOSPC')), true);
    assert.equal(isOutOfSpace(errno('EDQUOT')), true);
    assert.equal(isOutOfSpace(new AppError('RECORDING_IO', 'cannot write x.wav', { cause: errno('ENOSPC') })), true);
    assert.equal(isOutOfSpace(new AppError('RECORDING_IO', 'cannot write x.wav: ENOSPC')), true);
  });

  it('is false for other I/O errors and non-errors', () => {
    assert.equal(isOutOfSpace(errno('EIO')), false);
    assert.equal(isOutOfSpace(new AppError('RECORDING_IO', 'cannot write x.wav', { cause: errno('EIO') })), false);
    assert.equal(isOutOfSpace(undefined), false);
    assert.equal(isOutOfSpace('ENOSPC'), false);
  });
});
