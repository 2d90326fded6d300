/**
 * Media for the end-to-end tests: SIPp calls that carry RTP both ways (the caller plays a 440 Hz
 * tone, the callee 1000 Hz; captures in sipp-scenarios/pcap/), each SIPp on its own media port, plus
 * a plain RTP receiver and a third-party RTP sender. SIPp plays captures through a raw socket, so
 * these need root (as the sip-tests run).
 */
import { createSocket, type Socket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { g711Decoder, toneRtpPackets } from '../../bench/tools/tone-pcap.js';
import { repoRoot } from '../../test/support/paths.js';
import { CALLED_NUMBER, PBX_IP, reservePort, TRUNK_IP, type CallRun, type Direction, type Testbed } from './b2bua.js';
import { runSipp, startSippUas, type SippOptions, type SippRun, type SippUas, type SippUasOptions } from './sipp.js';

/** The tone the caller sends (uac-media-*), the callee sends (uas-media-*), and `sendRtpFrom` sends. */
export const CALLER_TONE_HZ = 440;
export const CALLEE_TONE_HZ = 1000;
export const THIRD_PARTY_TONE_HZ = 2700;

/** The scenarios with audio in sipp-scenarios/. */
export const MEDIA_SCENARIOS = {
  uac: 'uac-media-call-expect-200.xml',
  uas: 'uas-media-answer.xml',
  uacHold: 'uac-media-hold-expect-200.xml',
  uasReinvite: 'uas-media-answer-reinvite.xml',
} as const;

/** Codec of the captures played (`-set codec`): PCMU (PT 0) or PCMA (PT 8). */
export type MediaCodec = 'pcmu' | 'pcma';

/** Durations the media scenarios take as global variables (`-set audio_ms …`). */
export interface MediaTiming {
  /** Audio after the ACK (before the hold in the hold scenario), ≤ 20000. @default 3000 */
  readonly audioMs?: number;
  /** Silence on hold (hold scenario only). @default 2000 */
  readonly holdMs?: number;
  /** Audio after the resume (hold scenario only). @default 3000 */
  readonly resumeMs?: number;
}

// Outside callrec's media range in the sip-tests (40000-40999) and the OS's ephemeral range, where
// `reservePort` finds SIP ports.
const MEDIA_PORT_MIN = 20000;
const MEDIA_PORT_MAX = 29996;
const reservedMedia = new Set<number>();

function udpFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    socket.once('error', () => resolve(false));
    socket.bind(port, host, () => socket.close(() => resolve(true)));
  });
}

/**
 * An even port P on `host` with P..P+3 free for UDP (SIPp binds P for audio and P+2 for video;
 * RTCP would be P+1), not handed out before in this process.
 */
export async function reserveMediaPort(host: string): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = randomInt(MEDIA_PORT_MIN / 2, MEDIA_PORT_MAX / 2 + 1) * 2;
    if ([0, 1, 2, 3].some((d) => reservedMedia.has(port + d))) continue;
    const free = await Promise.all([0, 1, 2, 3].map((d) => udpFree(host, port + d)));
    if (free.every(Boolean)) {
      for (const d of [0, 1, 2, 3]) reservedMedia.add(port + d);
      return port;
    }
  }
  throw new Error(`no free media port on ${host}`);
}

/** The global variables a scenario declares (`<Global variables="a,b"/>`). */
function declaredGlobals(scenario: string): Set<string> {
  const xml = readFileSync(join(repoRoot, 'sipp-scenarios', scenario), 'latin1');
  const declared = /<Global\s+variables="([^"]*)"/.exec(xml)?.[1] ?? '';
  return new Set(declared.split(',').map((v) => v.trim()));
}

/** `-set` values for a scenario: codec and the durations it declares (SIPp rejects others). */
function mediaVariables(scenario: string, codec: MediaCodec | undefined, timing: MediaTiming): Record<string, string> {
  const values: Record<string, number | string | undefined> = {
    codec: codec ?? 'pcmu',
    audio_ms: timing.audioMs,
    hold_ms: timing.holdMs,
    resume_ms: timing.resumeMs,
  };
  const declared = declaredGlobals(scenario);
  return Object.fromEntries(
    Object.entries(values).flatMap(([k, v]) => (v !== undefined && declared.has(k) ? [[k, String(v)]] : [])),
  );
}

