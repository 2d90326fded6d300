/** Restarting `bin/callrec run` on an existing config (after a crash) in sip-tests. */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../../test/support/paths.js';

/** A JSON log line of callrec. */
export type LogLine = Record<string, unknown>;

/** Polls `probe` every 20 ms until it returns a value; fails with `what` and `context()` after `timeoutMs`. */
export async function waitUntil<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  context = (): string => '',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}\n${context()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A callrec started on an existing config (a restart after a crash). */
export interface RestartedCallrec {
  readonly child: ChildProcess;
  logs(): LogLine[];
  stop(): Promise<void>;
}

/** `bin/callrec run --config <configPath>`, resolved once its UDP and TCP listeners are up. */
export async function runCallrec(configPath: string): Promise<RestartedCallrec> {
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'callrec'), 'run', '--config', configPath], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: LogLine[] = [];
  let buffered = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      try {
        lines.push(JSON.parse(line) as LogLine);
      } catch {
        lines.push({ msg: `non-JSON stdout line: ${line}` });
      }
    }
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitUntil(
      'the restarted callrec to listen',
      () => {
        if (child.exitCode !== null) assert.fail(`callrec exited ${child.exitCode}`);
        return lines.filter((l) => l['msg'] === 'listening').length >= 2 ? true : undefined;
      },
      60_000,
      () => `${stderr}\n${JSON.stringify(lines)}`,
    );
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    child,
    logs: () => lines,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
