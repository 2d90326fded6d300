import type { HeaderField } from '../sip/index.js';

/**
 * Which header fields cross from one leg to the other (pure). Everything that names a hop —
 * Via, Route, Record-Route, Contact, Call-ID, tags, CSeq, Path — is rebuilt per leg (topology
 * hiding); identity and session semantics are carried.
 */

/** Identity (SPEC §1): who calls, who was diverted, privacy wishes. */
const IDENTITY = ['P-Asserted-Identity', 'P-Preferred-Identity', 'Privacy', 'Diversion', 'History-Info'];

/** Session and method semantics the far side needs to act the same way. */
const SESSION = [
  'Content-Type',
  'Content-Disposition',
  'Content-Encoding',
  'Content-Language',
  'MIME-Version',
  'Supported',
  'Require',
  'Allow',
  'Allow-Events',
  'Accept',
  'Accept-Encoding',
  'Accept-Language',
  'Session-Expires',
  'Min-SE',
  'Event',
  'Subscription-State',
  'Refer-To',
  'Referred-By',
  'Reason',
  'Warning',
  'Retry-After',
  'Expires',
  'Min-Expires',
  'Subject',
  'Priority',
  'Organization',
  'Date',
  'Timestamp',
  'Call-Info',
  'Alert-Info',
  'Error-Info',
  'Unsupported',
  'Authorization',
  'Proxy-Authorization',
  'WWW-Authenticate',
  'Proxy-Authenticate',
  'Authentication-Info',
  'Info-Package',
  'Recv-Info',
  'User-Agent',
  'Server',
];

export class HeaderPolicy {
  readonly #carried: ReadonlySet<string>;

  /** @param extra configured allow-list (`b2bua.carryHeaders`), case-insensitive */
  constructor(extra: readonly string[] = []) {
    this.#carried = new Set([...IDENTITY, ...SESSION, ...extra].map((n) => n.toLowerCase()));
  }

  /** The fields of `headers` that the other leg gets, in order. */
  carry(headers: readonly HeaderField[]): Array<readonly [string, string]> {
    const out: Array<readonly [string, string]> = [];
    for (const h of headers) if (this.#carried.has(h.name.toLowerCase())) out.push([h.name, h.value]);
    return out;
  }

  /** Like `carry`, without the named headers (e.g. Require when it is handled per leg). */
  carryExcept(headers: readonly HeaderField[], except: readonly string[]): Array<readonly [string, string]> {
    const skip = new Set(except.map((n) => n.toLowerCase()));
    return this.carry(headers).filter(([name]) => !skip.has(name.toLowerCase()));
  }
}
