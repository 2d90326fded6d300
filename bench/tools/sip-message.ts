/** Minimal SIP message parsing and building for the `media.bench.ts` load generator (`SipLoad`). */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:dgram';

export interface SipMessage {
  readonly request: boolean;
  readonly method: string;
  readonly status: number;
  readonly uri: string;
  /** Lower-case long names, in order. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: string;
}

const COMPACT: Readonly<Record<string, string>> = {
  v: 'via',
  f: 'from',
  t: 'to',
  i: 'call-id',
  m: 'contact',
  l: 'content-length',
  c: 'content-type',
  k: 'supported',
};

export function parseSip(data: Buffer): SipMessage | undefined {
  const text = data.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const lines = text.slice(0, end).split('\r\n');
  const first = lines[0] ?? '';
  const headers: Array<readonly [string, string]> = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    if ((line.startsWith(' ') || line.startsWith('\t')) && headers.length > 0) {
      const last = headers.pop() as readonly [string, string];
      headers.push([last[0], `${last[1]} ${line.trim()}`]);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const raw = line.slice(0, colon).trim().toLowerCase();
    headers.push([COMPACT[raw] ?? raw, line.slice(colon + 1).trim()]);
  }
  const body = text.slice(end + 4);
  if (first.startsWith('SIP/2.0 ')) {
    return { request: false, method: '', status: Number(first.slice(8, 11)), uri: '', headers, body };
  }
  const [method, uri] = first.split(' ');
  if (method === undefined || uri === undefined) return undefined;
  return { request: true, method, status: 0, uri, headers, body };
}

export function header(message: SipMessage, name: string): string {
  for (const [n, v] of message.headers) if (n === name) return v;
  return '';
}

export function headerAll(message: SipMessage, name: string): string[] {
  return message.headers.filter(([n]) => n === name).map(([, v]) => v);
}

export function tagOf(nameAddr: string): string | undefined {
  const afterUri = nameAddr.includes('>') ? nameAddr.slice(nameAddr.lastIndexOf('>')) : nameAddr;
  return /;\s*tag=([^;\s]+)/i.exec(afterUri)?.[1];
}

export function uriOf(nameAddr: string): string {
  const angle = /<([^>]+)>/.exec(nameAddr);
  if (angle?.[1] !== undefined) return angle[1];
  return nameAddr.split(';')[0]?.trim() ?? '';
}

/** host and port of a sip: URI (port 5060 when absent). */
export function hostPortOf(uri: string): { host: string; port: number } | undefined {
  const m = /^sips?:(?:[^@]*@)?(\[[^\]]+\]|[^:;>?]+)(?::(\d+))?/i.exec(uri);
  if (m?.[1] === undefined) return undefined;
  return { host: m[1].replace(/^\[|\]$/g, ''), port: m[2] === undefined ? 5060 : Number(m[2]) };
}

export function cseqOf(message: SipMessage): { number: number; method: string } {
  const [n, method] = header(message, 'cseq').split(/\s+/);
  return { number: Number(n), method: (method ?? '').toUpperCase() };
}

export function token(bytes = 8): string {
  return randomBytes(bytes).toString('hex');
}

export function branch(): string {
  return `z9hG4bK${token(12)}`;
}

/** RFC 3261 §17.1.1.2 T1 and the transaction timeout (64·T1). */
export const T1_MS = 500;
export const T2_MS = 4000;
export const TRANSACTION_TIMEOUT_MS = 64 * T1_MS;

/** Sends `text` (latin1) as one datagram. */
export function sendSip(socket: Socket, text: string, destination: { host: string; port: number }): void {
  socket.send(Buffer.from(text, 'latin1'), destination.port, destination.host);
}

/** A response to `request` (Vias, Record-Routes of a 1xx/2xx to INVITE, dialog headers copied). */
export function sipResponse(
  request: SipMessage,
  status: number,
  reason: string,
  extra: { toTag?: string; contact?: string; sdp?: string } = {},
): string {
  const to = header(request, 'to');
  const lines = [`SIP/2.0 ${status} ${reason}`];
  for (const via of headerAll(request, 'via')) lines.push(`Via: ${via}`);
  if (request.method === 'INVITE' && status > 100 && status < 300) {
    for (const rr of headerAll(request, 'record-route')) lines.push(`Record-Route: ${rr}`);
  }
  lines.push(
    `From: ${header(request, 'from')}`,
    `To: ${extra.toTag !== undefined && tagOf(to) === undefined && status > 100 ? `${to};tag=${extra.toTag}` : to}`,
    `Call-ID: ${header(request, 'call-id')}`,
    `CSeq: ${header(request, 'cseq')}`,
  );
  if (extra.contact !== undefined) lines.push(`Contact: ${extra.contact}`);
  if (extra.sdp !== undefined) {
    lines.push('Content-Type: application/sdp', `Content-Length: ${Buffer.byteLength(extra.sdp)}`, '', extra.sdp);
  } else {
    lines.push('Content-Length: 0', '', '');
  }
  return lines.join('\r\n');
}
