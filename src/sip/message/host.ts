import { isIPv6 } from 'node:net';

/**
 * Hosts and ports (RFC 3261 §25.1 `hostport`), scanned by character code over a range of a
 * larger string so the hot parsers do not cut intermediate substrings.
 */

export type HostType = 'ipv4' | 'ipv6' | 'domain';

export interface HostPort {
  readonly host: string;
  readonly hostType: HostType;
  readonly port: number | undefined;
}

function isAlphaNumOrUnderscore(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f;
}

/**
 * `hostname = *( domainlabel "." ) toplabel [ "." ]` (§25.1), relaxed as before to labels of
 * letters, digits, `_` and inner `-` (toplabel may start with a digit in practice).
 */
function isHostnameRange(text: string, start: number, end: number): boolean {
  let labelLength = 0;
  let previous = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2e /* . */) {
      if (labelLength === 0 || previous === 0x2d) return false;
      labelLength = 0;
    } else if (c === 0x2d /* - */) {
      if (labelLength === 0) return false;
      labelLength++;
    } else if (isAlphaNumOrUnderscore(c)) labelLength++;
    else return false;
    previous = c;
  }
  // Ends with a label (not ending in '-') or with the optional trailing dot after one
  return labelLength > 0 ? previous !== 0x2d : end > start && previous === 0x2e;
}

/** Classifies the host `text[start, end)` (IPv6 without brackets); `undefined` when invalid. */
export function classifyHostRange(text: string, start: number, end: number): HostType | undefined {
  const length = end - start;
  if (length <= 0 || length > 255) return undefined;
  // One pass reads an IPv4 address; the first other character decides what else it can be
  let parts = 0;
  let value = 0;
  let digits = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) {
      digits++;
      value = value * 10 + (c - 0x30);
    } else if (c === 0x2e /* . */) {
      if (digits === 0 || digits > 3 || value > 255)
        return onlyDigitsAndDots(text, i, end) ? undefined : other(text, start, end);
      parts++;
      value = 0;
      digits = 0;
    } else return other(text, start, end);
  }
  return parts === 3 && digits > 0 && digits <= 3 && value <= 255 ? 'ipv4' : undefined;
}

function onlyDigitsAndDots(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x2e && (c < 0x30 || c > 0x39)) return false;
  }
  return true;
}

/** A host that is not all digits and dots: an IPv6 reference or a hostname. */
function other(text: string, start: number, end: number): HostType | undefined {
  if (text.indexOf(':', start) >= 0 && text.indexOf(':', start) < end) {
    return isIPv6(text.slice(start, end)) ? 'ipv6' : undefined;
  }
  return isHostnameRange(text, start, end) ? 'domain' : undefined;
}

/** Classifies a host (IPv6 without brackets); `undefined` when it is not a valid host. */
export function classifyHost(host: string): HostType | undefined {
  return classifyHostRange(host, 0, host.length);
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
  const hostEnd = colon >= 0 ? colon : end;
  const hostType = classifyHostRange(text, start, hostEnd);
  if (hostType === undefined) return undefined;
  const host = text.slice(start, hostEnd);
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
