import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { endianness, tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../test/support/paths.js';

export interface SippRun {
  /** SIPp's exit code: 0 all calls succeeded, 1 some failed, 255+ fatal/timeout; null if killed. */
  readonly code: number | null;
  /** The last row of `-trace_stat`, keyed by column (e.g. `SuccessfulCall(C)`). */
  readonly stats: Record<string, string>;
  /** Content of the `-trace_err` file, if SIPp wrote one. */
  readonly errors: string;
  /** Every SIP message SIPp sent or received, in order (only with `traceMessages`). */
  readonly messages: readonly SipTraceMessage[];
  /** The raw `-trace_msg` log (only with `traceMessages`). */
  readonly messageLog: string;
  /** SIPp's own address and port (`-i`, `-p`; the port only when it was given). */
  readonly localIp: string;
  readonly localPort: number | undefined;
}

export interface SippOptions {
  readonly scenario: string;
  readonly port: number;
  readonly transport?: 'u1' | 't1';
  /** SIPp's own address (its source address). @default 127.0.0.1 */
  readonly localIp?: string;
  /** SIPp's own port (`-p`). @default SIPp's choice (5060 or the next free one) */
  readonly localPort?: number;
  /** @default 1 */
  readonly calls?: number;
  /** Calls per second. @default 10 */
  readonly rate?: number;
  /** Global timeout in seconds. @default 20 */
  readonly timeoutSeconds?: number;
  readonly extraArgs?: readonly string[];
  /** callrec's address. @default 127.0.0.1 */
  readonly host?: string;
  /** User part of the Request-URI (`-s`, the `[service]` keyword). @default SIPp's 'service' */
  readonly service?: string;
  /** Call-ID format (`-cid_str`), e.g. `uac-%u-%p@trunk.example`. @default SIPp's `%u-%p@%s` */
  readonly callIdFormat?: string;
  /** Write `-trace_msg` and return the messages in `SippRun.messages`. @default false */
  readonly traceMessages?: boolean;
  /** Generic keywords (`-key name value`, used as `[name]` in scenarios). */
  readonly keys?: Readonly<Record<string, string>>;
  /** Global variables (`-set name value`, used as `[$name]` in scenarios). */
  readonly variables?: Readonly<Record<string, string>>;
}

/** Options of a SIPp UAS started in the background (no remote address; it waits for calls). */
export interface SippUasOptions {
  readonly scenario: string;
  /** The port the UAS listens on (`-p`). */
  readonly port: number;
  /** @default 127.0.0.1 */
  readonly localIp?: string;
  readonly transport?: 'u1' | 't1';
  /** Calls after which SIPp exits (`-m`). @default 1 */
  readonly calls?: number;
  /** Global timeout in seconds: SIPp gives up (exit code != 0) after it. @default 30 */
  readonly timeoutSeconds?: number;
  readonly extraArgs?: readonly string[];
  /** @default true */
  readonly traceMessages?: boolean;
  readonly keys?: Readonly<Record<string, string>>;
  readonly variables?: Readonly<Record<string, string>>;
}

/** A SIPp UAS running in the background. */
export interface SippUas {
  readonly port: number;
  readonly localIp: string;
  /** Resolves when SIPp has exited (by itself, or after `finish`/`kill`). */
  readonly done: Promise<SippRun>;
  /** Waits up to `graceMs` for SIPp to end by itself, then stops it; resolves with its run. */
  finish(graceMs?: number): Promise<SippRun>;
  /** Stops SIPp now (SIGTERM, SIGKILL after 1 s). Idempotent. */
  kill(): void;
}

/** One SIP message of a `-trace_msg` log. */
export interface SipTraceMessage {
  readonly direction: 'sent' | 'received';
  /** Wall-clock time SIPp logged it, in ms since the epoch. */
  readonly time: number;
  /** The whole message as on the wire. */
  readonly text: string;
  readonly startLine: string;
  /** The method of a request, else undefined. */
  readonly method: string | undefined;
  /** The status code of a response, else undefined. */
  readonly status: number | undefined;
  /** The method of the CSeq header. */
  readonly cseqMethod: string | undefined;
  readonly cseq: number | undefined;
  readonly body: string;
  /** Values of a header (case-insensitive, compact forms understood), one per header line. */
  headers(name: string): string[];
  /** The first value of a header, or undefined. */
  header(name: string): string | undefined;
}

const COMPACT: Readonly<Record<string, string>> = {
  i: 'call-id',
  m: 'contact',
  e: 'content-encoding',
  l: 'content-length',
  c: 'content-type',
  f: 'from',
  s: 'subject',
  k: 'supported',
  t: 'to',
  v: 'via',
  o: 'event',
  r: 'refer-to',
  b: 'referred-by',
  u: 'allow-events',
  x: 'session-expires',
};

function canonicalName(name: string): string {
  const lower = name.trim().toLowerCase();
  return COMPACT[lower] ?? lower;
}

/** Parses one SIP message (as logged by SIPp) into a `SipTraceMessage`. */
export function parseSipMessage(text: string, direction: 'sent' | 'received', time: number): SipTraceMessage {
  const normalised = text.replace(/\r\n/g, '\n');
  const split = normalised.indexOf('\n\n');
  const head = split < 0 ? normalised : normalised.slice(0, split);
  const body = split < 0 ? '' : normalised.slice(split + 2);
  const lines = head.split('\n');
  const startLine = lines[0]?.trim() ?? '';
  const unfolded: string[] = [];
  for (const line of lines.slice(1)) {
    if (/^[ \t]/.test(line) && unfolded.length > 0) unfolded[unfolded.length - 1] += ` ${line.trim()}`;
    else if (line.trim() !== '') unfolded.push(line);
  }
  const table = new Map<string, string[]>();
  for (const line of unfolded) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = canonicalName(line.slice(0, colon));
    const values = table.get(name) ?? [];
    values.push(line.slice(colon + 1).trim());
    table.set(name, values);
  }
  const response = /^SIP\/2\.0\s+(\d{3})/.exec(startLine);
  const cseq = /^\s*(\d+)\s+(\S+)/.exec(table.get('cseq')?.[0] ?? '');
  return {
    direction,
    time,
    text,
    startLine,
    method: response === null ? startLine.split(' ')[0] : undefined,
    status: response === null ? undefined : Number(response[1]),
    cseqMethod: cseq?.[2],
    cseq: cseq === null ? undefined : Number(cseq[1]),
    body,
    headers: (name) => [...(table.get(canonicalName(name)) ?? [])],
    header: (name) => table.get(canonicalName(name))?.[0],
  };
}

