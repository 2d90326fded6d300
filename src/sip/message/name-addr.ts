import {
  endOfQuotedString,
  isTokenOrBlankRange,
  isTrimmed,
  isWhitespace,
  parseHeaderParams,
  skipWhitespace,
  splitList,
  unquote,
} from './grammar.js';
import { parseUri, parseUriRange } from './uri.js';
import type { ContactValue, NameAddr } from './types.js';

/**
 * `name-addr / addr-spec` followed by header parameters (§20.10, §25.1), read from
 * `text[start, end)` in place.
 */
export function parseNameAddrRange(text: string, start: number, end: number): NameAddr | undefined {
  let from = start;
  let to = end;
  if (from === to || isWhitespace(text.charCodeAt(from)) || isWhitespace(text.charCodeAt(to - 1))) {
    while (from < to && isTrimmed(text.charCodeAt(from))) from++;
    while (to > from && isTrimmed(text.charCodeAt(to - 1))) to--;
  }
  let displayName: string | undefined;
  let i = from;
  if (from < to && text.charCodeAt(from) === 0x22 /* " */) {
    const quoteEnd = endOfQuotedString(text, from, to);
    if (quoteEnd < 0) return undefined;
    displayName = unquote(text, from, quoteEnd);
    i = skipWhitespace(text, quoteEnd, to);
    if (i >= to || text.charCodeAt(i) !== 0x3c /* < */) return undefined;
  } else {
    const lt = text.indexOf('<', from);
    if (lt >= 0 && lt < to) {
      const name = lt === from ? '' : text.slice(from, lt).trim();
      if (name.length > 0) {
        // Unquoted display name: *(token LWS) (§25.1); trimmed, so no empty words
        if (!isTokenOrBlankRange(name, 0, name.length)) return undefined;
        displayName = name;
      }
      i = lt;
    } else {
      // addr-spec form: header params follow the first ';' and the URI may not hold ',', '?' (§20.10)
      let semicolon = text.indexOf(';', from);
      if (semicolon >= to) semicolon = -1;
      const uriText = semicolon < 0 ? text.slice(from, to) : text.slice(from, semicolon).trimEnd();
      if (/[\s,?<>"]/.test(uriText)) return undefined;
      const uri = parseUri(uriText);
      if (uri === undefined) return undefined;
      const params = parseHeaderParams(text, semicolon < 0 ? to : semicolon, to);
      return params === undefined ? undefined : { displayName: undefined, uri, params };
    }
  }
  const gt = text.indexOf('>', i);
  if (gt < 0 || gt >= to) return undefined;
  // The URI parser rejects whitespace itself (every URI grammar excludes it)
  const uri = parseUriRange(text, i + 1, gt);
  if (uri === undefined) return undefined;
  const params = parseHeaderParams(text, gt + 1, to);
  if (params === undefined) return undefined;
  return { displayName, uri, params };
}

/** `name-addr / addr-spec` followed by header parameters (§20.10, §25.1). */
export function parseNameAddr(value: string): NameAddr | undefined {
  return parseNameAddrRange(value, 0, value.length);
}

/** A parser of one element of a header value, reading `text[start, end)`. */
export type RangeParser<T> = (text: string, start: number, end: number) => T | undefined;

/**
 * Parses each element of the comma-separated header value `value`, which is `text[start, end)`
 * (§7.3.1), appending to `out`; false when the list or an element is malformed. A single
 * element, the usual case, is read in place.
 */
export function appendListValues<T>(
  value: string,
  parse: RangeParser<T>,
  out: T[],
  text = value,
  start = 0,
  end = value.length,
): boolean {
  // Searched in the value itself, which ends where the range does
  if (!value.includes(',')) {
    let from = start;
    let to = end;
    while (from < to && isTrimmed(text.charCodeAt(from))) from++;
    while (to > from && isTrimmed(text.charCodeAt(to - 1))) to--;
    const parsed = from === to ? undefined : parse(text, from, to);
    if (parsed === undefined) return false;
    out.push(parsed);
    return true;
  }
  const parts = splitList(value);
  if (parts === undefined) return false;
  for (const part of parts) {
    const parsed = parse(part, 0, part.length);
    if (parsed === undefined) return false;
    out.push(parsed);
  }
  return true;
}

const QVALUE = /^(?:0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)$/;

/** One Contact address with its `q` and `expires` parameters checked (§20.10). */
function parseContactAddress(text: string, start: number, end: number): ContactValue | undefined {
  const contact = parseNameAddrRange(text, start, end);
  if (contact === undefined) return undefined;
  if (contact.params.size === 0) return contact;
  const q = contact.params.get('q');
  if (q !== undefined && (q === null || !QVALUE.test(q))) return undefined;
  const expires = contact.params.get('expires');
  if (expires !== undefined && (expires === null || !/^[0-9]{1,10}$/.test(expires))) return undefined;
  return contact;
}

/**
 * Appends the Contact values (§20.10) of `value` (which is `text[start, end)`): `*` or a list of
 * addresses; false when malformed.
 */
export function appendContacts(
  value: string,
  out: ContactValue[],
  text = value,
  start = 0,
  end = value.length,
): boolean {
  const first = value.charCodeAt(0);
  if ((first === 0x2a /* * */ || isTrimmed(first)) && value.trim() === '*') {
    out.push({ wildcard: true });
    return true;
  }
  return appendListValues(value, parseContactAddress, out, text, start, end);
}
