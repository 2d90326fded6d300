import {
  isPlayableFormat,
  isTelephoneEvent,
  playClip,
  RtpDtmfDetector,
  synthesizeTones,
  type AudioClips,
  type DtmfDigit,
  type PayloadFormat,
  type Playback,
  type RelayLeg,
} from '../media/index.js';
import { AppError } from '../errors.js';
import type { LegName } from './call-context.js';
import type { CallerPlayback, PlaySource } from './call-media-port.js';

/** The audio format callrec plays to a caller who offered `formats`: the first playable one. */
export function chooseCallerFormat(formats: readonly PayloadFormat[]): PayloadFormat | undefined {
  return formats.find((format) => !isTelephoneEvent(format.encoding) && isPlayableFormat(format));
}

/** The formats callrec offers a caller that sent no SDP: what it can play and record, plus keys. */
const OFFERED: readonly PayloadFormat[] = [
  { payloadType: 8, encoding: 'PCMA', clockRate: 8000, channels: 1 },
  { payloadType: 0, encoding: 'PCMU', clockRate: 8000, channels: 1 },
  { payloadType: 9, encoding: 'G722', clockRate: 8000, channels: 1 },
  { payloadType: 101, encoding: 'TELEPHONE-EVENT', clockRate: 8000, channels: 1 },
];

/** callrec's SDP offer to a caller (without its o= line, which the caller inserts at index 1). */
export function callerOffer(
  address: string,
  rtpPort: number,
  rtcpPort: number,
): { readonly sdp: string; readonly formats: readonly PayloadFormat[] } {
  const ip = address.includes(':') ? 'IP6' : 'IP4';
  const lines = [
    'v=0',
    's=callrec',
    `c=IN ${ip} ${address}`,
    't=0 0',
    `m=audio ${rtpPort} RTP/AVP ${OFFERED.map((f) => f.payloadType).join(' ')}`,
    ...OFFERED.map(
      (f) =>
        `a=rtpmap:${f.payloadType} ${f.encoding === 'TELEPHONE-EVENT' ? 'telephone-event' : f.encoding}/${f.clockRate}`,
    ),
    'a=fmtp:101 0-15',
    'a=ptime:20',
    `a=rtcp:${rtcpPort} IN ${ip} ${address}`,
    'a=sendrecv',
    '',
  ];
  return { sdp: lines.join('\r\n'), formats: OFFERED };
}

/** The RFC 4733 payload types among `formats`. */
export function telephoneEventTypes(formats: Iterable<PayloadFormat>): number[] {
  return [...formats].filter((format) => isTelephoneEvent(format.encoding)).map((format) => format.payloadType);
}

interface DigitTap {
  readonly detector: RtpDtmfDetector;
  readonly listeners: Set<(digit: DtmfDigit) => void>;
}

/**
 * What callrec itself sends and hears on an anchored call: clips played to the caller from the
 * caller leg's own socket (so the packets come from the port the SDP named, and NAT bindings and
 * latching hold), and DTMF keys detected in either leg's RTP. Detection runs only while someone
 * listens. Closed with the call: playbacks stop, listeners are dropped.
 */
export class CallAudio {
  readonly #clips: AudioClips;
  readonly #caller: RelayLeg;
  readonly #playbacks = new Set<Playback>();
  readonly #taps: Record<LegName, DigitTap | undefined> = { a: undefined, b: undefined };
  #format: PayloadFormat | undefined;
  #closed = false;

  constructor(clips: AudioClips, caller: RelayLeg) {
    this.#clips = clips;
    this.#caller = caller;
  }

  /** The format chosen for the caller (from the SDP answer callrec gave it). */
  get callerFormat(): PayloadFormat | undefined {
    return this.#format;
  }

  set callerFormat(format: PayloadFormat | undefined) {
    this.#format = format;
  }

  /** Plays `source` to the caller; rejects (AppError MEDIA_CODEC) without a format or a readable file. */
  async play(source: PlaySource): Promise<CallerPlayback> {
    const format = this.#format;
    if (format === undefined) throw new AppError('MEDIA_CODEC', 'no codec chosen for the caller');
    const clip = 'file' in source ? await this.#clips.load(source.file) : source.clip;
    if (this.#closed) throw new AppError('MEDIA_SOCKET', 'the call ended before the playback started');
    const caller = this.#caller;
    const playback = playClip({
      clip: this.#clips.encode(clip, format),
      payloadType: format.payloadType,
      send: (datagram) => caller.sendRtp(datagram),
    });
    this.#playbacks.add(playback);
    void playback.done.then(() => this.#playbacks.delete(playback));
    return { name: clip.name, sha256: clip.sha256, done: playback.done, stop: () => playback.stop() };
  }

  /** Listens for keys of leg `leg`, whose telephone-event payload types are `eventTypes`. */
  onDigit(leg: LegName, eventTypes: Iterable<number>, listener: (digit: DtmfDigit) => void): () => void {
    if (this.#closed) return () => undefined;
    let tap = this.#taps[leg];
    if (tap === undefined) {
      const listeners = new Set<(digit: DtmfDigit) => void>();
      const detector = new RtpDtmfDetector(eventTypes, (digit) => {
        for (const each of [...listeners]) {
          try {
            each(digit);
          } catch {
            // A listener's failure must not reach the relay's receive path
          }
        }
      });
      tap = { detector, listeners };
      this.#taps[leg] = tap;
    }
    const own = tap;
    own.listeners.add(listener);
    return () => {
      own.listeners.delete(listener);
      if (own.listeners.size === 0 && this.#taps[leg] === own) this.#taps[leg] = undefined;
    };
  }

  /** The leg's telephone-event payload types changed (offer/answer, re-INVITE). */
  setEventTypes(leg: LegName, eventTypes: Iterable<number>): void {
    this.#taps[leg]?.detector.setPayloadTypes(eventTypes);
  }

  /** An accepted RTP datagram of `leg` (the relay's fork); cheap when nobody listens. */
  push(leg: LegName, datagram: Buffer): void {
    this.#taps[leg]?.detector.push(datagram);
  }

  /** Stops every playback and listener; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const playback of this.#playbacks) playback.stop();
    this.#playbacks.clear();
    this.#taps.a = undefined;
    this.#taps.b = undefined;
  }
}

/** Feature code done (SPEC §3): two short rising beeps, about half a second. */
export const CONFIRMATION_TONE = synthesizeTones('confirmation-tone', [
  { hz: 425, ms: 180 },
  { hz: 0, ms: 80 },
  { hz: 850, ms: 240 },
]);
