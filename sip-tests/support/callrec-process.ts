import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreePort } from '../../src/cli/free-port.js';
import { repoRoot } from '../../test/support/paths.js';

export interface CallrecProcess {
  /** The port of the first listener (UDP and TCP share it in the default set-up). */
  readonly port: number;
  /** The port of each configured listener, in order. */
  readonly ports: readonly number[];
  /** The admin HTTP port (`GET /healthz`). */
  readonly adminPort: number;
  readonly dir: string;
  readonly configPath: string;
  /** GET /healthz of the admin endpoint, parsed. Rejects when it is not reachable or not 200. */
  health(): Promise<CallrecHealth>;
  /** Parsed JSON log lines so far. */
  logs(): Array<Record<string, unknown>>;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
  readonly child: ChildProcess;
}

/** What `GET /healthz` of the admin endpoint returns. */
export interface CallrecHealth {
  readonly status: string;
  readonly calls: number;
  readonly dialogs: number;
  readonly transactions: number;
  readonly registrations: number;
  readonly [key: string]: unknown;
}

export interface CallrecProcessOptions {
  /** Trunk source addresses. @default ['127.0.0.1'] */
  readonly trunk?: readonly string[];
  /** PBX source addresses. @default ['127.0.0.3'] */
  readonly pbx?: readonly string[];
  /** @default '403' */
  readonly onReject?: '403' | 'drop';
  readonly logLevel?: string;
  /** Listeners instead of UDP+TCP on 127.0.0.1; each gets a free port (see `ports`). */
  readonly listen?: ReadonlyArray<{
    transport: 'udp' | 'tcp' | 'tls';
    host: string;
    certificate?: string;
    privateKey?: string;
  }>;
  /** Port of the default UDP+TCP listeners on 127.0.0.1. @default a free port */
  readonly port?: number;
  /** `trunk.uri`. @default 'sip:127.0.0.1:5999' */
  readonly trunkUri?: string;
  /** `pbx.uri`. @default 'sip:127.0.0.3:5999' */
  readonly pbxUri?: string;
  /** `admin.http.port` (host 127.0.0.1). @default a free port */
  readonly adminPort?: number;
  /**
   * More config, merged over the generated one (objects deeply, anything else replaced), e.g.
   * `{ b2bua: { ringTimeoutSeconds: 3 } }` or `{ sip: { timers: { t1Ms: 100 } } }`.
   */
  readonly config?: Readonly<Record<string, unknown>>;
  /** The process environment. @default this process's */
  readonly env?: NodeJS.ProcessEnv;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `base` with `extra` merged in: nested objects merged, anything else replaced. */
function deepMerge(base: Record<string, unknown>, extra: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    const current = merged[key];
    merged[key] = isPlainObject(current) && isPlainObject(value) ? deepMerge(current, value) : value;
  }
  return merged;
}

/** Starts the real `bin/callrec run` on loopback with a throwaway config and waits for "listening". */
export async function startCallrec(options: CallrecProcessOptions = {}): Promise<CallrecProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'callrec-sip-'));
  const port = options.port ?? (await findFreePort('127.0.0.1'));
  const adminPort = options.adminPort ?? (await findFreePort('127.0.0.1'));
  const listen =
    options.listen === undefined
      ? [
          { transport: 'udp', host: '127.0.0.1', port },
          { transport: 'tcp', host: '127.0.0.1', port },
        ]
      : await Promise.all(options.listen.map(async (l) => ({ ...l, port: await findFreePort(l.host) })));
  const example = JSON.parse(await readFile(join(repoRoot, 'config', 'callrec.example.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  const config = {
    ...example,
    $schema: undefined,
    installation: { dataDir: join(dir, 'data'), keystorePassword: { file: join(dir, 'keystore-password') } },
    log: { level: options.logLevel ?? 'debug', personalData: false },
    sip: { listen, advertise: '127.0.0.1' },
    media: { host: '127.0.0.1', advertise: '127.0.0.1', portRange: [40000, 40999] },
    trunk: {
      addresses: options.trunk ?? ['127.0.0.1'],
      uri: options.trunkUri ?? 'sip:127.0.0.1:5999',
      onReject: options.onReject ?? '403',
    },
    pbx: {
      addresses: options.pbx ?? ['127.0.0.3'],
      uri: options.pbxUri ?? 'sip:127.0.0.3:5999',
      onReject: options.onReject ?? '403',
    },
    profiles: [],
    targets: [],
    email: undefined,
    // Tests stop callrec with SIGTERM; a call still up then gets 2 s, not the default 30
    b2bua: { shutdownGraceSeconds: 2 },
    admin: { http: { host: '127.0.0.1', port: adminPort } },
  };
  delete (config as Record<string, unknown>)['$schema'];
  await writeFile(join(dir, 'keystore-password'), 'sip-tests-only\n', { mode: 0o600 });
  const configPath = join(dir, 'callrec.json');
  const written = options.config === undefined ? config : deepMerge(config, options.config);
  await writeFile(configPath, JSON.stringify(written, null, 2), { mode: 0o600 });
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'callrec'), 'run', '--config', configPath], {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.env === undefined ? {} : { env: options.env }),
  });
  const lines: Array<Record<string, unknown>> = [];
  let stderr = '';
  let buffered = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        lines.push({ msg: `non-JSON stdout line: ${line}` });
      }
    }
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  // Generous: on a loaded 2-core CI machine several callrecs start at once (each makes its keystore)
  const deadline = Date.now() + 60_000;
  while (lines.filter((l) => l['msg'] === 'listening').length < listen.length) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`callrec did not start: exit ${child.exitCode}\n${stderr}\n${JSON.stringify(lines)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port: listen[0]?.port ?? port,
    ports: listen.map((l) => l.port),
    adminPort,
    dir,
    configPath,
    child,
    logs: () => lines,
    health: async () => {
      const response = await fetch(`http://127.0.0.1:${adminPort}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (response.status !== 200) throw new Error(`GET /healthz: HTTP ${response.status}`);
      return (await response.json()) as CallrecHealth;
    },
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      await rm(dir, { recursive: true, force: true });
      return code;
    },
  };
}