const BIND_FAILED = /Unable to bind audio RTP socket/;

export interface SippMediaUacOptions extends Omit<SippOptions, 'scenario'>, MediaTiming {
  /** @default MEDIA_SCENARIOS.uac */
  readonly scenario?: string;
  /** @default 'pcmu' */
  readonly codec?: MediaCodec;
  /** SIPp's media address (`-mi`). @default localIp */
  readonly mediaIp?: string;
  /** SIPp's media port (`-mp`). @default reserveMediaPort(mediaIp) */
  readonly mediaPort?: number;
}

/** A SIPp run and the media address it sent RTP from (and offered in its SDP). */
export interface SippMediaRun extends SippRun {
  readonly mediaIp: string;
  readonly mediaPort: number;
}

/** The call length of a media scenario in ms after the ACK (with the scenario defaults). */
export function mediaDurationMs(scenario: string, timing: MediaTiming): number {
  const hold = declaredGlobals(scenario).has('hold_ms');
  return (timing.audioMs ?? 3000) + (hold ? (timing.holdMs ?? 2000) + (timing.resumeMs ?? 3000) : 0);
}

/** Runs a media UAC scenario (caller, 440 Hz) to `host:port`; retries when its media port was taken. */
export async function runSippMediaUac(options: SippMediaUacOptions): Promise<SippMediaRun> {
  const scenario = options.scenario ?? MEDIA_SCENARIOS.uac;
  const mediaIp = options.mediaIp ?? options.localIp ?? '127.0.0.1';
  for (let attempt = 1; ; attempt++) {
    const mediaPort = options.mediaPort ?? (await reserveMediaPort(mediaIp));
    const run = await runSipp({
      ...options,
      scenario,
      timeoutSeconds: options.timeoutSeconds ?? Math.ceil(mediaDurationMs(scenario, options) / 1000) + 15,
      variables: { ...mediaVariables(scenario, options.codec, options), ...options.variables },
      extraArgs: ['-mi', mediaIp, '-mp', String(mediaPort), ...(options.extraArgs ?? [])],
    });
    if (BIND_FAILED.test(run.errors) && options.mediaPort === undefined && attempt < 3) continue;
    return { ...run, mediaIp, mediaPort };
  }
}

export interface SippMediaUasOptions extends Omit<SippUasOptions, 'scenario'> {
  /** @default MEDIA_SCENARIOS.uas */
  readonly scenario?: string;
  /** The codec the UAS answers and plays. @default 'pcmu' */
  readonly codec?: MediaCodec;
  /** @default localIp */
  readonly mediaIp?: string;
  /** @default reserveMediaPort(mediaIp) */
  readonly mediaPort?: number;
}

/** A media UAS in the background and the media address it answers with. */
export interface SippMediaUas extends SippUas {
  readonly mediaIp: string;
  readonly mediaPort: number;
}

/** Starts a media UAS scenario (callee, 1000 Hz); retries when its media port was taken. */
export async function startSippMediaUas(options: SippMediaUasOptions): Promise<SippMediaUas> {
  const scenario = options.scenario ?? MEDIA_SCENARIOS.uas;
  const mediaIp = options.mediaIp ?? options.localIp ?? '127.0.0.1';
  for (let attempt = 1; ; attempt++) {
    const mediaPort = options.mediaPort ?? (await reserveMediaPort(mediaIp));
    try {
      const uas = await startSippUas({
        ...options,
        scenario,
        variables: { ...mediaVariables(scenario, options.codec, {}), ...options.variables },
        extraArgs: ['-mi', mediaIp, '-mp', String(mediaPort), ...(options.extraArgs ?? [])],
      });
      return { ...uas, mediaIp, mediaPort };
    } catch (error) {
      const retry = error instanceof Error && BIND_FAILED.test(error.message) && options.mediaPort === undefined;
      if (!retry || attempt >= 3) throw error;
    }
  }
}

