import type { SipMessage } from './types.js';

/**
 * The bytes a message was parsed from, kept with it when its header section is already written
 * exactly as the serializer writes it (canonical names, `Name: value` with one SP, CRLF line
 * ends, no folding, the real Content-Length, a start line as the serializer formats it).
 * Serializing such a message returns these bytes instead of formatting and encoding it again.
 */
export interface RawBytes {
  readonly data: Buffer;
  /** First byte of the start line. */
  readonly start: number;
  /** End of the body. */
  readonly end: number;
}

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
  readonly #raw: RawBytes;

  constructor(message: SipMessage, raw: RawBytes) {
    super(message);
    this.#raw = raw;
  }

  static of(message: object): RawBytes | undefined {
    return #raw in message ? (message as RawBytesField).#raw : undefined;
  }
}

/** Records that `data[start, end)` is the serialized form of `message` (see {@link RawBytes}). */
export function stampRawBytes(message: SipMessage, data: Buffer, start: number, end: number): void {
  new RawBytesField(message, { data, start, end });
}

/** The bytes recorded for a parsed message, if any. */
export function rawBytesOf(message: SipMessage): RawBytes | undefined {
  return RawBytesField.of(message);
}
