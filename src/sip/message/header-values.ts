import {
  endOfQuotedString,
  isToken,
  isWhitespace,
  parseHeaderParams,
  skipWhitespace,
  splitList,
  unquote,
} from './grammar.js';
import { classifyHost, parseHostPort, parseUri } from './uri.js';
import type { ContactValue, CSeq, NameAddr, Via } from './types.js';

/**
 * Parsers for the values of the headers the stack relies on (RFC 3261 §20). Each returns
 * `undefined` for a malformed value.
 */

/** `name-addr / addr-spec` followed by header parameters (§20.10, §25.1). */
export function parseNameAddr(value: string): NameAddr | undefined {
  const text =
    value.length > 0 && !isWhitespace(value.charCodeAt(0)) && !isWhitespace(value.charCodeAt(value.length - 1))
      ? value
      : value.trim();
  let displayName: string | undefined;
  let uriText: string;
  let i = 0;
  if (text.charCodeAt(0) === 0x22 /* " */) {
    const end = endOfQuotedString(text, 0);
    if (end < 0) return undefined;
    displayName = unquote(text.slice(0, end));
    i = skipWhitespace(text, end);
    if (text.charCodeAt(i) !== 0x3c /* < */) return undefined;
  } else {
    const lt = text.indexOf('<');
    if (lt >= 0) {
      const name = text.slice(0, lt).trim();
      if (name.length > 0) {
        // Unquoted display name: *(token LWS) (§25.1)
        for (const word of name.split(/[ \t]+/)) if (!isToken(word)) return undefined;
        displayName = name;
      }
      i = lt;
    } else {
      // addr-spec form: header params follow the first ';' and the URI may not hold ',', '?' (§20.10)
      const semicolon = text.indexOf(';');
      uriText = semicolon < 0 ? text : text.slice(0, semicolon).trimEnd();
      if (/[\s,?<>"]/.test(uriText)) return undefined;
      const uri = parseUri(uriText);
      if (uri === undefined) return undefined;
      const params = parseHeaderParams(text, semicolon < 0 ? text.length : semicolon);
      return params === undefined ? undefined : { displayName: undefined, uri, params };
    }
  }
  const gt = text.indexOf('>', i);
  if (gt < 0) return undefined;
  // parseUri rejects whitespace itself (every URI grammar excludes it)
  uriText = text.slice(i + 1, gt);
  const uri = parseUri(uriText);
  if (uri === undefined) return undefined;
  const params = parseHeaderParams(text, gt + 1);
  if (params === undefined) return undefined;
  return { displayName, uri, params };
}

/** A comma list of name-addr values (Route, Record-Route, P-Asserted-Identity, ...). */
export function parseNameAddrList(value: string): NameAddr[] | undefined {
  const parts = splitList(value);
  if (parts === undefined) return undefined;
  const out: NameAddr[] = [];
  for (const part of parts) {
    const parsed = parseNameAddr(part);
    if (parsed === undefined) return undefined;
    out.push(parsed);
  }
  return out;
}

const QVALUE = /^(?:0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)$/;

/** Contact values (§20.10): `*` or a list of addresses with `q`/`expires` checked. */
export function parseContactList(value: string): ContactValue[] | undefined {
  if (value.trim() === '*') return [{ wildcard: true }];
  const list = parseNameAddrList(value);
  if (list === undefined) return undefined;
  for (const contact of list) {
    const q = contact.params.get('q');
    if (q !== undefined && (q === null || !QVALUE.test(q))) return undefined;
    const expires = contact.params.get('expires');
    if (expires !== undefined && (expires === null || !/^[0-9]{1,10}$/.test(expires))) return undefined;
  }
  return list;
}

const SENT_PROTOCOL = /^([^\s/]+)[ \t]*\/[ \t]*([^\s/]+)[ \t]*\/[ \t]*([^\s/]+)[ \t]+(.+)$/s;

/** One Via value (§20.42, §25.1 via-parm; RFC 3581 rport). */
export function parseVia(value: string): Via | undefined {
  let name = 'SIP';
  let version = '2.0';
  let transport: string;
  let rest: string;
  const space = value.indexOf(' ', 8);
  if (value.startsWith('SIP/2.0/') && space > 8) {
    // Fast path for the canonical `SIP/2.0/UDP host...` form
    transport = value.slice(8, space);
    rest = value.slice(space + 1).trimStart();
    if (!isToken(transport) || rest.length === 0) return undefined;
  } else {
    const match = SENT_PROTOCOL.exec(value.trim());
    if (match === null) return undefined;
    [, name, version, transport, rest] = match as unknown as [string, string, string, string, string];
    if (!isToken(name) || !isToken(version) || !isToken(transport)) return undefined;
  }
  let end = 0;
  if (rest.charCodeAt(0) === 0x5b /* [ */) {
    end = rest.indexOf(']');
    if (end < 0) return undefined;
  }
  for (; end < rest.length; end++) {
    const c = rest.charCodeAt(end);
    if (c === 0x3b /* ; */ || c === 0x20 || c === 0x09) break;
  }
  const sentBy = rest.slice(0, end);
  const hostPort = parseHostPort(sentBy);
  if (hostPort === undefined) return undefined;
  const params = parseHeaderParams(rest, end);
  if (params === undefined) return undefined;
  if (!validViaParams(params)) return undefined;
  const branch = params.get('branch');
  return {
    protocol: name === 'SIP' && version === '2.0' ? 'SIP/2.0' : `${name.toUpperCase()}/${version}`,
    transport: transport.toUpperCase(),
    host: hostPort.host,
    hostType: hostPort.hostType,
    port: hostPort.port,
    params,
    branch: branch ?? undefined,
  };
}

function validViaParams(params: ReadonlyMap<string, string | null>): boolean {
  const ttl = params.get('ttl');
  if (ttl !== undefined && (ttl === null || !/^[0-9]{1,3}$/.test(ttl) || Number(ttl) > 255)) return false;
  const received = params.get('received');
  if (received !== undefined) {
    if (received === null) return false;
    const bare = received.startsWith('[') && received.endsWith(']') ? received.slice(1, -1) : received;
    const type = classifyHost(bare);
    if (type !== 'ipv4' && type !== 'ipv6') return false;
  }
  const rport = params.get('rport');
  if (rport !== undefined && rport !== null && (!/^[0-9]{1,5}$/.test(rport) || Number(rport) > 65535)) return false;
  const branch = params.get('branch');
  if (branch !== undefined && (branch === null || !isToken(branch))) return false;
  const maddr = params.get('maddr');
  if (maddr !== undefined && (maddr === null || classifyHost(maddr.replace(/^\[|\]$/g, '')) === undefined))
    return false;
  return true;
}

/** A comma list of Via values. */
export function parseViaList(value: string): Via[] | undefined {
  const parts = splitList(value);
  if (parts === undefined) return undefined;
  const out: Via[] = [];
  for (const part of parts) {
    const via = parseVia(part);
    if (via === undefined) return undefined;
    out.push(via);
  }
  return out;
}

const CSEQ = /^([0-9]{1,10})[ \t]+(\S+)$/;

/** CSeq (§20.16); the number must be below 2**31 (§8.1.1.5). */
export function parseCSeq(value: string): CSeq | undefined {
  const match = CSEQ.exec(value.trim());
  if (match === null) return undefined;
  const seq = Number(match[1]);
  const method = match[2] as string;
  if (seq >= 2 ** 31 || !isToken(method)) return undefined;
  return { seq, method };
}

/** A non-negative decimal below `max` (Max-Forwards, Content-Length, Expires ...). */
export function parseBoundedInteger(value: string, max: number): number | undefined {
  const text = value.trim();
  if (!/^[0-9]{1,10}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= max ? n : undefined;
}

const CALL_ID = /^[A-Za-z0-9\-.!%*_+`'~()<>:\\"/[\]?{}]+(?:@[A-Za-z0-9\-.!%*_+`'~()<>:\\"/[\]?{}]+)?$/;

/** Call-ID (§20.8): `word [ "@" word ]`. */
export function isValidCallId(value: string): boolean {
  return CALL_ID.test(value);
}
