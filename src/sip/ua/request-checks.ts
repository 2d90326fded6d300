import { getHeaderValues, isSipUri, type SipRequest } from '../message/index.js';

/** What a UAS core answers instead of processing a request (RFC 3261 §8.2). */
export interface RequestRejection {
  readonly status: number;
  readonly reason?: string;
  readonly headers: ReadonlyArray<readonly [string, string]>;
}

export interface RequestChecks {
  /** Methods this element handles; others get 501 with Allow (§8.2.1). */
  readonly implementedMethods: readonly string[];
  /** Option tags this element supports (§8.2.2.3, §19.2). */
  readonly supportedExtensions: readonly string[];
  /** Content types accepted in INVITE/UPDATE/PRACK/ACK bodies (§8.2.3). */
  readonly acceptedContentTypes: readonly string[];
  /** Whether the request is addressed to this element itself (then Max-Forwards 0 is fine). */
  readonly isLocal: (request: SipRequest) => boolean;
}

const SESSION_METHODS = new Set(['INVITE', 'UPDATE', 'PRACK', 'ACK']);

function mediaType(value: string): string {
  return (value.split(';')[0] ?? '').trim().toLowerCase();
}

/**
 * The §8.2 / §16.3 checks a UAS or B2BUA runs before processing a request, in this order:
 * URI scheme (416), Max-Forwards (483), method (501), Require / Proxy-Require (420), body type
 * (415), Accept (406). `undefined` when the request may be processed.
 */
export function checkRequest(request: SipRequest, checks: RequestChecks): RequestRejection | undefined {
  // §8.2.2.1: a Request-URI scheme we do not understand
  const scheme = request.uri.scheme;
  if (scheme !== 'sip' && scheme !== 'sips' && scheme !== 'tel') {
    return { status: 416, headers: [] };
  }
  // §16.3 step 3: a request we would forward with Max-Forwards 0; requests to this element itself
  // are processed as an endpoint would (RFC 4475 §3.3.11)
  if (request.maxForwards === 0 && request.method !== 'ACK' && !checks.isLocal(request)) {
    return { status: 483, headers: [] };
  }
  // §8.2.1: methods this element does not implement
  if (!checks.implementedMethods.includes(request.method)) {
    return { status: 501, headers: [['Allow', checks.implementedMethods.join(', ')]] };
  }
  // The CSeq method must be the request's (RFC 4475 §3.1.2.17); unknown methods got 501 above
  if (request.cseq.method !== request.method) return { status: 400, reason: 'CSeq Method Mismatch', headers: [] };
  // §8.2.2.3: Require (and, acting as the next hop, Proxy-Require) with unknown option tags;
  // never for ACK or CANCEL
  if (request.method !== 'ACK' && request.method !== 'CANCEL') {
    const required = [...getHeaderValues(request, 'Require'), ...getHeaderValues(request, 'Proxy-Require')];
    const unsupported = required.filter(
      (tag) => !checks.supportedExtensions.some((s) => s.toLowerCase() === tag.toLowerCase()),
    );
    if (unsupported.length > 0) return { status: 420, headers: [['Unsupported', unsupported.join(', ')]] };
  }
  if (SESSION_METHODS.has(request.method)) {
    // §8.2.3: a body we cannot process
    const contentType = getHeaderValues(request, 'Content-Type')[0];
    if (request.body.length > 0 && contentType !== undefined) {
      const type = mediaType(contentType);
      if (!checks.acceptedContentTypes.includes(type) && !type.startsWith('multipart/')) {
        return { status: 415, headers: [['Accept', checks.acceptedContentTypes.join(', ')]] };
      }
    }
    // §20.1: an INVITE whose Accept excludes every type we could answer with
    const accept = getHeaderValues(request, 'Accept').map(mediaType);
    if (request.method === 'INVITE' && accept.length > 0) {
      const acceptable = accept.some(
        (t) => t === '*/*' || t === 'application/*' || checks.acceptedContentTypes.includes(t),
      );
      if (!acceptable) return { status: 406, headers: [['Accept', checks.acceptedContentTypes.join(', ')]] };
    }
  }
  return undefined;
}

/** Whether the Request-URI has no user part, i.e. addresses the element rather than a party. */
export function addressesElement(request: SipRequest): boolean {
  return isSipUri(request.uri) && request.uri.user === undefined;
}
