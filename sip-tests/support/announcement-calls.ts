/**
 * Calls with an announcement through the real callrec, for sip-tests/announcement-*.test.ts: a
 * SIPp caller and callee for the signalling, each with a test RTP endpoint (RtpEndpoint) for the
 * media, plus readers for what callrec wrote (recording folder, metadata) and `callrec verify`.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeWav, encodeClip } from '../../src/media/index.js';
import { repoRoot } from '../../test/support/paths.js';
import { RtpEndpoint } from './announcement-endpoint.js';
import { PBX_IP, reservePort, TRUNK_IP, type Testbed } from './b2bua.js';
import { runSippMediaUac, startSippMediaUas, type SippMediaRun } from './media.js';
import type { SippRun } from './sipp.js';

/** The test announcements (config/announcements/, made by scripts/make-announcements.mjs). */
export const ANNOUNCEMENTS = join(repoRoot, 'config', 'announcements');

/** What the caller sends before the announcement ended (must never be recorded) and after. */
export const EARLY_TONE_HZ = 2700;
export const CALLER_TONE_HZ = 440;
export const CALLEE_TONE_HZ = 1000;

/** The PCMU payloads callrec must send for a WAV (its own encoder, 20 ms packets). */
export async function expectedPcmu(file: string): Promise<Buffer[]> {
  const clip = decodeWav(await readFile(file), file);
  return [...encodeClip(clip, { payloadType: 0, encoding: 'PCMU', clockRate: 8000, channels: 1 }).payloads];
}

export interface AnnouncedCallOptions {
  readonly service: string;
  /** How long the call lasts after the ACK. @default 2500 */
  readonly callMs?: number;
  /** How long the callee rings. @default 400 */
  readonly ringMs?: number;
  /** @default 'uac-announce-call-expect-200.xml' */
  readonly uac?: string;
  /** Whether a callee is started (false: the call must never reach it). @default true */
  readonly withCallee?: boolean;
  /** Runs once the caller's endpoint got its first packet (the announcement started). */
  readonly onAnnouncement?: (caller: RtpEndpoint) => void;
  /** Runs once the callee's endpoint got its first packet (the call is connected). */
  readonly onConnected?: (callee: RtpEndpoint, caller: RtpEndpoint) => void;
}

export interface AnnouncedCall {
  readonly uac: SippMediaRun;
  readonly uas: SippRun | undefined;
  readonly caller: RtpEndpoint;
  readonly callee: RtpEndpoint;
  /** callrec's id of the call (= recording id). */
  readonly id: string;
  /** SSRC of the first stream the caller received (the announcement). */
  readonly announcementSsrc: number | undefined;
}

/**
 * One call with an announcement: the caller's endpoint sends EARLY_TONE_HZ from the first packet
 * it hears and switches to CALLER_TONE_HZ once the announcement stopped for 100 ms; the callee's
 * endpoint sends CALLEE_TONE_HZ once it hears the caller (symmetric RTP).
 */
export async function runAnnouncedCall(bed: Testbed, options: AnnouncedCallOptions): Promise<AnnouncedCall> {
  const logsBefore = bed.callrec.logs().length;
  const caller = await RtpEndpoint.bind(TRUNK_IP);
  const callee = await RtpEndpoint.bind(PBX_IP);
  const callMs = options.callMs ?? 2500;
  let announcementSsrc: number | undefined;
  let lastAnnouncementMs = 0;
  caller.onPacket((packet) => {
    if (announcementSsrc === undefined) {
      announcementSsrc = packet.ssrc;
      caller.tone(EARLY_TONE_HZ);
      options.onAnnouncement?.(caller);
    }
    if (packet.ssrc === announcementSsrc) lastAnnouncementMs = performance.now();
  });
  const switcher = setInterval(() => {
    if (announcementSsrc !== undefined && performance.now() - lastAnnouncementMs > 100) {
      caller.tone(CALLER_TONE_HZ);
      clearInterval(switcher);
    }
  }, 20);
  let connected = false;
  callee.onPacket(() => {
    if (connected) return;
    connected = true;
    callee.tone(CALLEE_TONE_HZ);
    options.onConnected?.(callee, caller);
  });
  const uas =
    options.withCallee === false
      ? undefined
      : await startSippMediaUas({
          scenario: 'uas-announce-answer.xml',
          localIp: PBX_IP,
          port: bed.pbxPort,
          timeoutSeconds: 60,
          variables: { rtp_port: String(callee.port), ring_ms: String(options.ringMs ?? 400) },
        });
  try {
    const uac = await runSippMediaUac({
      scenario: options.uac ?? 'uac-announce-call-expect-200.xml',
      port: bed.callrec.port,
      localIp: TRUNK_IP,
      localPort: await reservePort(TRUNK_IP),
      service: options.service,
      timeoutSeconds: Math.ceil(callMs / 1000) + 30,
      callIdFormat: 'uac-%u-%p@trunk.example',
      traceMessages: true,
      variables: { rtp_port: String(caller.port), call_ms: String(callMs) },
    });
    const uasRun = await uas?.finish(8000);
    const started = bed.callrec
      .logs()
      .slice(logsBefore)
      .find((line) => line['msg'] === 'call started');
    assert.ok(started !== undefined, 'callrec logged the call');
    return { uac, uas: uasRun, caller, callee, id: String(started['call']), announcementSsrc };
  } finally {
    clearInterval(switcher);
    uas?.kill();
    await Promise.all([caller.close(), callee.close()]);
  }
}

/** Polls callrec's log for a line of call `id` starting with `msg`. */
export async function waitForLog(
  bed: Testbed,
  id: string,
  msg: string,
  timeoutMs = 15_000,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = bed.callrec.logs().find((l) => l['call'] === id && String(l['msg']).startsWith(msg));
    if (line !== undefined) return line;
    if (Date.now() > deadline) throw new Error(`timed out waiting for "${msg}" of call ${id}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A finished recording: its folder, files and metadata. */
export interface Recording {
  readonly dir: string;
  readonly files: string[];
  readonly metadata: Record<string, unknown>;
}

/** Waits for the recording of call `id` to be finished and sealed, then reads it. */
export async function recordingOf(bed: Testbed, id: string): Promise<Recording> {
  await waitForLog(bed, id, 'recording finished');
  const dir = join(bed.callrec.dir, 'data', 'recordings', id);
  const metadata = JSON.parse(await readFile(join(dir, `${id}.json`), 'utf8')) as Record<string, unknown>;
  return { dir, files: (await readdir(dir)).sort(), metadata };
}

/** Runs `bin/callrec` with `args`. */
export function runCli(args: readonly string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(repoRoot, 'bin', 'callrec'), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.once('exit', (code) => resolve({ code, output }));
  });
}

/** `callrec verify` of a recording folder against the installation's certificate: exit 0. */
export async function assertVerifies(bed: Testbed, dir: string): Promise<void> {
  const cert = join(bed.callrec.dir, 'cert.pem');
  const exported = await runCli(['cert', 'export', '--out', cert, '--config', bed.callrec.configPath]);
  assert.equal(exported.code, 0, exported.output);
  const verify = await runCli(['verify', dir, '--cert', cert, '--allow-gaps']);
  assert.equal(verify.code, 0, verify.output);
}
