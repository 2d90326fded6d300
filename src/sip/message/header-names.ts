/** Compact header forms (RFC 3261 §7.3.3 and the IANA SIP header registry). */
const COMPACT_FORMS: Readonly<Record<string, string>> = {
  a: 'Accept-Contact',
  b: 'Referred-By',
  c: 'Content-Type',
  d: 'Request-Disposition',
  e: 'Content-Encoding',
  f: 'From',
  i: 'Call-ID',
  j: 'Reject-Contact',
  k: 'Supported',
  l: 'Content-Length',
  m: 'Contact',
  n: 'Identity-Info',
  o: 'Event',
  r: 'Refer-To',
  s: 'Subject',
  t: 'To',
  u: 'Allow-Events',
  v: 'Via',
  x: 'Session-Expires',
  y: 'Identity',
};

const KNOWN_NAMES = [
  'Accept',
  'Accept-Contact',
  'Accept-Encoding',
  'Accept-Language',
  'Alert-Info',
  'Allow',
  'Allow-Events',
  'Authentication-Info',
  'Authorization',
  'Call-ID',
  'Call-Info',
  'Contact',
  'Content-Disposition',
  'Content-Encoding',
  'Content-Language',
  'Content-Length',
  'Content-Type',
  'CSeq',
  'Date',
  'Diversion',
  'Error-Info',
  'Event',
  'Expires',
  'From',
  'History-Info',
  'Identity',
  'Identity-Info',
  'In-Reply-To',
  'Max-Forwards',
  'Min-Expires',
  'Min-SE',
  'MIME-Version',
  'Organization',
  'P-Asserted-Identity',
  'P-Preferred-Identity',
  'Path',
  'Priority',
  'Privacy',
  'Proxy-Authenticate',
  'Proxy-Authorization',
  'Proxy-Require',
  'RAck',
  'Reason',
  'Record-Route',
  'Refer-To',
  'Referred-By',
  'Reject-Contact',
  'Replaces',
  'Reply-To',
  'Request-Disposition',
  'Require',
  'Retry-After',
  'Route',
  'RSeq',
  'Server',
  'Service-Route',
  'Session-Expires',
  'Subject',
  'Subscription-State',
  'Supported',
  'Timestamp',
  'To',
  'Unsupported',
  'User-Agent',
  'Via',
  'Warning',
  'WWW-Authenticate',
];

const CANONICAL = new Map<string, string>();
for (const name of KNOWN_NAMES) CANONICAL.set(name.toLowerCase(), name);
for (const [short, long] of Object.entries(COMPACT_FORMS)) CANONICAL.set(short, long);

/**
 * The canonical long form of a header name: compact forms expanded, known names in their
 * registered spelling, unknown names kept as written (header names are case-insensitive,
 * RFC 3261 §7.3.1).
 */
export function canonicalHeaderName(name: string): string {
  return knownHeaderName(name) ?? name;
}

/**
 * Canonical spellings bucketed by length and lower-cased first letter, so the common case (a
 * name already spelled canonically) is found by integer lookup and one string comparison,
 * without hashing a freshly sliced string.
 */
const BUCKETS = new Map<number, string[]>();
for (const name of KNOWN_NAMES) {
  const key = (name.length << 8) | (name.charCodeAt(0) | 0x20);
  BUCKETS.set(key, [...(BUCKETS.get(key) ?? []), name]);
}

/** The canonical spelling of a registered header name (any case, compact forms), or undefined. */
export function knownHeaderName(name: string): string | undefined {
  const bucket = BUCKETS.get((name.length << 8) | (name.charCodeAt(0) | 0x20));
  if (bucket !== undefined) for (const candidate of bucket) if (candidate === name) return candidate;
  return CANONICAL.get(name.toLowerCase());
}

/** Whether two header names denote the same header. */
export function sameHeaderName(a: string, b: string): boolean {
  return a === b || canonicalHeaderName(a).toLowerCase() === canonicalHeaderName(b).toLowerCase();
}

/**
 * Headers whose grammar is a comma-separated list (RFC 3261 §7.3.1), so several values may share
 * one line. Authorization-type headers and Date are deliberately absent: commas occur inside them.
 */
const LIST_HEADERS = new Set(
  [
    'Accept',
    'Accept-Contact',
    'Accept-Encoding',
    'Accept-Language',
    'Alert-Info',
    'Allow',
    'Allow-Events',
    'Call-Info',
    'Contact',
    'Content-Encoding',
    'Content-Language',
    'Diversion',
    'Error-Info',
    'History-Info',
    'In-Reply-To',
    'P-Asserted-Identity',
    'P-Preferred-Identity',
    'Path',
    'Privacy',
    'Proxy-Require',
    'Reason',
    'Record-Route',
    'Reject-Contact',
    'Require',
    'Route',
    'Service-Route',
    'Supported',
    'Unsupported',
    'Via',
    'Warning',
  ].map((n) => n.toLowerCase()),
);

/** Whether a (canonical) header allows comma-separated values. */
export function isListHeader(canonicalName: string): boolean {
  return LIST_HEADERS.has(canonicalName.toLowerCase());
}

/** Headers that must appear at most once (RFC 3261 §7.3.1 and their grammars). */
export const SINGLE_VALUE_HEADERS: readonly string[] = [
  'Call-ID',
  'CSeq',
  'From',
  'To',
  'Max-Forwards',
  'Content-Length',
  'Content-Type',
];
