/**
 * DTMF keys as callrec hears them: RFC 4733 telephone-events in a leg's RTP, and SIP INFO bodies
 * (application/dtmf-relay, application/dtmf). Digits can be PINs: nothing here stores or logs them.
 */
import { createTelephoneEventView, parseTelephoneEvent, type TelephoneEventView } from './codec/telephone-event.js';
import { createRtpHeaderView, parseRtp } from './rtp/rtp-packet.js';

/** One DTMF key. */
export type DtmfDigit = '0' | '1' | '2' | '3' | '4' | '5' | '6' | '7' | '8' | '9' | '*' | '#' | 'A' | 'B' | 'C' | 'D';

/** RFC 4733 §3.2 Table 7: event codes 0–15 are the DTMF keys in this order. */
const DIGITS = '0123456789*#ABCD';

/** The key of an RFC 4733 event code, or undefined for non-DTMF events (tones, flash). */
export function digitOfEvent(code: number): DtmfDigit | undefined {
  return code >= 0 && code < DIGITS.length ? (DIGITS.charAt(code) as DtmfDigit) : undefined;
}

/** A key as text ("5", "*", "#", "a"; also "10"/"11" for * and #, as some phones send), normalised. */
export function parseDigit(text: string): DtmfDigit | undefined {
  const value = text.trim().toUpperCase();
  if (value.length === 1 && DIGITS.includes(value)) return value as DtmfDigit;
  if (/^\d{1,2}$/.test(value)) return digitOfEvent(Number(value));
  return undefined;
}

/**
 * The key in a SIP INFO body (RFC 6086 carries no DTMF package itself; these are the de-facto
 * formats): `application/dtmf-relay` with a `Signal=` line, or `application/dtmf` whose body is
 * the key. Undefined for other content types or bodies without a key.
 */
export function parseInfoDigit(contentType: string | undefined, body: Buffer | string): DtmfDigit | undefined {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  const text = typeof body === 'string' ? body : body.toString('utf8');
  if (type === 'application/dtmf-relay') {
    const signal = /^\s*signal\s*=\s*(\S+)\s*$/im.exec(text);
    return signal === null ? undefined : parseDigit(signal[1] ?? '');
  }
  if (type === 'application/dtmf') return parseDigit(text);
  return undefined;
}

/** What an {@link RtpDtmfDetector} reports a key to. */
export type DigitListener = (digit: DtmfDigit) => void;

/**
 * Keys from the RTP of one leg (RFC 4733): each event reported once on its first end packet
 * (§2.5.1.3: the end packet is sent three times with the event's timestamp). An event whose end
 * packets were all lost is reported when the next event starts, unless that one only continues it
 * (§2.5.1.5: a long event goes on with a new timestamp). Only the payload types given count.
 */
export class RtpDtmfDetector {
  readonly #onDigit: DigitListener;
  readonly #header = createRtpHeaderView();
  readonly #event: TelephoneEventView = createTelephoneEventView();
  #payloadTypes: ReadonlySet<number>;
  #ssrc = -1;
  #timestamp = -1;
  #code = -1;
  #duration = 0;
  #reported = true;

  constructor(payloadTypes: Iterable<number>, onDigit: DigitListener) {
    this.#payloadTypes = new Set(payloadTypes);
    this.#onDigit = onDigit;
  }

  /** The telephone-event payload types of the leg changed (re-INVITE). */
  setPayloadTypes(payloadTypes: Iterable<number>): void {
    this.#payloadTypes = new Set(payloadTypes);
  }

  /** Feeds one RTP datagram of the leg; anything but a telephone-event packet is ignored. */
  push(datagram: Uint8Array): void {
    const header = this.#header;
    if (!parseRtp(datagram, header) || !this.#payloadTypes.has(header.payloadType)) return;
    const event = this.#event;
    if (
      !parseTelephoneEvent(datagram.subarray(header.payloadOffset, header.payloadOffset + header.payloadLength), event)
    )
      return;
    if (header.ssrc !== this.#ssrc) {
      this.#ssrc = header.ssrc;
      this.#timestamp = -1;
      this.#reported = true;
    }
    if (header.timestamp !== this.#timestamp) {
      const continues =
        event.event === this.#code && header.timestamp === (this.#timestamp + this.#duration) >>> 0 && !this.#reported;
      if (!this.#reported && !continues) this.#report(this.#code);
      if (continues) {
        // §2.5.1.5: the same long event, new segment; it is one key press
        this.#timestamp = header.timestamp;
      } else {
        this.#timestamp = header.timestamp;
        this.#code = event.event;
        this.#reported = false;
      }
    }
    this.#duration = event.duration;
    if (event.end && !this.#reported && event.event === this.#code) this.#report(this.#code);
  }

  #report(code: number): void {
    this.#reported = true;
    const digit = digitOfEvent(code);
    if (digit !== undefined) this.#onDigit(digit);
  }
}

/** Options of {@link DigitSequence}. */
export interface DigitSequenceOptions<T> {
  /** Key sequences (e.g. `*1`) and what they mean. */
  readonly codes: ReadonlyMap<string, T>;
  /** A pause longer than this between keys starts a new sequence. @default 3000 */
  readonly interDigitMs?: number;
  /** Monotonic milliseconds. */
  readonly now: () => number;
}

/**
 * Recognises key sequences (pause/resume codes) in a stream of keys: the latest keys are kept
 * (never longer than the longest code) and matched as a suffix; a match clears them.
 */
export class DigitSequence<T> {
  readonly #codes: ReadonlyMap<string, T>;
  readonly #interDigitMs: number;
  readonly #now: () => number;
  readonly #longest: number;
  #keys = '';
  #lastMs = -Infinity;

  constructor(options: DigitSequenceOptions<T>) {
    this.#codes = options.codes;
    this.#interDigitMs = options.interDigitMs ?? 3000;
    this.#now = options.now;
    this.#longest = Math.max(0, ...[...options.codes.keys()].map((code) => code.length));
  }

  /** One key; returns what a code completed by it means, if any. */
  push(digit: DtmfDigit): T | undefined {
    const now = this.#now();
    if (now - this.#lastMs > this.#interDigitMs) this.#keys = '';
    this.#lastMs = now;
    this.#keys = (this.#keys + digit).slice(-this.#longest);
    for (const [code, meaning] of this.#codes) {
      if (code.length > 0 && this.#keys.endsWith(code)) {
        this.#keys = '';
        return meaning;
      }
    }
    return undefined;
  }
}
