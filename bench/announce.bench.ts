/**
 * `npm run bench:announce`: announcement start latency — from the caller's INVITE leaving the
 * caller to the first announcement RTP packet reaching it — through a real callrec (child
 * process, loopback), with about 100 announcements playing at once (target: p99 < 50 ms).
 *
 * The caller is built in here: one SIP socket, one RTP socket per call; every call is a recorded
 * inbound call whose profile plays config/announcements/inbound.wav (2.7 s) in early media, and
 * is CANCELled just before the announcement ends, so the callee side is never called.
 *   steady: calls start every 2.6 s / 100 (≈ 38 per second), so ~100 play at any time;
 *   burst:  100 INVITEs at once (the worst case: every start queues behind the others).
 * Options: --calls N (steady calls, default 300), --concurrent N (default 100).
 */
import { createSocket, type Socket } from 'node:dgram';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { spawn, type ChildProcess } from 'node:child_process';
import { findFreePort } from '../src/cli/free-port.js';
import { repoRoot } from '../test/support/paths.js';
import { Histogram } from './tools/histogram.js';
import { pcmuSdp } from './tools/pcmu-sdp.js';
import { branch, cseqOf, header, parseSip, token } from './tools/sip-message.js';

const TRUNK_IP = '127.0.0.1';
const PBX_IP = '127.0.0.3';
const CALLED = '+4930123456500';
/** The announcement lasts 2716 ms; CANCEL before it ends so that no callee is ever called. */
const CANCEL_AFTER_MS = 2600;

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const value = at < 0 ? Number.NaN : Number(process.argv[at + 1]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Callrec {
  readonly child: ChildProcess;
  readonly port: number;
  readonly problems: string[];
}

async function startCallrec(dir: string): Promise<Callrec> {
  const port = await findFreePort(TRUNK_IP);
  const example = JSON.parse(await readFile(join(repoRoot, 'config', 'callrec.example.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  await writeFile(join(dir, 'password'), 'bench-only\n', { mode: 0o600 });
  const config = {
    ...example,
    $schema: undefined,
    installation: { dataDir: join(dir, 'data'), keystorePassword: { file: join(dir, 'password') } },
    log: { level: 'info', personalData: false },
    sip: { listen: [{ transport: 'udp', host: TRUNK_IP, port }], advertise: TRUNK_IP },
    media: { host: TRUNK_IP, advertise: TRUNK_IP, portRange: [30000, 33999], timeoutSeconds: 60 },
    trunk: { addresses: [TRUNK_IP], uri: `sip:${TRUNK_IP}:5999` },
    pbx: { addresses: [PBX_IP], uri: `sip:${PBX_IP}:${await findFreePort(PBX_IP)}` },
    users: [{ id: 'u1', extension: '201', numbers: ['+4930123456201'] }],
    groups: [{ id: 'g', numbers: [CALLED], members: ['u1'] }],
    profiles: [
      {
        id: 'announced',
        groups: ['g'],
        channels: 'both-stereo',
        announcement: { inbound: join(repoRoot, 'config', 'announcements', 'inbound.wav') },
        consent: { legalBasis: 'obligation' },
        targets: [],
      },
    ],
    targets: [],
    email: undefined,
    b2bua: { maxCalls: 2000, maxInvitesPerSecondPerSource: 1000 },
    admin: { http: { host: TRUNK_IP, port: await findFreePort(TRUNK_IP) } },
  };
  delete (config as Record<string, unknown>)['$schema'];
  const configPath = join(dir, 'callrec.json');
  await writeFile(configPath, JSON.stringify(config), { mode: 0o600 });
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'callrec'), 'run', '--config', configPath], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const callrec: Callrec = { child, port, problems: [] };
  let listening = false;
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    try {
      const entry = JSON.parse(line) as { level?: number; msg?: string; err?: string };
      if (entry.msg === 'listening') listening = true;
      if ((entry.level ?? 0) >= 40) callrec.problems.push(`${entry.msg ?? ''} ${entry.err ?? ''}`);
    } catch {
      callrec.problems.push(line);
    }
  });
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (l) => callrec.problems.push(l));
  const deadline = Date.now() + 120_000;
  while (!listening) {
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`callrec did not start: ${callrec.problems.join(' | ')}`);
    await sleep(100);
  }
  return callrec;
}

/** One call of the built-in caller. */
interface Call {
  readonly callId: string;
  readonly tag: string;
  readonly branch: string;
  readonly rtp: Socket;
  sentAt: number;
  firstRtpMs: number | undefined;
  done: boolean;
}

class Caller {
  readonly #sip: Socket;
  readonly #callrecPort: number;
  readonly #calls = new Map<string, Call>();
  readonly #onDone: (call: Call) => void;

