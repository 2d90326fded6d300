/**
 * The SIP message model (RFC 3261 §7). Messages are immutable: the header list and the start
 * line are the single source of truth, and the typed views (`via`, `cseq`, ...) are derived from
 * them once, when the message is parsed or built.
 */

/** URI parameters (`;name=value`); names are lower-cased, a flag parameter has value `null`. */
export type UriParams = ReadonlyMap<string, string | null>;

/** `sip:` / `sips:` URI (RFC 3261 §19.1). `host` holds IPv6 references without brackets. */
export interface SipUri {
  readonly scheme: 'sip' | 'sips';
  /** The user part, percent-decoded. */
  readonly user: string | undefined;
  /** The password part, percent-decoded (deprecated by RFC 3261 but parsed). */
  readonly password: string | undefined;
  readonly host: string;
  readonly hostType: 'ipv4' | 'ipv6' | 'domain';
  readonly port: number | undefined;
  readonly params: UriParams;
  /** URI headers (`?name=value&...`), percent-decoded, in order. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
}

/** `tel:` URI (RFC 3966). */
export interface TelUri {
  readonly scheme: 'tel';
  /** The number as written, visual separators kept (e.g. `+49-30-1234`). */
  readonly number: string;
  readonly params: UriParams;
}

/** Any other absolute URI (RFC 3986 form), kept as text. */
export interface AbsoluteUri {
  readonly scheme: string;
  /** Everything after `scheme:`. */
  readonly opaque: string;
}

export type Uri = SipUri | TelUri | AbsoluteUri;

/** Header parameters (`;tag=...`, `;branch=...`); names lower-cased, flags are `null`. */
export type HeaderParams = ReadonlyMap<string, string | null>;

/** name-addr or addr-spec with header parameters (From, To, Contact, Route, ...). */
export interface NameAddr {
  /** Display name, unquoted and unescaped; undefined when absent. */
  readonly displayName: string | undefined;
  readonly uri: Uri;
  readonly params: HeaderParams;
}

/** One Contact value: either `*` (REGISTER removal) or an address. */
export type ContactValue = { readonly wildcard: true } | (NameAddr & { readonly wildcard?: false });

/** One Via value (RFC 3261 §20.42). */
export interface Via {
  /** e.g. `SIP/2.0` */
  readonly protocol: string;
  /** Upper-case transport token, e.g. `UDP`, `TCP`, `TLS`. */
  readonly transport: string;
  readonly host: string;
  readonly hostType: 'ipv4' | 'ipv6' | 'domain';
  readonly port: number | undefined;
  readonly params: HeaderParams;
  /** The `branch` parameter, if any. */
  readonly branch: string | undefined;
}

/** CSeq (RFC 3261 §20.16). */
export interface CSeq {
  readonly seq: number;
  readonly method: string;
}

/** One header field as it appeared (unfolded, trimmed); `name` is the canonical long form. */
export interface HeaderField {
  readonly name: string;
  readonly value: string;
}

interface MessageBase {
  /** `SIP/2.0` */
  readonly version: string;
  readonly headers: readonly HeaderField[];
  readonly body: Buffer;
  /** Via values, topmost first. */
  readonly via: readonly Via[];
  readonly from: NameAddr;
  readonly to: NameAddr;
  readonly callId: string;
  readonly cseq: CSeq;
  /** Absent when the header is absent. */
  readonly maxForwards: number | undefined;
  /** Absent when the header is absent. */
  readonly contentLength: number | undefined;
  readonly contact: readonly ContactValue[];
  readonly route: readonly NameAddr[];
  readonly recordRoute: readonly NameAddr[];
}

export interface SipRequest extends MessageBase {
  readonly kind: 'request';
  /** Method token, case-sensitive (RFC 3261 §7.1). */
  readonly method: string;
  readonly uri: Uri;
}

export interface SipResponse extends MessageBase {
  readonly kind: 'response';
  readonly status: number;
  readonly reason: string;
}

export type SipMessage = SipRequest | SipResponse;

/** Limits against hostile input. */
export interface ParseLimits {
  /** Whole message, bytes. @default 65535 */
  readonly maxMessageBytes: number;
  /** Number of header fields (after splitting folded lines, before splitting comma lists). @default 256 */
  readonly maxHeaders: number;
  /** One unfolded header line, bytes. @default 8192 */
  readonly maxLineLength: number;
}

export type ParseErrorCode =
  | 'SIP_PARSE_START_LINE'
  | 'SIP_PARSE_HEADER'
  | 'SIP_PARSE_URI'
  | 'SIP_PARSE_MISSING_HEADER'
  | 'SIP_PARSE_LIMIT'
  | 'SIP_PARSE_BODY'
  | 'SIP_PARSE_VERSION';

/** Why a message was rejected, with enough of it kept to answer 400 when possible. */
export interface SipParseError {
  readonly code: ParseErrorCode;
  readonly message: string;
  /** Whether the input looked like a request or a response, when the start line could be read. */
  readonly kind?: 'request' | 'response';
  /** Request method, when the start line could be read. */
  readonly method?: string;
  /** The header fields that could be split, for building an error response (§8.2.6.2). */
  readonly headers?: readonly HeaderField[];
  /** Status code a UAS should answer with: 400, 505 (version), 416 (URI scheme), 413 (too large). */
  readonly suggestedStatus: number;
}

export type ParseResult =
  { readonly ok: true; readonly message: SipMessage } | { readonly ok: false; readonly error: SipParseError };
