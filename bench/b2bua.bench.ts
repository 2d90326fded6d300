/**
 * `npm run bench:b2bua [-- --rate 300 --seconds 60 --latency-rate 100 --latency-seconds 20]`
 *
 * Real SIPp caller (127.0.0.1, the trunk) -> callrec (in this process) -> real SIPp callee
 * (127.0.0.3, the PBX), calls with a 1 s hold. Two phases:
 *  1. latency: `--latency-rate` calls/s; every SIP message in and out of callrec is time-stamped
 *     at the transport boundary, and the added setup latency is computed per call:
 *     INVITE in -> INVITE out, 200 in -> 200 out (p50/p99);
 *  2. throughput: `--rate` calls/s sustained for `--seconds`; SIPp's statistics give successful
 *     and failed calls.
 * Targets (issue "B2BUA call handling"): >= 300 calls/s with 0 failures; p99 < 5 ms at 100 calls/s.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { findFreePort } from '../src/cli/free-port.js';
import { startServer } from '../src/cli/server.js';
import { loadConfig } from '../src/config/index.js';
import { createLogger } from '../src/observability/index.js';
import type { Endpoint } from '../src/sip/index.js';
import { repoRoot } from '../test/support/paths.js';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '300' },
    seconds: { type: 'string', default: '60' },
    'latency-rate': { type: 'string', default: '100' },
    'latency-seconds': { type: 'string', default: '20' },
  },
});
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const latencyRate = Number(values['latency-rate']);
const latencySeconds = Number(values['latency-seconds']);

interface Captured {
  readonly at: number;
  readonly data: Buffer;
  readonly peer: Endpoint;
  readonly direction: 'in' | 'out';
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

async function runSipp(args: string[], cwd: string): Promise<{ code: number | null; stats: Record<string, string> }> {
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn('sipp', args, { cwd, stdio: ['ignore', 'ignore', 'ignore'] });
    child.once('error', reject);
    child.once('exit', (exitCode) => resolve(exitCode));
  });
  const stat = (await readdir(cwd))
    .filter((f) => f.startsWith('uac-bench') && f.endsWith('.csv'))
    .sort()
    .pop();
  const stats: Record<string, string> = {};
  if (stat !== undefined) {
    const rows = (await readFile(join(cwd, stat), 'utf8'))
      .trim()
      .split('\n')
      .map((r) => r.split(';'));
    const header = rows[0] ?? [];
    const last = rows[rows.length - 1] ?? [];
    header.forEach((name, i) => (stats[name] = last[i] ?? ''));
    await rm(join(cwd, stat));
  }
  return { code, stats };
}

function analyse(captured: readonly Captured[]): { setup: number[]; answer: number[] } {
  const inviteIn = new Map<string, number>();
  const aCallIdToUser = new Map<string, string>();
  const bCallIdToUser = new Map<string, string>();
  const setup: number[] = [];
  const okIn = new Map<string, number>();
  const answer: number[] = [];
  const answered = new Set<string>();
  for (const { at, data, direction, peer } of captured) {
    const text = data.toString('latin1', 0, Math.min(data.length, 2000));
    const firstLine = text.slice(0, text.indexOf('\r\n'));
    const callId = /\r\nCall-ID: *([^\r]+)/i.exec(text)?.[1] ?? '';
    const cseqInvite = /\r\nCSeq: *\d+ INVITE\r\n/i.test(text);
    const user = /\r\nFrom:[^\r]*sip:(b\d+)@/i.exec(text)?.[1];
    const fromTrunk = peer.address === '127.0.0.1';
    if (firstLine.startsWith('INVITE ') && user !== undefined) {
      if (direction === 'in' && fromTrunk && !inviteIn.has(user)) {
        inviteIn.set(user, at);
        aCallIdToUser.set(callId, user);
      } else if (direction === 'out' && !fromTrunk && !bCallIdToUser.has(callId)) {
        bCallIdToUser.set(callId, user);
        const t0 = inviteIn.get(user);
        if (t0 !== undefined) setup.push(at - t0);
      }
    } else if (firstLine.startsWith('SIP/2.0 200') && cseqInvite) {
      if (direction === 'in' && !fromTrunk) {
        const u = bCallIdToUser.get(callId);
        if (u !== undefined && !okIn.has(u)) okIn.set(u, at);
      } else if (direction === 'out' && fromTrunk) {
        const u = aCallIdToUser.get(callId);
        const t0 = u === undefined ? undefined : okIn.get(u);
        if (u !== undefined && t0 !== undefined && !answered.has(u)) {
          answered.add(u);
          answer.push(at - t0);
        }
      }
    }
  }
  return { setup: setup.sort((a, b) => a - b), answer: answer.sort((a, b) => a - b) };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'callrec-bench-'));
  const port = await findFreePort('127.0.0.1');
  const uasPort = await findFreePort('127.0.0.3');
  const adminPort = await findFreePort('127.0.0.1');
  const example = JSON.parse(await readFile(join(repoRoot, 'config', 'callrec.example.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  const config = {
    ...example,
    installation: { dataDir: join(dir, 'data'), keystorePassword: 'bench-only' },
    log: { level: 'warn', personalData: false },
    sip: { listen: [{ transport: 'udp', host: '127.0.0.1', port }], advertise: '127.0.0.1' },
    // Wide enough for every concurrent call (two port pairs each): 300 calls/s with 1 s calls
    media: { host: '127.0.0.1', advertise: '127.0.0.1', portRange: [30000, 39999] },
    trunk: { addresses: ['127.0.0.1'], uri: 'sip:127.0.0.1:5999' },
    pbx: { addresses: ['127.0.0.3'], uri: `sip:127.0.0.3:${uasPort}` },
    b2bua: { maxCalls: 100000, maxInvitesPerSecondPerSource: 100000 },
    profiles: [],
    targets: [],
    email: undefined,
    admin: { http: { host: '127.0.0.1', port: adminPort } },
  };
  delete (config as Record<string, unknown>)['$schema'];
  const configPath = join(dir, 'callrec.json');
  await writeFile(configPath, JSON.stringify(config));
  const loaded = await loadConfig(configPath);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));

  let capturing = false;
  const captured: Captured[] = [];
  const server = await startServer(loaded.config, configPath, createLogger({ level: 'warn' }), {
    tap: {
      received: (data, peer) => {
        if (capturing) captured.push({ at: performance.now(), data, peer, direction: 'in' });
      },
      sent: (data, peer) => {
        if (capturing) captured.push({ at: performance.now(), data, peer, direction: 'out' });
      },
    },
  });
  const uas: ChildProcess = spawn(
    'sipp',
    [
      '-sf',
      join(repoRoot, 'bench', 'sipp', 'uas-bench.xml'),
      '-i',
      '127.0.0.3',
      '-p',
      String(uasPort),
      '-nostdin',
      '-max_socket',
      '60000',
    ],
    { cwd: dir, stdio: 'ignore' },
  );
  await new Promise((r) => setTimeout(r, 500));
  const uac = (callRate: number, duration: number) => [
    '-sf',
    join(repoRoot, 'bench', 'sipp', 'uac-bench.xml'),
    '-i',
    '127.0.0.1',
    '-r',
    String(callRate),
    '-m',
    String(callRate * duration),
    '-l',
    String(callRate * 10),
    '-nostdin',
    '-timeout',
    `${duration + 60}s`,
    '-timeout_error',
    '-trace_stat',
    '-fd',
    '5',
    `127.0.0.1:${port}`,
  ];
  console.log(`b2bua bench: SIPp -> callrec -> SIPp on loopback, node ${process.version}, 1 s call hold`);
  try {
    capturing = true;
    const latencyRun = await runSipp(uac(latencyRate, latencySeconds), dir);
    capturing = false;
    const { setup, answer } = analyse(captured);
    captured.length = 0;
    const fmt = (v: number) => `${v.toFixed(2)} ms`;
    console.log(
      `latency phase: ${latencyRate} calls/s for ${latencySeconds} s: ${latencyRun.stats['SuccessfulCall(C)']} ok, ${latencyRun.stats['FailedCall(C)']} failed`,
    );
    console.log(
      `  INVITE in -> INVITE out: p50 ${fmt(percentile(setup, 50))}, p99 ${fmt(percentile(setup, 99))} (${setup.length} calls)`,
    );
    console.log(
      `  200 in -> 200 out:       p50 ${fmt(percentile(answer, 50))}, p99 ${fmt(percentile(answer, 99))} (${answer.length} calls)`,
    );
    const p99 = Math.max(percentile(setup, 99), percentile(answer, 99));

    const started = performance.now();
    const run = await runSipp(uac(rate, seconds), dir);
    const elapsed = (performance.now() - started) / 1000;
    const ok = Number(run.stats['SuccessfulCall(C)'] ?? 0);
    const failed = Number(run.stats['FailedCall(C)'] ?? 0);
    console.log(
      `throughput phase: ${rate} calls/s for ${seconds} s: ${ok} ok, ${failed} failed, ${elapsed.toFixed(1)} s, sipp exit ${run.code}`,
    );
    const core = server.core.stats();
    console.log(
      `  callrec: ${core.received} messages received, ${core.parseErrors} parse errors, ${server.b2bua.callCount} calls left`,
    );
    console.log(
      `targets: >= 300 calls/s with 0 failures: ${rate >= 300 && failed === 0 && ok === rate * seconds ? 'met' : 'NOT met'}; p99 < 5 ms at 100 calls/s: ${latencyRate === 100 && p99 < 5 ? 'met' : 'NOT met'}`,
    );
  } finally {
    uas.kill('SIGKILL');
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
