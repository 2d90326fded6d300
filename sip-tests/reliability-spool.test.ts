/**
 * Disk nearly full (SPEC §4 fail policy, §9; issue "Reliability"), through the real callrec and
 * real SIPp, with `<dataDir>/recordings` on a real 8 MiB tmpfs and `installation.spoolReserveMegabytes`
 * 2, filled with a plain file to just under the reserve:
 *  - the `spool-reserve` alarm is logged when callrec notices;
 *  - a call of a profile with `onRecordingFailure: "reject"` gets 503 with Retry-After and a
 *    Warning "recording unavailable: spool below reserve" and never reaches the far side;
 *  - a call of a `continue` profile is connected and recorded into the reserve, its metadata
 *    flagged (incomplete, "recording started while spool below reserve");
 *  - the spool filled to the last KiB during a recorded call: the call is not dropped, the
 *    `recording-failed` alarm is logged, the emergency space is given back so the recording is
 *    closed with the audio that reached the disk, sealed, and its metadata names the ENOSPC.
 * Needs root (mount, and SIPp's raw-socket audio).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, open, readFile, readdir, rm, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { skipOutsideCi } from '../test/support/skip.js';
import { assertCallSucceeded, explainCall, startTestbed, type Testbed } from './support/b2bua.js';
import { databasePath, openDatabase, SqliteCallStore, type CallRecord } from '../src/store/index.js';
import { runMediaCall } from './support/media.js';

const REJECT_NUMBER = '+4930123456500';
const CONTINUE_NUMBER = '+4930123456600';
const MIB = 1024 * 1024;
const RESERVE_MIB = 2;

const profile = (id: string, group: string, onRecordingFailure: 'reject' | 'continue'): Record<string, unknown> => ({
  id,
  enabled: true,
  groups: [group],
  users: [],
  inbound: true,
  outbound: true,
  recordDirectCallsToActiveMembers: false,
  channels: 'both-stereo',
  consent: { legalBasis: 'obligation' },
  signing: true,
  targets: [],
  retentionDays: 30,
  onRecordingFailure,
});

const skip = skipOutsideCi(process.getuid?.() !== 0 ? 'mounting a tmpfs spool needs root' : undefined);

describe('spool free-space reserve and a full disk', { concurrency: false, skip }, () => {
  let root: string;
  let dataDir: string;
  let spool: string;
  let mounted = false;
  let bed: Testbed;
  let filler = 0;

  /** Fills the spool so that `leaveBytes` stay free (one more file each time). */
  const fillTo = async (leaveBytes: number): Promise<void> => {
    const stats = await statfs(spool);
    const free = stats.bavail * stats.bsize;
    let size = Math.max(0, free - leaveBytes);
    const handle = await open(join(spool, `filler-${++filler}.bin`), 'w');
    try {
      const chunk = Buffer.alloc(64 * 1024, 0x5a);
      while (size > 0) {
        const { bytesWritten } = await handle.write(chunk, 0, Math.min(chunk.length, size));
        size -= bytesWritten;
      }
    } finally {
      await handle.close();
    }
  };

  const waitForLog = async (
    predicate: (line: Record<string, unknown>) => boolean,
    what: string,
    timeoutMs = 20_000,
  ): Promise<Record<string, unknown>> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = bed.callrec.logs().find(predicate);
      if (line !== undefined) return line;
      if (Date.now() > deadline) throw new Error(`no log line "${what}" within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  /** The id of the call started after log index `from`, its finished recording's folder and metadata. */
  const recordingAfter = async (
    from: number,
  ): Promise<{ id: string; files: string[]; metadata: Record<string, unknown>; finished: Record<string, unknown> }> => {
    const started = await waitForLog(
      (l) => bed.callrec.logs().indexOf(l) >= from && l['msg'] === 'call started',
      'call started',
    );
    const id = String(started['call']);
    const finished = await waitForLog(
      (l) => l['call'] === id && String(l['msg']).startsWith('recording finished'),
      'recording finished',
    );
    const dir = join(spool, id);
    const metadata = JSON.parse(await readFile(join(dir, `${id}.json`), 'utf8')) as Record<string, unknown>;
    return { id, files: (await readdir(dir)).sort(), metadata, finished };
  };

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'callrec-spool-e2e-'));
    dataDir = join(root, 'data');
    spool = join(dataDir, 'recordings');
    await mkdir(spool, { recursive: true, mode: 0o700 });
    await chmod(dataDir, 0o700);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m,mode=0700', 'tmpfs', spool], { stdio: 'pipe' });
    mounted = true;
    bed = await startTestbed({
      config: {
        installation: { dataDir, spoolReserveMegabytes: RESERVE_MIB },
        users: [
          { id: 'alice', extension: '201', numbers: ['+4930123456201'] },
          { id: 'bob', extension: '202', numbers: ['+4930123456202'] },
        ],
        groups: [
          { id: 'trading', numbers: [REJECT_NUMBER], members: ['alice'] },
          { id: 'sales', numbers: [CONTINUE_NUMBER], members: ['bob'] },
        ],
        profiles: [profile('trading', 'trading', 'reject'), profile('sales', 'sales', 'continue')],
        b2bua: { retryAfterSeconds: 30 },
      },
    });
  });

  after(async () => {
    await bed?.stop();
    if (mounted) execFileSync('umount', [spool]);
    await rm(root, { recursive: true, force: true });
  });

  it('raises the spool-reserve alarm once the spool is filled below its reserve', async () => {
    assert.ok(!bed.callrec.logs().some((l) => l['msg'] === 'alarm: spool-reserve'), 'no alarm with 8 MiB free');
    await fillTo(RESERVE_MIB * MIB - 256 * 1024);
    const alarm = await waitForLog((l) => l['msg'] === 'alarm: spool-reserve', 'alarm: spool-reserve');
    assert.equal(alarm['level'], 'warn');
    assert.equal(alarm['reserveMiB'], RESERVE_MIB);
    assert.ok(Number(alarm['freeMiB']) < RESERVE_MIB);
  });

  it('refuses a call of a "reject" profile with 503, Retry-After and a Warning; the far side sees nothing', async () => {
    const before = bed.callrec.logs().length;
    const run = await bed.call({
      direction: 'inbound',
      uac: 'uac-invite-expect-503-retry-after.xml',
      uas: 'uas-answer-await-bye.xml',
      service: REJECT_NUMBER,
      uasGraceMs: 500,
    });
    assert.equal(run.uac.code, 0, explainCall(run));
    assert.equal(run.uas.messages.length, 0, `nothing reached the callee\n${explainCall(run)}`);
    const refusal = run.uac.messages.find((m) => m.direction === 'received' && m.status === 503);
    assert.ok(refusal !== undefined);
    assert.equal(refusal.header('Retry-After'), '30');
    assert.equal(refusal.header('Warning'), '399 callrec "recording unavailable: spool below reserve"');
    const logged = bed.callrec
      .logs()
      .slice(before)
      .find((l) => l['msg'] === 'new call refused: recording unavailable: spool below reserve');
    assert.equal(logged?.['level'], 'warn');
    assert.equal(logged?.['profile'], 'trading');
    // The refusal is on record: a calls row with the status and the profile that would have recorded it
    const callId = run.uac.messages.find((m) => m.direction === 'sent')?.header('Call-ID');
    const db = await openDatabase(databasePath(dataDir));
    try {
      let row: CallRecord | undefined;
      for (let tries = 0; row === undefined && tries < 50; tries++) {
        row = (await new SqliteCallStore(db).listCalls()).find((r) => r.callIdA === callId);
        if (row === undefined) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.ok(row !== undefined, `a calls row for Call-ID ${String(callId)}`);
      assert.equal(row.finalStatus, 503);
      assert.equal(row.decisionProfile, 'trading');
      assert.equal(row.endReason, 'refused: recording unavailable');
      assert.equal(row.answeredAt, null);
      assert.equal(row.callIdB, null);
      assert.ok(row.endedAt !== null);
    } finally {
      await db.close();
    }
  });

  it('connects and records a call of a "continue" profile, the metadata flagged', async () => {
    const before = bed.callrec.logs().length;
    const run = await runMediaCall(bed, { direction: 'inbound', service: CONTINUE_NUMBER, audioMs: 3000 });
    assertCallSucceeded(run);
    const recording = await recordingAfter(before);
    assert.equal(recording.finished['msg'], 'recording finished incomplete');
    assert.ok(recording.files.includes(`${recording.id}.wav`), recording.files.join(', '));
    assert.ok(recording.files.includes(`${recording.id}.sha256.SHA256withRSA.sig`), 'sealed');
    const completeness = recording.metadata['completeness'] as { complete: boolean; problems: string[] };
    assert.equal(completeness.complete, false);
    assert.ok(
      completeness.problems.includes('recording started while spool below reserve'),
      completeness.problems.join('; '),
    );
  });

  it('keeps a call going when the disk fills up under it, and seals what reached the disk', async () => {
    await fillTo(24 * 1024);
    const before = bed.callrec.logs().length;
    const run = await runMediaCall(bed, { direction: 'inbound', service: CONTINUE_NUMBER, audioMs: 4000 });
    assertCallSucceeded(run);
    const ended = bed.callrec
      .logs()
      .slice(before)
      .find((l) => l['msg'] === 'call ended');
    assert.equal(ended?.['endedBy'], 'caller', 'the caller hung up; callrec did not drop the call');
    const recording = await recordingAfter(before);
    const failed = await waitForLog(
      (l) => bed.callrec.logs().indexOf(l) >= before && l['msg'] === 'alarm: recording-failed',
      'alarm: recording-failed',
    );
    assert.equal(failed['level'], 'error');
    assert.match(String(failed['error']), /ENOSPC/);
    assert.ok(bed.callrec.logs().some((l) => l['msg'] === 'spool full: emergency space released'));
    const completeness = recording.metadata['completeness'] as { complete: boolean; problems: string[] };
    assert.equal(completeness.complete, false);
    assert.ok(
      completeness.problems.some((p) => /ENOSPC/.test(p)),
      `the metadata names the disk error: ${completeness.problems.join('; ')}`,
    );
    assert.ok(
      completeness.problems.some((p) => / ms written before the failure$/.test(p)),
      `the metadata says how much reached the disk: ${completeness.problems.join('; ')}`,
    );
    const files = recording.metadata['files'] as Array<{ name: string; durationMs: number }>;
    assert.ok(files.length >= 1 && files.every((f) => f.durationMs > 0), 'the audio that reached the disk is kept');
    assert.ok(recording.files.includes(`${recording.id}.sha256.SHA256withRSA.sig`), 'sealed');
  });
});
