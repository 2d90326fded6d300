import { canonicalHeaderName } from './header-names.js';
import { isValidCallId, parseBoundedInteger, parseCSeq } from './header-values.js';
import { appendContacts, appendListValues, parseNameAddrRange } from './name-addr.js';
import { parseViaRange } from './via.js';
import type { ContactValue, CSeq, HeaderField, NameAddr, ParseErrorCode, SipMessage, Uri, Via } from './types.js';

/** The start line of a message, already parsed. */
export type StartLine =
  | { readonly kind: 'request'; readonly method: string; readonly uri: Uri; readonly version: string }
  | { readonly kind: 'response'; readonly status: number; readonly reason: string; readonly version: string };

export interface AssembleFailure {
  readonly code: ParseErrorCode;
  readonly message: string;
}

const MAX_CONTENT_LENGTH = 2 ** 31 - 1;
const RFC1123_DATE =
  /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT$/;

/**
 * Where the header values lie in the text they were parsed from, so the typed views are read in
 * place instead of from each value string (which is a slice of that text).
 */
export interface HeaderValueSpans {
  readonly text: string;
  /** Per header field: where its value starts in `text`, or -1 when it is not there (unfolded). */
  readonly starts: readonly number[];
}

type AssembleResult = { ok: true; message: SipMessage } | { ok: false; error: AssembleFailure };

function fail(code: ParseErrorCode, message: string): AssembleResult {
  return { ok: false, error: { code, message } };
}

function malformed(name: string): AssembleResult {
  return fail('SIP_PARSE_HEADER', `malformed ${name} header`);
}

function duplicate(name: string): AssembleResult {
  return fail('SIP_PARSE_HEADER', `more than one ${name} header`);
}

/**
 * Builds an immutable message from a start line, header fields and body, deriving and checking
 * the typed views (Via, From, To, Call-ID, CSeq, Max-Forwards, Content-Length, Contact, Route,
 * Record-Route). Used by the parser and by every builder, so a message is always consistent.
 */
export function assembleMessage(
  start: StartLine,
  headers: readonly HeaderField[],
  body: Buffer,
  spans?: HeaderValueSpans,
): AssembleResult {
  const via: Via[] = [];
  const contact: ContactValue[] = [];
  const route: NameAddr[] = [];
  const recordRoute: NameAddr[] = [];
  let from: NameAddr | undefined;
  let to: NameAddr | undefined;
  let callId: string | undefined;
  let cseq: CSeq | undefined;
  let maxForwards: number | undefined;
  let contentLength: number | undefined;

  for (let i = 0; i < headers.length; i++) {
    const { name, value } = headers[i] as HeaderField;
    // Where the value can be read in place (see HeaderValueSpans), else the value itself
    const spanStart = spans === undefined ? -1 : (spans.starts[i] ?? -1);
    const text = spanStart < 0 || spans === undefined ? value : spans.text;
    const valueStart = spanStart < 0 ? 0 : spanStart;
    const valueEnd = valueStart + value.length;
    switch (name) {
      case 'Via':
        if (!appendListValues(value, parseViaRange, via, text, valueStart, valueEnd)) return malformed(name);
        break;
      case 'From':
        if (from !== undefined) return duplicate(name);
        from = parseNameAddrRange(text, valueStart, valueEnd);
        if (from === undefined) return malformed(name);
        break;
      case 'To':
        if (to !== undefined) return duplicate(name);
        to = parseNameAddrRange(text, valueStart, valueEnd);
        if (to === undefined) return malformed(name);
        break;
      case 'Call-ID':
        if (callId !== undefined) return duplicate(name);
        if (!isValidCallId(value)) return malformed(name);
        callId = value;
        break;
      case 'CSeq':
        if (cseq !== undefined) return duplicate(name);
        cseq = parseCSeq(value);
        if (cseq === undefined) return malformed(name);
        break;
      case 'Max-Forwards':
        if (maxForwards !== undefined) return duplicate(name);
        maxForwards = parseBoundedInteger(value, 255);
        if (maxForwards === undefined) return malformed(name);
        break;
      case 'Content-Length':
        if (contentLength !== undefined) return duplicate(name);
        contentLength = parseBoundedInteger(value, MAX_CONTENT_LENGTH);
        if (contentLength === undefined) return malformed(name);
        break;
      case 'Contact':
        if (!appendContacts(value, contact, text, valueStart, valueEnd)) return malformed(name);
        break;
      case 'Route':
        if (!appendListValues(value, parseNameAddrRange, route, text, valueStart, valueEnd)) return malformed(name);
        break;
      case 'Record-Route':
        if (!appendListValues(value, parseNameAddrRange, recordRoute, text, valueStart, valueEnd)) {
          return malformed(name);
        }
        break;
      case 'Date':
        // §20.17: rfc1123-date, always GMT
        if (!RFC1123_DATE.test(value)) return malformed(name);
        break;
      default:
        break;
    }
  }

  if (via.length === 0) return fail('SIP_PARSE_MISSING_HEADER', 'missing Via header');
  if (from === undefined) return fail('SIP_PARSE_MISSING_HEADER', 'missing From header');
  if (to === undefined) return fail('SIP_PARSE_MISSING_HEADER', 'missing To header');
  if (callId === undefined) return fail('SIP_PARSE_MISSING_HEADER', 'missing Call-ID header');
  if (cseq === undefined) return fail('SIP_PARSE_MISSING_HEADER', 'missing CSeq header');
  if (contact.length > 1 && contact.some((c) => c.wildcard === true)) return malformed('Contact');

  // Explicit literals (no spreads): one shape per kind keeps parsing fast.
  const message: SipMessage =
    start.kind === 'request'
      ? {
          kind: 'request',
          method: start.method,
          uri: start.uri,
          version: start.version,
          headers,
          body,
          via,
          from,
          to,
          callId,
          cseq,
          maxForwards,
          contentLength,
          contact,
          route,
          recordRoute,
        }
      : {
          kind: 'response',
          status: start.status,
          reason: start.reason,
          version: start.version,
          headers,
          body,
          via,
          from,
          to,
          callId,
          cseq,
          maxForwards,
          contentLength,
          contact,
          route,
          recordRoute,
        };
  return { ok: true, message };
}

/** Header fields with canonical names, from `[name, value]` pairs. */
export function headerFields(pairs: Iterable<readonly [string, string]>): HeaderField[] {
  const out: HeaderField[] = [];
  for (const [name, value] of pairs) out.push({ name: canonicalHeaderName(name), value });
  return out;
}
