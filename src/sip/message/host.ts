import { isIPv6 } from 'node:net';

/**
 * Hosts and ports (RFC 3261 §25.1 `hostport`), read from a range of a larger string (the header
 * section) so the hot parsers do not cut intermediate substrings.
 */

export type HostType = 'ipv4' | 'ipv6' | 'domain';

export interface HostPort {
  readonly host: string;
  readonly hostType: HostType;
  readonly port: number | undefined;
}

/** `IPv4address` (§25.1): four parts of 1 to 3 digits, each at most 255 (leading zeros allowed). */
const IPV4 = /^(?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|[01]?[0-9]?[0-9])$/;
const DIGITS_AND_DOTS = /^[0-9.]*$/;
/**
 * `hostname = *( domainlabel "." ) toplabel [ "." ]` (§25.1), relaxed to labels of letters,
 * digits, `_` and inner `-` (toplabel may start with a digit in practice).
 */
const HOSTNAME = /^(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?\.)*[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?\.?$/;

/**
 * Classifies a host (IPv6 without brackets); `undefined` when it is not a valid host. Regular
 * expressions: V8 runs them natively, faster than reading the host a character at a time.
 */
export function classifyHost(host: string): HostType | undefined {
  if (host.length === 0 || host.length > 255) return undefined;
  const first = host.charCodeAt(0);
  if ((first >= 0x30 && first <= 0x39) || first === 0x2e) {
    if (IPV4.test(host)) return 'ipv4';
    if (DIGITS_AND_DOTS.test(host)) return undefined;
  }
  if (HOSTNAME.test(host)) return 'domain';
  return host.includes(':') && isIPv6(host) ? 'ipv6' : undefined;
}

/** A decimal port of 1 to 5 digits, at most 65535, in `text[start, end)`. */
export function parsePortRange(text: string, start: number, end: number): number | undefined {
  const length = end - start;
  if (length < 1 || length > 5) return undefined;
  let port = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return undefined;
    port = port * 10 + (c - 0x30);
  }
  return port <= 65535 ? port : undefined;
}

/** Parses `host[:port]` in `text[start, end)`; an IPv6 host is a bracketed reference (§25.1). */
export function parseHostPortRange(text: string, start: number, end: number): HostPort | undefined {
  if (text.charCodeAt(start) === 0x5b /* [ */ && start < end) {
    const close = text.indexOf(']', start);
    if (close < 0 || close >= end) return undefined;
    const host = text.slice(start + 1, close);
    // RFC 5118 §4.10: tolerate the ":::" form that RFC 3261's ABNF bug allowed
    if (!isIPv6(host) && !(host.includes(':::') && isIPv6(host.replace(':::', '::')))) return undefined;
    if (close + 1 === end) return { host, hostType: 'ipv6', port: undefined };
    if (text.charCodeAt(close + 1) !== 0x3a) return undefined;
    const port = parsePortRange(text, close + 2, end);
    return port === undefined ? undefined : { host, hostType: 'ipv6', port };
  }
  let colon = text.indexOf(':', start);
  if (colon >= end) colon = -1;
  if (colon >= 0) {
    const second = text.indexOf(':', colon + 1);
    if (second >= 0 && second < end) return undefined; // bare IPv6 (RFC 5118 §4.2)
  }
  const host = text.slice(start, colon >= 0 ? colon : end);
  const hostType = classifyHost(host);
  if (hostType === undefined) return undefined;
  if (colon < 0) return { host, hostType, port: undefined };
  const port = parsePortRange(text, colon + 1, end);
  return port === undefined ? undefined : { host, hostType, port };
}

/** Parses `host[:port]` where an IPv6 host is a bracketed reference (RFC 3261 §25.1 hostport). */
export function parseHostPort(text: string): HostPort | undefined {
  return parseHostPortRange(text, 0, text.length);
}

/** Formats a host for a URI or Via: IPv6 in brackets. */
export function formatHost(host: string, hostType: HostType): string {
  return hostType === 'ipv6' ? `[${host}]` : host;
}
