/**
 * RFC 4733 telephone-event payloads (DTMF and other named events): parsing into a reusable view,
 * writing, and recognising each completed event once although its end packet is repeated.
 */

/** Octets in one event payload (RFC 4733 §2.3). */
export const TELEPHONE_EVENT_LENGTH = 4;

/** One parsed event payload; reused across packets (see `createTelephoneEventView`). */
export interface TelephoneEventView {
  /** Event code (RFC 4733 §3.2: 0–9, 10 = *, 11 = #, 12–15 = A–D for DTMF). */
  event: number;
  /** E bit: this packet reports the end of the event. */
  end: boolean;
  /** Power level in −dBm0 (0–63); meaningful for DTMF. */
  volume: number;
  /** Duration so far in RTP timestamp units, counted from the packet's RTP timestamp. */
  duration: number;
}

/** A zeroed view for `parseTelephoneEvent` to fill. */
export function createTelephoneEventView(): TelephoneEventView {
  return { event: 0, end: false, volume: 0, duration: 0 };
}

/**
 * Parses the first event of `payload` into `into` (RFC 4733 §2.3: event 8 bits, E 1, R 1,
 * volume 6, duration 16). Returns false if the payload is shorter than 4 octets.
 */
export function parseTelephoneEvent(payload: Uint8Array, into: TelephoneEventView): boolean {
  if (payload.length < TELEPHONE_EVENT_LENGTH) return false;
  const flags = payload[1] as number;
  into.event = payload[0] as number;
  into.end = (flags & 0x80) !== 0;
  // RFC 4733 §2.3: R is reserved, "MUST be set to 0 by the sender ... receiver MUST ignore".
  into.volume = flags & 0x3f;
  into.duration = ((payload[2] as number) << 8) | (payload[3] as number);
  return true;
}

/** Writes one event payload at `offset`; returns the octets written (4). */
export function writeTelephoneEvent(buf: Uint8Array, offset: number, event: Readonly<TelephoneEventView>): number {
  if (offset + TELEPHONE_EVENT_LENGTH > buf.length) throw new RangeError('telephone-event payload needs 4 octets');
  buf[offset] = event.event & 0xff;
  buf[offset + 1] = (event.end ? 0x80 : 0) | (event.volume & 0x3f);
  buf[offset + 2] = (event.duration >>> 8) & 0xff;
  buf[offset + 3] = event.duration & 0xff;
  return TELEPHONE_EVENT_LENGTH;
}

/**
 * Reports each completed event once. RFC 4733 §2.5.1.3: the final packet of an event is sent
 * three times, every copy with the event's RTP timestamp, so the first end packet for a timestamp
 * completes the event and later ones are duplicates. Events whose end packets were all lost are
 * not reported. Feed one stream (SSRC) in arrival order; reset() on an SSRC change.
 */
export class TelephoneEventTracker {
  #reported = false;
  #lastTimestamp = 0;

  /**
   * Feeds one parsed event payload with its packet's RTP timestamp. Returns true if this packet
   * completes an event not reported before; the caller then reads event, volume and duration
   * from `event`.
   */
  accept(rtpTimestamp: number, event: Readonly<TelephoneEventView>): boolean {
    if (!event.end) return false;
    const timestamp = rtpTimestamp >>> 0;
    if (this.#reported && timestamp === this.#lastTimestamp) return false;
    this.#reported = true;
    this.#lastTimestamp = timestamp;
    return true;
  }

  /** Forgets the last reported event. */
  reset(): void {
    this.#reported = false;
    this.#lastTimestamp = 0;
  }
}
