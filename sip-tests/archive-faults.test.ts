/**
 * Archive faults end to end through the real callrec (issue 8 "Archive", SPEC §6):
 *  - target down: with the Samba server stopped the recording stays in the spool and is retried;
 *    `uploads status` exits 1 with the failure and its last error; exactly one mail reaches the
 *    profile's notify address however many attempts fail (digest interval not yet over), naming
 *    the recording but no phone number of the call. Target back (`uploads retry`): delivered into
 *    the UTC folder (`uploads.timezone`), `shasum -c` passes on the share, one "recovered" mail,
 *    the spool folder removed, status exit 0;
 *  - callrec killed (SIGKILL) mid-upload: the SFTP target is reached through a throttling TCP
 *    proxy, so the audio file is still being written under its temporary name when callrec dies.
 *    A new callrec on the same config and data directory queues the interrupted upload again and
 *    completes it: the recording is archived, no `*.callrec-partial` is left on the server and
 *    `shasum -c` passes there.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { repoRoot } from '../test/support/paths.js';
import { sambaSkipReason, startSamba, type SambaServer } from '../test/support/samba.js';
import { startSmtpSink, type SinkMessage, type SmtpSink } from '../test/support/smtp-sink.js';
import { sshdSkipReason, startSshd, type SshdServer } from '../test/support/sshd.js';
import { assertCallSucceeded, CALLED_NUMBER, CALLER_USER, startTestbed, type Testbed } from './support/b2bua.js';
import { runMediaCall } from './support/media.js';
import { runCallrec, waitUntil, type LogLine, type RestartedCallrec } from './support/restart-callrec.js';
import { startThrottledProxy, type ThrottledProxy } from './support/throttle-proxy.js';

const run = promisify(execFile);

const GROUP_NUMBER = CALLED_NUMBER.inbound;
const SMB_TEMPLATE = 'Recordings/$Y/$M/Record-$Y_$M_$D';
const SFTP_TEMPLATE = 'calls/$Y-$M-$D';
const NOTIFY = 'archive-alarms@example.com';

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

/** `callrec uploads status --json`: exit code and the row of `targetId`. */
async function uploadStatus(configPath: string, targetId: string): Promise<{ code: number | null; row: LogLine }> {
  const status = await runCli(['uploads', 'status', '--json', '--config', configPath]);
  assert.ok(status.code === 0 || status.code === 1, `uploads status exit ${status.code}: ${status.stderr}`);
  const row = (JSON.parse(status.stdout) as LogLine[]).find((r) => r['targetId'] === targetId);
  assert.ok(row !== undefined, status.stdout);
  return { code: status.code, row };
}

/** `template` expanded with the UTC date of `at`. */
function expandUtc(template: string, at: Date): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  return template
    .replaceAll('$Y', String(at.getUTCFullYear()))
    .replaceAll('$M', pad(at.getUTCMonth() + 1))
    .replaceAll('$D', pad(at.getUTCDate()));
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

/** The archive's log lines, for failure messages. */
function archiveLines(lines: readonly LogLine[]): string {
  return lines
    .filter((l) => /upload|archiv|recording|notification|interrupted/.test(String(l['msg'])))
    .map((l) => JSON.stringify(l))
    .join('\n');
}

/** The profile recording the group number, with the given targets. */
function profile(targets: readonly string[], notify?: string): LogLine {
  return {
    id: 'trading',
    groups: ['trading'],
    channels: 'both-stereo',
    consent: { legalBasis: 'obligation' },
    signing: true,
    targets,
    ...(notify === undefined ? {} : { notify }),
  };
}

const MEMBERSHIP = {
  users: [{ id: 'alice', extension: '201', numbers: ['+4930123456201'] }],
  groups: [{ id: 'trading', numbers: [GROUP_NUMBER], members: ['alice'] }],
};

