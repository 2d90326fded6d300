/**
 * Test bed for the B2BUA end-to-end tests: one real callrec between a SIPp UAC and a SIPp UAS, all
 * on loopback, every port chosen at run time.
 *
 *   inbound:  UAC on 127.0.0.1 (trunk) -> callrec 127.0.0.1:<port> -> pbx.uri sip:127.0.0.3:<pbxPort>
 *   outbound: UAC on 127.0.0.3 (PBX)   -> callrec 127.0.0.1:<port> -> trunk.uri sip:127.0.0.1:<trunkPort>
 *
 * The UAS of a call listens on the far side's URI port (or on an explicit port, e.g. a registered
 * contact); the UAC gets its own free port so topology hiding can be checked by port.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { findFreePort } from '../../src/cli/free-port.js';
import { startCallrec, type CallrecHealth, type CallrecProcess } from './callrec-process.js';
import { runSipp, startSippUas, type SipTraceMessage, type SippRun, type SippUas } from './sipp.js';

export const TRUNK_IP = '127.0.0.1';
export const PBX_IP = '127.0.0.3';

export type Direction = 'inbound' | 'outbound';
export type SippTransport = 'u1' | 't1';

/** The number the inbound UAC dials and the outbound UAC calls (Request-URI user). */
export const CALLED_NUMBER: Readonly<Record<Direction, string>> = {
  inbound: '+4930123456500',
  outbound: '004940111222',
};

/** What the UAC scenarios put in From (carried across: display name and user). */
export const CALLER_DISPLAY_NAME = 'SIPp Caller';
export const CALLER_USER = '+4940111222';

/** Ports handed out in this process, so that beds started concurrently never share one. */
const reserved = new Set<number>();

/** A port free for UDP and TCP on `host`, not handed out before in this process. */
export async function reservePort(host: string): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = await findFreePort(host);
    if (!reserved.has(port)) {
      reserved.add(port);
      return port;
    }
  }
  throw new Error(`no unreserved free port on ${host}`);
}

export interface TestbedOptions {
  /** SIPp transport on both sides; t1 also puts ;transport=tcp on trunk.uri and pbx.uri. @default 'u1' */
  readonly transport?: SippTransport;
  /** Extra callrec config merged over the generated one (e.g. `{ b2bua: { ringTimeoutSeconds: 3 } }`). */
  readonly config?: Readonly<Record<string, unknown>>;
}

export interface CallOptions {
  readonly direction: Direction;
  /** UAC scenario file in sipp-scenarios/. */
  readonly uac: string;
  /** UAS scenario file in sipp-scenarios/. */
  readonly uas: string;
  /** Request-URI user part. @default CALLED_NUMBER[direction] */
  readonly service?: string;
  /** The UAS's port. @default the far side's URI port (pbxPort inbound, trunkPort outbound) */
  readonly uasPort?: number;
  /** The UAC's own port. @default a free port */
  readonly uacPort?: number;
  /** SIPp -timeout of the UAC in seconds. @default 20 */
  readonly uacTimeoutSeconds?: number;
  /** SIPp -timeout of the UAS in seconds. @default uacTimeoutSeconds + 10 */
  readonly uasTimeoutSeconds?: number;
  /** How long the UAS may take to finish after the UAC ended before it is stopped. @default 5000 */
  readonly uasGraceMs?: number;
  /** Generic keywords for the UAC scenario (`-key name value`), e.g. `{ caller: '201' }`. */
  readonly keys?: Readonly<Record<string, string>>;
}

export interface CallRun {
  readonly direction: Direction;
  readonly transport: SippTransport;
  readonly uac: SippRun;
  readonly uas: SippRun;
  readonly uacIp: string;
  readonly uacPort: number;
  readonly uasIp: string;
  readonly uasPort: number;
}

export interface Testbed {
  readonly callrec: CallrecProcess;
  readonly transport: SippTransport;
  /** Port of pbx.uri (sip:127.0.0.3:<pbxPort>). */
  readonly pbxPort: number;
  /** Port of trunk.uri (sip:127.0.0.1:<trunkPort>). */
  readonly trunkPort: number;
  /** Runs one call: starts the UAS, runs the UAC through callrec, waits for the UAS. */
  call(options: CallOptions): Promise<CallRun>;
  /** Starts a UAS on the far side of `direction` (or `port`) that the caller must finish/kill. */
  startUas(direction: Direction, scenario: string, port?: number, timeoutSeconds?: number): Promise<SippUas>;
  /** Stops callrec and every SIPp still running. */
  stop(): Promise<void>;
}

