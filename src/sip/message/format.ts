import { formatParams, isToken, quote } from './grammar.js';
import { formatHost, formatUri } from './uri.js';
import type { ContactValue, NameAddr, Via } from './types.js';

/** `"Display" <uri>;params` — always the name-addr form, which is safe for every URI. */
export function formatNameAddr(value: NameAddr): string {
  let out = '';
  if (value.displayName !== undefined && value.displayName.length > 0) {
    const words = value.displayName.split(' ');
    out += words.every((w) => isToken(w)) ? `${value.displayName} ` : `${quote(value.displayName)} `;
  }
  return `${out}<${formatUri(value.uri)}>${formatParams(value.params)}`;
}

/** A Contact value, `*` for the wildcard. */
export function formatContact(value: ContactValue): string {
  return value.wildcard === true ? '*' : formatNameAddr(value);
}

/** `SIP/2.0/UDP host:port;params` */
export function formatVia(via: Via): string {
  const port = via.port === undefined ? '' : `:${via.port}`;
  return `${via.protocol}/${via.transport} ${formatHost(via.host, via.hostType)}${port}${formatParams(via.params)}`;
}
