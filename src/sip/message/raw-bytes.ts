import type { SipMessage } from './types.js';

/**
 * The bytes a message was parsed from (start line to end of body), kept with it when its header
 * section is already written exactly as the serializer writes it (canonical names,
 * `Name: value` with one SP, CRLF line ends, no folding, the real Content-Length, a start line
 * as the serializer formats it). Serializing such a message returns these bytes instead of
 * formatting and encoding it again.
 */
/**
 * A constructor that returns its argument instead of a new object, so that a subclass
 * constructor attaches its private fields to that argument.
 */
const ReturnTarget = function (target: object): object {
  return target;
} as unknown as new (target: object) => Record<never, never>;

/**
 * Attaches the raw bytes to a message object as a private field: invisible to callers,
 * `deepEqual`, JSON and inspection, and, unlike a WeakMap entry, nearly free for the garbage
 * collector at one entry per message.
 */
class RawBytesField extends ReturnTarget {
  readonly #raw: Buffer;

  constructor(message: SipMessage, raw: Buffer) {
    super(message);
    this.#raw = raw;
  }

  static of(message: object): Buffer | undefined {
    return #raw in message ? (message as RawBytesField).#raw : undefined;
  }
}

/**
 * Records that `data[start, end)` is the serialized form of `message`. The usual datagram holds
 * exactly one message: then `data` itself is kept, without a new view of it.
 */
export function stampRawBytes(message: SipMessage, data: Buffer, start: number, end: number): void {
  new RawBytesField(message, start === 0 && end === data.length ? data : data.subarray(start, end));
}

/** The bytes recorded for a parsed message (start line to end of body), if any. */
export function rawBytesOf(message: SipMessage): Buffer | undefined {
  return RawBytesField.of(message);
}
