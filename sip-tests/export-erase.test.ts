/**
 * Export and erasure end to end through the real callrec (issue 9, SPEC §7): three recorded calls
 * from one caller — two of profile `trading`, archived to a real Samba share and a real OpenSSH
 * server with `uploads.keepLocal: false` (spool copy removed), one of profile `service` without
 * targets (kept in the spool) — then, as an admin would, through `bin/callrec`:
 *  - `export --number` with the number in another format builds a package in which
 *    `verify.sh <out>/<id> <out>/certificate.pem` verifies every recording (the archived ones
 *    downloaded from the targets); files 0600, folders 0700; a tampered WAV makes verify.sh fail;
 *    an output folder that is not empty is refused (exit 2);
 *  - `erase --number` (another format again) deletes the recordings from spool, SMB and SFTP,
 *    refuses the one under legal hold (exit 1) and leaves it everywhere; `recordings list --json`
 *    no longer lists the erased ones and the catalogue keeps only a pseudonym;
 *  - `--force` without `--reason` is a usage error (exit 2);
 *  - `callrec audit` shows the export and the erasure.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { appendFile, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { repoRoot } from '../test/support/paths.js';
import { sambaSkipReason, startSamba, type SambaServer } from '../test/support/samba.js';
import { sshdSkipReason, startSshd, type SshdServer } from '../test/support/sshd.js';
import { assertCallSucceeded, CALLER_USER, startTestbed, type Testbed } from './support/b2bua.js';
import { runMediaCall } from './support/media.js';

const run = promisify(execFile);

const TRADING_NUMBER = '+4930123456500';
const SERVICE_NUMBER = '+4930123456600';
/** The caller of every call (the UAC's From user) in two other spellings. */
const NUMBER_AS_DIALLED = '0049 40 111222';
const NUMBER_SPACED = '+49 (40) 111-222';

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

const exists = (path: string): Promise<boolean> =>
  stat(path).then(
    () => true,
    () => false,
  );

