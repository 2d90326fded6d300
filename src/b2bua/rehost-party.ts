import { formatNameAddr, isSipUri, sipUri, type NameAddr } from '../sip/index.js';

/**
 * A party (From, To, a redirect Contact) as callrec presents it to the other leg: display name and
 * user part kept, host and port callrec's (or the target's), no tag and no parameters.
 */
export function rehostParty(party: NameAddr, host: string, port: number | undefined): string {
  const user = isSipUri(party.uri)
    ? party.uri.user
    : party.uri.scheme === 'tel'
      ? (party.uri as { number: string }).number
      : undefined;
  const uri = sipUri({ user, host, ...(port === undefined ? {} : { port }) });
  return formatNameAddr({ displayName: party.displayName, uri, params: new Map() });
}
