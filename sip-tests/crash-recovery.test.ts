/**
 * Crash recovery end to end (issue 10, SPEC §9) through the real callrec and SIPp calls with audio
 * (caller 440 Hz, callee 1000 Hz), recorded in both-stereo and archived to a local target:
 *  - `kill -9` of callrec 7 s into a recorded call: the restarted callrec repairs the per-party
 *    files, merges them, seals the recording with end reason `recovered` and the gap stated, and
 *    archives it; the audio covers the call up to within 2 s of the kill, both channels carry their
 *    own tone up to there, and `callrec verify` passes on the archived copy;
 *  - a second `callrec run` and `callrec recover` on the same data directory are refused while
 *    callrec runs (`<dataDir>/callrec.pid`);
 *  - `callrec recover` on a crashed data directory, without SIP: the recording is repaired and
 *    sealed in the spool and queued; the next `callrec run` archives it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { repoRoot } from '../test/support/paths.js';
import { CALLED_NUMBER, startTestbed, type Testbed } from './support/b2bua.js';
import { channelHasToneOnly, dominantToneSegments, readWav } from './support/audio-analysis.js';
import { CALLEE_TONE_HZ, CALLER_TONE_HZ, runMediaCall, type MediaCallRun } from './support/media.js';
import { parsePromText, sampleValue } from '../test/support/prom-text.js';
import { runCallrec, waitUntil, type LogLine, type RestartedCallrec } from './support/restart-callrec.js';

const GROUP_NUMBER = CALLED_NUMBER.inbound;
/** The call would last this long; callrec is killed well before. */
const AUDIO_MS = 12_000;
const KILL_AFTER_MS = 7000;
const GAP_STATEMENT = /^callrec stopped at about \S+Z; audio after \S+Z is missing; the call's real end is unknown$/;

