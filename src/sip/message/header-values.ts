import { isTokenRange, isTrimmed, isWhitespace } from './grammar.js';
import type { CSeq } from './types.js';

/**
 * Parsers for the short values of the headers the stack relies on (RFC 3261 §20): CSeq,
 * Max-Forwards, Content-Length, Call-ID. Via and the address headers are in via.ts and
 * name-addr.ts.
 */

/** CSeq (§20.16); the number must be below 2**31 (§8.1.1.5). */
export function parseCSeq(value: string): CSeq | undefined {
  // CSeq = 1*DIGIT LWS Method, around it what String.prototype.trim removes
  let start = 0;
  let end = value.length;
  while (start < end && isTrimmed(value.charCodeAt(start))) start++;
  while (end > start && isTrimmed(value.charCodeAt(end - 1))) end--;
  let i = start;
  let seq = 0;
  while (i < end) {
    const c = value.charCodeAt(i);
    if (c < 0x30 || c > 0x39) break;
    seq = seq * 10 + (c - 0x30);
    i++;
  }
  if (i === start || i - start > 10 || !isWhitespace(value.charCodeAt(i))) return undefined;
  while (isWhitespace(value.charCodeAt(i))) i++;
  if (i >= end || seq >= 2 ** 31) return undefined;
  return isTokenRange(value, i, end) ? { seq, method: value.slice(i, end) } : undefined;
}

/** A non-negative decimal below `max` (Max-Forwards, Content-Length, Expires ...). */
export function parseBoundedInteger(value: string, max: number): number | undefined {
  const text = value.trim();
  if (text.length === 0 || text.length > 10) return undefined;
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return undefined;
    n = n * 10 + (c - 0x30);
  }
  return n <= max ? n : undefined;
}

const CALL_ID = /^[A-Za-z0-9\-.!%*_+`'~()<>:\\"/[\]?{}]+(?:@[A-Za-z0-9\-.!%*_+`'~()<>:\\"/[\]?{}]+)?$/;

/** Call-ID (§20.8): `word [ "@" word ]`. */
export function isValidCallId(value: string): boolean {
  return CALL_ID.test(value);
}
