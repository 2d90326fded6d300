import { isIPv6 } from 'node:net';
import type { AbsoluteUri, SipUri, TelUri, Uri, UriParams } from './types.js';

/** RFC 3261 §25.1 character classes, as lookup tables over ASCII. */
function charClass(extra: string): Uint8Array {
  const table = new Uint8Array(128);
  const base = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789' + "-_.!~*'()";
  for (const c of base + extra) table[c.charCodeAt(0)] = 1;
  return table;
}
const USER_CHARS = charClass('&=+$,;?/');
const PASSWORD_CHARS = charClass('&=+$,');
const PARAM_CHARS = charClass('[]/:&+$');
const HEADER_CHARS = charClass('[]/?:+$');
const TEL_PARAM_CHARS = charClass('[]/:&+$');

/** Whether every char is in `table` or part of a valid `%HH` escape. */
function allowed(text: string, table: Uint8Array): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x25 /* % */) {
      if (!isHex(text.charCodeAt(i + 1)) || !isHex(text.charCodeAt(i + 2))) return false;
      i += 2;
    } else if (c >= 128 || table[c] !== 1) return false;
  }
  return true;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/** Percent-decodes; bytes that are not valid UTF-8 are kept as Latin-1 characters. */
export function percentDecode(text: string): string {
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return text.replace(/%([0-9a-fA-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  }
}

/** Percent-encodes every character of `text` outside `table`. */
function percentEncode(text: string, table: Uint8Array): string {
  let out = '';
  for (const ch of text) {
    const c = ch.charCodeAt(0);
    if (ch.length === 1 && c < 128 && table[c] === 1) out += ch;
    else for (const byte of Buffer.from(ch, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

const HOSTNAME = /^(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?\.)*[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?\.?$/;

/** `IPv4address = 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT` (§25.1), each part <= 255. */
function isIPv4Address(host: string): boolean {
  let parts = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= host.length; i++) {
    const c = i === host.length ? 0x2e : host.charCodeAt(i);
    if (c === 0x2e /* . */) {
      if (digits === 0 || value > 255) return false;
      parts++;
      value = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (++digits > 3) return false;
      value = value * 10 + (c - 0x30);
    } else return false;
  }
  return parts === 4;
}

function isNumericHost(host: string): boolean {
  for (let i = 0; i < host.length; i++) {
    const c = host.charCodeAt(i);
    if (c !== 0x2e && (c < 0x30 || c > 0x39)) return false;
  }
  return true;
}

/** Classifies a host (IPv6 without brackets); `undefined` when it is not a valid host. */
export function classifyHost(host: string): 'ipv4' | 'ipv6' | 'domain' | undefined {
  if (host.length === 0 || host.length > 255) return undefined;
  if (isNumericHost(host)) return isIPv4Address(host) ? 'ipv4' : undefined;
  if (host.includes(':')) return isIPv6(host) ? 'ipv6' : undefined;
  return HOSTNAME.test(host) ? 'domain' : undefined;
}

/** Parses `host[:port]` where an IPv6 host is a bracketed reference (RFC 3261 §25.1 hostport). */
export function parseHostPort(
  text: string,
): { host: string; hostType: 'ipv4' | 'ipv6' | 'domain'; port: number | undefined } | undefined {
  let host: string;
  let rest: string;
  if (text.charCodeAt(0) === 0x5b /* [ */) {
    const close = text.indexOf(']');
    if (close < 0) return undefined;
    host = text.slice(1, close);
    // RFC 5118 §4.10: tolerate the ":::" form that RFC 3261's ABNF bug allowed
    if (!isIPv6(host) && !(host.includes(':::') && isIPv6(host.replace(':::', '::')))) return undefined;
    rest = text.slice(close + 1);
    if (rest.length > 0 && rest.charCodeAt(0) !== 0x3a) return undefined;
    const port = rest.length > 0 ? parsePort(rest.slice(1)) : undefined;
    if (rest.length > 0 && port === undefined) return undefined;
    return { host, hostType: 'ipv6', port };
  }
  const colon = text.indexOf(':');
  if (colon >= 0 && text.indexOf(':', colon + 1) >= 0) return undefined; // bare IPv6 (RFC 5118 §4.2)
  host = colon >= 0 ? text.slice(0, colon) : text;
  const hostType = classifyHost(host);
  if (hostType === undefined) return undefined;
  if (colon < 0) return { host, hostType, port: undefined };
  const port = parsePort(text.slice(colon + 1));
  return port === undefined ? undefined : { host, hostType, port };
}

function parsePort(text: string): number | undefined {
  if (!/^[0-9]{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port <= 65535 ? port : undefined;
}

/** Shared empty values: most URIs have no headers, many no parameters. Never mutated. */
const NO_HEADERS: Array<readonly [string, string]> = [];
const NO_PARAMS: Map<string, string | null> = new Map();

/** Parses `;name[=value]` URI parameters (lower-cased names, decoded values). */
function parseUriParams(text: string, table: Uint8Array): Map<string, string | null> | undefined {
  if (text.length === 0) return NO_PARAMS;
  const params = new Map<string, string | null>();
  let start = 1;
  while (start <= text.length && text.length > 0) {
    let end = text.indexOf(';', start);
    if (end < 0) end = text.length;
    const eq = text.indexOf('=', start);
    const hasValue = eq >= 0 && eq < end;
    const rawName = text.slice(start, hasValue ? eq : end);
    const rawValue = hasValue ? text.slice(eq + 1, end) : null;
    if (rawName.length === 0 || !allowed(rawName, table)) return undefined;
    if (rawValue !== null && (rawValue.length === 0 || !allowed(rawValue, table))) return undefined;
    const name = percentDecode(rawName).toLowerCase();
    if (params.has(name)) return undefined;
    params.set(name, rawValue === null ? null : percentDecode(rawValue));
    start = end + 1;
  }
  return params;
}

function parseSipUri(scheme: 'sip' | 'sips', rest: string): SipUri | undefined {
  let user: string | undefined;
  let password: string | undefined;
  let hostPart = rest;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const userinfo = rest.slice(0, at);
    hostPart = rest.slice(at + 1);
    const colon = userinfo.indexOf(':');
    const rawUser = colon < 0 ? userinfo : userinfo.slice(0, colon);
    if (rawUser.length === 0 || !allowed(rawUser, USER_CHARS)) return undefined;
    user = percentDecode(rawUser);
    if (colon >= 0) {
      const rawPassword = userinfo.slice(colon + 1);
      if (!allowed(rawPassword, PASSWORD_CHARS)) return undefined;
      password = percentDecode(rawPassword);
    }
  }
  const question = hostPart.indexOf('?');
  const beforeHeaders = question < 0 ? hostPart : hostPart.slice(0, question);
  const semicolon = beforeHeaders.indexOf(';');
  const hostPort = parseHostPort(semicolon < 0 ? beforeHeaders : beforeHeaders.slice(0, semicolon));
  if (hostPort === undefined) return undefined;
  const params = parseUriParams(semicolon < 0 ? '' : beforeHeaders.slice(semicolon), PARAM_CHARS);
  if (params === undefined) return undefined;
  let headers: Array<readonly [string, string]> = NO_HEADERS;
  if (question >= 0) {
    headers = [];
    for (const pair of hostPart.slice(question + 1).split('&')) {
      const eq = pair.indexOf('=');
      if (eq <= 0) return undefined;
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      if (!allowed(name, HEADER_CHARS) || !allowed(value, HEADER_CHARS)) return undefined;
      headers.push([percentDecode(name), percentDecode(value)]);
    }
  }
  // One object shape for every SIP URI (absent parts are undefined) keeps property access fast.
  return {
    scheme,
    user,
    password,
    host: hostPort.host,
    hostType: hostPort.hostType,
    port: hostPort.port,
    params,
    headers,
  };
}

const TEL_NUMBER = /^(?:\+[0-9\-.()]*[0-9][0-9\-.()]*|[0-9A-Fa-f*#\-.()]*[0-9A-Fa-f*#][0-9A-Fa-f*#\-.()]*)$/;

function parseTelUri(rest: string): TelUri | undefined {
  const semicolon = rest.indexOf(';');
  const number = semicolon < 0 ? rest : rest.slice(0, semicolon);
  if (!TEL_NUMBER.test(number)) return undefined;
  const params = parseUriParams(semicolon < 0 ? '' : rest.slice(semicolon), TEL_PARAM_CHARS);
  return params === undefined ? undefined : { scheme: 'tel', number, params };
}

const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*$/;
// Printable ASCII and UTF-8 except whitespace, quotes and angle brackets.
const OPAQUE = /^[^\s<>"\\\u0000-\u001f\u007f]+$/;

/**
 * Parses a URI as it may appear in a Request-URI or a name-addr: `sip:`, `sips:`, `tel:` and any
 * other absolute URI (RFC 3261 §19.1, RFC 3966, RFC 3986). `undefined` when malformed.
 */
export function parseUri(text: string): Uri | undefined {
  const colon = text.indexOf(':');
  if (colon <= 0) return undefined;
  const schemeText = text.slice(0, colon);
  if (!SCHEME.test(schemeText)) return undefined;
  const scheme = schemeText.toLowerCase();
  const rest = text.slice(colon + 1);
  if (rest.length === 0) return undefined;
  if (scheme === 'sip' || scheme === 'sips') return parseSipUri(scheme, rest);
  if (scheme === 'tel') return parseTelUri(rest);
  if (!OPAQUE.test(rest)) return undefined;
  const absolute: AbsoluteUri = { scheme, opaque: rest };
  return absolute;
}

/** Whether the URI is a `sip:`/`sips:` URI. */
export function isSipUri(uri: Uri): uri is SipUri {
  return uri.scheme === 'sip' || uri.scheme === 'sips';
}

/** Whether the URI is a `tel:` URI. */
export function isTelUri(uri: Uri): uri is TelUri {
  return uri.scheme === 'tel';
}

function formatUriParams(params: UriParams): string {
  let out = '';
  for (const [name, value] of params) {
    out += `;${percentEncode(name, PARAM_CHARS)}`;
    if (value !== null) out += `=${percentEncode(value, PARAM_CHARS)}`;
  }
  return out;
}

/** Formats a host for a URI or Via: IPv6 in brackets. */
export function formatHost(host: string, hostType: 'ipv4' | 'ipv6' | 'domain'): string {
  return hostType === 'ipv6' ? `[${host}]` : host;
}

/** Serialises a URI (escaping what the grammar requires). */
export function formatUri(uri: Uri): string {
  if (isSipUri(uri)) {
    let out = `${uri.scheme}:`;
    if (uri.user !== undefined) {
      out += percentEncode(uri.user, USER_CHARS);
      if (uri.password !== undefined) out += `:${percentEncode(uri.password, PASSWORD_CHARS)}`;
      out += '@';
    }
    out += formatHost(uri.host, uri.hostType);
    if (uri.port !== undefined) out += `:${uri.port}`;
    out += formatUriParams(uri.params);
    if (uri.headers.length > 0) {
      out +=
        '?' +
        uri.headers.map(([n, v]) => `${percentEncode(n, HEADER_CHARS)}=${percentEncode(v, HEADER_CHARS)}`).join('&');
    }
    return out;
  }
  if (isTelUri(uri)) return `tel:${uri.number}${formatUriParams(uri.params)}`;
  const absolute = uri as AbsoluteUri;
  return `${absolute.scheme}:${absolute.opaque}`;
}

/** Builds a `sip:` URI value. */
export function sipUri(init: {
  scheme?: 'sip' | 'sips';
  user?: string;
  host: string;
  port?: number;
  params?: Iterable<readonly [string, string | null]>;
}): SipUri {
  const hostType = classifyHost(init.host);
  if (hostType === undefined) throw new Error(`invalid SIP URI host: ${init.host}`);
  return {
    scheme: init.scheme ?? 'sip',
    user: init.user,
    password: undefined,
    host: init.host,
    hostType,
    port: init.port,
    params: new Map(init.params ?? []),
    headers: [],
  };
}
