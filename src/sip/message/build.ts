import { AppError } from '../../errors.js';
import { assembleMessage, headerFields, type StartLine } from './assemble.js';
import { canonicalHeaderName, isListHeader, sameHeaderName } from './header-names.js';
import { splitList } from './grammar.js';
import { reasonPhrase } from './reason-phrases.js';
import { formatUri, parseUri } from './uri.js';
import type { HeaderField, SipMessage, SipRequest, SipResponse, Uri } from './types.js';

export type HeaderInput = Iterable<readonly [string, string]>;

function assembleOrThrow(start: StartLine, headers: HeaderField[], body: Buffer): SipMessage {
  const withLength = headers.filter((h) => h.name !== 'Content-Length');
  withLength.push({ name: 'Content-Length', value: String(body.length) });
  const result = assembleMessage(start, withLength, body);
  if (!result.ok) throw new AppError(result.error.code, `cannot build SIP message: ${result.error.message}`);
  return result.message;
}

/** Builds a request; throws AppError (SIP_PARSE_*) if a header value is malformed. */
export function buildRequest(init: {
  method: string;
  uri: Uri | string;
  headers: HeaderInput;
  body?: Buffer;
}): SipRequest {
  const uri = typeof init.uri === 'string' ? parseUri(init.uri) : init.uri;
  if (uri === undefined)
    throw new AppError('SIP_PARSE_URI', `cannot build SIP request: malformed URI ${String(init.uri)}`);
  const start: StartLine = { kind: 'request', method: init.method, uri, version: 'SIP/2.0' };
  return assembleOrThrow(start, headerFields(init.headers), init.body ?? Buffer.alloc(0)) as SipRequest;
}

/** Builds a response; throws AppError (SIP_PARSE_*) if a header value is malformed. */
export function buildResponse(init: {
  status: number;
  reason?: string;
  headers: HeaderInput;
  body?: Buffer;
}): SipResponse {
  const start: StartLine = {
    kind: 'response',
    status: init.status,
    reason: init.reason ?? reasonPhrase(init.status),
    version: 'SIP/2.0',
  };
  return assembleOrThrow(start, headerFields(init.headers), init.body ?? Buffer.alloc(0)) as SipResponse;
}

export interface CreateResponseOptions {
  readonly reason?: string;
  /** Added to To when the request's To has no tag and the status is above 100 (§8.2.6.2). */
  readonly toTag?: string;
  readonly headers?: HeaderInput;
  readonly body?: Buffer;
}

/**
 * A response to `request` per RFC 3261 §8.2.6.2: Via (all values, in order), From, Call-ID and
 * CSeq copied, To copied with a tag added when needed, then the extra headers.
 */
export function createResponse(request: SipRequest, status: number, options: CreateResponseOptions = {}): SipResponse {
  const copied: Array<readonly [string, string]> = [];
  for (const h of request.headers) {
    if (h.name === 'Via' || h.name === 'From' || h.name === 'Call-ID' || h.name === 'CSeq')
      copied.push([h.name, h.value]);
    else if (h.name === 'To') {
      const needsTag = status > 100 && options.toTag !== undefined && !request.to.params.has('tag');
      copied.push([h.name, needsTag ? `${h.value};tag=${options.toTag}` : h.value]);
    }
  }
  return buildResponse({
    status,
    headers: [...copied, ...(options.headers ?? [])],
    ...(options.reason === undefined ? {} : { reason: options.reason }),
    ...(options.body === undefined ? {} : { body: options.body }),
  });
}

export interface HeaderEdit {
  /** Header names to remove entirely (before additions). */
  readonly remove?: readonly string[];
  /** Fields placed before all existing ones (e.g. a new top Via). */
  readonly prepend?: HeaderInput;
  /** Fields appended at the end. */
  readonly append?: HeaderInput;
  /** Replaces the body (Content-Length follows). */
  readonly body?: Buffer;
}

/** A copy of `message` with headers removed/added; typed views are re-derived. */
export function withHeaders<M extends SipMessage>(message: M, edit: HeaderEdit): M {
  const removed = (edit.remove ?? []).map((n) => canonicalHeaderName(n));
  const kept = message.headers.filter((h) => !removed.some((n) => sameHeaderName(n, h.name)));
  const headers = [...headerFields(edit.prepend ?? []), ...kept, ...headerFields(edit.append ?? [])];
  const start: StartLine =
    message.kind === 'request'
      ? { kind: 'request', method: message.method, uri: message.uri, version: message.version }
      : { kind: 'response', status: message.status, reason: message.reason, version: message.version };
  return assembleOrThrow(start, headers, edit.body ?? message.body) as M;
}

/** A copy of a request with another Request-URI. */
export function withRequestUri(request: SipRequest, uri: Uri): SipRequest {
  const start: StartLine = { kind: 'request', method: request.method, uri, version: request.version };
  return assembleOrThrow(start, [...request.headers], request.body) as SipRequest;
}

/** The first field value of a header, or undefined. */
export function getHeader(message: SipMessage, name: string): string | undefined {
  const canonical = canonicalHeaderName(name);
  for (const h of message.headers) if (h.name === canonical || sameHeaderName(h.name, canonical)) return h.value;
  return undefined;
}

/**
 * All values of a header: one per field, and for list headers (§7.3.1) one per comma-separated
 * element.
 */
export function getHeaderValues(message: SipMessage, name: string): string[] {
  const canonical = canonicalHeaderName(name);
  const out: string[] = [];
  for (const h of message.headers) {
    if (h.name !== canonical && !sameHeaderName(h.name, canonical)) continue;
    if (isListHeader(canonical)) out.push(...(splitList(h.value) ?? [h.value]));
    else out.push(h.value);
  }
  return out;
}

/** The Request-URI as text. */
export function requestUriText(request: SipRequest): string {
  return formatUri(request.uri);
}
