import { isUtf8 } from 'node:buffer';
import { assembleMessage, type StartLine } from './assemble.js';
import { isToken, isWhitespace } from './grammar.js';
import { knownHeaderName } from './header-names.js';
import { parseUri } from './uri.js';
import type { HeaderField, ParseErrorCode, ParseLimits, ParseResult, SipParseError } from './types.js';

/** Defaults for {@link ParseLimits}. */
export const DEFAULT_PARSE_LIMITS: ParseLimits = {
  maxMessageBytes: 65535,
  maxHeaders: 256,
  maxLineLength: 8192,
};

export interface ParseOptions {
  readonly limits?: Partial<ParseLimits>;
  /**
   * Whether the bytes are one datagram (UDP): then a missing Content-Length means "the rest of
   * the datagram" and bytes beyond Content-Length are discarded (RFC 3261 §18.3). For stream
   * transports the framer has already cut the message at Content-Length. @default true
   */
  readonly datagram?: boolean;
}

const VERSION = /^SIP\/([0-9]+)\.([0-9]+)$/i;
const STATUS_CODE = /^[1-6][0-9]{2}$/;

interface PartialMessage {
  kind?: 'request' | 'response';
  method?: string;
  headers?: readonly HeaderField[];
}

function failure(code: ParseErrorCode, message: string, partial: PartialMessage, suggestedStatus = 400): ParseResult {
  const error: SipParseError = { code, message, suggestedStatus, ...partial };
  return { ok: false, error };
}

/**
 * Finds the blank line ending the header section; returns [headerEnd, bodyStart] or undefined.
 * LF-only line ends are tolerated (robustness, RFC 3261 §7.5), so LF LF and LF CRLF count too.
 */
const LF_LF = Buffer.from('\n\n');
const LF_CRLF = Buffer.from('\n\r\n');

function findHeaderEnd(data: Buffer, from: number): [number, number] | undefined {
  // The first LF CRLF is the CRLF CRLF of a normal message (or an LF-only line, then CRLF);
  // an LF-only blank line can only come before it.
  const lfCrlf = data.indexOf(LF_CRLF, from);
  const lfLf = (lfCrlf < 0 ? data : data.subarray(0, lfCrlf + 1)).indexOf(LF_LF, from);
  if (lfLf >= 0) return [data[lfLf - 1] === 0x0d ? lfLf - 1 : lfLf, lfLf + 2];
  if (lfCrlf >= 0) return [data[lfCrlf - 1] === 0x0d ? lfCrlf - 1 : lfCrlf, lfCrlf + 3];
  return undefined;
}

/** Lines of the header section: CRLF-separated, bare LF tolerated (robustness). */
function splitLines(text: string): string[] {
  const lines = text.split('\r\n');
  for (const line of lines) {
    if (line.includes('\n')) return text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  }
  return lines;
}

function parseStartLine(line: string, partial: PartialMessage): StartLine | ParseResult {
  if (line.startsWith('SIP/') || /^sip\//i.test(line)) {
    // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (§7.2)
    const sp1 = line.indexOf(' ');
    const version = sp1 < 0 ? line : line.slice(0, sp1);
    partial.kind = 'response';
    const v = VERSION.exec(version);
    if (v === null) return failure('SIP_PARSE_START_LINE', 'malformed status line', partial);
    const sp2 = line.indexOf(' ', sp1 + 1);
    const code = sp2 < 0 ? line.slice(sp1 + 1) : line.slice(sp1 + 1, sp2);
    if (!STATUS_CODE.test(code)) return failure('SIP_PARSE_START_LINE', `invalid status code "${code}"`, partial);
    const reason = sp2 < 0 ? '' : line.slice(sp2 + 1);
    if (/[\x00-\x08\x0a-\x1f\x7f]/.test(reason))
      return failure('SIP_PARSE_START_LINE', 'control character in reason phrase', partial);
    if (v[1] !== '2' || v[2] !== '0')
      return failure('SIP_PARSE_VERSION', `unsupported SIP version ${version}`, partial, 505);
    return { kind: 'response', status: Number(code), reason, version: 'SIP/2.0' };
  }
  // Request-Line = Method SP Request-URI SP SIP-Version (§7.1): exactly single spaces
  const parts = line.split(' ');
  partial.kind = 'request';
  if (parts.length !== 3) {
    if (parts.length > 0 && isToken(parts[0] as string)) partial.method = parts[0] as string;
    return failure('SIP_PARSE_START_LINE', 'request line must be "Method SP Request-URI SP SIP-Version"', partial);
  }
  const [method, uriText, version] = parts as [string, string, string];
  if (!isToken(method)) return failure('SIP_PARSE_START_LINE', 'invalid method token', partial);
  partial.method = method;
  const v = VERSION.exec(version);
  if (v === null) return failure('SIP_PARSE_START_LINE', `malformed SIP version "${version}"`, partial);
  if (v[1] !== '2' || v[2] !== '0')
    return failure('SIP_PARSE_VERSION', `unsupported SIP version ${version}`, partial, 505);
  const uri = parseUri(uriText);
  if (uri === undefined) return failure('SIP_PARSE_URI', 'malformed Request-URI', partial);
  // §19.1.5: URI headers are not allowed in a Request-URI
  if ((uri.scheme === 'sip' || uri.scheme === 'sips') && 'headers' in uri && uri.headers.length > 0) {
    return failure('SIP_PARSE_URI', 'Request-URI must not contain URI headers', partial);
  }
  return { kind: 'request', method, uri, version: 'SIP/2.0' };
}