/**
 * Parses SIPp's `-trace_msg` log: blocks introduced by a dashed line with a timestamp, then
 * "UDP message sent (n bytes):" / "TCP message received [n] bytes :", an empty line and the
 * message. Other lines SIPp writes there (socket warnings) are ignored.
 */
export function parseMessageLog(log: string): SipTraceMessage[] {
  const messages: SipTraceMessage[] = [];
  const blocks = log.split(/^-{10,}\s+(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)?)\s*$/m);
  // split with a capture group: [before, time1, block1, time2, block2, ...]
  for (let i = 1; i + 1 < blocks.length; i += 2) {
    const stamp = blocks[i] ?? '';
    const block = (blocks[i + 1] ?? '').replace(/^\r?\n/, '');
    const intro = /^\s*\S+ message (sent|received)[^\n]*\n/.exec(block);
    if (intro === null) continue;
    const text = block.slice(intro[0].length).replace(/^(\r?\n)+/, '');
    if (text.trim() === '') continue;
    const [date, clock] = stamp.split(' ');
    const time = Date.parse(`${date}T${(clock ?? '').slice(0, 12)}`);
    messages.push(parseSipMessage(text, intro[1] === 'sent' ? 'sent' : 'received', time));
  }
  return messages;
}

function commonArgs(options: {
  scenario: string;
  transport?: 'u1' | 't1';
  localIp?: string;
  localPort?: number | undefined;
  calls?: number;
  timeoutSeconds: number;
  traceMessages?: boolean | undefined;
  keys?: Readonly<Record<string, string>> | undefined;
  variables?: Readonly<Record<string, string>> | undefined;
}): string[] {
  return [
    '-sf',
    join(repoRoot, 'sipp-scenarios', options.scenario),
    '-t',
    options.transport ?? 'u1',
    '-i',
    options.localIp ?? '127.0.0.1',
    ...(options.localPort === undefined ? [] : ['-p', String(options.localPort)]),
    '-m',
    String(options.calls ?? 1),
    '-nostdin',
    '-timeout',
    `${options.timeoutSeconds}s`,
    '-timeout_error',
    '-trace_err',
    '-trace_stat',
    '-fd',
    '1',
    ...(options.traceMessages === true ? ['-trace_msg'] : []),
    ...Object.entries(options.keys ?? {}).flatMap(([k, v]) => ['-key', k, v]),
    ...Object.entries(options.variables ?? {}).flatMap(([k, v]) => ['-set', k, v]),
  ];
}

