/**
 * End to end through the real callrec (issue 9, SPEC §7): retention and legal hold on real
 * archive targets — a real Samba share and a real OpenSSH server.
 *  - two recorded calls are archived to SMB and SFTP (spool kept: `uploads.keepLocal`);
 *  - `recordings list --json` shows both `archived` with normalised numbers, found by a number
 *    in another format; `recordings hold` puts one under legal hold (unknown id: exit 1);
 *  - `retention run --dry-run` deletes nothing; `retention run --as-of <start + retentionDays +
 *    1 day>` deletes the other from the spool, the share and the SFTP home (checked on the
 *    servers' directories) and keeps the held one;
 *  - the signed disposal log has the entry and verifies (with the keystore's and an exported
 *    certificate); `callrec audit` shows `recordings.hold`, `recordings.list` and `retention.run`;
 *  - with the share down, retention of the released recording fails (exit 1) and leaves it; once
 *    the share is back the next run deletes it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repoRoot } from '../test/support/paths.js';
import { sambaSkipReason, startSamba, type SambaServer } from '../test/support/samba.js';
import { sshdSkipReason, startSshd, type SshdServer } from '../test/support/sshd.js';
import { assertCallSucceeded, CALLED_NUMBER, CALLER_USER, startTestbed, type Testbed } from './support/b2bua.js';
import { runMediaCall } from './support/media.js';

const GROUP_NUMBER = CALLED_NUMBER.inbound;
const RETENTION_DAYS = 30;
const DAY_MS = 24 * 60 * 60 * 1000;

/** `callrec <args>`: exit code and output. */
function runCli(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(repoRoot, 'bin', 'callrec'), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Every file below `root` (relative paths). */
async function walk(root: string): Promise<string[]> {
  const found: string[] = [];
  const visit = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await visit(path);
      else found.push(relative(root, path));
    }
  };
  await visit(root);
  return found.sort();
}

