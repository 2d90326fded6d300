import { isIP } from 'node:net';

/** The IP family of an address literal (IPv6 without brackets, zone allowed): 4, 6 or 0 (not an IP). */
export function ipFamily(address: string): 4 | 6 | 0 {
  const family = isIP(address);
  return family === 4 || family === 6 ? family : 0;
}

/**
 * A canonical spelling of an IP literal for comparisons and map keys: IPv6 lower-cased and
 * compressed (`2001:DB8:0::1` → `2001:db8::1`), brackets removed, zone kept; anything else as is.
 */
export function normalizeIp(address: string): string {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  if (isIP(bare) !== 6) return bare;
  const zone = bare.indexOf('%');
  const ip = zone < 0 ? bare : bare.slice(0, zone);
  let canonical: string;
  try {
    canonical = new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  } catch {
    canonical = ip.toLowerCase();
  }
  return zone < 0 ? canonical : `${canonical}${bare.slice(zone)}`;
}

/** Whether two IP literals denote the same address (RFC 3261 §18.2.1 "differs from the source"). */
export function sameIp(a: string, b: string): boolean {
  return a === b || normalizeIp(a) === normalizeIp(b);
}

/** Whether a bind host is a wildcard (`0.0.0.0`, `::`). */
export function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || normalizeIp(host) === '::';
}