export interface MediaCallOptions extends MediaTiming {
  readonly direction: Direction;
  /** @default MEDIA_SCENARIOS.uac */
  readonly uac?: string;
  /** @default MEDIA_SCENARIOS.uasReinvite for MEDIA_SCENARIOS.uacHold, else MEDIA_SCENARIOS.uas */
  readonly uas?: string;
  /** @default 'pcmu' (both sides) */
  readonly codec?: MediaCodec;
  /** @default CALLED_NUMBER[direction] */
  readonly service?: string;
  /** @default the call length + 15 s */
  readonly uacTimeoutSeconds?: number;
}

/** A call through callrec with audio, and the media address of each SIPp. */
export interface MediaCallRun extends CallRun {
  readonly uacMedia: { readonly ip: string; readonly port: number };
  readonly uasMedia: { readonly ip: string; readonly port: number };
}

/** `Testbed.call` with audio both ways: media UAS on the far side, media UAC through callrec. */
export async function runMediaCall(bed: Testbed, call: MediaCallOptions): Promise<MediaCallRun> {
  const uacIp = call.direction === 'inbound' ? TRUNK_IP : PBX_IP;
  const uasIp = call.direction === 'inbound' ? PBX_IP : TRUNK_IP;
  const scenario = call.uac ?? MEDIA_SCENARIOS.uac;
  const uacTimeout = call.uacTimeoutSeconds ?? Math.ceil(mediaDurationMs(scenario, call) / 1000) + 15;
  const uas = await startSippMediaUas({
    scenario: call.uas ?? (scenario === MEDIA_SCENARIOS.uacHold ? MEDIA_SCENARIOS.uasReinvite : MEDIA_SCENARIOS.uas),
    localIp: uasIp,
    port: call.direction === 'inbound' ? bed.pbxPort : bed.trunkPort,
    transport: bed.transport,
    timeoutSeconds: uacTimeout + 10,
    codec: call.codec,
  });
  try {
    const uacPort = await reservePort(uacIp);
    const uac = await runSippMediaUac({
      ...call,
      scenario,
      port: bed.callrec.port,
      transport: bed.transport,
      localIp: uacIp,
      localPort: uacPort,
      timeoutSeconds: uacTimeout,
      service: call.service ?? CALLED_NUMBER[call.direction],
      callIdFormat: `uac-%u-%p@${call.direction === 'inbound' ? 'trunk' : 'pbx'}.example`,
      traceMessages: true,
    });
    const uasRun = await uas.finish(5000);
    return {
      direction: call.direction,
      transport: bed.transport,
      uac,
      uas: uasRun,
      uacIp,
      uacPort,
      uasIp,
      uasPort: uas.port,
      uacMedia: { ip: uac.mediaIp, port: uac.mediaPort },
      uasMedia: { ip: uas.mediaIp, port: uas.mediaPort },
    };
  } finally {
    uas.kill();
  }
}

/** One RTP packet as received (RFC 3550 §5.1 fixed header; no CSRC/extension handling beyond skipping). */
export interface ReceivedRtp {
  /** ms since the receiver started. */
  readonly atMs: number;
  readonly from: { readonly address: string; readonly port: number };
  readonly payloadType: number;
  readonly marker: boolean;
  readonly sequence: number;
  readonly timestamp: number;
  readonly ssrc: number;
  readonly payload: Buffer;
}

/** Parses an RTP packet; undefined when it is not one. */
export function parseRtp(data: Buffer): Omit<ReceivedRtp, 'atMs' | 'from'> | undefined {
  if (data.length < 12 || data[0]! >> 6 !== 2) return undefined;
  let offset = 12 + (data[0]! & 0x0f) * 4;
  if ((data[0]! & 0x10) !== 0 && data.length >= offset + 4) offset += 4 + data.readUInt16BE(offset + 2) * 4;
  let end = data.length;
  if ((data[0]! & 0x20) !== 0) end -= data[data.length - 1]!;
  if (offset > end) return undefined;
  return {
    payloadType: data[1]! & 0x7f,
    marker: (data[1]! & 0x80) !== 0,
    sequence: data.readUInt16BE(2),
    timestamp: data.readUInt32BE(4),
    ssrc: data.readUInt32BE(8),
    payload: data.subarray(offset, end),
  };
}

