import type { StartLine } from './assemble.js';
import { isToken } from './grammar.js';
import { parseRequestUri } from './uri.js';
import type { ParseErrorCode } from './types.js';

/** What a failed start line tells about the message, for answering it (§8.2.6.2). */
export interface StartLineFailure {
  readonly code: ParseErrorCode;
  readonly message: string;
  readonly kind: 'request' | 'response';
  readonly method: string | undefined;
  readonly suggestedStatus: number;
}

/** A start line and whether it is written exactly as the serializer would write it. */
export type ParsedStartLine = StartLine & { readonly verbatim: boolean };

const VERSION = /^SIP\/([0-9]+)\.([0-9]+)$/i;

function failed(
  kind: 'request' | 'response',
  method: string | undefined,
  message: string,
  code: ParseErrorCode = 'SIP_PARSE_START_LINE',
  suggestedStatus = 400,
): StartLineFailure {
  return { code, message, kind, method, suggestedStatus };
}

/** Checks a SIP-Version; undefined when it is 2.0, else the failure. */
function versionFailure(
  version: string,
  kind: 'request' | 'response',
  method: string | undefined,
  malformed: string,
): StartLineFailure | undefined {
  if (version === 'SIP/2.0') return undefined;
  const v = VERSION.exec(version);
  if (v === null) return failed(kind, method, malformed);
  if (v[1] !== '2' || v[2] !== '0')
    return failed(kind, method, `unsupported SIP version ${version}`, 'SIP_PARSE_VERSION', 505);
  return undefined;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Whether `text` holds a control character other than HTAB (not allowed in a Reason-Phrase). */
function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return true;
  }
  return false;
}

/** Whether the line starts with `SIP/` in any case: a Status-Line. */
function isStatusLine(text: string, end: number): boolean {
  return (
    end >= 4 &&
    (text.charCodeAt(0) | 0x20) === 0x73 &&
    (text.charCodeAt(1) | 0x20) === 0x69 &&
    (text.charCodeAt(2) | 0x20) === 0x70 &&
    text.charCodeAt(3) === 0x2f
  );
}

/** Index of the first SP in `text[from, end)`, or -1. */
function spaceIn(text: string, from: number, end: number): number {
  const sp = text.indexOf(' ', from);
  return sp < end ? sp : -1;
}

/** Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (§7.2), in `text[0, end)` */
function parseStatusLine(text: string, end: number): ParsedStartLine | StartLineFailure {
  const sp1 = spaceIn(text, 0, end);
  const version = text.slice(0, sp1 < 0 ? end : sp1);
  const bad = versionFailure(version, 'response', undefined, 'malformed status line');
  // A malformed version is reported before the status code, an unsupported one after it
  if (bad !== undefined && bad.code !== 'SIP_PARSE_VERSION') return bad;
  const sp2 = spaceIn(text, sp1 + 1, end);
  const codeEnd = sp2 < 0 ? end : sp2;
  if (
    sp1 < 0 ||
    codeEnd - sp1 !== 4 ||
    text.charCodeAt(sp1 + 1) < 0x31 ||
    text.charCodeAt(sp1 + 1) > 0x36 ||
    !isDigit(text.charCodeAt(sp1 + 2)) ||
    !isDigit(text.charCodeAt(sp1 + 3))
  ) {
    const code = sp1 < 0 ? text.slice(0, end) : text.slice(sp1 + 1, codeEnd);
    return failed('response', undefined, `invalid status code "${code}"`);
  }
  const reason = sp2 < 0 ? '' : text.slice(sp2 + 1, end);
  if (hasControlCharacter(reason)) return failed('response', undefined, 'control character in reason phrase');
  if (bad !== undefined) return bad;
  const status =
    (text.charCodeAt(sp1 + 1) - 0x30) * 100 +
    (text.charCodeAt(sp1 + 2) - 0x30) * 10 +
    (text.charCodeAt(sp1 + 3) - 0x30);
  // Written as the serializer writes it: `SIP/2.0 <code> <reason>`
  const verbatim = sp2 >= 0 && version === 'SIP/2.0';
  return { kind: 'response', status, reason, version: 'SIP/2.0', verbatim };
}

/** Request-Line = Method SP Request-URI SP SIP-Version (§7.1), in `text[0, end)`: exactly single spaces */
function parseRequestLine(text: string, end: number): ParsedStartLine | StartLineFailure {
  const sp1 = spaceIn(text, 0, end);
  const sp2 = sp1 < 0 ? -1 : spaceIn(text, sp1 + 1, end);
  if (sp1 < 0 || sp2 < 0 || spaceIn(text, sp2 + 1, end) >= 0) {
    const first = text.slice(0, sp1 < 0 ? end : sp1);
    return failed(
      'request',
      isToken(first) ? first : undefined,
      'request line must be "Method SP Request-URI SP SIP-Version"',
    );
  }
  const method = text.slice(0, sp1);
  if (!isToken(method)) return failed('request', undefined, 'invalid method token');
  // The usual version is recognised in place, without cutting it out
  const version = end - sp2 === 8 && text.startsWith('SIP/2.0', sp2 + 1) ? 'SIP/2.0' : text.slice(sp2 + 1, end);
  const bad = versionFailure(version, 'request', method, `malformed SIP version "${version}"`);
  if (bad !== undefined) return bad;
  const parsed = parseRequestUri(text, sp1 + 1, sp2);
  if (parsed === undefined) return failed('request', method, 'malformed Request-URI', 'SIP_PARSE_URI');
  const uri = parsed.uri;
  // §19.1.5: URI headers are not allowed in a Request-URI
  if ((uri.scheme === 'sip' || uri.scheme === 'sips') && 'headers' in uri && uri.headers.length > 0) {
    return failed('request', method, 'Request-URI must not contain URI headers', 'SIP_PARSE_URI');
  }
  const verbatim = version === 'SIP/2.0' && parsed.verbatim;
  return { kind: 'request', method, uri, version: 'SIP/2.0', verbatim };
}

/**
 * Parses the Request-Line or Status-Line `text[0, end)` (RFC 3261 §7.1, §7.2); read in place in
 * the header section text, so every search stops at `end`.
 */
export function parseStartLine(text: string, end: number): ParsedStartLine | StartLineFailure {
  return isStatusLine(text, end) ? parseStatusLine(text, end) : parseRequestLine(text, end);
}