describe('export and erase a number through the real callrec', { concurrency: false }, () => {
  const skip = sambaSkipReason() ?? sshdSkipReason();
  let samba: SambaServer | undefined;
  let sshd: SshdServer | undefined;
  let bed: Testbed | undefined;
  let work: string | undefined;
  /** Recording ids: [trading, service, trading]. */
  const ids: string[] = [];
  const cli = (...args: string[]): ReturnType<typeof runCli> => {
    assert.ok(bed !== undefined);
    return runCli([...args, '--config', bed.callrec.configPath]);
  };

  before(async () => {
    if (skip !== undefined) return;
    [samba, sshd, work] = await Promise.all([
      startSamba(),
      startSshd(),
      mkdtemp(join(tmpdir(), 'callrec-export-e2e-')),
    ]);
    const sftpUser = sshd.users.password;
    const profile = { channels: 'both-stereo', consent: { legalBasis: 'obligation' }, signing: true };
    bed = await startTestbed({
      config: {
        users: [{ id: 'alice', extension: '201', numbers: ['+4930123456201'] }],
        groups: [
          { id: 'trading', numbers: [TRADING_NUMBER], members: ['alice'] },
          { id: 'service', numbers: [SERVICE_NUMBER], members: ['alice'] },
        ],
        profiles: [
          { id: 'trading', groups: ['trading'], ...profile, retentionDays: 2557, targets: ['nas', 'sftp'] },
          { id: 'service', groups: ['service'], ...profile, retentionDays: 90, targets: [] },
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
            folder: 'Recordings/$Y/$M',
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
        uploads: { intervalSeconds: 2, keepLocal: false, concurrency: 2, maxBackoffSeconds: 10 },
      },
    });
  });

  after(async () => {
    await bed?.stop();
    await Promise.all([samba?.stop(), sshd?.stop()]);
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  const logs = (): Array<Record<string, unknown>> => bed?.callrec.logs() ?? [];
  const waitForLog = async (what: string, match: (line: Record<string, unknown>) => boolean): Promise<void> => {
    const deadline = Date.now() + 60_000;
    while (!logs().some(match)) {
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const spool = (id: string): string => join(bed?.callrec.dir ?? '', 'data', 'recordings', id);
  const onTargets = async (id: string): Promise<string[]> => {
    assert.ok(samba !== undefined && sshd !== undefined);
    const files = [
      ...(await walk(samba.dir)).map((file) => `nas:${file}`),
      ...(await walk(sshd.users.password.home)).map((file) => `sftp:${file}`),
    ];
    return files.filter((file) => file.split('/').pop()?.startsWith(id) === true);
  };

  it(
    'records three calls of one caller: two archived to SMB and SFTP (spool removed), one kept in the spool',
    { skip },
    async () => {
      assert.ok(bed !== undefined);
      for (const service of [TRADING_NUMBER, SERVICE_NUMBER, TRADING_NUMBER]) {
        const before = logs().length;
        const result = await runMediaCall(bed, { direction: 'inbound', service, audioMs: 1500 });
        assertCallSucceeded(result);
        const started = logs()
          .slice(before)
          .find((line) => line['msg'] === 'call started');
        assert.ok(started !== undefined, 'a "call started" line');
        ids.push(String(started['call']));
      }
      for (const id of ids) {
        await waitForLog(`"recording finished" of ${id}`, (l) => l['call'] === id && l['msg'] === 'recording finished');
      }
      for (const id of [ids[0], ids[2]]) {
        await waitForLog(
          `"recording archived" of ${id}`,
          (l) => l['recordingId'] === id && l['msg'] === 'recording archived',
        );
        const deadline = Date.now() + 30_000;
        while (await exists(spool(String(id)))) {
          if (Date.now() > deadline) assert.fail(`the spool copy of ${String(id)} was not removed`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        assert.equal((await onTargets(String(id))).length, 8, `four files on each target for ${String(id)}`);
      }
      assert.ok(
        await exists(join(spool(String(ids[1])), `${String(ids[1])}.sha256`)),
        'the service recording stays in the spool',
      );
    },
  );

  it(
    'export --number in another format: a package verify.sh checks with the exported certificate',
    { skip },
    async () => {
      assert.ok(work !== undefined && ids.length === 3);
      const out = join(work, 'package');
      const exported = await cli('export', '--number', NUMBER_AS_DIALLED, '--out', out);
      assert.equal(exported.code, 0, exported.stdout + exported.stderr);
      assert.match(
        exported.stdout,
        new RegExp(`exported 3 recording\\(s\\) involving \\${CALLER_USER} to ${out}: 3 verified`),
      );
      assert.deepEqual(
        (await readdir(out)).sort(),
        [...ids, 'README.txt', 'certificate.pem', 'summary.csv', 'verify.sh'].sort(),
      );
      assert.equal((await stat(out)).mode & 0o777, 0o700);
      const csv = (await readFile(join(out, 'summary.csv'), 'utf8')).trimEnd().split('\r\n');
      assert.equal(csv.length, 4, csv.join('\n'));
      for (const [index, id] of ids.entries()) {
        const line = csv.find((row) => row.startsWith(`${id},`));
        assert.ok(line !== undefined, `${id} in summary.csv`);
        assert.match(line, new RegExp(`,inbound,\\${CALLER_USER},`));
        assert.match(line, index === 1 ? /,yes,spool,$/ : /,yes,target (nas|sftp),$/, line);
        assert.deepEqual((await readdir(join(out, id))).sort(), [
          `${id}.json`,
          `${id}.sha256`,
          `${id}.sha256.SHA256withRSA.sig`,
          `${id}.wav`,
        ]);
        assert.equal((await stat(join(out, id))).mode & 0o777, 0o700);
        assert.equal((await stat(join(out, id, `${id}.wav`))).mode & 0o777, 0o600);
        const verified = await run('bash', [join(out, 'verify.sh'), join(out, id), join(out, 'certificate.pem')]);
        assert.match(verified.stdout, new RegExp(`^OK ${id}$`, 'm'), verified.stdout);
      }
      assert.match(await readFile(join(out, 'README.txt'), 'utf8'), /\.\/verify\.sh .* certificate\.pem/);

      const tampered = String(ids[0]);
      await appendFile(join(out, tampered, `${tampered}.wav`), Buffer.from([0]));
      const failed = await run('bash', [
        join(out, 'verify.sh'),
        join(out, tampered),
        join(out, 'certificate.pem'),
      ]).then(
        () => assert.fail('verify.sh passed a tampered WAV'),
        (error: { code: number; stdout: string }) => error,
      );
      assert.equal(failed.code, 1);
      assert.match(
        failed.stdout,
        new RegExp(`^FAIL ${tampered}: .*${tampered}\\.wav does not match its checksum`, 'm'),
      );

      const again = await cli('export', '--number', NUMBER_AS_DIALLED, '--out', out);
      assert.equal(again.code, 2, again.stdout + again.stderr);
      assert.match(again.stderr, /not empty/);
    },
  );

  it(
    'erase --number removes the recordings from spool, SMB and SFTP and is refused under legal hold',
    { skip },
    async () => {
      assert.ok(ids.length === 3);
      const [first, second, held] = ids.map(String) as [string, string, string];
      const hold = await cli('recordings', 'hold', held, '--reason', 'complaint 2024-17');
      assert.equal(hold.code, 0, hold.stdout + hold.stderr);

      const usage = await cli('erase', '--number', NUMBER_SPACED, '--force');
      assert.equal(usage.code, 2, usage.stdout + usage.stderr);
      assert.match(usage.stderr, /--force needs --reason/);

      const erased = await cli('erase', '--number', NUMBER_SPACED, '--force', '--reason', 'data subject request 17');
      assert.equal(erased.code, 1, erased.stdout + erased.stderr);
      assert.match(erased.stdout, new RegExp(`^erased ${first} from .*target nas.*target sftp`, 'm'));
      assert.match(erased.stdout, new RegExp(`^erased ${second} from spool`, 'm'));
      assert.match(erased.stdout, new RegExp(`^REFUSED ${held}: under legal hold .*wins over --force`, 'm'));
      assert.match(erased.stdout, /2 erased, 1 refused, 0 failed/);
      assert.ok(!erased.stdout.includes(CALLER_USER), 'the number is masked in the output');

      assert.deepEqual(await onTargets(first), [], 'nothing of the erased recording on SMB or SFTP');
      assert.equal(await exists(spool(second)), false, 'the spooled recording is gone');
      assert.equal((await onTargets(held)).length, 8, 'the held recording stays on both targets');

      const listed = await cli('recordings', 'list', '--json');
      assert.equal(listed.code, 0, listed.stderr);
      const rows = JSON.parse(listed.stdout) as Array<Record<string, unknown>>;
      assert.deepEqual(
        rows.map((row) => [row['id'], row['hold']]),
        [[held, true]],
      );
      const all = JSON.parse((await cli('recordings', 'list', '--json', '--all')).stdout) as Array<
        Record<string, unknown>
      >;
      const gone = all.find((row) => row['id'] === first);
      assert.equal(gone?.['state'], 'deleted');
      assert.match(String(gone?.['caller']), /^erased:[0-9a-f]{12}$/);
      const byNumber = JSON.parse(
        (await cli('recordings', 'list', '--json', '--all', '--number', NUMBER_AS_DIALLED)).stdout,
      ) as unknown[];
      assert.equal(byNumber.length, 1, 'only the held recording still carries the number');
    },
  );

  it('callrec audit shows the export and the erasure', { skip }, async () => {
    const audit = await cli('audit');
    assert.equal(audit.code, 0, audit.stderr);
    assert.match(audit.stdout, new RegExp(` export number:\\${CALLER_USER} \\{"count":3,`));
    assert.match(audit.stdout, / erase number:erased:[0-9a-f]{12} \{.*"erased":2,"refused":1,/);
    assert.match(audit.stdout, /"reason":"data subject request 17"/);
  });
});