/** One recorded call to the group number; resolves with the recording id once it is sealed. */
async function recordedCall(bed: Testbed, audioMs: number): Promise<string> {
  const before = bed.callrec.logs().length;
  const result = await runMediaCall(bed, { direction: 'inbound', service: GROUP_NUMBER, audioMs });
  assertCallSucceeded(result);
  const started = bed.callrec
    .logs()
    .slice(before)
    .find((l) => l['msg'] === 'call started');
  assert.ok(started !== undefined, 'a "call started" line');
  const id = String(started['call']);
  await waitUntil(
    `"recording finished" of ${id}`,
    () => bed.callrec.logs().find((l) => l['call'] === id && l['msg'] === 'recording finished'),
    15_000,
  );
  return id;
}

/** The phone numbers of the test calls, as dialled and as digits only. */
const PERSONAL = [GROUP_NUMBER, CALLER_USER].flatMap((n) => [n, n.replace(/^\+/, '')]);

function assertNoPhoneNumbers(message: SinkMessage): void {
  for (const text of [message.subject, message.text, message.raw]) {
    for (const number of PERSONAL) {
      assert.ok(
        !text.includes(number),
        `the mail shows the phone number ${number}:\n${message.subject}\n${message.text}`,
      );
    }
  }
}

describe('archive fault: target down, then back', { concurrency: false }, () => {
  const skip = sambaSkipReason();
  let samba: SambaServer | undefined;
  let sink: SmtpSink | undefined;
  let bed: Testbed | undefined;
  let id = '';
  let spool = '';

  before(async () => {
    if (skip !== undefined) return;
    [samba, sink] = await Promise.all([startSamba(), startSmtpSink()]);
    bed = await startTestbed({
      config: {
        ...MEMBERSHIP,
        profiles: [profile(['nas'], NOTIFY)],
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
            folder: SMB_TEMPLATE,
          },
        ],
        uploads: { intervalSeconds: 1, maxBackoffSeconds: 2, keepLocal: false, concurrency: 2, timezone: 'UTC' },
        email: {
          smtp: { host: sink.host, port: sink.port, secure: false },
          from: 'callrec@example.com',
          personalData: false,
          digestMinutes: 60,
        },
      },
    });
  });

  after(async () => {
    await bed?.stop();
    await Promise.all([samba?.stop(), sink?.stop()]);
  });

  const logs = (): LogLine[] => bed?.callrec.logs() ?? [];
  const failedAttempts = (): LogLine[] =>
    logs().filter((l) => l['recordingId'] === id && l['msg'] === 'upload attempt failed');

  it('keeps the recording in the spool while the share is down, reports it and mails once', { skip }, async () => {
    assert.ok(bed !== undefined && samba !== undefined && sink !== undefined);
    await samba.suspend();
    id = await recordedCall(bed, 2000);
    spool = join(bed.callrec.dir, 'data', 'recordings', id);
    // Several attempts fail (1 s, then every 2 s): still one mail, the digest waits 60 minutes.
    await waitUntil(
      'three failed attempts',
      () => (failedAttempts().length >= 3 ? true : undefined),
      15_000,
      () => archiveLines(logs()),
    );
    assert.deepEqual(
      (await readdir(spool)).sort(),
      [`${id}.json`, `${id}.sha256`, `${id}.sha256.SHA256withRSA.sig`, `${id}.wav`],
      'the recording stays in the spool',
    );
    assert.equal(failedAttempts()[0]?.['targetId'], 'nas');

    // The row is "failed" between attempts; an attempt in flight shows as "uploading".
    const status = await waitUntil(
      'uploads status exit 1',
      async () => {
        const result = await uploadStatus(bed!.callrec.configPath, 'nas');
        return result.code === 1 ? result : undefined;
      },
      10_000,
    );
    assert.equal(status.row['failed'], 1, JSON.stringify(status.row));
    assert.equal(status.row['done'], 0, JSON.stringify(status.row));
    assert.match(String(status.row['lastError']), /^ARCHIVE_CONNECT: /, JSON.stringify(status.row));
    assert.ok(status.row['nextAttemptAt'] !== null, JSON.stringify(status.row));
    const human = await runCli(['uploads', 'status', '--config', bed.callrec.configPath]);
    assert.equal(human.code, 1, human.stdout + human.stderr);
    assert.match(human.stdout, /^nas: 0 pending, 0 uploading, 1 failed, 0 done; .*last error: ARCHIVE_CONNECT: /m);

    await sink.waitForMessages(1, 5000);
    assert.equal(sink.messages.length, 1, sink.messages.map((m) => m.subject).join('\n'));
    const [mail] = sink.messages;
    assert.ok(mail !== undefined);
    assert.deepEqual(mail.to, [NOTIFY]);
    assert.match(mail.subject, /failed/i);
    assert.match(mail.subject, /nas/);
    assert.ok(mail.text.includes(id), `the mail names the recording ${id}:\n${mail.text}`);
    assert.match(mail.text, /ARCHIVE_CONNECT/);
    assertNoPhoneNumbers(mail);
  });

  it('delivers once the share is back, mails "recovered" and cleans the spool', { skip }, async () => {
    assert.ok(bed !== undefined && samba !== undefined && sink !== undefined && id !== '');
    const metadata = JSON.parse(await readFile(join(spool, `${id}.json`), 'utf8')) as LogLine;
    const folder = expandUtc(SMB_TEMPLATE, new Date(String(metadata['answer'])));
    await samba.resume();
    const retry = await runCli(['uploads', 'retry', 'nas', '--config', bed.callrec.configPath]);
    assert.equal(retry.code, 0, retry.stdout + retry.stderr);
    assert.match(retry.stdout, /failed upload\(s\) queued for retry/);

    await waitUntil(
      '"recording archived"',
      () => logs().find((l) => l['recordingId'] === id && l['msg'] === 'recording archived'),
      20_000,
      () => archiveLines(logs()),
    );
    await sink.waitForMessages(2, 5000);
    const recovered = sink.messages[1];
    assert.ok(recovered !== undefined);
    assert.deepEqual(recovered.to, [NOTIFY]);
    assert.match(recovered.subject, /recovered/i);
    assertNoPhoneNumbers(recovered);

    const dir = join(samba.dir, folder);
    assert.deepEqual(
      (await readdir(dir)).sort(),
      [`${id}.json`, `${id}.sha256`, `${id}.sha256.SHA256withRSA.sig`, `${id}.wav`],
      `the files in ${folder} on the share, no temporary`,
    );
    const check = await run('shasum', ['-a', '256', '-c', `${id}.sha256`], { cwd: dir });
    assert.match(check.stdout, new RegExp(`^${id}\\.wav: OK$`, 'm'), check.stdout);
    await assert.rejects(stat(spool), { code: 'ENOENT' }, 'the spool folder is removed');

    const status = await uploadStatus(bed.callrec.configPath, 'nas');
    assert.equal(status.code, 0, JSON.stringify(status.row));
    assert.equal(status.row['done'], 1);
    assert.equal(status.row['failed'], 0);
    // Nothing more was mailed after "recovered".
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(sink.messages.length, 2, sink.messages.map((m) => m.subject).join('\n'));
  });
});