/** A UDP socket that collects the RTP packets sent to it. */
export interface RtpReceiver {
  readonly address: string;
  readonly port: number;
  readonly packets: readonly ReceivedRtp[];
  close(): Promise<void>;
}

/** Binds a UDP socket on `address` (port: free one by default) and records every RTP packet. */
export async function startRtpReceiver(address: string, port = 0): Promise<RtpReceiver> {
  const socket = createSocket(address.includes(':') ? 'udp6' : 'udp4');
  const packets: ReceivedRtp[] = [];
  const start = performance.now();
  socket.on('message', (data, rinfo) => {
    const rtp = parseRtp(data);
    if (rtp === undefined) return;
    packets.push({ ...rtp, atMs: performance.now() - start, from: { address: rinfo.address, port: rinfo.port } });
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, address, () => resolve());
  });
  return {
    address,
    port: socket.address().port,
    packets,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

/** The 16-bit samples of G.711 packets (PT 0 or 8) in the order given; other PTs are skipped. */
export function decodeG711Packets(packets: readonly Pick<ReceivedRtp, 'payloadType' | 'payload'>[]): Int16Array {
  const g711 = packets.filter((p) => p.payloadType === 0 || p.payloadType === 8);
  const samples = new Int16Array(g711.reduce((n, p) => n + p.payload.length, 0));
  let i = 0;
  for (const packet of g711) {
    const decode = g711Decoder(packet.payloadType as 0 | 8);
    for (const byte of packet.payload) samples[i++] = decode(byte);
  }
  return samples;
}

export interface RtpSendOptions {
  /** Source address. @default '127.0.0.1' (or '::1' for an IPv6 destination) */
  readonly localAddress?: string;
  /** Source port. @default a free one */
  readonly localPort?: number;
  /** Gap between packets; 0 sends them back to back. @default 20 */
  readonly intervalMs?: number;
  /** For a packet count: the tone. @default THIRD_PARTY_TONE_HZ */
  readonly frequencyHz?: number;
  /** For a packet count. @default 0 (PCMU) */
  readonly payloadType?: 0 | 8;
}

/**
 * Sends RTP to `address:port` from a socket of its own (a third party, not a call's negotiated
 * peer): `packets` given, or that many 20 ms packets of a tone (default 2700 Hz, random SSRC).
 * Resolves once all are sent, with the source address and port used.
 */
export async function sendRtpFrom(
  address: string,
  port: number,
  packets: number | readonly Uint8Array[],
  options: RtpSendOptions = {},
): Promise<{ address: string; port: number; sent: number }> {
  const list =
    typeof packets === 'number'
      ? toneRtpPackets({
          frequencyHz: options.frequencyHz ?? THIRD_PARTY_TONE_HZ,
          durationMs: packets * 20,
          payloadType: options.payloadType ?? 0,
          ssrc: randomInt(1, 0xffffffff),
          firstSequence: randomInt(0, 0x8000),
          firstTimestamp: randomInt(0, 0x7fffffff),
        })
      : packets;
  const ipv6 = address.includes(':');
  const socket: Socket = createSocket(ipv6 ? 'udp6' : 'udp4');
  const localAddress = options.localAddress ?? (ipv6 ? '::1' : '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(options.localPort ?? 0, localAddress, () => resolve());
  });
  const source = { address: localAddress, port: socket.address().port };
  try {
    const interval = options.intervalMs ?? 20;
    const start = performance.now();
    for (let i = 0; i < list.length; i++) {
      const due = start + i * interval;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      await new Promise<void>((resolve, reject) =>
        socket.send(list[i]!, port, address, (error) => (error ? reject(error) : resolve())),
      );
    }
    return { ...source, sent: list.length };
  } finally {
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}
