import { BlockList, isIP, isIPv4, isIPv6 } from 'node:net';

// Checks of addresses, networks and URIs the schema cannot express (pure, no I/O).

/** Why `entry` is not an IP address or CIDR network, or undefined when it is one. */
export function networkProblem(entry: string): string | undefined {
  const slash = entry.indexOf('/');
  const address = slash < 0 ? entry : entry.slice(0, slash);
  const family = isIP(address);
  if (family === 0 || address.includes('%')) {
    return 'must be an IPv4/IPv6 address or CIDR network, e.g. 192.0.2.10, 198.51.100.0/24, 2001:db8::/32';
  }
  if (slash >= 0) {
    const max = family === 4 ? 32 : 128;
    const prefix = entry.slice(slash + 1);
    if (!/^[0-9]{1,3}$/.test(prefix) || Number(prefix) > max) return `prefix length must be 0 to ${max}`;
  }
  return undefined;
}

const HOST_NAME =
  /^(?=.{1,253}\.?$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
const SIP_URI = /^(sips?):(?:[^@;?\s]+@)?(\[[^\]\s]*\]|[^:;?[\]\s]+)(?::([0-9]{1,5}))?(?:;[^?\s]*)?(?:\?\S*)?$/i;

/** Why `uri` is not a usable sip:/sips: URI, or undefined when it is one. */
export function sipUriProblem(uri: string): string | undefined {
  const match = SIP_URI.exec(uri);
  if (match === null) return 'must be a sip: or sips: URI like sip:host[:port][;params]';
  const host = match[2] ?? '';
  const port = match[3];
  if (host.startsWith('[')) {
    if (!isIPv6(host.slice(1, -1))) return 'has an invalid IPv6 reference';
  } else if (/^[0-9.]+$/.test(host)) {
    if (!isIPv4(host)) return 'has an invalid IPv4 address';
  } else if (!HOST_NAME.test(host)) {
    return 'has an invalid host name';
  }
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return 'port must be 1 to 65535';
  return undefined;
}

/**
 * Why `url` is not a usable webhook address (an absolute http:/https: URL with a host, without
 * user name or password), or undefined when it is one. Never quotes the URL, which may carry a
 * token.
 */
export function webhookUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'must be an absolute http:// or https:// URL';
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return 'must be an http:// or https:// URL';
  if (parsed.hostname === '') return 'must name a host';
  if (parsed.username !== '' || parsed.password !== '') {
    return 'must not carry a user name or password (put a token into the path or query instead)';
  }
  if (parsed.hash !== '') return 'must not have a #fragment';
  return undefined;
}

/** Whether `host` (an address or name) is the local machine's loopback. */
export function isLoopback(host: string): boolean {
  return host === '::1' || host === 'localhost' || (isIPv4(host) && host.startsWith('127.'));
}

/** A BlockList of validated addresses and CIDR networks. */
export function blockListOf(addresses: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of addresses) {
    const [address = '', prefix] = entry.split('/');
    const type = isIPv6(address) ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(prefix), type);
  }
  return list;
}

/** Two aligned networks overlap iff one contains the other's first address. */
export function overlaps(entry: string, list: BlockList): boolean {
  const address = entry.split('/')[0] ?? '';
  return list.check(address, isIPv6(address) ? 'ipv6' : 'ipv4');
}