describe('archive fault: callrec killed mid-upload', { concurrency: false }, () => {
  const skip = sshdSkipReason();
  let sshd: SshdServer | undefined;
  let proxy: ThrottledProxy | undefined;
  let bed: Testbed | undefined;
  let restarted: RestartedCallrec | undefined;

  before(async () => {
    if (skip !== undefined) return;
    sshd = await startSshd();
    // ~48 KB/s: the audio file (~200 KB) takes seconds, its first 128 KiB write arrives after ~3 s.
    proxy = await startThrottledProxy(sshd.host, sshd.port, 48 * 1024);
    const user = sshd.users.password;
    bed = await startTestbed({
      config: {
        ...MEMBERSHIP,
        profiles: [profile(['sftp'])],
        targets: [
          {
            id: 'sftp',
            type: 'sftp',
            host: '127.0.0.1',
            port: proxy.port,
            username: user.username,
            password: user.password,
            hostKey: sshd.hostKeyFingerprint,
            folder: SFTP_TEMPLATE,
          },
        ],
        uploads: { intervalSeconds: 1, maxBackoffSeconds: 2, keepLocal: false, concurrency: 2, timezone: 'UTC' },
      },
    });
  });

  after(async () => {
    await restarted?.stop();
    await bed?.stop(); // removes the shared config and data directory
    await proxy?.close();
    await sshd?.stop();
  });

  it('completes the interrupted upload after a restart, leaving no temporary on the server', { skip }, async (t) => {
    assert.ok(bed !== undefined && sshd !== undefined && proxy !== undefined);
    const home = sshd.users.password.home;
    const id = await recordedCall(bed, 6000);
    const spool = join(bed.callrec.dir, 'data', 'recordings', id);
    const metadata = JSON.parse(await readFile(join(spool, `${id}.json`), 'utf8')) as LogLine;
    const folder = expandUtc(SFTP_TEMPLATE, new Date(String(metadata['answer'])));
    const wavSize = (await stat(join(spool, `${id}.wav`))).size;
    const partial = join(home, folder, `.${id}.wav.callrec-partial`);

    // Mid-upload: the audio's temporary holds some of its bytes, but not all.
    const written = await waitUntil(
      `a partly written ${partial}`,
      async () => {
        const size = (await stat(partial).catch(() => undefined))?.size;
        return size !== undefined && size > 0 ? size : undefined;
      },
      20_000,
      () => archiveLines(bed!.callrec.logs()),
    );
    bed.callrec.child.kill('SIGKILL');
    await new Promise<void>((resolve) => {
      if (bed!.callrec.child.exitCode !== null || bed!.callrec.child.signalCode !== null) resolve();
      else bed!.callrec.child.once('exit', () => resolve());
    });
    t.diagnostic(`callrec killed with ${written} of ${wavSize} audio bytes in the temporary`);
    assert.ok(written < wavSize, `killed mid-upload: ${written} of ${wavSize} bytes written`);
    assert.equal(
      bed.callrec.logs().find((l) => l['msg'] === 'upload delivered'),
      undefined,
      'nothing was delivered before the kill',
    );
    assert.ok((await stat(partial)).size < wavSize, 'the temporary stays behind, incomplete');
    assert.deepEqual(
      (await readdir(join(home, folder))).filter((name) => name === `${id}.wav`),
      [],
      'no partial file under the final name',
    );

    proxy.bytesPerSecond = Infinity;
    restarted = await runCallrec(bed.callrec.configPath);
    const current = restarted;
    await waitUntil(
      '"recording archived" after the restart',
      () => current.logs().find((l) => l['recordingId'] === id && l['msg'] === 'recording archived'),
      20_000,
      () => archiveLines(current.logs()),
    );
    const requeued = current.logs().find((l) => l['msg'] === 'interrupted uploads queued again');
    assert.equal(requeued?.['uploads'], 1, archiveLines(current.logs()));

    assert.deepEqual(
      (await walk(home)).filter((f) => f.endsWith('.callrec-partial')),
      [],
      'no temporary left on the server',
    );
    const dir = join(home, folder);
    assert.deepEqual(
      (await readdir(dir)).sort(),
      [`${id}.json`, `${id}.sha256`, `${id}.sha256.SHA256withRSA.sig`, `${id}.wav`],
      `the files in ${folder}`,
    );
    assert.equal((await stat(join(dir, `${id}.wav`))).size, wavSize);
    const check = await run('shasum', ['-a', '256', '-c', `${id}.sha256`], { cwd: dir });
    assert.match(check.stdout, new RegExp(`^${id}\\.wav: OK$`, 'm'), check.stdout);
    assert.match(check.stdout, new RegExp(`^${id}\\.json: OK$`, 'm'), check.stdout);
    await assert.rejects(stat(spool), { code: 'ENOENT' }, 'the spool folder is removed');
    const status = await uploadStatus(bed.callrec.configPath, 'sftp');
    assert.equal(status.code, 0, JSON.stringify(status.row));
    assert.equal(status.row['done'], 1, JSON.stringify(status.row));
  });
});
