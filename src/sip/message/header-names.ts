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
 * Canonical spellings bucketed by length and lower-cased first letter, so a name is looked up by
 * integer indexing and a comparison in place, without cutting, lower-casing or hashing a string.
 */
const MAX_KNOWN_LENGTH = 32;
const BUCKETS: Array<readonly string[] | undefined> = new Array<undefined>((MAX_KNOWN_LENGTH + 1) * 32).fill(undefined);
for (const name of KNOWN_NAMES) {
  const key = bucketKey(name, 0, name.length);
  BUCKETS[key] = [...(BUCKETS[key] ?? []), name];
}

/** Compact forms by the code of their lower-case letter. */
const COMPACT_BY_CODE: Array<string | undefined> = new Array<undefined>(128).fill(undefined);
for (const [short, long] of Object.entries(COMPACT_FORMS)) COMPACT_BY_CODE[short.charCodeAt(0)] = long;

function bucketKey(text: string, start: number, length: number): number {
  return length * 32 + ((text.charCodeAt(start) | 0x20) & 31);
}

function bucketAt(text: string, start: number, end: number): readonly string[] | undefined {
  const length = end - start;
  return length <= 0 || length > MAX_KNOWN_LENGTH ? undefined : BUCKETS[bucketKey(text, start, length)];
}

/**
 * The registered header name spelled exactly as `written` (then the interned constant), or
 * undefined (also when the name is registered but written in another case or compact form).
 */
export function canonicalSpelling(written: string): string | undefined {
  const bucket = bucketAt(written, 0, written.length);
  // One string comparison per candidate: cheaper in V8 than comparing character by character
  if (bucket !== undefined) for (const candidate of bucket) if (written === candidate) return candidate;
  return undefined;
}

function isAsciiLetter(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** Whether `text[start, ...)` spells `candidate` in any ASCII case. */
function equalsIgnoringCase(text: string, start: number, candidate: string): boolean {
  for (let i = 0; i < candidate.length; i++) {
    const a = text.charCodeAt(start + i);
    const b = candidate.charCodeAt(i);
    if (a !== b && !((a | 0x20) === (b | 0x20) && isAsciiLetter(b))) return false;
  }
  return true;
}

function hasNonAscii(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (text.charCodeAt(i) >= 0x80) return true;
  return false;
}

/**
 * The canonical spelling of the registered header name `text[start, end)` (any case, compact
 * forms), or undefined.
 */
export function knownHeaderNameAt(text: string, start: number, end: number): string | undefined {
  if (end - start === 1) {
    const c = text.charCodeAt(start);
    if (isAsciiLetter(c)) return COMPACT_BY_CODE[c | 0x20];
  } else {
    const bucket = bucketAt(text, start, end);
    if (bucket !== undefined) {
      for (const candidate of bucket) if (equalsIgnoringCase(text, start, candidate)) return candidate;
    }
  }
  // Unicode case mapping can turn other characters into ASCII letters (as String#toLowerCase does)
  return hasNonAscii(text, start, end) ? CANONICAL.get(text.slice(start, end).toLowerCase()) : undefined;
}

/** The canonical spelling of a registered header name (any case, compact forms), or undefined. */
export function knownHeaderName(name: string): string | undefined {
  return canonicalSpelling(name) ?? knownHeaderNameAt(name, 0, name.length);
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
