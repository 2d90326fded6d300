import { buildRequest } from './build.js';
import { formatVia } from './format.js';
import type { SipRequest, SipResponse } from './types.js';

/**
 * Requests derived from another request by fixed RFC rules (added for the transaction layer and
 * the UA core; pure like the rest of this folder).
 */

function requireTopVia(request: SipRequest): string {
  const top = request.via[0];
  if (top === undefined) throw new Error('request without Via');
  return formatVia(top);
}

function headerValues(message: SipRequest | SipResponse, name: string): string[] {
  const out: string[] = [];
  for (const h of message.headers) if (h.name === name) out.push(h.value);
  return out;
}

function single(message: SipRequest | SipResponse, name: string): string {
  const value = headerValues(message, name)[0];
  if (value === undefined) throw new Error(`message without ${name}`);
  return value;
}

/**
 * The ACK a client transaction sends for a 3xx–6xx response to `invite` (RFC 3261 §17.1.1.3):
 * Request-URI, Call-ID and From of the original request; To of the response; a single Via equal to
 * the original top Via (same branch); CSeq number of the original with method ACK; the original
 * Route header fields; Max-Forwards 70; no body.
 */
export function createNon2xxAck(invite: SipRequest, response: SipResponse): SipRequest {
  const headers: Array<readonly [string, string]> = [
    ['Via', requireTopVia(invite)],
    ['Max-Forwards', '70'],
  ];
  for (const route of headerValues(invite, 'Route')) headers.push(['Route', route]);
  headers.push(
    ['From', single(invite, 'From')],
    ['To', single(response, 'To')],
    ['Call-ID', invite.callId],
    ['CSeq', `${invite.cseq.seq} ACK`],
  );
  return buildRequest({ method: 'ACK', uri: invite.uri, headers });
}

/**
 * A CANCEL for `request` (RFC 3261 §9.1): Request-URI, Call-ID, To, From and the CSeq number of the
 * request, CSeq method CANCEL, a single Via equal to the request's top Via (same branch, so it
 * reaches the same server transaction's element), the request's Route header fields, Max-Forwards
 * 70 and no body.
 */
export function createCancel(request: SipRequest): SipRequest {
  const headers: Array<readonly [string, string]> = [
    ['Via', requireTopVia(request)],
    ['Max-Forwards', '70'],
  ];
  for (const route of headerValues(request, 'Route')) headers.push(['Route', route]);
  headers.push(
    ['From', single(request, 'From')],
    ['To', single(request, 'To')],
    ['Call-ID', request.callId],
    ['CSeq', `${request.cseq.seq} CANCEL`],
  );
  return buildRequest({ method: 'CANCEL', uri: request.uri, headers });
}
