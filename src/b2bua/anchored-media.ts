import {
  AudioClips,
  isRecordableEncoding,
  RelaySession,
  STATIC_PAYLOAD_FORMATS,
  type DtmfDigit,
  type PayloadFormat,
  type PortAllocator,
  type RelaySessionStats,
} from '../media/index.js';
import type { Logger } from '../observability/index.js';
import {
  anchorSdp,
  parseSessionDescription,
  SdpOriginState,
  type SdpAudio,
  type SdpPayloadFormat,
} from '../sdp/index.js';
import { CallAudio, callerOffer, chooseCallerFormat, telephoneEventTypes } from './announcement-media.js';
import type { RecordedCallFeatures } from './announcement-plan.js';
import { otherLeg, type LegName } from './call-context.js';
import type {
  CallerPlayback,
  CallMediaPort,
  MediaAnchor,
  MediaCallInfo,
  PlaySource,
  RecordingAction,
  SdpRelay,
  SdpRole,
} from './call-media-port.js';
import type { CallSummary } from './call-summary.js';
import type { ConsentEvidence } from './consent.js';
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
  /** The announcement clip cache, shared by all calls. @default a new one */
  readonly clips?: AudioClips;
  /** A recorded call's announcement, consent and pause codes (from its profile, at call start). */
  readonly features?: (profileId: string, direction: MediaCallInfo['direction']) => RecordedCallFeatures | undefined;
}

/**
 * Media anchoring (SPEC §2): every call gets an RTP/RTCP port pair per leg; each SDP body is
 * rewritten so its receiver sends to callrec, and the sender's address becomes its leg's peer.
 */
export class AnchoredMedia implements MediaAnchor {
  readonly #options: AnchoredMediaOptions;
  readonly #clips: AudioClips;

  constructor(options: AnchoredMediaOptions) {
    this.#options = options;
    this.#clips = options.clips ?? new AudioClips();
  }

  async open(call: MediaCallInfo): Promise<CallMediaPort> {
    const holder: { media?: CallMedia } = {};
    const relay = await RelaySession.open(this.#options.ports, {
      strictSource: this.#options.strictSource ?? true,
      timeoutSeconds: this.#options.timeoutSeconds ?? 60,
      onRtp: (leg, datagram, arrivalMs) => holder.media?.onRtp(leg, datagram, arrivalMs),
      onTimeout: () => call.onMediaTimeout(),
      now: this.#options.now ?? (() => performance.now()),
    });
    const media = new CallMedia(call, relay, this.#options, new CallAudio(this.#clips, relay.leg('a')));
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
  readonly features: RecordedCallFeatures | undefined;
  readonly #call: MediaCallInfo;
  readonly #relay: RelaySession;
  readonly #options: AnchoredMediaOptions;
  readonly #legs: Record<LegName, LegState> = {
    a: { origin: new SdpOriginState(), own: [], offered: [], direction: 'sendrecv' },
    b: { origin: new SdpOriginState(), own: [], offered: [], direction: 'sendrecv' },
  };
  readonly #audio: CallAudio;
  #closed = false;
  #recordOnConnect = true;
  #recordingStopped = false;
  #consent: ConsentEvidence | undefined;

  constructor(call: MediaCallInfo, relay: RelaySession, options: AnchoredMediaOptions, audio: CallAudio) {
    this.#call = call;
    this.#relay = relay;
    this.#options = options;
    this.#audio = audio;
    const decision = call.decision;
    this.features = decision.record ? options.features?.(decision.profileId, call.direction) : undefined;
  }

  /** Every accepted RTP packet: to the recording and to whoever listens for keys. */
  onRtp(leg: LegName, datagram: Buffer, arrivalMs: number): void {
    this.recording?.push(leg, datagram, arrivalMs);
    this.#audio.push(leg, datagram);
  }

