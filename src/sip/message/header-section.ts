import { isUtf8 } from 'node:buffer';
import { isToken, isWhitespace } from './grammar.js';
import { canonicalSpelling, knownHeaderNameAt } from './header-names.js';
import type { HeaderField, ParseErrorCode, ParseLimits } from './types.js';

/**
 * The header section of a message (RFC 3261 §7.3): where it ends, its text, and its lines split
 * into header fields. The text is decoded once; lines and values are found by index in it.
 */

const LF_LF = Buffer.from('\n\n');
const LF_CRLF = Buffer.from('\n\r\n');
const LF = 0x0a;
const CR = 0x0d;

/**
 * Where the header section ends: `headerEnd` is the end of its last line (without the line end),
 * `bodyStart` the first byte after the blank line; both `data.length` when there is no blank line.
 * LF-only line ends are tolerated (robustness, RFC 3261 §7.5), so LF LF and LF CRLF count too.
 */
export interface HeaderBounds {
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

export interface HeaderSection {
  readonly bounds: HeaderBounds;
  /** The header section (start line included) as text; undefined when it is not valid UTF-8. */
  readonly text: string | undefined;
  /**
   * Whether the bounds assume that no LF-only blank line comes before the first LF CRLF;
   * {@link splitHeaderLines} then reports one as {@link LF_ONLY_BLANK_LINE}.
   */
  readonly assumed: boolean;
}

/**
 * Finds and decodes the header section of `data`, which starts at `start`. With `assume`, the
 * usual case is taken without a second search of the bytes: the section ends at the first
 * CRLF CRLF (or LF CRLF).
 */
export function readHeaderSection(data: Buffer, start: number, assume: boolean): HeaderSection {
  if (assume) {
    const lfCrlf = data.indexOf(LF_CRLF, start);
    if (lfCrlf >= 0 && data[lfCrlf - 1] !== LF) {
      const cr = data[lfCrlf - 1] === CR;
      const headerEnd = cr ? lfCrlf - 1 : lfCrlf;
      const text = validUtf8(data.toString('utf8', start, headerEnd), data, start, headerEnd);
      // Invalid text may be a body after an earlier LF-only blank line: look again below
      if (text !== undefined) {
        return { bounds: { headerEnd, bodyStart: lfCrlf + 3, blankLine: true, crlf: cr }, text, assumed: true };
      }
    }
  }
  const bounds = findHeaderBounds(data, start);
  const text = data.toString('utf8', start, bounds.headerEnd);
  return { bounds, text: validUtf8(text, data, start, bounds.headerEnd), assumed: false };
}

/** Returned by {@link splitHeaderLines} for an LF-only blank line inside an assumed section. */
export const LF_ONLY_BLANK_LINE = { code: 'SIP_PARSE_HEADER', message: 'LF-only blank line' } as const;

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

/** The header fields of a section, and what the parser needs to know about how they were written. */
export interface HeaderLines {
  /** The end of the start line (which starts the text), without its line end. */
  readonly startLineEnd: number;
  readonly headers: HeaderField[];
  /** Per field: where its value starts in the section text, or -1 when unfolded into a new string. */
  readonly valueStarts: number[];
  /** The value of the first Content-Length field. */
  readonly contentLength: string | undefined;
  /**
   * Whether every line is `Name: value` with the canonical name, one SP, and CRLF, unfolded:
   * exactly as the serializer writes header fields (see raw-bytes.ts).
   */
  readonly asSerialized: boolean;
}

export interface HeaderLinesFailure {
  readonly code: ParseErrorCode;
  readonly message: string;
}

function failed(code: ParseErrorCode, message: string): HeaderLinesFailure {
  return { code, message };
}

/**
 * Splits the section text into the start line and header fields: §7.3.1 folding, compact and
 * case-insensitive names canonicalised (unknown names kept as written), values trimmed, and the
 * limits on line length and field count applied.
 */
export function splitHeaderLines(
  text: string,
  bounds: HeaderBounds,
  limits: ParseLimits,
): HeaderLines | HeaderLinesFailure {
  const textEnd = text.length;
  // Lines end at LF; a CR before the LF belongs to the line end (bare LF tolerated, §7.5)
  const startLf = lineEndAt(text, 0, textEnd);
  const startLineEnd = startLf < textEnd && text.charCodeAt(startLf - 1) === CR ? startLf - 1 : startLf;
  if (startLineEnd > limits.maxLineLength) {
    return failed('SIP_PARSE_LIMIT', `start line longer than ${limits.maxLineLength} bytes`);
  }
  let bareLf = startLf < textEnd && startLineEnd === startLf;
  let asSerialized = bounds.crlf;

  const headers: HeaderField[] = [];
  const valueStarts: number[] = [];
  let contentLength: string | undefined;
  let lineStart = startLf + 1;
  while (lineStart < textEnd) {
    const lf = lineEndAt(text, lineStart, textEnd);
    // An empty line ends the section: only possible where its end was assumed (LF LF)
    if (lf === lineStart) return LF_ONLY_BLANK_LINE;
    let next = lf + 1;
    if (isWhitespace(text.charCodeAt(lineStart)))
      return failed('SIP_PARSE_HEADER', 'continuation line before any header');
    let line = text;
    let folded = false;
    let from = lineStart;
    let end = contentEnd(text, lf, textEnd, bareLf);
    if (end === lf && lf < textEnd) bareLf = true;
    // A message cut right after a line end (no blank line) leaves no further header line
    if (end === lineStart && lf === textEnd && !bounds.blankLine) break;
    if (next < textEnd && isWhitespace(text.charCodeAt(next))) {
      // §7.3.1: continuation lines fold into the header field as one SP
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
      return failed('SIP_PARSE_LIMIT', `header line longer than ${limits.maxLineLength} bytes`);
    }
    let colon = line.indexOf(':', from);
    if (colon >= end) colon = -1;
    let nameEnd = colon;
    while (nameEnd > from && isWhitespace(line.charCodeAt(nameEnd - 1))) nameEnd--;
    // Registered names are tokens by construction; only unknown ones need the character check
    const written = colon < 0 ? '' : line.slice(from, nameEnd);
    let name = canonicalSpelling(written);
    if (name === undefined) {
      // A registered name in another spelling (canonicalised), or an unknown one kept as written
      name = colon < 0 ? undefined : knownHeaderNameAt(line, from, nameEnd);
      if (name !== undefined) asSerialized = false;
      else if (isToken(written)) name = written;
      else return failed('SIP_PARSE_HEADER', `malformed header line "${line.slice(from, Math.min(from + 40, end))}"`);
    }
    if (headers.length >= limits.maxHeaders) {
      return failed('SIP_PARSE_LIMIT', `more than ${limits.maxHeaders} header fields`);
    }
    // The value without surrounding whitespace, cut with a single slice
    let valueStart = colon + 1;
    let valueEnd = end;
    while (valueStart < valueEnd && isWhitespace(line.charCodeAt(valueStart))) valueStart++;
    while (valueEnd > valueStart && isWhitespace(line.charCodeAt(valueEnd - 1))) valueEnd--;
    if (folded || nameEnd !== colon || line.charCodeAt(colon + 1) !== 0x20 || valueStart !== colon + 2) {
      asSerialized = false;
    } else if (valueEnd !== end) asSerialized = false;
    const value = line.slice(valueStart, valueEnd);
    valueStarts.push(folded ? -1 : valueStart);
    if (name === 'Content-Length' && contentLength === undefined) contentLength = value;
    headers.push({ name, value });
    lineStart = next;
  }
  return {
    startLineEnd,
    headers,
    valueStarts,
    contentLength,
    asSerialized: asSerialized && !bareLf,
  };
}
