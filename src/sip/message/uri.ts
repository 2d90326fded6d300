import { classifyHost, formatHost, scanHostPort, scanned } from './host.js';
import { commonUriParams, internedSlice } from './interned.js';
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

/** Result of {@link scanAllowed}: invalid, valid without escapes, valid with `%HH` escapes. */
const INVALID = 0;
const PLAIN = 1;
const ESCAPED = 2;

/**
 * Whether every char of `text[start, end)` is in `table` or part of a valid `%HH` escape; tells
 * escaped text apart so that only it is percent-decoded.
 */
function scanAllowed(text: string, start: number, end: number, table: Uint8Array): number {
  let result = PLAIN;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x25 /* % */) {
      // The escape must fit inside the range: characters beyond it belong to something else
      if (i + 2 >= end) return INVALID;
      if (!isHex(text.charCodeAt(i + 1)) || !isHex(text.charCodeAt(i + 2))) return INVALID;
      i += 2;
      result = ESCAPED;
    } else if (c >= 128 || table[c] !== 1) return INVALID;
  }
  return result;
}

function allowed(text: string, table: Uint8Array): boolean {
  return scanAllowed(text, 0, text.length, table) !== INVALID;
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

/** `text[start, end)` checked against `table` and percent-decoded, or undefined when invalid. */
function decodedRange(text: string, start: number, end: number, table: Uint8Array): string | undefined {
  const scan = scanAllowed(text, start, end, table);
  if (scan === INVALID) return undefined;
  const raw = text.slice(start, end);
  return scan === ESCAPED ? percentDecode(raw) : raw;
}

/** Percent-encodes every character of `text` outside `table`. */
function percentEncode(text: string, table: Uint8Array): string {
  if (scanAllowed(text, 0, text.length, table) === PLAIN) return text;
  let out = '';
  for (const ch of text) {
    const c = ch.charCodeAt(0);
    if (ch.length === 1 && c < 128 && table[c] === 1) out += ch;
    else for (const byte of Buffer.from(ch, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Shared empty values: most URIs have no headers, many no parameters. Never mutated. */
const NO_HEADERS: Array<readonly [string, string]> = [];
const NO_PARAMS: Map<string, string | null> = new Map();

/**
 * What the scanners saw, read right after they return (parsing is synchronous, so no other scan
 * interleaves): whether the last {@link paramTextEnd} run held `%HH` escapes or upper-case
 * letters, and whether the last SIP URI parsed is written exactly as {@link formatUri} writes it.
 */
let runEscaped = false;
let runUpperCase = false;
let sipUriVerbatim = false;

/**
 * End of the run of `table` characters and `%HH` escapes from `start`: the index of the first
 * `;` or `=`, or `end`; -1 when another character comes first.
 */
function paramTextEnd(text: string, start: number, end: number, table: Uint8Array): number {
  runEscaped = false;
  runUpperCase = false;
  let i = start;
  while (i < end) {
    const c = text.charCodeAt(i);
    if (c === 0x3b /* ; */ || c === 0x3d /* = */) return i;
    if (c === 0x25 /* % */) {
      if (i + 2 >= end || !isHex(text.charCodeAt(i + 1)) || !isHex(text.charCodeAt(i + 2))) return -1;
      runEscaped = true;
      i += 3;
    } else if (c >= 128 || table[c] !== 1) return -1;
    else {
      if (c >= 0x41 && c <= 0x5a) runUpperCase = true;
      i++;
    }
  }
  return end;
}

/**
 * Parses `;name[=value]` URI parameters in `text[start, end)`, where `start` is at the first `;`
 * (lower-cased names, decoded values). `=` is in no parameter table, so a second one is invalid.
 */
function parseUriParams(text: string, start: number, end: number, table: Uint8Array): UriParams | undefined {
  if (start >= end) return NO_PARAMS;
  const common = table === PARAM_CHARS ? commonUriParams(text, start, end) : undefined;
  if (common !== undefined) return common;
  const params = new Map<string, string | null>();
  let from = start + 1;
  while (from <= end) {
    const nameEnd = paramTextEnd(text, from, end, table);
    if (nameEnd <= from) return undefined;
    let name: string;
    if (runEscaped) name = percentDecode(text.slice(from, nameEnd)).toLowerCase();
    else if (runUpperCase) name = text.slice(from, nameEnd).toLowerCase();
    else name = internedSlice(text, from, nameEnd);
    if (runEscaped || runUpperCase) sipUriVerbatim = false;
    let value: string | null = null;
    let paramEnd = nameEnd;
    if (nameEnd < end && text.charCodeAt(nameEnd) === 0x3d /* = */) {
      paramEnd = paramTextEnd(text, nameEnd + 1, end, table);
      if (paramEnd <= nameEnd + 1 || (paramEnd < end && text.charCodeAt(paramEnd) !== 0x3b)) return undefined;
      if (runEscaped) {
        value = percentDecode(text.slice(nameEnd + 1, paramEnd));
        sipUriVerbatim = false;
      } else value = internedSlice(text, nameEnd + 1, paramEnd);
    }
    const count = params.size;
    params.set(name, value);
    if (params.size === count) return undefined; // the name was there already
    from = paramEnd + 1;
  }
  return params;
}

/** URI headers `?name=value&...` of `text[start, end)` (after the `?`), decoded. */
function parseUriHeaders(text: string, start: number, end: number): Array<readonly [string, string]> | undefined {
  const headers: Array<readonly [string, string]> = [];
  for (const pair of text.slice(start, end).split('&')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) return undefined;
    const name = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    if (!allowed(name, HEADER_CHARS) || !allowed(value, HEADER_CHARS)) return undefined;
    headers.push([percentDecode(name), percentDecode(value)]);
  }
  return headers;
}

/** The SIP URI `text[start, end)` after `scheme:` (RFC 3261 §19.1.1). */
function parseSipUri(scheme: 'sip' | 'sips', text: string, start: number, end: number): SipUri | undefined {
  // Cleared below by anything formatUri would write differently; the scheme is checked by the caller
  sipUriVerbatim = true;
  let user: string | undefined;
  let password: string | undefined;
  let hostStart = start;
  let at = text.indexOf('@', start);
  if (at >= end) at = -1;
  if (at >= 0) {
    hostStart = at + 1;
    let colon = text.indexOf(':', start);
    if (colon >= at) colon = -1;
    const userEnd = colon < 0 ? at : colon;
    if (userEnd === start) return undefined;
    user = decodedRange(text, start, userEnd, USER_CHARS);
    if (user === undefined) return undefined;
    if (colon >= 0) {
      password = decodedRange(text, colon + 1, at, PASSWORD_CHARS);
      if (password === undefined) return undefined;
    }
    // Escapes were decoded (shorter text): formatting escapes only what the grammar requires
    if (user.length !== userEnd - start || (password !== undefined && password.length !== at - colon - 1)) {
      sipUriVerbatim = false;
    }
  }
  let question = text.indexOf('?', hostStart);
  if (question >= end) question = -1;
  const paramsEnd = question < 0 ? end : question;
  let semicolon = text.indexOf(';', hostStart);
  if (semicolon >= paramsEnd) semicolon = -1;
  const hostEnd = semicolon < 0 ? paramsEnd : semicolon;
  const host = scanHostPort(text, hostStart, hostEnd);
  if (host === undefined) return undefined;
  const hostType = scanned.hostType;
  const port = scanned.port;
  if (port !== undefined && text.charCodeAt(hostEnd - decimalDigits(port) - 1) !== 0x3a) {
    sipUriVerbatim = false; // a port with leading zeros
  }
  if (question >= 0) sipUriVerbatim = false;
  const params = semicolon < 0 ? NO_PARAMS : parseUriParams(text, semicolon, paramsEnd, PARAM_CHARS);
  if (params === undefined) return undefined;
  const headers = question < 0 ? NO_HEADERS : parseUriHeaders(text, question + 1, end);
  if (headers === undefined) return undefined;
  // One object shape for every SIP URI (absent parts are undefined) keeps property access fast.
  return {
    scheme,
    user,
    password,
    host,
    hostType,
    port,
    params,
    headers,
  };
}

const TEL_NUMBER = /^(?:\+[0-9\-.()]*[0-9][0-9\-.()]*|[0-9A-Fa-f*#\-.()]*[0-9A-Fa-f*#][0-9A-Fa-f*#\-.()]*)$/;

function parseTelUri(rest: string): TelUri | undefined {
  const semicolon = rest.indexOf(';');
  const number = semicolon < 0 ? rest : rest.slice(0, semicolon);
  if (!TEL_NUMBER.test(number)) return undefined;
  const params = semicolon < 0 ? NO_PARAMS : parseUriParams(rest, semicolon, rest.length, TEL_PARAM_CHARS);
  return params === undefined ? undefined : { scheme: 'tel', number, params };
}

const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*$/;
// Printable ASCII and UTF-8 except whitespace, quotes and angle brackets.
const OPAQUE = /^[^\s<>"\\\u0000-\u001f\u007f]+$/;

/** Whether `text[start, start + 3)` is `sip` in lower case. */
function isLowerSip(text: string, start: number): boolean {
  return text.charCodeAt(start) === 0x73 && text.charCodeAt(start + 1) === 0x69 && text.charCodeAt(start + 2) === 0x70;
}

/** The scheme of `text[start, colon)`, lower-cased; the common lower-case ones without a regex. */
function schemeOf(text: string, start: number, colon: number): string | undefined {
  if (colon - start === 3 && isLowerSip(text, start)) return 'sip';
  if (colon - start === 4 && isLowerSip(text, start) && text.charCodeAt(start + 3) === 0x73) return 'sips';
  const schemeText = text.slice(start, colon);
  return SCHEME.test(schemeText) ? schemeText.toLowerCase() : undefined;
}

/** Number of decimal digits of a non-negative integer below 100000. */
function decimalDigits(n: number): number {
  return n < 10 ? 1 : n < 100 ? 2 : n < 1000 ? 3 : n < 10000 ? 4 : 5;
}

/**
 * A Request-URI in `text[start, end)`, and whether it is written exactly as {@link formatUri}
 * writes it (conservatively: only a `sip:`/`sips:` URI in lower case, without escapes, upper-case
 * parameter names, a port with leading zeros or URI headers qualifies).
 */
export function parseRequestUri(text: string, start: number, end: number): { uri: Uri; verbatim: boolean } | undefined {
  const uri = parseUriRange(text, start, end);
  if (uri === undefined) return undefined;
  const schemeVerbatim = isLowerSip(text, start) && (uri.scheme === 'sip' || text.charCodeAt(start + 3) === 0x73);
  const verbatim = isSipUri(uri) && sipUriVerbatim && schemeVerbatim;
  return { uri, verbatim };
}

/** {@link parseUri} of `text[start, end)`, read in place. */
export function parseUriRange(text: string, start: number, end: number): Uri | undefined {
  const colon = text.indexOf(':', start);
  if (colon <= start || colon >= end) return undefined;
  const scheme = schemeOf(text, start, colon);
  if (scheme === undefined) return undefined;
  if (colon + 1 === end) return undefined;
  if (scheme === 'sip' || scheme === 'sips') return parseSipUri(scheme, text, colon + 1, end);
  const rest = text.slice(colon + 1, end);
  if (scheme === 'tel') return parseTelUri(rest);
  if (!OPAQUE.test(rest)) return undefined;
  const absolute: AbsoluteUri = { scheme, opaque: rest };
  return absolute;
}

/**
 * Parses a URI as it may appear in a Request-URI or a name-addr: `sip:`, `sips:`, `tel:` and any
 * other absolute URI (RFC 3261 §19.1, RFC 3966, RFC 3986). `undefined` when malformed.
 */
export function parseUri(text: string): Uri | undefined {
  return parseUriRange(text, 0, text.length);
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

export { classifyHost, formatHost, parseHostPort } from './host.js';

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