  relaySdp(from: LegName, body: Buffer, role: SdpRole): SdpRelay {
    if (this.#closed) return { ok: true, body };
    const to = otherLeg(from);
    const toLeg = this.#relay.leg(to);
    const locked = from === 'a' && role === 'offer' ? this.#audio.callerFormat : undefined;
    const restrict =
      locked !== undefined
        ? // The caller already has callrec's answer (announcement): the callee must use its codec
          (encoding: string, format: SdpPayloadFormat) =>
            encoding === locked.encoding.toUpperCase() && format.clockRate === locked.clockRate
        : role === 'offer' && this.#call.decision.record && (this.#options.recordableCodecsOnly ?? true)
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
    for (const leg of [from, to])
      this.#audio.setEventTypes(leg, telephoneEventTypes(this.#legMedia(leg).formats.values()));
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
    if (!this.#recordOnConnect || this.#recordingStopped || this.recording !== undefined) return;
    this.recording = this.#options.recorder.start(this.#call, { a: this.#legMedia('a'), b: this.#legMedia('b') });
    if (this.#consent !== undefined) this.recording?.consent(this.#consent);
  }

  answerCaller(offer: Buffer): SdpRelay {
    if (this.#closed) return { ok: false, reason: 'media closed' };
    const parsed = parseSessionDescription(offer.toString('utf8'));
    if (!parsed.ok) return { ok: false, reason: parsed.error.message };
    const audio = parsed.value.audio;
    if (audio === undefined || audio.rtpPort === 0) return { ok: false, reason: 'the offer has no audio stream' };
    const format = chooseCallerFormat(audio.formats);
    if (format === undefined) return { ok: false, reason: 'no offered codec callrec can play' };
    const leg = this.#relay.leg('a');
    const anchored = anchorSdp(offer.toString('utf8'), {
      address: this.#options.address,
      rtpPort: leg.localRtpPort,
      rtcpPort: leg.localRtcpPort,
      origin: this.#legs.a.origin,
      restrictTo: (_encoding, offered) => offered.payloadType === format.payloadType,
    });
    if (!anchored.ok) return { ok: false, reason: anchored.error.message };
    leg.setRemote(audio);
    this.#legs.a.own = audio.formats;
    this.#legs.a.direction = audio.direction;
    this.#legs.a.offered = anchored.value.formats;
    this.#audio.callerFormat = format;
    this.#audio.setEventTypes('a', telephoneEventTypes(this.#legMedia('a').formats.values()));
    return { ok: true, body: Buffer.from(anchored.value.sdp, 'utf8') };
  }

  offerToCaller(): Buffer {
    const leg = this.#relay.leg('a');
    const offer = callerOffer(this.#options.address, leg.localRtpPort, leg.localRtcpPort);
    const lines = offer.sdp.split('\r\n');
    const origin = this.#legs.a.origin.next(lines.join('\r\n'), {
      username: 'callrec',
      sessionId: String(Date.now()),
      sessionVersion: '1',
    });
    const ip = this.#options.address.includes(':') ? 'IP6' : 'IP4';
    lines.splice(
      1,
      0,
      `o=${origin.username} ${origin.sessionId} ${origin.sessionVersion} IN ${ip} ${this.#options.address}`,
    );
    this.#legs.a.offered = offer.formats;
    return Buffer.from(lines.join('\r\n'), 'utf8');
  }

  acceptCallerAnswer(answer: Buffer): SdpRelay {
    if (this.#closed) return { ok: false, reason: 'media closed' };
    const parsed = parseSessionDescription(answer.toString('utf8'));
    if (!parsed.ok) return { ok: false, reason: parsed.error.message };
    const audio = parsed.value.audio;
    if (audio === undefined || audio.rtpPort === 0)
      return { ok: false, reason: 'the caller rejected the audio stream' };
    const format = chooseCallerFormat(audio.formats);
    if (format === undefined) return { ok: false, reason: 'the caller answered with no codec callrec can play' };
    this.#relay.leg('a').setRemote(audio);
    this.#legs.a.own = audio.formats;
    this.#legs.a.direction = audio.direction;
    this.#audio.callerFormat = format;
    this.#audio.setEventTypes('a', telephoneEventTypes(this.#legMedia('a').formats.values()));
    return { ok: true, body: answer };
  }

  playToCaller(source: PlaySource): Promise<CallerPlayback> {
    return this.#audio.play(source);
  }

  onDigit(leg: LegName, listener: (digit: DtmfDigit) => void): () => void {
    return this.#audio.onDigit(leg, telephoneEventTypes(this.#legMedia(leg).formats.values()), listener);
  }

  recordOnConnect(record: boolean): void {
    this.#recordOnConnect = record;
  }

  setConsent(evidence: ConsentEvidence): void {
    this.#consent = evidence;
    this.recording?.consent(evidence);
  }

  controlRecording(action: RecordingAction, by: string): boolean {
    return this.recording?.control(action, by) ?? false;
  }

  stopRecording(call: CallSummary): boolean {
    const recording = this.recording;
    if (this.#closed || recording === undefined) return false;
    this.recording = undefined;
    this.#recordingStopped = true;
    recording.finish(call, this.#relay.stats());
    return true;
  }

  close(call: CallSummary): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#audio.close();
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