/** Starts callrec with trunk.uri/pbx.uri pointing at fresh ports where the UAS scenarios will listen. */
export async function startTestbed(options: TestbedOptions = {}): Promise<Testbed> {
  const transport = options.transport ?? 'u1';
  const uriTransport = transport === 't1' ? ';transport=tcp' : '';
  const port = await reservePort(TRUNK_IP);
  const pbxPort = await reservePort(PBX_IP);
  const trunkPort = await reservePort(TRUNK_IP);
  const callrec = await startCallrec({
    port,
    trunkUri: `sip:${TRUNK_IP}:${trunkPort}${uriTransport}`,
    pbxUri: `sip:${PBX_IP}:${pbxPort}${uriTransport}`,
    ...(options.config === undefined ? {} : { config: options.config }),
  });
  const running = new Set<SippUas>();

  const startUas = async (
    direction: Direction,
    scenario: string,
    uasPort?: number,
    timeoutSeconds = 30,
  ): Promise<SippUas> => {
    const uas = await startSippUas({
      scenario,
      localIp: direction === 'inbound' ? PBX_IP : TRUNK_IP,
      port: uasPort ?? (direction === 'inbound' ? pbxPort : trunkPort),
      transport,
      timeoutSeconds,
    });
    running.add(uas);
    void uas.done.finally(() => running.delete(uas));
    return uas;
  };

  return {
    callrec,
    transport,
    pbxPort,
    trunkPort,
    startUas,
    call: async (call) => {
      const uacIp = call.direction === 'inbound' ? TRUNK_IP : PBX_IP;
      const uacTimeout = call.uacTimeoutSeconds ?? 20;
      const uas = await startUas(call.direction, call.uas, call.uasPort, call.uasTimeoutSeconds ?? uacTimeout + 10);
      try {
        const uacPort = call.uacPort ?? (await reservePort(uacIp));
        const uac = await runSipp({
          scenario: call.uac,
          port: callrec.port,
          transport,
          localIp: uacIp,
          localPort: uacPort,
          timeoutSeconds: uacTimeout,
          service: call.service ?? CALLED_NUMBER[call.direction],
          callIdFormat: `uac-%u-%p@${call.direction === 'inbound' ? 'trunk' : 'pbx'}.example`,
          traceMessages: true,
          ...(call.keys === undefined ? {} : { keys: call.keys }),
        });
        const uasRun = await uas.finish(call.uasGraceMs ?? 5000);
        return {
          direction: call.direction,
          transport,
          uac,
          uas: uasRun,
          uacIp,
          uacPort,
          uasIp: uas.localIp,
          uasPort: uas.port,
        };
      } finally {
        uas.kill();
      }
    },
    stop: async () => {
      for (const uas of running) uas.kill();
      await callrec.stop();
    },
  };
}

/** A readable account of a call for assertion messages: exit codes, errors, message flow. */
export function explainCall(run: CallRun): string {
  const flow = (messages: readonly SipTraceMessage[]): string =>
    messages
      .map((m) => `    ${m.direction === 'sent' ? '->' : '<-'} ${m.startLine} (${m.header('CSeq') ?? ''})`)
      .join('\n');
  return [
    `${run.direction} over ${run.transport === 't1' ? 'TCP' : 'UDP'}`,
    `  UAC ${run.uacIp}:${run.uacPort} exit ${run.uac.code}: ${run.uac.errors.trim().slice(0, 1500)}`,
    flow(run.uac.messages),
    `  UAS ${run.uasIp}:${run.uasPort} exit ${run.uas.code}: ${run.uas.errors.trim().slice(0, 1500)}`,
    flow(run.uas.messages),
  ].join('\n');
}

/** Both SIPp sides completed their scenario (every check in the XML held). */
export function assertCallSucceeded(run: CallRun): void {
  assert.equal(run.uac.code, 0, `UAC failed\n${explainCall(run)}`);
  assert.equal(run.uas.code, 0, `UAS failed\n${explainCall(run)}`);
}

/** The `tag` parameter of a From/To value. */
export function tagOf(value: string | undefined): string | undefined {
  return value === undefined ? undefined : /;\s*tag=([^;>\s,]+)/i.exec(value)?.[1];
}

