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

/**
 * Classifies a host (IPv6 without brackets); `undefined` when it is not a valid host. See
 * {@link classifyHostRange}.
 */
export function classifyHost(host: string): HostType | undefined {
  return classifyHostRange(host, 0, host.length);
}

/**
 * Classifies the host `text[start, end)` (IPv6 without brackets) in one pass, without cutting it
 * out first: an `IPv4address` (§25.1: four parts of 1 to 3 digits, each at most 255, leading
 * zeros allowed), else a `hostname` (`*( domainlabel "." ) toplabel [ "." ]`, relaxed to labels
 * of letters, digits, `_` and inner `-`: a toplabel may start with a digit in practice), else an
 * IPv6 address. Digits and dots alone are never a hostname.
 */
export function classifyHostRange(text: string, start: number, end: number): HostType | undefined {
  const length = end - start;
  if (length <= 0 || length > 255) return undefined;
  let hostname = true;
  let digitsAndDots = true;
  let colon = false;
  // IPv4: whether every part so far has 1 to 3 digits and a value up to 255
  let ipv4 = true;
  let dots = 0;
  let part = 0;
  let partDigits = 0;
  let previous = 0x2e; // as if after a dot: the first label must not be empty or start with '-'
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2e /* . */) {
      if (previous === 0x2e || previous === 0x2d) hostname = false; // empty label, or one ending in '-'
      if (partDigits === 0) ipv4 = false;
      dots++;
      part = 0;
      partDigits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      part = part * 10 + (c - 0x30);
      partDigits++;
      if (partDigits > 3 || part > 255) ipv4 = false;
    } else {
      digitsAndDots = false;
      ipv4 = false;
      if (c === 0x2d /* - */) {
        if (previous === 0x2e) hostname = false; // a label starting with '-'
      } else if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f /* _ */)) {
        hostname = false;
        if (c === 0x3a /* : */) colon = true;
      }
    }
    previous = c;
  }
  if (ipv4 && dots === 3 && partDigits > 0) return 'ipv4';
  if (digitsAndDots) return undefined;
  if (hostname && previous !== 0x2d) return 'domain';
  return colon && isIPv6(text.slice(start, end)) ? 'ipv6' : undefined;
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

/**
 * The host type and port {@link scanHostPort} read last, valid right after it returns a host
 * (parsing is synchronous): the URI and Via parsers copy them into their own objects without an
 * intermediate one. Only a constant and a number are kept here, never a new string.
 */
export const scanned: { hostType: HostType; port: number | undefined } = { hostType: 'domain', port: undefined };

function scannedAs(host: string, hostType: HostType, port: number | undefined): string {
  scanned.hostType = hostType;
  scanned.port = port;
  return host;
}

/**
 * Reads `host[:port]` in `text[start, end)`, where an IPv6 host is a bracketed reference
 * (§25.1): the host (IPv6 without brackets), its type and port in {@link scanned}; undefined when
 * malformed.
 */
export function scanHostPort(text: string, start: number, end: number): string | undefined {
  if (text.charCodeAt(start) === 0x5b /* [ */ && start < end) {
    const close = text.indexOf(']', start);
    if (close < 0 || close >= end) return undefined;
    const host = text.slice(start + 1, close);
    // RFC 5118 §4.10: tolerate the ":::" form that RFC 3261's ABNF bug allowed
    if (!isIPv6(host) && !(host.includes(':::') && isIPv6(host.replace(':::', '::')))) return undefined;
    if (close + 1 === end) return scannedAs(host, 'ipv6', undefined);
    if (text.charCodeAt(close + 1) !== 0x3a) return undefined;
    const port = parsePortRange(text, close + 2, end);
    return port === undefined ? undefined : scannedAs(host, 'ipv6', port);
  }
  let colon = text.indexOf(':', start);
  if (colon >= end) colon = -1;
  if (colon >= 0) {
    const second = text.indexOf(':', colon + 1);
    if (second >= 0 && second < end) return undefined; // bare IPv6 (RFC 5118 §4.2)
  }
  const hostEnd = colon >= 0 ? colon : end;
  const hostType = classifyHostRange(text, start, hostEnd);
  if (hostType === undefined) return undefined;
  if (colon < 0) return scannedAs(text.slice(start, hostEnd), hostType, undefined);
  const port = parsePortRange(text, colon + 1, end);
  return port === undefined ? undefined : scannedAs(text.slice(start, hostEnd), hostType, port);
}

/** Parses `host[:port]` in `text[start, end)`; an IPv6 host is a bracketed reference (§25.1). */
export function parseHostPortRange(text: string, start: number, end: number): HostPort | undefined {
  const host = scanHostPort(text, start, end);
  return host === undefined ? undefined : { host, hostType: scanned.hostType, port: scanned.port };
}

/** Parses `host[:port]` where an IPv6 host is a bracketed reference (RFC 3261 §25.1 hostport). */
export function parseHostPort(text: string): HostPort | undefined {
  return parseHostPortRange(text, 0, text.length);
}

/** Formats a host for a URI or Via: IPv6 in brackets. */
export function formatHost(host: string, hostType: HostType): string {
  return hostType === 'ipv6' ? `[${host}]` : host;
}
