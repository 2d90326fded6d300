import { rawBytesOf } from './raw-bytes.js';
import { formatUri } from './uri.js';
import type { SipMessage } from './types.js';

/** The start line of a message (without CRLF). */
export function startLineText(message: SipMessage): string {
  return message.kind === 'request'
    ? `${message.method} ${formatUri(message.uri)} ${message.version}`
    : `${message.version} ${message.status} ${message.reason}`;
}

/**
 * Serialises a message (RFC 3261 §7): start line, header fields one per line, CRLF, body.
 * Content-Length always states the body's real length, so stream framing stays correct.
 * For a parsed message already written this way the result is the bytes it was parsed from
 * (see raw-bytes.ts), sharing their memory as `body` does: like the message, treat it as
 * read-only.
 */
export function serializeMessage(message: SipMessage): Buffer {
  // No copy: a fresh buffer per message costs more than parsing a header (pool churn, GC)
  const raw = rawBytesOf(message);
  if (raw !== undefined) return raw;
  return serializeFields(message);
}

/** {@link serializeMessage} from the message's fields alone, never from the bytes it was parsed from. */
export function serializeFields(message: SipMessage): Buffer {
  let head = startLineText(message) + '\r\n';
  let hasLength = false;
  for (const h of message.headers) {
    if (h.name === 'Content-Length') {
      if (hasLength) continue;
      hasLength = true;
      head += `Content-Length: ${message.body.length}\r\n`;
    } else head += `${h.name}: ${h.value}\r\n`;
  }
  if (!hasLength) head += `Content-Length: ${message.body.length}\r\n`;
  head += '\r\n';
  const headLength = Buffer.byteLength(head, 'utf8');
  const out = Buffer.allocUnsafe(headLength + message.body.length);
  out.write(head, 0, 'utf8');
  message.body.copy(out, headLength);
  return out;
}