/** The `branch` parameters of every Via value of a message. */
function branchesOf(message: SipTraceMessage): string[] {
  return message.headers('Via').flatMap((v) => [...v.matchAll(/;\s*branch=([^;,\s]+)/gi)].map((m) => m[1] ?? ''));
}

/** What one SIPp side generated itself: its Call-IDs, its tags, its Via branches. */
function ownIdentifiers(messages: readonly SipTraceMessage[]): {
  callIds: Set<string>;
  tags: Set<string>;
  branches: Set<string>;
} {
  const callIds = new Set<string>();
  const tags = new Set<string>();
  const branches = new Set<string>();
  for (const m of messages) {
    const callId = m.header('Call-ID');
    if (callId !== undefined) callIds.add(callId);
    if (m.direction !== 'sent') continue;
    // Our tag: From of our requests, To of our responses.
    const tag = tagOf(m.method !== undefined ? m.header('From') : m.header('To'));
    if (tag !== undefined) tags.add(tag);
    if (m.method !== undefined) for (const b of branchesOf(m)) branches.add(b);
  }
  return { callIds, tags, branches };
}

function mentionsPort(text: string, port: number): boolean {
  // host:port in Via/Contact/URIs, rport=/port params; never with a space (unlike CSeq: n).
  return new RegExp(`[:=]${port}(?![0-9])`).test(text);
}

/**
 * Topology hiding (SPEC §1): nothing of one side's dialog (Call-ID, tags, Via branch, Via/Contact
 * port) reaches the other side. Checked on SIPp's message traces of both ends.
 */
export function assertTopologyHidden(run: CallRun): void {
  const uacText = run.uac.messages.map((m) => m.text).join('\n');
  const uasText = run.uas.messages.map((m) => m.text).join('\n');
  assert.ok(run.uac.messages.length > 0 && run.uas.messages.length > 0, `no message trace\n${explainCall(run)}`);
  const a = ownIdentifiers(run.uac.messages);
  const b = ownIdentifiers(run.uas.messages);
  for (const callId of a.callIds) {
    assert.ok(!uasText.includes(callId), `the UAS side saw the A-leg Call-ID ${callId}\n${explainCall(run)}`);
  }
  for (const callId of b.callIds) {
    assert.ok(!uacText.includes(callId), `the UAC side saw the B-leg Call-ID ${callId}\n${explainCall(run)}`);
  }
  for (const tag of a.tags) assert.ok(!uasText.includes(tag), `the UAS side saw the UAC's tag ${tag}`);
  for (const tag of b.tags) assert.ok(!uacText.includes(tag), `the UAC side saw the UAS's tag ${tag}`);
  for (const branch of a.branches) assert.ok(!uasText.includes(branch), `the UAS side saw the UAC's branch ${branch}`);
  for (const branch of b.branches) assert.ok(!uacText.includes(branch), `the UAC side saw the UAS's branch ${branch}`);
  assert.ok(
    !mentionsPort(uasText, run.uacPort),
    `the UAS side saw the UAC's port ${run.uacPort} (Via/Contact)\n${explainCall(run)}`,
  );
  assert.ok(
    !mentionsPort(uacText, run.uasPort),
    `the UAC side saw the UAS's port ${run.uasPort} (Via/Contact)\n${explainCall(run)}`,
  );
}

/** The first message of a trace matching a predicate, or a failed assertion. */
export function findMessage(
  run: SippRun,
  predicate: (m: SipTraceMessage) => boolean,
  what: string,
  context = '',
): SipTraceMessage {
  const found = run.messages.find(predicate);
  assert.ok(found !== undefined, `no ${what} in the trace\n${context}`);
  return found;
}