/** The files of recording `id` below `root`, by base name. */
async function filesOf(root: string, id: string): Promise<string[]> {
  return (await walk(root)).map((path) => path.split('/').pop() ?? path).filter((name) => name.startsWith(id));
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

interface ListedRecording {
  readonly id: string;
  readonly profile: string | null;
  readonly direction: string | null;
  readonly start: string;
  readonly end: string | null;
  readonly caller: string | null;
  readonly callee: string | null;
  readonly state: string;
  readonly hold: boolean;
  readonly holdReason: string | null;
}

describe('retention: expired recordings deleted everywhere, held ones kept', { concurrency: false }, () => {
  const skip = sambaSkipReason() ?? sshdSkipReason();
  let samba: SambaServer | undefined;
  let sshd: SshdServer | undefined;
  let bed: Testbed | undefined;
  const ids: string[] = [];
  let asOf = '';

  before(async () => {
    if (skip !== undefined) return;
    [samba, sshd] = await Promise.all([startSamba(), startSshd()]);
    const sftpUser = sshd.users.password;
    bed = await startTestbed({
      config: {
        users: [{ id: 'alice', extension: '201', numbers: ['+4930123456201'] }],
        groups: [{ id: 'trading', numbers: [GROUP_NUMBER], members: ['alice'] }],
        profiles: [
          {
            id: 'trading',
            groups: ['trading'],
            channels: 'both-stereo',
            consent: { legalBasis: 'obligation' },
            signing: true,
            targets: ['nas', 'sftp'],
            retentionDays: RETENTION_DAYS,
            statutoryRetention: true,
          },
        ],
        targets: [
          {
            id: 'nas',
            type: 'smb',
            host: samba.host,
            port: samba.port,
            share: samba.share,
            domain: samba.domain,
            username: samba.username,
            password: samba.password,
            folder: 'Recordings/$Y/$M/Record-$Y_$M_$D',
          },
          {
            id: 'sftp',
            type: 'sftp',
            host: sshd.host,
            port: sshd.port,
            username: sftpUser.username,
            password: sftpUser.password,
            hostKey: sshd.hostKeyFingerprint,
            folder: 'calls/$Y-$M-$D',
          },
        ],
        uploads: { intervalSeconds: 2, keepLocal: true, concurrency: 2, maxBackoffSeconds: 10 },
      },
    });
  });

  after(async () => {
    await bed?.stop();
    await Promise.all([samba?.stop(), sshd?.stop()]);
  });

  const cli = (...args: string[]): ReturnType<typeof runCli> => {
    assert.ok(bed !== undefined);
    return runCli([...args, '--config', bed.callrec.configPath]);
  };
  const spool = (id: string): string => {
    assert.ok(bed !== undefined);
    return join(bed.callrec.dir, 'data', 'recordings', id);
  };
  const list = async (...args: string[]): Promise<ListedRecording[]> => {
    const listed = await cli('recordings', 'list', '--json', ...args);
    assert.equal(listed.code, 0, listed.stdout + listed.stderr);
    return JSON.parse(listed.stdout) as ListedRecording[];
  };
  const waitForLog = async (what: string, match: (line: Record<string, unknown>) => boolean): Promise<void> => {
    const deadline = Date.now() + 60_000;
    while (!(bed?.callrec.logs() ?? []).some(match)) {
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  it('records two calls and archives both to SMB and SFTP', { skip }, async () => {
    assert.ok(bed !== undefined && samba !== undefined && sshd !== undefined);
    for (let call = 0; call < 2; call++) {
      const before = bed.callrec.logs().length;
      const result = await runMediaCall(bed, { direction: 'inbound', service: GROUP_NUMBER, audioMs: 1500 });
      assertCallSucceeded(result);
      const started = bed.callrec
        .logs()
        .slice(before)
        .find((l) => l['msg'] === 'call started');
      assert.ok(started !== undefined, 'a "call started" line');
      ids.push(String(started['call']));
    }
    for (const id of ids) {
      await waitForLog(
        `"recording archived" of ${id}`,
        (l) => l['recordingId'] === id && l['msg'] === 'recording archived',
      );
      assert.equal((await filesOf(samba.dir, id)).length, 4, `${id} on the share`);
      assert.equal((await filesOf(sshd.users.password.home, id)).length, 4, `${id} on the SFTP server`);
      assert.equal(await exists(join(spool(id), `${id}.wav`)), true, `${id} kept in the spool`);
    }
  });

  it('lists both recordings as archived with normalised numbers, matched in any format', { skip }, async () => {
    assert.equal(ids.length, 2, 'the calls of the first test');
    const all = await list();
    assert.deepEqual(
      all.map((r) => [r.id, r.profile, r.direction, r.caller, r.callee, r.state, r.hold]),
      ids.map((id) => [id, 'trading', 'inbound', CALLER_USER, GROUP_NUMBER, 'archived', false]),
    );
    for (const recording of all) assert.ok(recording.end !== null && recording.end >= recording.start, recording.id);
    const national = `00${CALLER_USER.slice(1, 3)} ${CALLER_USER.slice(3)}`; // "0049 40111222"
    assert.deepEqual(
      (await list('--number', national)).map((r) => r.id),
      ids,
    );
    assert.deepEqual(
      (await list('--number', '500')).map((r) => r.id),
      ids,
      'the extension of the called company DID',
    );
    assert.deepEqual(await list('--number', '+4912345678'), []);
    const latest = Math.max(...all.map((r) => Date.parse(r.start)));
    asOf = new Date(latest + (RETENTION_DAYS + 1) * DAY_MS).toISOString();
  });

  it('puts one recording under legal hold; an unknown id exits 1', { skip }, async () => {
    const [held] = ids;
    assert.ok(held !== undefined);
    const hold = await cli('recordings', 'hold', held, '--reason', 'case 4711');
    assert.equal(hold.code, 0, hold.stdout + hold.stderr);
    assert.match(hold.stdout, /under legal hold/);
    const unknown = await cli('recordings', 'hold', 'no-such-recording', '--reason', 'x');
    assert.equal(unknown.code, 1, unknown.stdout + unknown.stderr);
    assert.match(unknown.stderr, /no recording no-such-recording/);
    const missingReason = await cli('recordings', 'hold', held);
    assert.equal(missingReason.code, 2, missingReason.stderr);
    const listed = await list();
    assert.deepEqual(
      listed.map((r) => [r.id, r.hold, r.holdReason]),
      [
        [held, true, 'case 4711'],
        [ids[1], false, null],
      ],
    );
  });

  it('a dry run lists what would be deleted and deletes nothing', { skip }, async () => {
    assert.ok(samba !== undefined && asOf !== '');
    const [held, expired] = ids;
    assert.ok(held !== undefined && expired !== undefined);
    const dry = await cli('retention', 'run', '--as-of', asOf, '--dry-run');
    assert.equal(dry.code, 0, dry.stdout + dry.stderr);
    assert.match(dry.stdout, new RegExp(`^would delete ${expired} \\(profile trading: retentionDays 30,`, 'm'));
    assert.match(dry.stdout, new RegExp(`^kept ${held} .*legal hold: case 4711\\)$`, 'm'));
    assert.match(
      dry.stdout,
      /2 due, 1 would be deleted \(dry run, nothing deleted\), 1 kept under legal hold, 0 failed/,
    );
    assert.equal((await filesOf(samba.dir, expired)).length, 4);
    assert.equal(await exists(spool(expired)), true);
  });

  it('deletes the expired recording from spool, SMB and SFTP and keeps the held one', { skip }, async () => {
    assert.ok(samba !== undefined && sshd !== undefined);
    const [held, expired] = ids;
    assert.ok(held !== undefined && expired !== undefined);
    const early = await cli('retention', 'run', '--as-of', new Date().toISOString());
    assert.equal(early.code, 0, early.stdout + early.stderr);
    assert.match(early.stdout, /: 0 due, 0 deleted/, 'nothing is due today');

    const run = await cli('retention', 'run', '--as-of', asOf);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, new RegExp(`^deleted ${expired} \\(.*; disposal entry 1\\)$`, 'm'));
    assert.match(run.stdout, /2 due, 1 deleted, 1 kept under legal hold, 0 failed/);
    assert.deepEqual(await filesOf(samba.dir, expired), [], 'gone from the share');
    assert.deepEqual(await filesOf(sshd.users.password.home, expired), [], 'gone from the SFTP server');
    assert.equal(await exists(spool(expired)), false, 'gone from the spool');
    assert.equal((await filesOf(samba.dir, held)).length, 4, 'held: kept on the share');
    assert.equal((await filesOf(sshd.users.password.home, held)).length, 4, 'held: kept on the SFTP server');
    assert.equal(await exists(join(spool(held), `${held}.wav`)), true, 'held: kept in the spool');

    const everything = await list('--all');
    assert.deepEqual(
      everything.map((r) => [r.id, r.state, r.hold]),
      [
        [held, 'archived', true],
        [expired, 'deleted', false],
      ],
    );
    assert.deepEqual(
      (await list()).map((r) => r.id),
      [held],
      'deleted recordings only with --all',
    );
  });

  it('has a signed disposal log entry that verifies, also with the exported certificate', { skip }, async () => {
    assert.ok(bed !== undefined);
    const expired = ids[1];
    const disposals = await cli('recordings', 'disposals', '--json');
    assert.equal(disposals.code, 0, disposals.stdout + disposals.stderr);
    const log = JSON.parse(disposals.stdout) as {
      verified: boolean;
      entries: Array<{
        id: number;
        recordingId: string;
        action: string;
        policy: string;
        actor: string;
        locations: Array<Record<string, unknown>>;
      }>;
    };
    assert.equal(log.verified, true);
    assert.equal(log.entries.length, 1);
    const [entry] = log.entries;
    assert.deepEqual(
      [entry?.recordingId, entry?.action, entry?.policy],
      [expired, 'retention', 'profile trading: retentionDays 30'],
    );
    assert.match(entry?.actor ?? '', /^cli:/);
    assert.deepEqual(
      entry?.locations.map((l) => [l['kind'], l['targetId'] ?? null, l['ok'], (l['deleted'] as unknown[]).length]),
      [
        ['spool', null, true, 4],
        ['target', 'nas', true, 4],
        ['target', 'sftp', true, 4],
      ],
    );
    const certPath = join(bed.callrec.dir, 'cert.pem');
    const exported = await cli('cert', 'export', '--out', certPath);
    assert.equal(exported.code, 0, exported.stderr);
    const human = await cli('recordings', 'disposals', '--cert', certPath);
    assert.equal(human.code, 0, human.stdout + human.stderr);
    assert.match(human.stdout, new RegExp(`^#1 \\S+ retention ${expired} by cli:\\S+: profile trading`, 'm'));
    assert.match(human.stdout, /disposal log: 1 entry; chain and signatures verified/);
  });

  it('shows hold, list and retention runs in the audit log', { skip }, async () => {
    const audit = await cli('audit');
    assert.equal(audit.code, 0, audit.stderr);
    assert.match(audit.stdout, new RegExp(`cli:\\S+ recordings\\.hold ${ids[0]} \\{"reason":"case 4711"\\}`));
    assert.match(audit.stdout, /cli:\S+ recordings\.list number:0049 40111222 /);
    assert.match(audit.stdout, /cli:\S+ retention\.run dry-run .*"wouldDelete":1/);
    assert.match(audit.stdout, /cli:\S+ retention\.run all .*"deleted":1,"wouldDelete":0,"held":1,"failed":0/);
    assert.match(audit.stdout, /callrec retention\.run all /, 'the daily job ran at start');
  });

  it('fails and keeps a released recording while the share is down, deletes it once it is back', { skip }, async () => {
    assert.ok(samba !== undefined && sshd !== undefined);
    const held = ids[0];
    assert.ok(held !== undefined);
    const release = await cli('recordings', 'release', held);
    assert.equal(release.code, 0, release.stdout + release.stderr);
    assert.match(release.stdout, /legal hold released/);
    await samba.suspend();
    let failed;
    try {
      failed = await cli('retention', 'run', '--as-of', asOf);
    } finally {
      await samba.resume();
    }
    assert.equal(failed.code, 1, failed.stdout + failed.stderr);
    assert.match(failed.stderr, new RegExp(`^FAILED ${held} .*target nas .*retried next run$`, 'm'));
    assert.match(failed.stdout, /1 due, 0 deleted, 0 kept under legal hold, 1 failed/);
    assert.equal((await list()).find((r) => r.id === held)?.state, 'archived');
    assert.equal((await filesOf(samba.dir, held)).length, 4, 'still on the share');

    const retried = await cli('retention', 'run', '--as-of', asOf);
    assert.equal(retried.code, 0, retried.stdout + retried.stderr);
    assert.deepEqual(await filesOf(samba.dir, held), []);
    assert.deepEqual(await filesOf(sshd.users.password.home, held), []);
    assert.equal(await exists(spool(held)), false);
    const disposals = await cli('recordings', 'disposals');
    assert.equal(disposals.code, 0, disposals.stdout + disposals.stderr);
    assert.match(disposals.stdout, /disposal log: 2 entries; chain and signatures verified/);
  });
});