  private constructor(sip: Socket, callrecPort: number, onDone: (call: Call) => void) {
    this.#sip = sip;
    this.#callrecPort = callrecPort;
    this.#onDone = onDone;
    sip.on('message', (data) => this.#onSip(data));
  }

  static async open(callrecPort: number, onDone: (call: Call) => void): Promise<Caller> {
    const sip = createSocket('udp4');
    await new Promise<void>((resolve) => sip.bind(0, TRUNK_IP, () => resolve()));
    return new Caller(sip, callrecPort, onDone);
  }

  async call(onFirstRtp: (call: Call) => void): Promise<Call> {
    const rtp = createSocket('udp4');
    await new Promise<void>((resolve) => rtp.bind(0, TRUNK_IP, () => resolve()));
    const call: Call = {
      callId: `${token()}@bench`,
      tag: token(4),
      branch: branch(),
      rtp,
      sentAt: 0,
      firstRtpMs: undefined,
      done: false,
    };
    rtp.on('message', () => {
      if (call.firstRtpMs !== undefined) return;
      call.firstRtpMs = performance.now() - call.sentAt;
      onFirstRtp(call);
    });
    this.#calls.set(call.callId, call);
    const sdp = pcmuSdp(TRUNK_IP, rtp.address().port);
    call.sentAt = performance.now();
    this.#send(this.#request(call, 'INVITE', ['Content-Type: application/sdp'], sdp));
    return call;
  }

  cancel(call: Call): void {
    this.#send(this.#request(call, 'CANCEL', [], ''));
  }

  close(): void {
    this.#sip.close();
  }

  #request(call: Call, method: string, extra: readonly string[], body: string): string {
    const local = this.#sip.address();
    return [
      `${method} sip:${CALLED}@${TRUNK_IP}:${this.#callrecPort} SIP/2.0`,
      `Via: SIP/2.0/UDP ${local.address}:${local.port};branch=${call.branch};rport`,
      'Max-Forwards: 70',
      `From: <sip:+4940111222@${TRUNK_IP}>;tag=${call.tag}`,
      `To: <sip:${CALLED}@${TRUNK_IP}>`,
      `Call-ID: ${call.callId}`,
      `CSeq: 1 ${method}`,
      `Contact: <sip:bench@${local.address}:${local.port}>`,
      ...extra,
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ].join('\r\n');
  }

  #onSip(data: Buffer): void {
    const message = parseSip(data);
    if (message === undefined || message.request) return;
    const call = this.#calls.get(header(message, 'call-id'));
    if (call === undefined || cseqOf(message).method !== 'INVITE' || message.status < 200) return;
    // Final response to the INVITE (487 after our CANCEL): ACK it (RFC 3261 §17.1.1.3)
    const to = header(message, 'to');
    this.#send(this.#request(call, 'ACK', [], '').replace(/^To: .*$/m, `To: ${to}`));
    if (call.done) return;
    call.done = true;
    this.#calls.delete(call.callId);
    call.rtp.close();
    this.#onDone(call);
  }

  #send(text: string): void {
    this.#sip.send(Buffer.from(text, 'latin1'), this.#callrecPort, TRUNK_IP);
  }
}

interface RunResult {
  readonly latencies: Histogram;
  readonly failed: number;
  readonly maxConcurrent: number;
}

/** Starts `calls` calls `intervalMs` apart (0: all at once); each is cancelled before its announcement ends. */
async function run(callrecPort: number, calls: number, intervalMs: number): Promise<RunResult> {
  const latencies = new Histogram();
  let playing = 0;
  let maxConcurrent = 0;
  let finished = 0;
  let resolveAll: () => void = () => undefined;
  const all = new Promise<void>((resolve) => (resolveAll = resolve));
  const caller = await Caller.open(callrecPort, () => {
    finished += 1;
    if (finished === calls) resolveAll();
  });
  const started: Call[] = [];
  const begin = performance.now();
  for (let i = 0; i < calls; i++) {
    const due = begin + i * intervalMs;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    const call = await caller.call((c) => {
      latencies.add(c.firstRtpMs ?? 0);
      playing += 1;
      maxConcurrent = Math.max(maxConcurrent, playing);
      setTimeout(() => {
        playing -= 1;
        caller.cancel(c);
      }, CANCEL_AFTER_MS);
    });
    started.push(call);
  }
  // Calls that never heard anything are cancelled too
  setTimeout(() => {
    for (const call of started) if (call.firstRtpMs === undefined) caller.cancel(call);
  }, 5000).unref();
  await Promise.race([all, sleep(CANCEL_AFTER_MS + 15_000)]);
  caller.close();
  const failed = started.filter((call) => call.firstRtpMs === undefined).length;
  return { latencies, failed, maxConcurrent };
}

function report(name: string, result: RunResult): number {
  const h = result.latencies;
  const p50 = h.percentile(50);
  const p99 = h.percentile(99);
  process.stdout.write(
    `${name.padEnd(34)} calls ${String(h.count).padStart(4)}  concurrent ≤ ${String(result.maxConcurrent).padStart(3)}  ` +
      `p50 ${p50.toFixed(1).padStart(6)} ms  p99 ${p99.toFixed(1).padStart(6)} ms  max ${h.max.toFixed(1).padStart(6)} ms` +
      `${result.failed > 0 ? `  NO ANNOUNCEMENT: ${result.failed}` : ''}\n`,
  );
  return p99;
}

async function main(): Promise<void> {
  const calls = option('calls', 300);
  const concurrent = option('concurrent', 100);
  const dir = await mkdtemp(join(tmpdir(), 'callrec-announce-bench-'));
  const callrec = await startCallrec(dir);
  try {
    process.stdout.write(`announcement start latency (INVITE sent -> first announcement RTP received), loopback\n`);
    await run(callrec.port, 20, 20); // warm-up: JIT, clip cache
    await sleep(CANCEL_AFTER_MS + 1000);
    const steady = await run(callrec.port, calls, CANCEL_AFTER_MS / concurrent);
    const p99 = report(`steady, ~${concurrent} playing at once`, steady);
    await sleep(2000);
    report(`burst, ${concurrent} INVITEs at once`, await run(callrec.port, concurrent, 0));
    process.stdout.write(`target p99 < 50 ms at ${concurrent} concurrent: ${p99 < 50 ? 'met' : 'NOT met'}\n`);
    const problems = callrec.problems.filter((p) => !p.includes('media.advertise'));
    if (problems.length > 0) process.stdout.write(`callrec warnings: ${problems.slice(0, 5).join(' | ')}\n`);
  } finally {
    callrec.child.kill('SIGTERM');
    await new Promise((resolve) => callrec.child.once('exit', resolve));
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
