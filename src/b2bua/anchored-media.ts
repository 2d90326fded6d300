import {
  isRecordableEncoding,
  RelaySession,
  STATIC_PAYLOAD_FORMATS,
  type PayloadFormat,
  type PortAllocator,
  type RelaySessionStats,
} from '../media/index.js';
import type { Logger } from '../observability/index.js';
import { anchorSdp, SdpOriginState, type SdpAudio, type SdpPayloadFormat } from '../sdp/index.js';
import { otherLeg, type LegName } from './call-context.js';
import type { CallMediaPort, MediaAnchor, MediaCallInfo, SdpRelay, SdpRole } from './call-media-port.js';
import type { CallSummary } from './call-summary.js';
import type { ActiveRecording, LegMedia, RecordingPort } from './recording-port.js';

export interface AnchoredMediaOptions {
  readonly ports: PortAllocator;
  /** The address written into SDP (media.advertise, else media.host). */
  readonly address: string;
  /** @default true */
  readonly strictSource?: boolean;
  /** 0 disables. @default 60 */
  readonly timeoutSeconds?: number;
  /** Offers of recorded calls keep only codecs the recorder decodes. @default true */
  readonly recordableCodecsOnly?: boolean;
  /** Starts recordings of recorded calls; without it nothing is recorded. */
  readonly recorder?: RecordingPort;
  readonly logger: Logger;
  /** Monotonic ms stamping RTP arrivals (the recorder's timeline uses the same). @default performance.now */
  readonly now?: () => number;
  /** Told the relay counters of every call when it ends (metrics, completeness). */
  readonly onClosed?: (call: CallSummary, stats: RelaySessionStats) => void;
}

/**
 * Media anchoring (SPEC §2): every call gets an RTP/RTCP port pair per leg; each SDP body is
 * rewritten so its receiver sends to callrec, and the sender's address becomes its leg's peer.
 */
export class AnchoredMedia implements MediaAnchor {
  readonly #options: AnchoredMediaOptions;

  constructor(options: AnchoredMediaOptions) {
    this.#options = options;
  }

  async open(call: MediaCallInfo): Promise<CallMediaPort> {
    const holder: { media?: CallMedia } = {};
    const relay = await RelaySession.open(this.#options.ports, {
      strictSource: this.#options.strictSource ?? true,
      timeoutSeconds: this.#options.timeoutSeconds ?? 60,
      onRtp: (leg, datagram, arrivalMs) => holder.media?.recording?.push(leg, datagram, arrivalMs),
      onTimeout: () => call.onMediaTimeout(),
      now: this.#options.now ?? (() => performance.now()),
    });
    const media = new CallMedia(call, relay, this.#options);
    holder.media = media;
    this.#options.logger.debug(
      { call: call.id, callerPort: relay.leg('a').localRtpPort, calleePort: relay.leg('b').localRtpPort },
      'media anchored',
    );
    return media;
  }
}

/** What callrec knows of one leg's stream from the SDP it sent and the SDP it received. */
interface LegState {
  /** The o= line callrec uses toward this leg. */
  readonly origin: SdpOriginState;
  /** Formats from the leg's own SDP (what it receives; usually what it sends too). */
  own: readonly SdpPayloadFormat[];
  /** Formats of the SDP callrec sent to the leg (RFC 3264: the numbers it sends with). */
  offered: readonly SdpPayloadFormat[];
  direction: SdpAudio['direction'];
}

class CallMedia implements CallMediaPort {
  recording: ActiveRecording | undefined;
  readonly #call: MediaCallInfo;
  readonly #relay: RelaySession;
  readonly #options: AnchoredMediaOptions;
  readonly #legs: Record<LegName, LegState> = {
    a: { origin: new SdpOriginState(), own: [], offered: [], direction: 'sendrecv' },
    b: { origin: new SdpOriginState(), own: [], offered: [], direction: 'sendrecv' },
  };
  #closed = false;

  constructor(call: MediaCallInfo, relay: RelaySession, options: AnchoredMediaOptions) {
    this.#call = call;
    this.#relay = relay;
    this.#options = options;
  }

  relaySdp(from: LegName, body: Buffer, role: SdpRole): SdpRelay {
    if (this.#closed) return { ok: true, body };
    const to = otherLeg(from);
    const toLeg = this.#relay.leg(to);
    const restrict =
      role === 'offer' && this.#call.decision.record && (this.#options.recordableCodecsOnly ?? true)
        ? (encoding: string) => isRecordableEncoding(encoding)
        : undefined;
    const anchored = anchorSdp(body.toString('utf8'), {
      address: this.#options.address,
      rtpPort: toLeg.localRtpPort,
      rtcpPort: toLeg.localRtcpPort,
      origin: this.#legs[to].origin,
      ...(restrict === undefined ? {} : { restrictTo: restrict }),
    });
    if (!anchored.ok) return { ok: false, reason: anchored.error.message };
    const audio = anchored.value.remote.audio;
    if (audio !== undefined && audio.rtpPort !== 0) {
      this.#relay.leg(from).setRemote(audio);
      this.#legs[from].own = audio.formats;
      this.#legs[from].direction = audio.direction;
    }
    this.#legs[to].offered = anchored.value.formats;
    if (this.recording !== undefined) {
      this.recording.update(from, this.#legMedia(from));
      this.recording.update(to, this.#legMedia(to));
    }
    return { ok: true, body: Buffer.from(anchored.value.sdp, 'utf8') };
  }

  connected(): void {
    if (this.#closed) return;
    this.#relay.startMediaTimeout();
    if (!this.#call.decision.record || this.#options.recorder === undefined) return;
    this.recording = this.#options.recorder.start(this.#call, { a: this.#legMedia('a'), b: this.#legMedia('b') });
  }

  close(call: CallSummary): void {
    if (this.#closed) return;
    this.#closed = true;
    const stats = this.#relay.stats();
    this.#relay.close();
    const recording = this.recording;
    this.recording = undefined;
    recording?.finish(call, stats);
    try {
      this.#options.onClosed?.(call, stats);
    } catch (error) {
      this.#options.logger.error({ call: call.id, err: String(error) }, 'media close listener failed');
    }
  }

  /** The payload types leg `leg` sends with: static ones, its own SDP's, then those it was sent. */
  #legMedia(leg: LegName): LegMedia {
    const formats = new Map<number, PayloadFormat>(STATIC_PAYLOAD_FORMATS);
    for (const format of this.#legs[leg].own) formats.set(format.payloadType, format);
    for (const format of this.#legs[leg].offered) formats.set(format.payloadType, format);
    const onHold = this.#legs.a.direction !== 'sendrecv' || this.#legs.b.direction !== 'sendrecv';
    return { formats, negotiated: this.#legs[leg].own, onHold };
  }
}
