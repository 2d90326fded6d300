import { getHeaderValues, isSipUri, parseNameAddr, type SipRequest, type Uri } from '../sip/index.js';
import type { CallFacts } from './call-policy.js';
import type { PeerSide } from './routing.js';

/** The numbers of a new call from `side` as signalled: what the recording policy decides on. */
export function callFactsOf(request: SipRequest, side: PeerSide): CallFacts {
  return {
    direction: side === 'trunk' ? 'inbound' : 'outbound',
    calledNumbers: [userOf(request.uri), userOf(request.to.uri)].filter((u): u is string => u !== undefined),
    callingNumbers: [...assertedUsers(request), userOf(request.from.uri)].filter((u): u is string => u !== undefined),
  };
}

/** The user part of a SIP URI, or the number of a tel URI. */
export function userOf(uri: Uri): string | undefined {
  if (isSipUri(uri)) return uri.user;
  if (uri.scheme === 'tel') return (uri as { number: string }).number;
  return undefined;
}

/** Users of the P-Asserted-Identity values (RFC 3325), in order. */
function assertedUsers(request: SipRequest): string[] {
  const users: string[] = [];
  for (const value of getHeaderValues(request, 'P-Asserted-Identity')) {
    const parsed = parseNameAddr(value);
    const user = parsed === undefined ? undefined : userOf(parsed.uri);
    if (user !== undefined) users.push(user);
  }
  return users;
}
