import { isUtf8 } from 'node:buffer';
import { assembleMessage } from './assemble.js';
import { isTokenRange, isWhitespace } from './grammar.js';
import { canonicalSpellingAt, knownHeaderNameAt } from './header-names.js';
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

const LF_LF = Buffer.from('\n\n');
const LF_CRLF = Buffer.from('\n\r\n');
const LF = 0x0a;
const CR = 0x0d;

/**
 * Where the header section ends: `headerEnd` is the end of its last line (without the line end),
 * `bodyStart` the first byte after the blank line; both `data.length` when there is no blank line.
 * LF-only line ends are tolerated (robustness, RFC 3261 §7.5), so LF LF and LF CRLF count too.
 */
interface HeaderBounds {
  readonly headerEnd: number;
  readonly bodyStart: number;
  /** Whether the section ends with a blank line. */
  readonly blankLine: boolean;
  /** Whether the section ends with CRLF CRLF, as the serializer writes it. */
  readonly crlf: boolean;
}

function findHeaderBounds(data: Buffer, from: number): HeaderBounds {
  // The first LF CRLF is the CRLF CRLF of a normal message (or an LF-only line, then CRLF);
  // an LF-only blank line can only come before it.
  const lfCrlf = data.indexOf(LF_CRLF, from);
  const lfLf = data.indexOf(LF_LF, from);
  if (lfLf >= 0 && (lfCrlf < 0 || lfLf < lfCrlf)) {
    return { headerEnd: data[lfLf - 1] === CR ? lfLf - 1 : lfLf, bodyStart: lfLf + 2, blankLine: true, crlf: false };
  }
  if (lfCrlf >= 0) {
    const cr = data[lfCrlf - 1] === CR;
    return { headerEnd: cr ? lfCrlf - 1 : lfCrlf, bodyStart: lfCrlf + 3, blankLine: true, crlf: cr };
  }
  return { headerEnd: data.length, bodyStart: data.length, blankLine: false, crlf: false };
}

/**
 * `text` (decoded from `data[start, end)`) if that is valid UTF-8. Pure ASCII (the usual case) is
 * recognised from the text itself: every byte became one character and none was replaced, so
 * only other text pays for a separate validation.
 */
function validUtf8(text: string, data: Buffer, start: number, end: number): string | undefined {
  if (text.length === end - start && !text.includes('\uFFFD')) return text;
  return isUtf8(data.subarray(start, end)) ? text : undefined;
}

interface Head {
  readonly bounds: HeaderBounds;
  /** The header section as text; undefined when it is not valid UTF-8. */
  readonly text: string | undefined;
}

function readHead(data: Buffer, start: number): Head {
  // Usual case: the section ends with CRLF CRLF and has no LF-only blank line before that,
  // which the decoded text shows without a second search of the bytes.
  const lfCrlf = data.indexOf(LF_CRLF, start);
  if (lfCrlf >= 0 && data[lfCrlf - 1] !== LF) {
    const cr = data[lfCrlf - 1] === CR;
    const headerEnd = cr ? lfCrlf - 1 : lfCrlf;
    const text = data.toString('utf8', start, headerEnd);
    if (!text.includes('\n\n')) {
      const bounds = { headerEnd, bodyStart: lfCrlf + 3, blankLine: true, crlf: cr };
      return { bounds, text: validUtf8(text, data, start, headerEnd) };
    }
  }
  const bounds = findHeaderBounds(data, start);
  const text = data.toString('utf8', start, bounds.headerEnd);
  return { bounds, text: validUtf8(text, data, start, bounds.headerEnd) };
}

/** The end of the line starting at `from`: the index of its LF, or `end`. */
function lineEndAt(text: string, from: number, end: number): number {
  const lf = text.indexOf('\n', from);
  return lf < 0 || lf > end ? end : lf;
}

/**
 * The end of a line's content: before the CR of a CRLF. The last line has no line end of its
 * own; a CR ending it is kept, except in a section that uses bare LF line ends, where each line
 * is taken to end in LF and a CR before that is dropped (robustness, §7.5).
 */
