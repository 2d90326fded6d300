import { isToken, isTokenRange, isTrimmed, parseHeaderParams } from './grammar.js';
import { classifyHost, scanHostPort, scanned } from './host.js';
import type { Via } from './types.js';

const SENT_PROTOCOL = /^([^\s/]+)[ \t]*\/[ \t]*([^\s/]+)[ \t]*\/[ \t]*([^\s/]+)[ \t]+(.+)$/s;

/** Upper-case transport token of `text[start, end)`; the common ones without a new string. */
function transportToken(text: string, start: number, end: number): string {
  if (end - start === 3) {
    const c0 = text.charCodeAt(start);
    const c1 = text.charCodeAt(start + 1);
    const c2 = text.charCodeAt(start + 2);
    if (c0 === 0x55 /* U */ && c1 === 0x44 /* D */ && c2 === 0x50 /* P */) return 'UDP';
    if (c0 === 0x54 /* T */ && c1 === 0x43 /* C */ && c2 === 0x50 /* P */) return 'TCP';
    if (c0 === 0x54 /* T */ && c1 === 0x4c /* L */ && c2 === 0x53 /* S */) return 'TLS';
  }
  return text.slice(start, end).toUpperCase();
}

/** Whether `text` is 1 to `maxDigits` decimal digits with a value of at most `max`. */
function isBoundedDecimal(text: string, maxDigits: number, max: number): boolean {
  if (text.length === 0 || text.length > maxDigits) return false;
  let value = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
    value = value * 10 + (c - 0x30);
  }
  return value <= max;
}

/** Whether `value` is an IP address, bracketed or not (§20.42 `received`). */
function isAddress(value: string): boolean {
  const bare = value.startsWith('[') && value.endsWith(']') ? value.slice(1, -1) : value;
  const type = classifyHost(bare);
  return type === 'ipv4' || type === 'ipv6';
}

/**
 * Whether each parameter that §20.42 and RFC 3581 constrain has a valid value. Looked up by name
 * (the names are interned constants): cheaper than iterating the entries.
 */
function validViaParams(params: ReadonlyMap<string, string | null>): boolean {
  const branch = params.get('branch');
  if (branch !== undefined && (branch === null || !isToken(branch))) return false;
  const rport = params.get('rport');
  if (rport !== undefined && rport !== null && !isBoundedDecimal(rport, 5, 65535)) return false;
  const received = params.get('received');
  if (received !== undefined && (received === null || !isAddress(received))) return false;
  const ttl = params.get('ttl');
  if (ttl !== undefined && (ttl === null || !isBoundedDecimal(ttl, 3, 255))) return false;
  const maddr = params.get('maddr');
  return maddr === undefined || (maddr !== null && classifyHost(maddr.replace(/^\[|\]$/g, '')) !== undefined);
}

/**
 * sent-by and via-params of a Via value in `text[start, end)` (§25.1 via-parm; RFC 3581 rport);
 * `start` is past the sent-protocol and its whitespace.
 */
function viaFrom(text: string, start: number, end: number, protocol: string, transport: string): Via | undefined {
  let sentByEnd = start;
  if (text.charCodeAt(start) === 0x5b /* [ */) {
    sentByEnd = text.indexOf(']', start);
    if (sentByEnd < 0 || sentByEnd >= end) return undefined;
  }
  for (; sentByEnd < end; sentByEnd++) {
    const c = text.charCodeAt(sentByEnd);
    if (c === 0x3b /* ; */ || c === 0x20 || c === 0x09) break;
  }
  const host = scanHostPort(text, start, sentByEnd);
  if (host === undefined) return undefined;
  const hostType = scanned.hostType;
  const port = scanned.port;
  const params = parseHeaderParams(text, sentByEnd, end);
  if (params === undefined) return undefined;
  if (params.size > 0 && !validViaParams(params)) return undefined;
  const branch = params.get('branch');
  return {
    protocol,
    transport,
    host,
    hostType,
    port,
    params,
    branch: branch ?? undefined,
  };
}

/** One Via value in `text[start, end)` (§20.42, §25.1 via-parm; RFC 3581 rport). */
export function parseViaRange(text: string, start: number, end: number): Via | undefined {
  let space = text.indexOf(' ', start + 8);
  if (space >= end) space = -1;
  if (end - start >= 8 && text.startsWith('SIP/2.0/', start) && space > start + 8) {
    // Fast path for the canonical `SIP/2.0/UDP host...` form
    if (!isTokenRange(text, start + 8, space)) return undefined;
    let sentBy = space + 1;
    while (sentBy < end && isTrimmed(text.charCodeAt(sentBy))) sentBy++;
    if (sentBy === end) return undefined;
    return viaFrom(text, sentBy, end, 'SIP/2.0', transportToken(text, start + 8, space));
  }
  const match = SENT_PROTOCOL.exec(text.slice(start, end).trim());
  if (match === null) return undefined;
  const [, name, version, transport, rest] = match as unknown as [string, string, string, string, string];
  if (!isToken(name) || !isToken(version) || !isToken(transport)) return undefined;
  const protocol = name === 'SIP' && version === '2.0' ? 'SIP/2.0' : `${name.toUpperCase()}/${version}`;
  return viaFrom(rest, 0, rest.length, protocol, transport.toUpperCase());
}

/** One Via value (§20.42, §25.1 via-parm; RFC 3581 rport). */
export function parseVia(value: string): Via | undefined {
  return parseViaRange(value, 0, value.length);
}
