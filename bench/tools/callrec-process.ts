/** callrec as a child process of `bench/media.bench.ts`: start on a generated config, health, stop. */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { findFreePort } from '../../src/cli/free-port.js';
import { repoRoot } from '../../test/support/paths.js';
import { callrecBenchConfig } from './callrec-bench-config.js';
import { PBX_IP, sleep, TRUNK_IP, type MediaBenchOptions } from './media-bench-options.js';

export interface Callrec {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly sipPort: number;
  readonly pbxPort: number;
  readonly adminPort: number;
  readonly dataDir: string;
  readonly configPath: string;
  /** warn/error/fatal log lines (JSON from stdout) and stderr lines. */
  readonly problems: string[];
  exited: boolean;
}

/** What `bench/soak.ts` adds to a bench start. */
export interface CallrecExtras {
  /** pino level of the child. @default warn */
  readonly logLevel?: string;
  /** Every JSON log line of the child, parsed. */
  readonly onLog?: (entry: Readonly<Record<string, unknown>>) => void;
  /** Environment added to the child's. */
  readonly env?: Readonly<Record<string, string>>;
}

export async function startCallrec(
  dir: string,
  n: number,
  keystore: string | undefined,
  options: Pick<MediaBenchOptions, 'mediaPorts' | 'channels' | 'relayOnly'>,
  extras: CallrecExtras = {},
): Promise<Callrec> {
  const sipPort = await findFreePort(TRUNK_IP);
  const pbxPort = await findFreePort(PBX_IP);
  const adminPort = await findFreePort(TRUNK_IP);
  const dataDir = join(dir, 'data');
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  if (keystore !== undefined) {
    await copyFile(keystore, join(dataDir, 'keystore.p12'));
    await chmod(join(dataDir, 'keystore.p12'), 0o600);
  }
  const passwordFile = join(dir, 'keystore-password');
  await writeFile(passwordFile, 'bench-only-password\n', { mode: 0o600 });
  const example = JSON.parse(await readFile(join(repoRoot, 'config', 'callrec.example.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  const config = callrecBenchConfig(example, {
    dataDir,
    passwordFile,
    sipPort,
    pbxPort,
    adminPort,
    calls: n,
    mediaPorts: options.mediaPorts,
    channels: options.channels,
    relayOnly: options.relayOnly,
    ...(extras.logLevel === undefined ? {} : { logLevel: extras.logLevel }),
  });
  const configPath = join(dir, 'callrec.json');
  await writeFile(configPath, JSON.stringify(config, null, 2));
  // CALLREC_BENCH_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' profiles callrec alone (node
  // refuses --cpu-prof in NODE_OPTIONS, and that would profile the load generators too)
  const nodeArgs = (process.env['CALLREC_BENCH_NODE_ARGS'] ?? '').split(' ').filter((arg) => arg !== '');
  const child = spawn(
    process.execPath,
    [...nodeArgs, join(repoRoot, 'bin', 'callrec'), 'run', '--config', configPath],
    {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      // bin/callrec itself picks 16 libuv threads unless UV_THREADPOOL_SIZE says otherwise
      env: { ...process.env, ...extras.env },
    },
  );
  const callrec: Callrec = {
    child,
    pid: child.pid ?? 0,
    sipPort,
    pbxPort,
    adminPort,
    dataDir,
    configPath,
    problems: [],
    exited: false,
  };
  child.once('exit', () => (callrec.exited = true));
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    try {
      const entry = JSON.parse(line) as { level?: number; msg?: string };
      extras.onLog?.(entry);
      if ((entry.level ?? 0) >= 40) callrec.problems.push(`${entry.level === 40 ? 'WARN' : 'ERROR'} ${entry.msg}`);
    } catch {
      callrec.problems.push(`stdout: ${line}`);
    }
  });
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (line) =>
    callrec.problems.push(`stderr: ${line}`),
  );
  const deadline = performance.now() + 120_000;
  for (;;) {
    if (callrec.exited) throw new Error(`callrec exited during start: ${callrec.problems.slice(-5).join(' | ')}`);
    if (performance.now() > deadline) throw new Error('callrec did not answer /healthz within 120 s');
    if ((await health(callrec)) !== undefined) return callrec;
    await sleep(200);
  }
}

export interface Health {
  readonly calls: number;
  readonly dialogs: number;
  readonly transactions: number;
}

export async function health(callrec: Callrec): Promise<Health | undefined> {
  try {
    const response = await fetch(`http://${TRUNK_IP}:${callrec.adminPort}/healthz`, {
      signal: AbortSignal.timeout(2000),
    });
    if (!response.ok) return undefined;
    return (await response.json()) as Health;
  } catch {
    return undefined;
  }
}

export async function stopCallrec(callrec: Callrec): Promise<number | null> {
  if (callrec.exited) return callrec.child.exitCode;
  const exited = new Promise<number | null>((resolve) => callrec.child.once('exit', (code) => resolve(code)));
  callrec.child.kill('SIGTERM');
  const code = await Promise.race([exited, sleep(15_000).then(() => 'timeout' as const)]);
  if (code === 'timeout') {
    callrec.child.kill('SIGKILL');
    await exited;
    return null;
  }
  return code;
}
