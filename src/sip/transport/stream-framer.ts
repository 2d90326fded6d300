import { AppError } from '../../errors.js';

/** @default 16384 — header section (start line + headers + blank line) of one message, bytes. */
export const DEFAULT_MAX_HEADER_BYTES = 16 * 1024;
/** @default 65536 — body of one message, bytes. */
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024;

export interface StreamFramerOptions {
  /** Largest header section accepted, blank line included. @default 16384 */
  readonly maxHeaderBytes?: number;
  /** Largest Content-Length accepted. @default 65536 */
  readonly maxBodyBytes?: number;
  /**
   * Called for each RFC 5626 §3.5.1 keep-alive ping (a double CRLF between messages); the owner
   * answers with a single CRLF pong. Must not throw.
   */
  readonly onPing?: () => void;
}

/**
 * What one `push` produced: the complete messages, in order, and — once the stream can no longer
 * be framed — an error. After an error the framer is dead: the connection must be closed, because
 * a byte stream cannot resynchronise after garbage (RFC 3261 §18.3).
 */
export type FramerResult =
  | { readonly ok: true; readonly messages: Buffer[] }
  | { readonly ok: false; readonly messages: Buffer[]; readonly error: AppError };

const CR = 0x0d;
const LF = 0x0a;

/** RFC 3261 §25.1 token characters; a message starts with a method token or `SIP/2.0`. */
const TOKEN_START = new Uint8Array(128);
for (const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~") {
  TOKEN_START[c.charCodeAt(0)] = 1;
}

const CONTENT_LENGTH_VALUE = /^[0-9]{1,10}$/;

type State = 'boundary' | 'header' | 'body' | 'failed';

/**
 * Cuts a SIP byte stream (TCP, TLS) into messages by Content-Length (RFC 3261 §18.3). Pure: it
 * owns no socket. Bytes are appended to one growable buffer and scanned once, so feeding many
 * small chunks costs linear time.
 */
export class StreamFramer {
  readonly #maxHeaderBytes: number;
  readonly #maxBodyBytes: number;
  readonly #onPing: (() => void) | undefined;
  #buf: Buffer = Buffer.allocUnsafe(4096);
  /** First unconsumed byte. */
  #start = 0;
  /** End of valid data. */
  #end = 0;
  #state: State = 'boundary';
  /** Header state: where the terminator search resumes. */
  #scan = 0;
  /** Body state: where the current message ends. */
  #messageEnd = 0;
  /** Boundary state: line feeds seen since the last message (two make a ping). */
  #lineFeeds = 0;
  #error: AppError | undefined;

  constructor(options: StreamFramerOptions = {}) {
    this.#maxHeaderBytes = options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
    this.#maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.#onPing = options.onPing;
  }

  /** Bytes of an incomplete message held (0 between messages). */
  get bufferedBytes(): number {
    return this.#state === 'boundary' ? 0 : this.#end - this.#start;
  }

  /** Whether an error has stopped the framer. */
  get failed(): boolean {
    return this.#state === 'failed';
  }

