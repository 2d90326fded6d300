import { internedSlice } from './interned.js';

/**
 * Low-level RFC 3261 §25.1 grammar helpers shared by the URI and header parsers. They return
 * `undefined` on malformed input instead of throwing.
 */

const TOKEN_CHARS = new Uint8Array(128);
for (const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~") {
  TOKEN_CHARS[c.charCodeAt(0)] = 1;
}

const TOKEN = /^[A-Za-z0-9\-.!%*_+`'~]+$/;

/** `token` (RFC 3261 §25.1). */
export function isToken(text: string): boolean {
  if (text.length === 0) return false;
  // V8 runs a regular expression natively: faster than a loop over a long token (a branch)
  if (text.length > 12) return TOKEN.test(text);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128 || TOKEN_CHARS[c] !== 1) return false;
  }
  return true;
}

/** Whether `text[start, end)` is a `token`. */
export function isTokenRange(text: string, start: number, end: number): boolean {
  if (end <= start) return false;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128 || TOKEN_CHARS[c] !== 1) return false;
  }
  return true;
}

/** Whether `text[start, end)` holds only token characters, SP and HTAB. */
export function isTokenOrBlankRange(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && (c >= 128 || TOKEN_CHARS[c] !== 1)) return false;
  }
  return true;
}

/** Whether `c` is removed by `String.prototype.trim` (ECMAScript WhiteSpace and LineTerminator). */
export function isTrimmed(c: number): boolean {
  if (c === 0x20 || (c >= 0x09 && c <= 0x0d)) return true;
  if (c < 0xa0) return false;
  return (
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

/** Whether `c` is SP or HTAB. */
export function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** Skips SP/HTAB from `i` (up to `end`); returns the first other index. */
export function skipWhitespace(text: string, i: number, end = text.length): number {
  while (i < end && isWhitespace(text.charCodeAt(i))) i++;
  return i;
}

/**
 * Index just past the closing quote of a quoted-string starting at `start` (which must be `"`)
 * and ending before `end`, honouring quoted-pair escapes; `-1` when unterminated.
 */
export function endOfQuotedString(text: string, start: number, end = text.length): number {
  for (let i = start + 1; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5c /* \ */) {
      i++;
      continue;
    }
    if (c === 0x22 /* " */) return i + 1;
    if (c === 0x0d || c === 0x0a) return -1;
  }
  return -1;
}

/** The content of the quoted-string `text[start, end)` (with quotes), escapes resolved. */
export function unquote(text: string, start = 0, end = text.length): string {
  const inner = text.slice(start + 1, end - 1);
  return inner.includes('\\') ? inner.replace(/\\(.)/gs, '$1') : inner;
}

/** A quoted-string for `text`, escaping `"` and `\`. */
export function quote(text: string): string {
  return `"${text.replace(/["\\]/g, '\\$&')}"`;
}

/**
 * Splits a header value on top-level commas (not inside quotes or `<...>`), trimming each part.
 * Returns `undefined` for unbalanced quotes/brackets or an empty element.
 */
export function splitList(value: string): string[] | undefined {
  if (!value.includes(',')) {
    const single = value.trim();
    return single.length === 0 ? undefined : [single];
  }
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x22) {
      const end = endOfQuotedString(value, i);
      if (end < 0) return undefined;
      i = end - 1;
    } else if (c === 0x3c /* < */) {
      depth++;
    } else if (c === 0x3e /* > */) {
      if (depth === 0) return undefined;
      depth--;
    } else if (c === 0x2c /* , */ && depth === 0) {
      const part = value.slice(start, i).trim();
      if (part.length === 0) return undefined;
      parts.push(part);
      start = i + 1;
    }
  }
  if (depth !== 0) return undefined;
  const last = value.slice(start).trim();
  if (last.length === 0) return undefined;
  parts.push(last);
  return parts;
}

/** token characters and `:` (for hosts). */
const TOKEN_OR_HOST_CHARS = TOKEN_CHARS.slice();
TOKEN_OR_HOST_CHARS[0x3a] = 1;

/**
 * End of the run of token characters and `:` from `start`, at most `end`. Parameter values are
 * short: a table lookup per character costs less than starting a regular expression.
 */
function tokenOrHostRunEnd(text: string, start: number, end: number): number {
  let i = start;
  while (i < end) {
    const c = text.charCodeAt(i);
    if (c >= 128 || TOKEN_OR_HOST_CHARS[c] !== 1) break;
    i++;
  }
  return i;
}

/** Shared by every value without parameters; never mutated (typed read-only everywhere). */
const NO_HEADER_PARAMS: Map<string, string | null> = new Map();

/**
 * Parses generic header parameters `*( SEMI generic-param )` starting at `start` (at a `;` or
 * the end). Names are lower-cased; values are token, host (incl. `[IPv6]`) or quoted-string
 * (returned unquoted). Duplicate names are rejected.
 */
export function parseHeaderParams(
  text: string,
  start: number,
  end = text.length,
): Map<string, string | null> | undefined {
  if (start >= end) return NO_HEADER_PARAMS;
  const params = new Map<string, string | null>();
  let i = skipWhitespace(text, start, end);
  while (i < end) {
    if (text.charCodeAt(i) !== 0x3b /* ; */) return undefined;
    i = skipWhitespace(text, i + 1, end);
    let j = i;
    let upperCase = false;
    while (j < end) {
      const c = text.charCodeAt(j);
      if (c >= 128 || TOKEN_CHARS[c] !== 1) break;
      if (c >= 0x41 && c <= 0x5a) upperCase = true;
      j++;
    }
    if (j === i) return undefined;
    const name = upperCase ? text.slice(i, j).toLowerCase() : internedSlice(text, i, j);
    i = skipWhitespace(text, j, end);
    let value: string | null = null;
    if (i < end && text.charCodeAt(i) === 0x3d /* = */) {
      i = skipWhitespace(text, i + 1, end);
      const first = i < end ? text.charCodeAt(i) : -1;
      if (first === 0x22) {
        const close = endOfQuotedString(text, i, end);
        if (close < 0) return undefined;
        value = unquote(text, i, close);
        i = close;
      } else if (first === 0x5b /* [ */) {
        const close = text.indexOf(']', i);
        if (close < 0 || close >= end) return undefined;
        value = text.slice(i, close + 1);
        i = close + 1;
      } else {
        const k = tokenOrHostRunEnd(text, i, end);
        if (k === i) return undefined;
        value = internedSlice(text, i, k);
        i = k;
      }
    }
    const count = params.size;
    params.set(name, value);
    if (params.size === count) return undefined; // the name was there already
    i = skipWhitespace(text, i, end);
  }
  return params;
}

/** `;name=value` text for parameters; values that are not tokens/hosts are quoted. */
export function formatParams(params: ReadonlyMap<string, string | null>): string {
  let out = '';
  for (const [name, value] of params) {
    if (value === null) out += `;${name}`;
    else if (isToken(value) || /^\[[0-9a-fA-F:.]+\]$/.test(value) || /^[\w.:-]+$/.test(value)) {
      out += `;${name}=${value}`;
    } else out += `;${name}=${quote(value)}`;
  }
  return out;
}
