import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../test/support/paths.js';

export interface SippRun {
  /** SIPp's exit code: 0 all calls succeeded, 1 some failed, 255+ fatal/timeout. */
  readonly code: number | null;
  /** The last row of `-trace_stat`, keyed by column (e.g. `SuccessfulCall(C)`). */
  readonly stats: Record<string, string>;
  /** Content of the `-trace_err` file, if SIPp wrote one. */
  readonly errors: string;
}

export interface SippOptions {
  readonly scenario: string;
  readonly port: number;
  readonly transport?: 'u1' | 't1';
  /** SIPp's own address (its source address). @default 127.0.0.1 */
  readonly localIp?: string;
  /** @default 1 */
  readonly calls?: number;
  /** Calls per second. @default 10 */
  readonly rate?: number;
  /** Global timeout in seconds. @default 20 */
  readonly timeoutSeconds?: number;
  readonly extraArgs?: readonly string[];
  /** callrec's address. @default 127.0.0.1 */
  readonly host?: string;
}

/** Runs real SIPp with a scenario from sipp-scenarios/ against callrec on 127.0.0.1. */
export async function runSipp(options: SippOptions): Promise<SippRun> {
  const cwd = await mkdtemp(join(tmpdir(), 'callrec-sipp-'));
  const args = [
    '-sf',
    join(repoRoot, 'sipp-scenarios', options.scenario),
    '-t',
    options.transport ?? 'u1',
    '-i',
    options.localIp ?? '127.0.0.1',
    '-m',
    String(options.calls ?? 1),
    '-r',
    String(options.rate ?? 10),
    '-nostdin',
    '-timeout',
    `${options.timeoutSeconds ?? 20}s`,
    '-timeout_error',
    '-trace_err',
    '-trace_stat',
    '-fd',
    '1',
    ...(options.extraArgs ?? []),
    (options.host ?? '127.0.0.1').includes(':')
      ? `[${options.host}]:${options.port}`
      : `${options.host ?? '127.0.0.1'}:${options.port}`,
  ];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn('sipp', args, { cwd, stdio: ['ignore', 'ignore', 'ignore'] });
    child.once('error', reject);
    child.once('exit', (exitCode) => resolve(exitCode));
  });
  const files = await readdir(cwd);
  const statFile = files.find((f) => f.endsWith('.csv'));
  const errFile = files.find((f) => f.endsWith('_errors.log'));
  const stats: Record<string, string> = {};
  if (statFile !== undefined) {
    const rows = (await readFile(join(cwd, statFile), 'utf8'))
      .trim()
      .split('\n')
      .map((r) => r.split(';'));
    const header = rows[0] ?? [];
    const last = rows[rows.length - 1] ?? [];
    header.forEach((name, i) => (stats[name] = last[i] ?? ''));
  }
  const errors = errFile === undefined ? '' : await readFile(join(cwd, errFile), 'utf8');
  await rm(cwd, { recursive: true, force: true });
  return { code, stats, errors };
}
