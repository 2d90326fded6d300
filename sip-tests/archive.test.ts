/**
 * End to end through the real callrec (issue 8 "Archive", SPEC §6): recorded calls land on every
 * target of their profile — a local directory, a real Samba share (NTLMv2 only, SMB2+) and a real
 * OpenSSH server — with the folder template expanded from the recording's answer time:
 *  - local `<root>/$Y/$M/$D`, SMB `Recordings/$Y/$M/Record-$Y_$M_$D`, SFTP `calls/$Y-$M-$D`;
 *  - each target folder holds metadata, audio, checksum file and signature, no `*.callrec-partial`,
 *    and `shasum -a 256 -c <id>.sha256` passes there (read from the servers' disks);
 *  - the spool folder `<dataDir>/recordings/<id>` is gone once every target has the recording
 *    (`uploads.keepLocal: false`);
 *  - `callrec uploads status --json` counts the uploads done per target and exits 0.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { repoRoot } from '../test/support/paths.js';
import { sambaSkipReason, startSamba, type SambaServer } from '../test/support/samba.js';
import { sshdSkipReason, startSshd, type SshdServer } from '../test/support/sshd.js';
import { assertCallSucceeded, CALLED_NUMBER, startTestbed, type Testbed } from './support/b2bua.js';
import { runMediaCall } from './support/media.js';

const run = promisify(execFile);

const GROUP_NUMBER = CALLED_NUMBER.inbound;
const LOCAL_TEMPLATE = '$Y/$M/$D';
const SMB_TEMPLATE = 'Recordings/$Y/$M/Record-$Y_$M_$D';
const SFTP_TEMPLATE = 'calls/$Y-$M-$D';

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

/** `template` expanded with the host's local date fields of `at` (the default `uploads.timezone`). */
function expandLocal(template: string, at: Date): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  return template
    .replaceAll('$Y', String(at.getFullYear()))
    .replaceAll('$M', pad(at.getMonth() + 1))
    .replaceAll('$D', pad(at.getDate()));
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

