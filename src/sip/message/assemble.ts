import { canonicalHeaderName } from './header-names.js';
import {
  isValidCallId,
  parseBoundedInteger,
  parseContactList,
  parseCSeq,
  parseNameAddr,
  parseNameAddrList,
  parseViaList,
} from './header-values.js';
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
 * Builds an immutable message from a start line, header fields and body, deriving and checking
 * the typed views (Via, From, To, Call-ID, CSeq, Max-Forwards, Content-Length, Contact, Route,
 * Record-Route). Used by the parser and by every builder, so a message is always consistent.
 */
export function assembleMessage(
  start: StartLine,
  headers: readonly HeaderField[],
  body: Buffer,
): { ok: true; message: SipMessage } | { ok: false; error: AssembleFailure } {
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

  const fail = (code: ParseErrorCode, message: string) => ({ ok: false as const, error: { code, message } });
  const bad = (name: string) => fail('SIP_PARSE_HEADER', `malformed ${name} header`);
  const duplicate = (name: string) => fail('SIP_PARSE_HEADER', `more than one ${name} header`);

  for (const { name, value } of headers) {
    switch (name) {
      case 'Via': {
        const list = parseViaList(value);
        if (list === undefined) return bad(name);
        via.push(...list);
        break;
      }
      case 'From':
      case 'To': {
        if ((name === 'From' ? from : to) !== undefined) return duplicate(name);
        const parsed = parseNameAddr(value);
        if (parsed === undefined) return bad(name);
        if (name === 'From') from = parsed;
        else to = parsed;
        break;
      }
      case 'Call-ID':
        if (callId !== undefined) return duplicate(name);
        if (!isValidCallId(value)) return bad(name);
        callId = value;
        break;
      case 'CSeq':
        if (cseq !== undefined) return duplicate(name);
        cseq = parseCSeq(value);
        if (cseq === undefined) return bad(name);
        break;
      case 'Max-Forwards':
        if (maxForwards !== undefined) return duplicate(name);
        maxForwards = parseBoundedInteger(value, 255);
        if (maxForwards === undefined) return bad(name);
        break;
      case 'Content-Length':
        if (contentLength !== undefined) return duplicate(name);
        contentLength = parseBoundedInteger(value, MAX_CONTENT_LENGTH);
        if (contentLength === undefined) return bad(name);
        break;
      case 'Contact': {
        const list = parseContactList(value);
        if (list === undefined) return bad(name);
        contact.push(...list);
        break;
      }
      case 'Route':
      case 'Record-Route': {
        const list = parseNameAddrList(value);
        if (list === undefined) return bad(name);
        (name === 'Route' ? route : recordRoute).push(...list);
        break;
      }
      case 'Date':
        // §20.17: rfc1123-date, always GMT
        if (!RFC1123_DATE.test(value)) return bad(name);
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
  if (contact.length > 1 && contact.some((c) => c.wildcard === true)) return bad('Contact');

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