/** `callrec <args>`: exit code and output; killed (and failed) if it runs longer than `timeoutMs`. */
function runCli(
  args: readonly string[],
  timeoutMs = 60_000,
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(repoRoot, 'bin', 'callrec'), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    const timer = setTimeout(() => {
      err += `\n(still running after ${timeoutMs} ms: killed)`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

/** `Record-<Y>_<M>_<D>` of `at` in UTC (`uploads.timezone`). */
const dayFolder = (at: string): string => `Record-${at.slice(0, 10).replaceAll('-', '_')}`;

/** Where a tone last dominates a channel, in ms from the start of the file. */
function lastToneEndMs(channel: { samples: Int16Array; sampleRate: number }, freq: number): number {
  const segments = dominantToneSegments(channel.samples, channel.sampleRate, [CALLER_TONE_HZ, CALLEE_TONE_HZ]);
  return segments.filter((segment) => segment.freq === freq).at(-1)?.endMs ?? 0;
}

describe('crash recovery through the real callrec', { concurrency: false }, () => {
  let bed: Testbed;
  let archiveRoot: string;
  let certPath: string;
  const running: RestartedCallrec[] = [];
  const calls: Array<Promise<MediaCallRun | Error>> = [];

  before(async () => {
    archiveRoot = await mkdtemp(join(tmpdir(), 'callrec-crash-archive-'));
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
            targets: ['archive'],
          },
        ],
        targets: [{ id: 'archive', type: 'local', path: join(archiveRoot, 'Record-$Y_$M_$D') }],
        uploads: { intervalSeconds: 1, maxBackoffSeconds: 2, keepLocal: false, concurrency: 2, timezone: 'UTC' },
        media: { timeoutSeconds: 30 },
      },
    });
    certPath = join(archiveRoot, 'cert.pem');
    const exported = await runCli(['cert', 'export', '--out', certPath, '--config', bed.callrec.configPath]);
    assert.equal(exported.code, 0, exported.out + exported.err);
  });

  after(async () => {
    for (const callrec of running) await callrec.stop();
    await Promise.all(calls); // the SIPp runs end on their own timeouts
    await bed?.stop();
    if (archiveRoot !== undefined) await rm(archiveRoot, { recursive: true, force: true });
  });

  /**
   * Starts a recorded call through the callrec whose logs `logs` reads, waits until it has been
   * recording for KILL_AFTER_MS and kills callrec with SIGKILL. Resolves with the recording id, the
   * recording's start and the kill time (both from this machine's clock).
   */
  async function callAndKill(
    t: TestContext,
    logs: () => LogLine[],
    kill: () => Promise<void>,
  ): Promise<{ id: string; startedAt: number; killedAt: number }> {
    await Promise.all(calls); // the SIPp pair of an earlier call must have let go of its ports
    const before = logs().length;
    calls.push(
      runMediaCall(bed, {
        direction: 'inbound',
        service: GROUP_NUMBER,
        audioMs: AUDIO_MS,
        uacTimeoutSeconds: Math.ceil(AUDIO_MS / 1000) + 4,
      }).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error)))),
    );
    const started = await waitUntil(
      '"recording started"',
      () =>
        logs()
          .slice(before)
          .find((l) => l['msg'] === 'recording started'),
      30_000,
    );
    const startedAt = Date.parse(String(started['time']));
    const wait = startedAt + KILL_AFTER_MS - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const killedAt = Date.now();
    await kill();
    t.diagnostic(`callrec killed ${killedAt - startedAt} ms after the recording started`);
    return { id: String(started['call']), startedAt, killedAt };
  }

  const killBedCallrec = async (): Promise<void> => {
    const child = bed.callrec.child;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  };

  /** The day folder the first recovered recording was archived to. */
  let firstFolder: string | undefined;

  it('kill -9 during a recorded call: the restart repairs, seals and archives it up to the kill', async (t) => {
    const { id, startedAt, killedAt } = await callAndKill(t, () => bed.callrec.logs(), killBedCallrec);
    const spool = join(bed.callrec.dir, 'data', 'recordings', id);
    assert.deepEqual(
      (await readdir(spool)).sort(),
      [`${id}-callee.wav`, `${id}-caller.wav`],
      'the crash left the per-party files being written',
    );

    const restarted = await runCallrec(bed.callrec.configPath);
    running.push(restarted);
    const recovered = restarted.logs().find((l) => l['msg'] === 'recording recovered' && l['recordingId'] === id);
    assert.ok(recovered !== undefined, 'recovered before listening');
    const lines = restarted.logs();
    assert.ok(
      lines.findIndex((l) => l === recovered) < lines.findIndex((l) => l['msg'] === 'listening'),
      'recovery runs before calls are accepted',
    );
    assert.equal(recovered['action'], 'recovered');
    assert.match(String(recovered['gap']), GAP_STATEMENT);
    const expectedMs = killedAt - startedAt;
    const coveredMs = Number(recovered['coveredMs']);
    t.diagnostic(`covered ${coveredMs} ms of ${expectedMs} ms recorded before the kill`);
    assert.ok(coveredMs >= expectedMs - 2000, `covered ${coveredMs} ms, killed at ${expectedMs} ms`);
    assert.ok(coveredMs <= expectedMs + 300, `covered ${coveredMs} ms, killed at ${expectedMs} ms`);
    const summary = lines.find((l) => l['msg'] === 'crash recovery done');
    assert.deepEqual([summary?.['recovered'], summary?.['failed']], [1, 0]);
    // Monitoring sees it: one recording recovered, counted as finished and incomplete
    const metrics = parsePromText(
      await (
        await fetch(`http://127.0.0.1:${bed.callrec.adminPort}/metrics`, { signal: AbortSignal.timeout(5000) })
      ).text(),
    );
    assert.equal(sampleValue(metrics, 'callrec_recordings_recovered_total'), 1);
    assert.equal(sampleValue(metrics, 'callrec_recordings_finished_total', { complete: 'false', signed: 'true' }), 1);

    await waitUntil(
      '"recording archived"',
      () => restarted.logs().find((l) => l['msg'] === 'recording archived' && l['recordingId'] === id),
      30_000,
      () => JSON.stringify(restarted.logs().filter((l) => /upload|archiv/.test(String(l['msg'])))),
    );
    await assert.rejects(stat(spool), { code: 'ENOENT' }, 'the spool copy is removed once archived');
    const metadataOnTarget = (await readdir(archiveRoot, { recursive: true })).find((f) => f.endsWith(`${id}.json`));
    assert.ok(metadataOnTarget !== undefined);
    const metadata = JSON.parse(await readFile(join(archiveRoot, metadataOnTarget), 'utf8')) as LogLine;
    const folder = join(archiveRoot, dayFolder(String(metadata['answer'])));
    firstFolder = folder;
    assert.deepEqual((await readdir(folder)).sort(), [
      `${id}.json`,
      `${id}.sha256`,
      `${id}.sha256.SHA256withRSA.sig`,
      `${id}.wav`,
    ]);
    assert.equal(metadata['endReason'], 'recovered');
    assert.equal(metadata['channels'], 'both-stereo');
    assert.equal(metadata['recordingDurationMs'], coveredMs);
    const completeness = metadata['completeness'] as { complete: boolean; problems: string[] };
    assert.equal(completeness.complete, false);
    assert.match(completeness.problems[0] ?? '', GAP_STATEMENT);
    assert.match(String((metadata['callIds'] as { caller: string }).caller), /^uac-/);

    const wav = await readWav(join(folder, `${id}.wav`));
    assert.equal(wav.channelCount, 2);
    assert.ok(Math.abs(wav.durationMs - coveredMs) <= 1, `${wav.durationMs} ms in the file`);
    const [left, right] = wav.channels;
    assert.ok(left !== undefined && right !== undefined);
    assert.ok(channelHasToneOnly(left, CALLER_TONE_HZ, CALLEE_TONE_HZ), 'left: the caller');
    assert.ok(channelHasToneOnly(right, CALLEE_TONE_HZ, CALLER_TONE_HZ), 'right: the callee');
    const callerEnd = lastToneEndMs(left, CALLER_TONE_HZ);
    const calleeEnd = lastToneEndMs(right, CALLEE_TONE_HZ);
    t.diagnostic(`tones last until ${callerEnd} ms (caller) and ${calleeEnd} ms (callee)`);
    for (const end of [callerEnd, calleeEnd]) assert.ok(end >= expectedMs - 2000, `a tone ends at ${end} ms`);

    const verify = await runCli(['verify', folder, '--cert', certPath]);
    assert.equal(verify.code, 0, verify.out + verify.err);
    assert.match(verify.out, new RegExp(`^OK ${id}`, 'm'));
  });

  it('refuses a second callrec and `callrec recover` on the data directory while callrec runs', async () => {
    const holder = running.at(-1);
    assert.ok(holder !== undefined && holder.child.exitCode === null, 'the restarted callrec runs');
    const second = await runCli(['run', '--config', bed.callrec.configPath]);
    assert.equal(second.code, 1, second.out + second.err);
    // the refusal is a JSON log line ("could not start"), quotes escaped
    assert.match(second.out, new RegExp(`in use by another callrec \\(pid ${holder.child.pid}, \\\\"callrec run`));
    const recover = await runCli(['recover', '--config', bed.callrec.configPath]);
    assert.equal(recover.code, 1, recover.out + recover.err);
    assert.match(recover.err, /in use by another callrec .*a running server recovers at its start/);
    assert.equal(holder.child.exitCode, null, 'the running callrec is untouched');
  });

  it('`callrec recover` repairs a crashed data directory without SIP; the next run archives it', async (t) => {
    const holder = running.at(-1);
    assert.ok(holder !== undefined);
    const { id, startedAt, killedAt } = await callAndKill(
      t,
      () => holder.logs(),
      async () => {
        const exited = new Promise<void>((resolve) => holder.child.once('exit', () => resolve()));
        holder.child.kill('SIGKILL');
        await exited;
      },
    );
    const spool = join(bed.callrec.dir, 'data', 'recordings', id);

    const recover = await runCli(['recover', '--config', bed.callrec.configPath]);
    assert.equal(recover.code, 0, recover.out + recover.err);
    const line = new RegExp(
      `^recovered ${id} \\(recovered\\): (\\d+\\.\\d) s of audio, signed, queued for archive; callrec stopped at about `,
      'm',
    ).exec(recover.out);
    assert.ok(line !== null, recover.out);
    assert.match(recover.out, /^1 recording\(s\) recovered, 0 failed$/m);
    const coveredMs = Number(line[1]) * 1000;
    const expectedMs = killedAt - startedAt;
    t.diagnostic(`callrec recover: ${coveredMs} ms of ${expectedMs} ms`);
    assert.ok(coveredMs >= expectedMs - 2100 && coveredMs <= expectedMs + 400, `${coveredMs} of ${expectedMs} ms`);
    assert.deepEqual((await readdir(spool)).sort(), [
      `${id}.json`,
      `${id}.sha256`,
      `${id}.sha256.SHA256withRSA.sig`,
      `${id}.wav`,
    ]);
    const verifySpool = await runCli(['verify', spool, '--cert', certPath, '--allow-gaps']);
    assert.equal(verifySpool.code, 0, verifySpool.out + verifySpool.err);
    const metadata = JSON.parse(await readFile(join(spool, `${id}.json`), 'utf8')) as LogLine;
    assert.equal(metadata['endReason'], 'recovered');

    const status = await runCli(['uploads', 'status', '--json', '--config', bed.callrec.configPath]);
    const row = (JSON.parse(status.out) as LogLine[]).find((r) => r['targetId'] === 'archive');
    assert.equal(row?.['pending'], 1, status.out);
    const again = await runCli(['recover', '--config', bed.callrec.configPath]);
    assert.equal(again.code, 0, again.out + again.err);
    assert.match(again.out, /^nothing to recover$/m);

    const next = await runCallrec(bed.callrec.configPath);
    running.push(next);
    assert.equal(
      next.logs().find((l) => l['msg'] === 'recording recovered'),
      undefined,
      'nothing left for the start-up recovery',
    );
    await waitUntil(
      '"recording archived"',
      () => next.logs().find((l) => l['msg'] === 'recording archived' && l['recordingId'] === id),
      30_000,
    );
    const folder = join(archiveRoot, dayFolder(String(metadata['answer'])));
    // Both recovered recordings in one folder: the chain 1, 2 must be whole (past midnight UTC it is split)
    const verify = await runCli([
      'verify',
      folder,
      '--cert',
      certPath,
      ...(firstFolder === folder ? [] : ['--allow-gaps']),
    ]);
    assert.equal(verify.code, 0, verify.out + verify.err);
    assert.match(verify.out, new RegExp(`^OK ${id}`, 'm'));
  });
});
