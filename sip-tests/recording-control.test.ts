/**
 * Pause and resume through the CLI end to end (SPEC §4, §11): while a recorded call with audio
 * runs through the real callrec, the test runs the real `callrec recordings pause <id>` and
 * ~1.5 s later `callrec recordings resume <id>`, which reach the running server over its admin
 * endpoint (admin.http of the same config).
 *  - both commands exit 0; the metadata lists one pause `by: 'api'` as long as the time between
 *    the two commands (±150 ms), and the caller's channel holds silence of that length;
 *  - the seal verifies, and `callrec audit` lists `recording.pause` and `recording.resume` of the
 *    call by `http:127.0.0.1`;
 *  - pausing a call that does not run exits 1.
 * Token, unreachable endpoint and usage errors are covered by test/unit/cli/recording-control.test.ts.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { activeDurationMs, dominantToneSegments, readWav } from './support/audio-analysis.js';
import {
  ANNOUNCEMENTS,
  assertVerifies,
  CALLER_TONE_HZ,
  recordingOf,
  runAnnouncedCall,
  runCli,
} from './support/announcement-calls.js';
import { repoRoot } from '../test/support/paths.js';
import { assertNoCallsLeft, startTestbed, type Testbed } from './support/b2bua.js';

const RECORDED_NUMBER = '+4930123456209';
/** How long after the call connected the pause command starts. */
const PAUSE_AFTER_MS = 1000;
/** How long after the pause command finished the resume command starts. */
const RESUME_AFTER_MS = 1500;
/** Room for two CLI runs (a node start each, slow on a loaded machine) inside the call. */
const CALL_MS = 12_000;
const TOLERANCE_MS = 150;

interface TimedRun {
  readonly code: number | null;
  readonly output: string;
  /**
   * performance.now() when the command printed its result: the server had done what it asked.
   * (Its exit comes later, after a teardown whose length varies on a loaded machine.)
   */
  readonly doneMs: number;
  /** From the start until the result was printed (a node start included). */
  readonly tookMs: number;
  /** From the result until the exit. */
  readonly exitLagMs: number;
}