describe('archive: recorded calls land on local, SMB and SFTP targets', { concurrency: false }, () => {
  const skip = sambaSkipReason() ?? sshdSkipReason();
  let samba: SambaServer | undefined;
  let sshd: SshdServer | undefined;
  let localRoot: string | undefined;
  let bed: Testbed | undefined;
  const ids: string[] = [];

  before(async () => {
    if (skip !== undefined) return;
    [samba, sshd, localRoot] = await Promise.all([
      startSamba(),
      startSshd(),
      mkdtemp(join(tmpdir(), 'callrec-archive-local-')),
    ]);
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
            targets: ['local', 'nas', 'sftp'],
          },
        ],
        targets: [
          { id: 'local', type: 'local', path: join(localRoot, LOCAL_TEMPLATE) },
          {
            id: 'nas',
            type: 'smb',
            host: samba.host,
            port: samba.port,
            share: samba.share,
            domain: samba.domain,
            username: samba.username,
            password: samba.password,
            folder: SMB_TEMPLATE,
          },
          {
            id: 'sftp',
            type: 'sftp',
            host: sshd.host,
            port: sshd.port,
            username: sftpUser.username,
            password: sftpUser.password,
            hostKey: sshd.hostKeyFingerprint,
            folder: SFTP_TEMPLATE,
          },
        ],
        // No `timezone`: the templates expand in the host's local zone (the default).
        uploads: { intervalSeconds: 2, keepLocal: false, concurrency: 2, maxBackoffSeconds: 10 },
      },
    });
  });

  after(async () => {
    await bed?.stop();
    await Promise.all([samba?.stop(), sshd?.stop()]);
    if (localRoot !== undefined) await rm(localRoot, { recursive: true, force: true });
  });

  const logs = (): Array<Record<string, unknown>> => bed?.callrec.logs() ?? [];
  const waitForLog = async (
    what: string,
    match: (line: Record<string, unknown>) => boolean,
    timeoutMs = 30_000,
  ): Promise<Record<string, unknown>> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = logs().find(match);
      if (found !== undefined) return found;
      if (Date.now() > deadline) {
        const archive = logs().filter((l) => /upload|archiv|recording/.test(String(l['msg'])));
        assert.fail(`timed out waiting for ${what}; archive log lines:\n${JSON.stringify(archive, null, 1)}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  it('records two calls and archives both to every target', { skip }, async () => {
    assert.ok(bed !== undefined);
    for (let call = 0; call < 2; call++) {
      const before = logs().length;
      const result = await runMediaCall(bed, { direction: 'inbound', service: GROUP_NUMBER, audioMs: 2000 });
      assertCallSucceeded(result);
      const started = logs()
        .slice(before)
        .find((l) => l['msg'] === 'call started');
      assert.ok(started !== undefined, 'a "call started" line');
      ids.push(String(started['call']));
    }
    for (const id of ids) {
      await waitForLog(`"recording finished" of ${id}`, (l) => l['call'] === id && l['msg'] === 'recording finished');
      await waitForLog(
        `"recording archived" of ${id}`,
        (l) => l['recordingId'] === id && l['msg'] === 'recording archived',
      );
      const delivered = logs()
        .filter((l) => l['recordingId'] === id && l['msg'] === 'upload delivered')
        .map((l) => String(l['targetId']))
        .sort();
      assert.deepEqual(delivered, ['local', 'nas', 'sftp'], `one "upload delivered" per target for ${id}`);
    }
  });

  it('puts each recording into the folder its template names, complete and verifiable', { skip }, async () => {
    assert.ok(bed !== undefined && samba !== undefined && sshd !== undefined && localRoot !== undefined);
    assert.equal(ids.length, 2, 'the calls of the first test');
    const roots = { local: localRoot, nas: samba.dir, sftp: sshd.users.password.home };
    const templates = { local: LOCAL_TEMPLATE, nas: SMB_TEMPLATE, sftp: SFTP_TEMPLATE };
    const everything = Object.fromEntries(
      await Promise.all(Object.entries(roots).map(async ([target, root]) => [target, await walk(root)] as const)),
    ) as Record<keyof typeof roots, string[]>;
    for (const [target, files] of Object.entries(everything)) {
      assert.deepEqual(
        files.filter((f) => f.endsWith('.callrec-partial')),
        [],
        `no temporary left on ${target}`,
      );
    }
    for (const id of ids) {
      // The spool copy is gone; the metadata is read from the local target.
      const jsonOnLocal = everything.local.find((f) => f.endsWith(`/${id}.json`));
      assert.ok(jsonOnLocal !== undefined, `${id}.json on the local target: ${everything.local.join(', ')}`);
      const metadata = JSON.parse(await readFile(join(localRoot, jsonOnLocal), 'utf8')) as Record<string, unknown>;
      assert.equal(metadata['profile'], 'trading');
      const answer = new Date(String(metadata['answer']));
      assert.ok(!Number.isNaN(answer.getTime()), `metadata answer time: ${String(metadata['answer'])}`);
      for (const target of ['local', 'nas', 'sftp'] as const) {
        const folder = expandLocal(templates[target], answer);
        const dir = join(roots[target], folder);
        const names = (await readdir(dir)).filter((name) => name.startsWith(id)).sort();
        assert.deepEqual(
          names,
          [`${id}.json`, `${id}.sha256`, `${id}.sha256.SHA256withRSA.sig`, `${id}.wav`],
          `${target}: the recording's files in ${folder}`,
        );
        for (const name of names) assert.ok((await stat(join(dir, name))).size > 0, `${target}: ${name} not empty`);
        const check = await run('shasum', ['-a', '256', '-c', `${id}.sha256`], { cwd: dir });
        assert.match(check.stdout, new RegExp(`^${id}\\.wav: OK$`, 'm'), `${target}: shasum -c\n${check.stdout}`);
        assert.match(check.stdout, new RegExp(`^${id}\\.json: OK$`, 'm'), `${target}: shasum -c\n${check.stdout}`);
      }
      await assert.rejects(
        stat(join(bed.callrec.dir, 'data', 'recordings', id)),
        { code: 'ENOENT' },
        `the spool folder of ${id} is removed`,
      );
    }
  });

  it('`uploads status --json` shows both recordings done on every target, exit 0', { skip }, async () => {
    assert.ok(bed !== undefined);
    const status = await runCli(['uploads', 'status', '--json', '--config', bed.callrec.configPath]);
    assert.equal(status.code, 0, status.stdout + status.stderr);
    const rows = JSON.parse(status.stdout) as Array<Record<string, unknown>>;
    assert.deepEqual(
      rows.map((row) => [row['targetId'], row['done'], row['pending'], row['uploading'], row['failed']]),
      [
        ['local', 2, 0, 0, 0],
        ['nas', 2, 0, 0, 0],
        ['sftp', 2, 0, 0, 0],
      ],
      status.stdout,
    );
    const human = await runCli(['uploads', 'status', '--config', bed.callrec.configPath]);
    assert.equal(human.code, 0, human.stdout + human.stderr);
    assert.match(human.stdout, /^nas: 0 pending, 0 uploading, 0 failed, 2 done$/m);
  });
});