  /** Feeds the next chunk of the stream. */
  push(chunk: Buffer): FramerResult {
    const messages: Buffer[] = [];
    if (this.#error !== undefined) return { ok: false, messages, error: this.#error };
    this.#append(chunk);
    const error = this.#process(messages);
    if (error !== undefined) {
      this.#error = error;
      this.#state = 'failed';
      this.#buf = Buffer.alloc(0);
      this.#start = 0;
      this.#end = 0;
      return { ok: false, messages, error };
    }
    return { ok: true, messages };
  }

  #append(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (this.#end + chunk.length > this.#buf.length) {
      const live = this.#end - this.#start;
      const needed = live + chunk.length;
      // Compact in place when that frees enough room, else grow geometrically (amortised O(1) per byte).
      const target =
        needed <= this.#buf.length && this.#start > 0
          ? this.#buf
          : Buffer.allocUnsafe(Math.max(needed, this.#buf.length * 2));
      this.#buf.copy(target, 0, this.#start, this.#end);
      this.#buf = target;
      this.#scan -= this.#start;
      this.#messageEnd -= this.#start;
      this.#start = 0;
      this.#end = live;
    }
    chunk.copy(this.#buf, this.#end);
    this.#end += chunk.length;
  }

  #process(messages: Buffer[]): AppError | undefined {
    const buf = this.#buf;
    for (;;) {
      if (this.#state === 'boundary') {
        // RFC 3261 §7.5: CRLFs before a start line are ignored. RFC 5626 §3.5.1: a double CRLF
        // is a keep-alive ping, answered with a single CRLF; a lone CRLF is a pong.
        let i = this.#start;
        while (i < this.#end) {
          const c = buf[i] as number;
          if (c === LF) {
            this.#lineFeeds++;
            if (this.#lineFeeds === 2) {
              this.#lineFeeds = 0;
              this.#onPing?.();
            }
          } else if (c !== CR) break;
          i++;
        }
        this.#start = i;
        if (i === this.#end) {
          this.#start = 0;
          this.#end = 0;
          return undefined;
        }
        const first = buf[i] as number;
        if (first >= 128 || TOKEN_START[first] !== 1) {
          return new AppError(
            'SIP_PARSE_START_LINE',
            `stream framing: byte 0x${first.toString(16)} cannot start a SIP message`,
          );
        }
        this.#lineFeeds = 0;
        this.#state = 'header';
        this.#scan = i;
      }

      if (this.#state === 'header') {
        const found = this.#findHeaderEnd();
        if (found === undefined) {
          if (this.#end - this.#start > this.#maxHeaderBytes) {
            return new AppError(
              'SIP_PARSE_LIMIT',
              `stream framing: header section exceeds ${this.#maxHeaderBytes} bytes`,
            );
          }
          return undefined;
        }
        const [headerEnd, bodyStart] = found;
        if (bodyStart - this.#start > this.#maxHeaderBytes) {
          return new AppError(
            'SIP_PARSE_LIMIT',
            `stream framing: header section exceeds ${this.#maxHeaderBytes} bytes`,
          );
        }
        const length = this.#contentLength(headerEnd);
        if (length instanceof AppError) return length;
        this.#messageEnd = bodyStart + length;
        this.#state = 'body';
      }

      if (this.#state === 'body') {
        if (this.#end < this.#messageEnd) return undefined;
        const message = Buffer.allocUnsafe(this.#messageEnd - this.#start);
        buf.copy(message, 0, this.#start, this.#messageEnd);
        messages.push(message);
        this.#start = this.#messageEnd;
        this.#state = 'boundary';
        continue;
      }
      return undefined;
    }
  }

  /**
   * Finds the blank line ending the header section (CRLF CRLF, or LF-only line ends tolerated):
   * returns [index of the LF ending the last header line, first body byte]. Resumes where the
   * previous call stopped, so each byte is examined once.
   */
  #findHeaderEnd(): [number, number] | undefined {
    const buf = this.#buf;
    const end = this.#end;
    let i = this.#scan;
    for (; i < end; i++) {
      if (buf[i] !== LF) continue;
      if (i + 1 >= end) break;
      const next = buf[i + 1];
      if (next === LF) return [i, i + 2];
      if (next === CR) {
        if (i + 2 >= end) break;
        if (buf[i + 2] === LF) return [i, i + 3];
      }
    }
    this.#scan = i;
    return undefined;
  }

  /**
   * The Content-Length of the header section ending at `headerEnd`. RFC 3261 §18.3: on a stream
   * the header MUST be present; `l` is its compact form (§7.3.3); names are case-insensitive.
   */
  #contentLength(headerEnd: number): number | AppError {
    const lines = this.#buf.toString('latin1', this.#start, headerEnd).split('\n');
    let value: string | undefined;
    let pending: string | undefined;
    const take = (line: string): AppError | undefined => {
      const colon = line.indexOf(':');
      if (colon < 0) return undefined;
      const name = line.slice(0, colon).trim().toLowerCase();
      if (name !== 'content-length' && name !== 'l') return undefined;
      const text = line.slice(colon + 1).trim();
      if (!CONTENT_LENGTH_VALUE.test(text)) {
        return new AppError('SIP_PARSE_HEADER', `stream framing: invalid Content-Length "${text.slice(0, 20)}"`);
      }
      if (value !== undefined && Number(value) !== Number(text)) {
        return new AppError('SIP_PARSE_HEADER', 'stream framing: conflicting Content-Length headers');
      }
      value = text;
      return undefined;
    };
    // lines[0] is the start line; §7.3.1 continuation lines fold into the previous header.
    for (let n = 1; n < lines.length; n++) {
      const line = (lines[n] as string).replace(/\r$/, '');
      const c = line.charCodeAt(0);
      if (c === 0x20 || c === 0x09) {
        if (pending !== undefined) pending += ` ${line.trim()}`;
        continue;
      }
      if (pending !== undefined) {
        const error = take(pending);
        if (error !== undefined) return error;
      }
      pending = line;
    }
    if (pending !== undefined) {
      const error = take(pending);
      if (error !== undefined) return error;
    }
    if (value === undefined) {
      return new AppError(
        'SIP_PARSE_MISSING_HEADER',
        'stream framing: Content-Length is mandatory on a stream (RFC 3261 §18.3)',
      );
    }
    const length = Number(value);
    if (length > this.#maxBodyBytes) {
      return new AppError('SIP_PARSE_LIMIT', `stream framing: body of ${length} bytes exceeds ${this.#maxBodyBytes}`);
    }
    return length;
  }
}