async function collect(
  cwd: string,
  code: number | null,
  localIp: string,
  localPort: number | undefined,
): Promise<SippRun> {
  const files = await readdir(cwd);
  const statFile = files.find((f) => f.endsWith('.csv'));
  const errFile = files.find((f) => f.endsWith('_errors.log'));
  const msgFile = files.find((f) => f.endsWith('_messages.log'));
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
  const messageLog = msgFile === undefined ? '' : await readFile(join(cwd, msgFile), 'latin1');
  await rm(cwd, { recursive: true, force: true });
  return { code, stats, errors, messages: parseMessageLog(messageLog), messageLog, localIp, localPort };
}

function spawnSipp(args: string[], cwd: string): { child: ChildProcess; exited: Promise<number | null> } {
  const child = spawn('sipp', args, { cwd, stdio: ['ignore', 'ignore', 'ignore'] });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (exitCode) => resolve(exitCode));
  });
  return { child, exited };
}

/** Runs real SIPp with a scenario from sipp-scenarios/ against callrec on 127.0.0.1. */
export async function runSipp(options: SippOptions): Promise<SippRun> {
  const cwd = await mkdtemp(join(tmpdir(), 'callrec-sipp-'));
  const args = [
    ...commonArgs({ ...options, timeoutSeconds: options.timeoutSeconds ?? 20 }),
    '-r',
    String(options.rate ?? 10),
    ...(options.service === undefined ? [] : ['-s', options.service]),
    ...(options.callIdFormat === undefined ? [] : ['-cid_str', options.callIdFormat]),
    ...(options.extraArgs ?? []),
    (options.host ?? '127.0.0.1').includes(':')
      ? `[${options.host}]:${options.port}`
      : `${options.host ?? '127.0.0.1'}:${options.port}`,
  ];
  const code = await spawnSipp(args, cwd).exited;
  return collect(cwd, code, options.localIp ?? '127.0.0.1', options.localPort);
}

function hexAddress(ip: string, port: number): string {
  const bytes = ip.split('.').map((b) => Number(b).toString(16).padStart(2, '0').toUpperCase());
  const host = endianness() === 'LE' ? bytes.reverse().join('') : bytes.join('');
  return `${host}:${port.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Whether a socket is bound (UDP) or listening (TCP) on ip:port, from /proc/net (Linux). */
async function isBound(ip: string, port: number, transport: 'u1' | 't1'): Promise<boolean | undefined> {
  let table: string;
  try {
    table = await readFile(transport === 't1' ? '/proc/net/tcp' : '/proc/net/udp', 'utf8');
  } catch {
    return undefined;
  }
  const wanted = hexAddress(ip, port);
  return table
    .split('\n')
    .slice(1)
    .some((line) => {
      const cols = line.trim().split(/\s+/);
      return cols[1] === wanted && (transport === 'u1' || cols[3] === '0A');
    });
}

/**
 * Starts a SIPp UAS in the background (its own process, not `-bg`) and resolves once its socket
 * is bound, so a UAC (or callrec) can send to it right away. Always `finish()` or `kill()` it.
 */
export async function startSippUas(options: SippUasOptions): Promise<SippUas> {
  const cwd = await mkdtemp(join(tmpdir(), 'callrec-sipp-uas-'));
  const localIp = options.localIp ?? '127.0.0.1';
  const transport = options.transport ?? 'u1';
  const args = [
    ...commonArgs({
      ...options,
      localIp,
      localPort: options.port,
      transport,
      timeoutSeconds: options.timeoutSeconds ?? 30,
      traceMessages: options.traceMessages ?? true,
    }),
    ...(options.extraArgs ?? []),
  ];
  const { child, exited } = spawnSipp(args, cwd);
  let killTimer: NodeJS.Timeout | undefined;
  const done = exited.then((code) => collect(cwd, code, localIp, options.port)).finally(() => clearTimeout(killTimer));
  const kill = (): void => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    killTimer = setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }, 1000);
  };
  let exitedEarly = false;
  void exited.then(
    () => (exitedEarly = true),
    () => (exitedEarly = true),
  );
  const deadline = Date.now() + 5000;
  for (;;) {
    if (exitedEarly) {
      const run = await done;
      throw new Error(`SIPp UAS ${options.scenario} exited at start (code ${run.code}):\n${run.errors}`);
    }
    const bound = await isBound(localIp, options.port, transport);
    if (bound === true) break;
    if (bound === undefined || Date.now() > deadline) {
      // No /proc/net (not Linux) or still not bound: give it a moment and go on.
      await new Promise((r) => setTimeout(r, 300));
      break;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    port: options.port,
    localIp,
    done,
    kill,
    finish: async (graceMs = 5000) => {
      const timer = setTimeout(kill, graceMs);
      try {
        return await done;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