/**
 * Parses one SIP message (RFC 3261 §7). Never throws: malformed input yields `{ ok: false }`
 * with a stable code, a reason, the status a UAS should answer with, and whatever headers could
 * be split so that a 400 can still be addressed (§8.2.6.2).
 */
export function parseMessage(input: Buffer | string, options: ParseOptions = {}): ParseResult {
  const given = options.limits;
  const limits =
    given === undefined
      ? DEFAULT_PARSE_LIMITS
      : given.maxMessageBytes !== undefined && given.maxHeaders !== undefined && given.maxLineLength !== undefined
        ? (given as ParseLimits)
        : { ...DEFAULT_PARSE_LIMITS, ...given };
  const data = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const partial: PartialMessage = {};
  if (data.length > limits.maxMessageBytes) {
    return failure(
      'SIP_PARSE_LIMIT',
      `message of ${data.length} bytes exceeds ${limits.maxMessageBytes}`,
      partial,
      513,
    );
  }
  // §7.5: CRLFs before the start line are ignored
  let start = 0;
  while (start < data.length && (data[start] === 0x0d || data[start] === 0x0a)) start++;
  if (start === data.length) return failure('SIP_PARSE_START_LINE', 'empty message', partial);

  const ends = findHeaderEnd(data, start);
  const headerEnd = ends === undefined ? data.length : ends[0];
  const bodyStart = ends === undefined ? data.length : ends[1];
  const head = data.subarray(start, headerEnd);
  if (!isUtf8(head)) return failure('SIP_PARSE_HEADER', 'header section is not valid UTF-8', partial);
  const lines = splitLines(head.toString('utf8'));

  const startLineText = lines[0] as string;
  if (startLineText.length > limits.maxLineLength) {
    return failure('SIP_PARSE_LIMIT', `start line longer than ${limits.maxLineLength} bytes`, partial);
  }

  const headers: HeaderField[] = [];
  // A message cut right after its last header line (no blank line) leaves one empty entry.
  if (ends === undefined && lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  for (let i = 1; i < lines.length; i++) {
    let line = lines[i] as string;
    if (isWhitespace(line.charCodeAt(0))) {
      return failure('SIP_PARSE_HEADER', 'continuation line before any header', partial);
    }
    // §7.3.1: continuation lines fold into the header field as one SP
    while (i + 1 < lines.length && isWhitespace((lines[i + 1] as string).charCodeAt(0))) {
      line = `${line.trimEnd()} ${(lines[++i] as string).trimStart()}`;
      if (line.length > limits.maxLineLength) break;
    }
    if (line.length > limits.maxLineLength) {
      return failure('SIP_PARSE_LIMIT', `header line longer than ${limits.maxLineLength} bytes`, partial);
    }
    const colon = line.indexOf(':');
    let nameEnd = colon;
    while (nameEnd > 0 && isWhitespace(line.charCodeAt(nameEnd - 1))) nameEnd--;
    const name = colon < 0 ? '' : line.slice(0, nameEnd);
    // Known names are tokens by construction; only unknown ones need the character check
    const known = knownHeaderName(name);
    const canonical = known ?? name;
    if (known === undefined && !isToken(name)) {
      return failure('SIP_PARSE_HEADER', `malformed header line "${line.slice(0, 40)}"`, partial);
    }
    if (headers.length >= limits.maxHeaders) {
      return failure('SIP_PARSE_LIMIT', `more than ${limits.maxHeaders} header fields`, partial);
    }
    // The value without surrounding whitespace, cut with a single slice
    let valueStart = colon + 1;
    let valueEnd = line.length;
    while (valueStart < valueEnd && isWhitespace(line.charCodeAt(valueStart))) valueStart++;
    while (valueEnd > valueStart && isWhitespace(line.charCodeAt(valueEnd - 1))) valueEnd--;
    headers.push({ name: canonical, value: line.slice(valueStart, valueEnd) });
  }
  partial.headers = headers;

  const startLine = parseStartLine(startLineText, partial);
  if ('ok' in startLine) return startLine;

  let body = data.subarray(bodyStart);
  const lengthHeader = headers.find((h) => h.name === 'Content-Length');
  if (lengthHeader !== undefined && /^[ \t]*[0-9]{1,10}[ \t]*$/.test(lengthHeader.value)) {
    const declared = Number(lengthHeader.value);
    if (declared > body.length) {
      return failure(
        'SIP_PARSE_BODY',
        `Content-Length ${declared} exceeds the ${body.length} body bytes received`,
        partial,
      );
    }
    if (options.datagram !== false || declared < body.length) body = body.subarray(0, declared);
  }

  const assembled = assembleMessage(startLine, headers, body);
  if (!assembled.ok) return failure(assembled.error.code, assembled.error.message, partial);
  return assembled;
}
