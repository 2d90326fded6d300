import { assembleMessage } from './assemble.js';
import { LF_ONLY_BLANK_LINE, readHeaderSection, splitHeaderLines } from './header-section.js';
import { stampRawBytes } from './raw-bytes.js';
import { parseStartLine } from './start-line.js';
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

interface PartialMessage {
  kind?: 'request' | 'response';
  method?: string;
  headers?: readonly HeaderField[];
}

function failure(code: ParseErrorCode, message: string, partial: PartialMessage, suggestedStatus = 400): ParseResult {
  const error: SipParseError = { code, message, suggestedStatus, ...partial };
  return { ok: false, error };
}

const LF = 0x0a;
const CR = 0x0d;

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
  while (start < data.length && (data[start] === CR || data[start] === LF)) start++;
  if (start === data.length) return failure('SIP_PARSE_START_LINE', 'empty message', partial);

  let section = readHeaderSection(data, start, true);
  let text = section.text;
  let lines = text === undefined ? undefined : splitHeaderLines(text, section.bounds, limits);
  // Where the end was assumed, an LF-only blank line ends the section earlier; a failure on the
  // line before it may depend on that line's end, so failures are checked against the real end.
  if (
    lines === LF_ONLY_BLANK_LINE ||
    (section.assumed && lines !== undefined && 'code' in lines && text?.includes('\n\n'))
  ) {
    section = readHeaderSection(data, start, false);
    text = section.text;
    lines = text === undefined ? undefined : splitHeaderLines(text, section.bounds, limits);
  }
  const bounds = section.bounds;
  if (text === undefined || lines === undefined) {
    return failure('SIP_PARSE_HEADER', 'header section is not valid UTF-8', partial);
  }
  if ('code' in lines) return failure(lines.code, lines.message, partial);
  const headers = lines.headers;
  partial.headers = headers;

  const startLine = parseStartLine(text, lines.startLineEnd);
  if ('code' in startLine) {
    partial.kind = startLine.kind;
    if (startLine.method !== undefined) partial.method = startLine.method;
    return failure(startLine.code, startLine.message, partial, startLine.suggestedStatus);
  }
  partial.kind = startLine.kind;
  if (startLine.kind === 'request') partial.method = startLine.method;

  const bodyStart = bounds.bodyStart;
  let bodyEnd = data.length;
  // Whether `data[start, bodyEnd)` is exactly what the serializer writes for the message
  let asSerialized = lines.asSerialized && startLine.verbatim;
  const contentLength = lines.contentLength;
  if (contentLength !== undefined && isShortDecimal(contentLength)) {
    const declared = Number(contentLength);
    if (declared > bodyEnd - bodyStart) {
      return failure(
        'SIP_PARSE_BODY',
        `Content-Length ${declared} exceeds the ${bodyEnd - bodyStart} body bytes received`,
        partial,
      );
    }
    if (options.datagram !== false || declared < bodyEnd - bodyStart) bodyEnd = bodyStart + declared;
    // Written as the serializer writes the number: no leading zeros
    asSerialized &&= contentLength.length === 1 || contentLength.charCodeAt(0) !== 0x30;
  } else asSerialized = false;

  const spans = { text, starts: lines.valueStarts };
  const assembled = assembleMessage(startLine, headers, data.subarray(bodyStart, bodyEnd), spans);
  if (!assembled.ok) return failure(assembled.error.code, assembled.error.message, partial);
  if (asSerialized) stampRawBytes(assembled.message, data, start, bodyEnd);
  return assembled;
}

/** 1 to 10 decimal digits (a Content-Length the framing can use). */
function isShortDecimal(text: string): boolean {
  if (text.length === 0 || text.length > 10) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}