/** Runs `bin/callrec` with `args`, noting when its first output arrived. */
function timedCli(args: readonly string[]): Promise<TimedRun> {
  const startMs = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(repoRoot, 'bin', 'callrec'), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let doneMs: number | undefined;
    const collect = (chunk: string): void => {
      doneMs ??= performance.now();
      output += chunk;
    };
    child.stdout.setEncoding('utf8').on('data', collect);
    child.stderr.setEncoding('utf8').on('data', collect);
    child.once('close', (code) => {
      const exitMs = performance.now();
      const printedMs = doneMs ?? exitMs;
      resolve({ code, output, doneMs: printedMs, tookMs: printedMs - startMs, exitLagMs: exitMs - printedMs });
    });
  });
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('pause and resume through `callrec recordings pause|resume`', { concurrency: false }, () => {
  let bed: Testbed;
  before(async () => {
    bed = await startTestbed({
      config: {
        users: [{ id: 'ines', extension: '209', numbers: [RECORDED_NUMBER] }],
        groups: [],
        profiles: [
          {
            id: 'api-controlled',
            users: ['ines'],
            inbound: true,
            outbound: true,
            channels: 'both-separate',
            // The test endpoints start talking once they hear something: the beep starts the caller
            announcement: { inbound: join(ANNOUNCEMENTS, 'beep.wav') },
            consent: { legalBasis: 'obligation' },
            targets: [],
            retentionDays: 30,
          },
        ],
        media: { timeoutSeconds: 30, strictSource: true, recordableCodecsOnly: true },
      },
    });
    // startTestbed waits for the SIP listeners; the admin endpoint comes up right after them
    const deadline = Date.now() + 30_000;
    while (!bed.callrec.logs().some((line) => line['msg'] === 'admin http listening')) {
      assert.ok(Date.now() < deadline, 'the admin endpoint came up');
      await delay(50);
    }
  });
  after(async () => {
    await bed?.stop();
  });

  it('leaves silence of the time between the commands, lists the pause by the API and audits both', async (t) => {
    const config = ['--config', bed.callrec.configPath];
    const logsBefore = bed.callrec.logs().length;
    let commands: Promise<{ pause: TimedRun; resume: TimedRun }> | undefined;
    const call = await runAnnouncedCall(bed, {
      service: RECORDED_NUMBER,
      callMs: CALL_MS,
      onConnected: () => {
        const started = bed.callrec
          .logs()
          .slice(logsBefore)
          .find((line) => line['msg'] === 'call started');
        const id = String(started?.['call']);
        commands = (async () => {
          await delay(PAUSE_AFTER_MS);
          const pause = await timedCli(['recordings', 'pause', id, ...config]);
          await delay(RESUME_AFTER_MS);
          const resume = await timedCli(['recordings', 'resume', id, ...config]);
          return { pause, resume };
        })();
      },
    });
    assert.equal(call.uac.code, 0, call.uac.errors);
    assert.equal(call.uas?.code, 0, call.uas?.errors);
    assert.ok(
      commands !== undefined,
      `the callee never heard the caller: caller got ${call.caller.packets.length} packets, callee ` +
        `${call.callee.packets.length}; callrec: ${JSON.stringify(bed.callrec.logs().filter((l) => l['call'] === call.id))}`,
    );
    const { pause: paused, resume: resumed } = await commands;
    assert.equal(paused.code, 0, paused.output);
    assert.match(paused.output, new RegExp(`^${call.id}: recording paused$`, 'm'));
    assert.equal(resumed.code, 0, resumed.output);
    assert.match(resumed.output, new RegExp(`^${call.id}: recording resumed$`, 'm'));
    const commandedMs = resumed.doneMs - paused.doneMs;

    const recording = await recordingOf(bed, call.id);
    const pauses = recording.metadata['pauses'] as Array<{ from: number; to: number; by: string }>;
    assert.equal(pauses.length, 1, JSON.stringify(pauses));
    const pause = pauses[0];
    assert.ok(pause !== undefined);
    assert.equal(pause.by, 'api');
    const listedMs = pause.to - pause.from;
    assert.ok(
      Math.abs(listedMs - commandedMs) <= TOLERANCE_MS,
      `listed ${listedMs} ms, ${commandedMs.toFixed(0)} ms between the commands`,
    );

    const caller = await readWav(join(recording.dir, `${call.id}-caller.wav`));
    const callee = await readWav(join(recording.dir, `${call.id}-callee.wav`));
    const [callerChannel] = caller.channels;
    const [calleeChannel] = callee.channels;
    assert.ok(callerChannel !== undefined && calleeChannel !== undefined);
    // The caller talks throughout: its channel's one long silence is the pause. (The last half
    // second is left out: on a loaded machine the test's own sender may stall just before the BYE.)
    const tailMs = caller.durationMs - 500;
    const silences = dominantToneSegments(callerChannel.samples, callerChannel.sampleRate, [CALLER_TONE_HZ]).filter(
      (s) => s.freq === 'silence' && s.endMs - s.startMs >= 300 && s.startMs < tailMs,
    );
    assert.equal(silences.length, 1, JSON.stringify(silences));
    const silence = silences[0];
    assert.ok(silence !== undefined);
    const silentMs = silence.endMs - silence.startMs;
    assert.ok(
      Math.abs(silentMs - commandedMs) <= TOLERANCE_MS,
      `${silentMs} ms of silence, ${commandedMs.toFixed(0)} ms between the commands`,
    );
    assert.ok(
      Math.abs(silence.startMs - pause.from) <= 100,
      `silence at ${silence.startMs} ms, pause from ${pause.from}`,
    );
    const rate = calleeChannel.sampleRate;
    const inner = calleeChannel.samples.subarray(
      Math.round(((pause.from + 60) * rate) / 1000),
      Math.round(((pause.to - 60) * rate) / 1000),
    );
    assert.equal(activeDurationMs(inner, rate), 0, 'the callee channel is silent while paused');
    t.diagnostic(
      `commands ${commandedMs.toFixed(0)} ms apart (each took ${paused.tookMs.toFixed(0)} / ${resumed.tookMs.toFixed(0)} ms, ` +
        `exited ${paused.exitLagMs.toFixed(0)} / ${resumed.exitLagMs.toFixed(0)} ms later); ` +
        `pause listed ${listedMs} ms, caller silent ${silentMs} ms`,
    );
    await assertVerifies(bed, recording.dir);

    const audit = await runCli(['audit', ...config]);
    assert.equal(audit.code, 0, audit.output);
    for (const action of ['pause', 'resume']) {
      assert.match(
        audit.output,
        new RegExp(` http:127\\.0\\.0\\.1 recording\\.${action} call:${call.id} .*"result":"found"`),
        audit.output,
      );
    }
    await assertNoCallsLeft(bed.callrec);
  });

  it('exits 1 for a call that does not run (the recording above has ended)', async () => {
    const unknown = await runCli(['recordings', 'pause', 'no-such-call', '--config', bed.callrec.configPath]);
    assert.equal(unknown.code, 1, unknown.output);
    assert.match(unknown.output, /no running recorded call no-such-call/);
  });
});