/** The initial INVITE the UAS received (Request-URI, identity, Max-Forwards checks). */
export function assertInviteArrived(run: CallRun, expectedUriPrefix: string): SipTraceMessage {
  const invite = findMessage(
    run.uas,
    (m) => m.direction === 'received' && m.method === 'INVITE',
    'INVITE at the UAS',
    explainCall(run),
  );
  const uri = invite.startLine.split(' ')[1] ?? '';
  assert.ok(
    uri.startsWith(expectedUriPrefix),
    `Request-URI ${uri} should start with ${expectedUriPrefix} (user part kept, far-side host)`,
  );
  const from = invite.header('From') ?? '';
  // Quoted or as tokens: both are the same display name (RFC 3261 §25.1 name-addr).
  assert.ok(new RegExp(`^\\s*"?${CALLER_DISPLAY_NAME}"?\\s*<`).test(from), `From display name not carried: ${from}`);
  assert.ok(from.includes(`sip:${CALLER_USER}@`), `From user not carried: ${from}`);
  const maxForwards = Number(invite.header('Max-Forwards'));
  assert.ok(maxForwards >= 1 && maxForwards < 70, `Max-Forwards should be decremented from 70, is ${maxForwards}`);
  return invite;
}

/** Polls /healthz until `done` holds or `timeoutMs` passed; returns the last snapshot. */
export async function waitForHealth(
  callrec: CallrecProcess,
  done: (h: CallrecHealth) => boolean,
  timeoutMs: number,
): Promise<CallrecHealth> {
  const start = Date.now();
  const deadline = start + timeoutMs;
  let last: CallrecHealth | undefined;
  let lastError: unknown;
  // Every change of the counters, with the time since the start of the wait, for the message.
  const timeline: string[] = [];
  let previous = '';
  for (;;) {
    try {
      last = await callrec.health();
      const counts = `calls ${last.calls}, dialogs ${last.dialogs}, transactions ${last.transactions}`;
      if (counts !== previous) timeline.push(`  +${((Date.now() - start) / 1000).toFixed(1)} s: ${counts}`);
      previous = counts;
      if (done(last)) return last;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(
    `callrec did not reach the expected state within ${timeoutMs} ms: last /healthz ${JSON.stringify(last)}` +
      (last === undefined ? ` (${String(lastError)})` : '') +
      `\n${timeline.join('\n')}` +
      `\ncallrec alive: ${callrec.child.exitCode === null}`,
  );
}

/** After a scenario: no call and no dialog left (within 5 s). */
export async function assertNoCallsLeft(callrec: CallrecProcess): Promise<void> {
  await waitForHealth(callrec, (h) => h.status === 'ok' && h.calls === 0 && h.dialogs === 0, 5000);
}

/**
 * At the end of a test file: no call, dialog or transaction left. UDP transactions linger for
 * Timer J/K/D/L/M (up to 32 s with the default T1), and a BYE or CANCEL sent last can itself run
 * to Timer F; on a loaded CI machine allow 75 s before calling it a leak.
 */
export async function assertDrained(callrec: CallrecProcess): Promise<void> {
  await waitForHealth(
    callrec,
    (h) => h.status === 'ok' && h.calls === 0 && h.dialogs === 0 && h.transactions === 0,
    75_000,
  );
}

/** The messages of a trace with a given start (method or status) and direction. */
export function messagesOf(
  run: SippRun,
  direction: 'sent' | 'received',
  kind: string | number,
  cseqMethod?: string,
): SipTraceMessage[] {
  return run.messages.filter(
    (m) =>
      m.direction === direction &&
      (typeof kind === 'number' ? m.status === kind : m.method === kind) &&
      (cseqMethod === undefined || m.cseqMethod === cseqMethod),
  );
}

/** Parameters of a Digest credentials/challenge header value. */
export function digestParams(value: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const m of value.replace(/^\s*Digest\s+/i, '').matchAll(/([A-Za-z0-9-]+)\s*=\s*(?:"([^"]*)"|([^\s,]+))/g)) {
    params.set((m[1] ?? '').toLowerCase(), m[2] ?? m[3] ?? '');
  }
  return params;
}

/** Whether a Digest (MD5, no qop or qop=auth) response is right for method and password. */
export function digestValid(credentials: string, method: string, password: string): boolean {
  const p = digestParams(credentials);
  const md5 = (s: string): string => createHash('md5').update(s).digest('hex');
  const ha1 = md5(`${p.get('username')}:${p.get('realm')}:${password}`);
  const ha2 = md5(`${method}:${p.get('uri')}`);
  const qop = p.get('qop');
  const expected =
    qop === undefined
      ? md5(`${ha1}:${p.get('nonce')}:${ha2}`)
      : md5(`${ha1}:${p.get('nonce')}:${p.get('nc')}:${p.get('cnonce')}:${qop}:${ha2}`);
  return expected === p.get('response');
}