function contentEnd(text: string, lf: number, textEnd: number, bareLf: boolean): number {
  return (lf < textEnd || bareLf) && text.charCodeAt(lf - 1) === CR ? lf - 1 : lf;
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
  while (start < data.length && (data[start] === CR || data[start] === LF)) start++;
  if (start === data.length) return failure('SIP_PARSE_START_LINE', 'empty message', partial);

  const { bounds, text } = readHead(data, start);
  if (text === undefined) return failure('SIP_PARSE_HEADER', 'header section is not valid UTF-8', partial);
  const textEnd = text.length;

  // Lines end at LF; a CR before the LF belongs to the line end (bare LF tolerated, §7.5)
  const startLf = lineEndAt(text, 0, textEnd);
  const startLineEnd = startLf < textEnd && text.charCodeAt(startLf - 1) === CR ? startLf - 1 : startLf;
  if (startLineEnd > limits.maxLineLength) {
    return failure('SIP_PARSE_LIMIT', `start line longer than ${limits.maxLineLength} bytes`, partial);
  }
  // Whether every line is `Name: value` CRLF as the serializer would write it (see raw-bytes.ts)
  let bareLf = startLf < textEnd && startLineEnd === startLf;
  let canonical = bounds.crlf && !bareLf;

  const headers: HeaderField[] = [];
  const valueStarts: number[] = [];
  let contentLengthValue: string | undefined;
  let lineStart = startLf + 1;
  while (lineStart < textEnd) {
    const lf = lineEndAt(text, lineStart, textEnd);
    let next = lf + 1;
    if (isWhitespace(text.charCodeAt(lineStart))) {
      return failure('SIP_PARSE_HEADER', 'continuation line before any header', partial);
    }
    let line = text;
    let folded = false;
    let from = lineStart;
    let end = contentEnd(text, lf, textEnd, bareLf);
    if (end === lf && lf < textEnd) bareLf = true;
    // A message cut right after a line end (no blank line) leaves no further header line
    if (end === lineStart && lf === textEnd && !bounds.blankLine) break;
    if (next < textEnd && isWhitespace(text.charCodeAt(next))) {
      // §7.3.1: continuation lines fold into the header field as one SP
      canonical = false;
      folded = true;
      line = text.slice(lineStart, end);
      from = 0;
      while (next < textEnd && isWhitespace(text.charCodeAt(next))) {
        const foldLf = lineEndAt(text, next, textEnd);
        const foldEnd = contentEnd(text, foldLf, textEnd, bareLf);
        if (foldEnd === foldLf && foldLf < textEnd) bareLf = true;
        line = `${line.trimEnd()} ${text.slice(next, foldEnd).trimStart()}`;
        next = foldLf + 1;
        if (line.length > limits.maxLineLength) break;
      }
      end = line.length;
    }
    if (end - from > limits.maxLineLength) {
      return failure('SIP_PARSE_LIMIT', `header line longer than ${limits.maxLineLength} bytes`, partial);
    }
    let colon = line.indexOf(':', from);
    if (colon >= end) colon = -1;
    let nameEnd = colon;
    while (nameEnd > from && isWhitespace(line.charCodeAt(nameEnd - 1))) nameEnd--;
    // Known names are tokens by construction; only unknown ones need the character check
    let name = colon < 0 ? undefined : canonicalSpellingAt(line, from, nameEnd);
    if (name === undefined) {
      // A registered name in another spelling (canonicalised), or an unknown one kept as written
      name = colon < 0 ? undefined : knownHeaderNameAt(line, from, nameEnd);
      if (name !== undefined) canonical = false;
      else if (colon >= 0 && isTokenRange(line, from, nameEnd)) name = line.slice(from, nameEnd);
      else {
        const shown = line.slice(from, Math.min(from + 40, end));
        return failure('SIP_PARSE_HEADER', `malformed header line "${shown}"`, partial);
      }
    }
    if (headers.length >= limits.maxHeaders) {
      return failure('SIP_PARSE_LIMIT', `more than ${limits.maxHeaders} header fields`, partial);
    }
    // The value without surrounding whitespace, cut with a single slice
    let valueStart = colon + 1;
    let valueEnd = end;
    while (valueStart < valueEnd && isWhitespace(line.charCodeAt(valueStart))) valueStart++;
    while (valueEnd > valueStart && isWhitespace(line.charCodeAt(valueEnd - 1))) valueEnd--;
    if (nameEnd !== colon || line.charCodeAt(colon + 1) !== 0x20 || valueStart !== colon + 2 || valueEnd !== end) {
      canonical = false;
    }
    const value = line.slice(valueStart, valueEnd);
    valueStarts.push(folded ? -1 : valueStart);
    if (name === 'Content-Length' && contentLengthValue === undefined) contentLengthValue = value;
    headers.push({ name, value });
    lineStart = next;
  }
  partial.headers = headers;

  const startLine = parseStartLine(text.slice(0, startLineEnd));
  if ('code' in startLine) {
    partial.kind = startLine.kind;
    if (startLine.method !== undefined) partial.method = startLine.method;
    return failure(startLine.code, startLine.message, partial, startLine.suggestedStatus);
  }
  partial.kind = startLine.kind;
  if (startLine.kind === 'request') partial.method = startLine.method;

  const bodyStart = bounds.bodyStart;
  let bodyEnd = data.length;
  if (contentLengthValue !== undefined && isShortDecimal(contentLengthValue)) {
    const declared = Number(contentLengthValue);
    if (declared > bodyEnd - bodyStart) {
      return failure(
        'SIP_PARSE_BODY',
        `Content-Length ${declared} exceeds the ${bodyEnd - bodyStart} body bytes received`,
        partial,
      );
    }
    if (options.datagram !== false || declared < bodyEnd - bodyStart) bodyEnd = bodyStart + declared;
    canonical &&= contentLengthValue === String(declared);
  } else canonical = false;

  const spans = { text, starts: valueStarts };
  const assembled = assembleMessage(startLine, headers, data.subarray(bodyStart, bodyEnd), spans);
  if (!assembled.ok) return failure(assembled.error.code, assembled.error.message, partial);
  if (canonical && !bareLf && startLine.verbatim) stampRawBytes(assembled.message, data, start, bodyEnd);
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
