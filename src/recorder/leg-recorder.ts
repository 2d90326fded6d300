import type { AudioDecoder, PayloadFormat } from '../media/codec/index.js';
import { COMFORT_NOISE, LegDecoders, TELEPHONE_EVENT, type DecoderFactory } from './leg-decoders.js';
import { LinearResampler } from './linear-resampler.js';
import { LegCounters, legStats, SpanLog, type LegStats } from './leg-stats.js';
import type { PcmSink } from './pcm-sink.js';
import type { RecorderPacket } from './recorder-packet.js';
import { ReorderBuffer } from './reorder-buffer.js';
import { StreamPosition } from './stream-position.js';
import type { RecordingClock } from './timeline.js';

export { chooseOutputSampleRate, type DecoderFactory } from './leg-decoders.js';

/** Options of {@link LegRecorder}. */
export interface LegRecorderOptions {
  /** The call's timeline, shared by all its legs. */
  readonly clock: RecordingClock;
  readonly sink: PcmSink;
  /** Payload types negotiated in SDP (see {@link LegRecorder.setFormats} for re-INVITEs). */
  readonly formats: ReadonlyMap<number, PayloadFormat>;
  readonly decoderFor: DecoderFactory;
  /** The rate the leg's file was opened with. @default chooseOutputSampleRate(formats, decoderFor) */
  readonly outputSampleRate?: number;
  /** How long a packet waits for missing predecessors. @default 60 */
  readonly reorderWindowMs?: number;
  /** Timestamp versus wall-clock drift that re-synchronises the stream. @default 200 */
  readonly resyncThresholdMs?: number;
  /** How long timestamps must lag the wall clock before that re-synchronises. @default 100 */
  readonly resyncConfirmMs?: number;
  /** `tick` keeps the file this far (plus the reorder window) behind the wall clock. @default 200 */
  readonly silenceLagMs?: number;
  /** Collect RFC 4733 digits into the stats (they can be PINs). @default false */
  readonly keepDigits?: boolean;
  /** Packet slots in the reorder ring. @default 32 */
  readonly slots?: number;
  /** Largest payload kept; larger ones are undecodable. @default 1500 */
  readonly maxPayloadBytes?: number;
  /** Monotonic ms for hold and pause instants. @default clock.now */
  readonly now?: () => number;
}

const DTMF_DIGITS = '0123456789*#ABCD';

/** A tick this long after the previous one means the event loop was blocked (ticks come every 50 ms). */
const STALLED_TICK_MS = 250;
/** However often ticks come late, the idle silence waits no longer than this (files keep growing). */
const MAX_SILENCE_DEFERRAL_MS = 5000;

/**
 * Decode and resample scratch shared by every leg recorder: a packet is decoded, resampled and
 * handed to the sink (which copies it) in one synchronous step, so no two legs use it at once,
 * and a thousand legs do not each keep 12 KiB of it.
 */
const scratch = { pcm: new Int16Array(2048), resampled: new Int16Array(4096) };

/**
 * Records one leg onto the call's timeline: reorders, decodes and places every forked RTP packet,
 * fills loss, silence suppression, CN, DTMF, hold and pause with silence, and survives SSRC and
 * timestamp jumps (SPEC §2). `push` and `tick` never throw and allocate nothing per packet.
 */
export class LegRecorder {
  /** Frames per second written to the sink. */
  readonly sampleRate: number;
  readonly #clock: RecordingClock;
  readonly #sink: PcmSink;
  readonly #now: () => number;
  readonly #windowMs: number;
  readonly #silenceLagMs: number;
  readonly #keepDigits: boolean;
  readonly #buffer: ReorderBuffer;
  readonly #position: StreamPosition;
  readonly #resampler = new LinearResampler();
  readonly #decoders: LegDecoders;
  readonly #hold = new SpanLog();
  readonly #pause = new SpanLog();
  #written = 0;
  #ssrc = -1;
  #previousSsrc = -1;
  #switchArrivalMs = 0;
  #lastPlayedExt = -1;
  #lastDecoder: AudioDecoder | null = null;
  #lastEventTs = -1;
  #digits = '';
  #lastTickMs = Number.NaN;
  #lastSilenceFillMs = Number.NaN;
  #finished: LegStats | undefined;
  #lastError: unknown = undefined;
  readonly #counters = new LegCounters();

  constructor(options: LegRecorderOptions) {
    this.#clock = options.clock;
    this.#sink = options.sink;
    this.#decoders = new LegDecoders(options.formats, options.decoderFor, (error) => this.#fail(error));
    this.#now = options.now ?? (() => options.clock.now());
    this.#windowMs = options.reorderWindowMs ?? 60;
    this.#silenceLagMs = options.silenceLagMs ?? 200;
    this.#keepDigits = options.keepDigits ?? false;
    this.sampleRate = options.outputSampleRate ?? this.#decoders.outputSampleRate();
    this.#buffer = new ReorderBuffer({
      capacity: options.slots ?? 32,
      maxPayloadBytes: options.maxPayloadBytes ?? 1500,
      windowMs: this.#windowMs,
    });
    this.#position = new StreamPosition({
      sampleRate: this.sampleRate,
      thresholdMs: options.resyncThresholdMs ?? 200,
      confirmMs: options.resyncConfirmMs ?? 100,
    });
  }

  /** The last exception caught on the packet path (sink, decoder), for the owner to log. */
  get lastError(): unknown {
    return this.#lastError;
  }

  /** Frames written so far (the write head on the timeline). */
  get framesWritten(): number {
    return this.#written;
  }

  /** Takes one RTP packet of this leg; the payload is copied, never kept. */
  push(packet: RecorderPacket): void {
    if (this.#finished !== undefined) return;
    try {
      this.#accept(packet);
      this.#drain(packet.arrivalMs, false);
    } catch (error) {
      this.#fail(error);
    }
  }

  /** Plays out packets whose window expired and advances the file with silence to near `nowMs`. */
  tick(nowMs: number): void {
    if (this.#finished !== undefined) return;
    try {
      this.#drain(nowMs, false);
      const stalled = nowMs - this.#lastTickMs > STALLED_TICK_MS;
      this.#lastTickMs = nowMs;
      // After a blocked event loop the timers run before the sockets are read, so the datagrams of
      // the blocked time still wait in the kernel: silence now would be written over them and
      // their audio dropped as late. The fill waits for the next tick, when they are placed.
      if (stalled && nowMs - this.#lastSilenceFillMs < MAX_SILENCE_DEFERRAL_MS) return;
      this.#lastSilenceFillMs = nowMs;
      this.#silenceTo(this.#clock.frameAt(nowMs - this.#windowMs - this.#silenceLagMs, this.sampleRate));
    } catch (error) {
      this.#fail(error);
    }
  }

  /** New payload formats after a re-INVITE; the output rate stays that of the file. */
  setFormats(formats: ReadonlyMap<number, PayloadFormat>): void {
    this.#decoders.setFormats(formats);
    this.#lastDecoder = null;
  }

  /** Starts or ends a hold span; on resume the stream is re-anchored at the wall clock. */
  setHold(onHold: boolean, reason: string): void {
    if (this.#finished !== undefined) return;
    this.#control(() => {
      this.#drain(0, true);
      const at = this.#clock.positionMs(this.#now());
      if (onHold) this.#hold.open(at, reason);
      else if (this.#hold.close(at)) this.#restartStream();
    });
  }

  /** Starts a pause span: packets arriving until `resume` are written as silence. */
  pause(reason: string): void {
    if (this.#finished !== undefined || this.#pause.isOpen) return;
    this.#control(() => {
      this.#drain(0, true);
      this.#pause.open(this.#clock.positionMs(this.#now()), reason);
    });
  }

  /** Ends the pause span. */
  resume(): void {
    if (this.#finished !== undefined || !this.#pause.isOpen) return;
    this.#control(() => {
      this.#drain(0, true);
      this.#pause.close(this.#clock.positionMs(this.#now()));
      this.#restartStream();
    });
  }

  /** Plays out everything, pads with silence up to `endMs` (monotonic) and returns the stats. */
  finish(endMs: number): LegStats {
    if (this.#finished !== undefined) return this.#finished;
    this.#control(() => {
      this.#drain(endMs, true);
      this.#silenceTo(this.#clock.frameAt(endMs, this.sampleRate));
    });
    const at = this.#clock.positionMs(endMs);
    this.#hold.close(at);
    this.#pause.close(at);
    this.#finished = legStats({
      counters: this.#counters,
      expected: this.#buffer.expected,
      resyncs: this.#position.resyncs,
      digits: this.#keepDigits ? this.#digits : undefined,
      hold: this.#hold,
      pause: this.#pause,
      positionMs: (atMs) => this.#clock.positionMs(atMs),
      sampleRate: this.sampleRate,
      framesWritten: this.#written,
    });
    return this.#finished;
  }

  #accept(packet: RecorderPacket): void {
    const counters = this.#counters;
    counters.received++;
    if (Number.isNaN(counters.firstArrivalMs)) counters.firstArrivalMs = packet.arrivalMs;
    counters.lastArrivalMs = packet.arrivalMs;
    const ssrc = packet.ssrc >>> 0;
    if (ssrc !== this.#ssrc) {
      if (ssrc === this.#previousSsrc && packet.arrivalMs - this.#switchArrivalMs < this.#windowMs) {
        counters.late++; // a straggler of the stream just replaced
        return;
      }
      if (this.#ssrc !== -1) {
        this.#drain(packet.arrivalMs, true);
        this.#buffer.endSegment();
        counters.ssrcChanges++;
        this.#restartStream();
      }
      this.#previousSsrc = this.#ssrc;
      this.#ssrc = ssrc;
      this.#switchArrivalMs = packet.arrivalMs;
    }
    if (!this.#position.anchored) {
      this.#position.hint(
        packet.timestamp,
        this.#clock.frameAt(packet.arrivalMs, this.sampleRate),
        this.#decoders.format(packet.payloadType)?.clockRate,
      );
    }
    let result = this.#buffer.insert(packet);
    if (result === 'full') {
      this.#drain(packet.arrivalMs, true);
      result = this.#buffer.insert(packet);
    } else if (result === 'restart') {
      this.#drain(packet.arrivalMs, true);
      this.#buffer.restartFromProbation();
      counters.sequenceRestarts++;
      counters.late--; // the packet on probation was counted late; it starts the new sequence
      counters.accepted++;
      this.#restartStream();
      result = this.#buffer.insert(packet);
    }
    if (result === 'held') counters.accepted++;
    else if (result === 'duplicate') counters.duplicates++;
    else counters.late++;
  }

  #drain(nowMs: number, force: boolean): void {
    for (let slot = this.#buffer.nextPlayable(nowMs, force); slot >= 0;) {
      this.#play(slot);
      slot = this.#buffer.nextPlayable(nowMs, force);
    }
  }

  #play(slot: number): void {
    const buffer = this.#buffer;
    const ext = buffer.seq[slot] ?? 0;
    const contiguous = ext === this.#lastPlayedExt + 1;
    this.#lastPlayedExt = ext;
    const pt = buffer.payloadType[slot] ?? 0;
    const format = this.#decoders.format(pt);
    if (format === undefined) {
      this.#counters.undecodable++;
      return;
    }
    if (format.encoding === TELEPHONE_EVENT) return this.#event(slot);
    if (format.encoding === COMFORT_NOISE) {
      this.#counters.cnPackets++;
      return;
    }
    const decoder = this.#decoders.decoder(format);
    const bytes = buffer.length[slot] ?? -1;
    if (decoder === null || bytes < 0) {
      this.#counters.undecodable++;
      return;
    }
    if (this.#pause.isOpen) return;
    if (!contiguous || decoder !== this.#lastDecoder) {
      decoder.reset();
      this.#resampler.reset();
      this.#lastDecoder = decoder;
    }
    const arrivalMs = buffer.arrivalMs[slot] ?? 0;
    const wall = this.#clock.frameAt(arrivalMs, this.sampleRate);
    const ts = buffer.timestamp[slot] ?? 0;
    const start = this.#position.place(ts, format.clockRate, arrivalMs, wall, this.#written);
    if (start !== this.#written) this.#resampler.reset(); // no interpolation across a gap
    const payload = buffer.payload(slot);
    const samples = decoder.samplesFor(bytes);
    if (scratch.pcm.length < samples) scratch.pcm = new Int16Array(samples);
    const pcm = scratch.pcm;
    const decoded = decoder.decode(payload, pcm, 0);
    if (decoder.sampleRate === this.sampleRate) return this.#writeAt(start, pcm, decoded);
    const room = LinearResampler.capacityFor(decoded, decoder.sampleRate, this.sampleRate);
    if (scratch.resampled.length < room) scratch.resampled = new Int16Array(room);
    const resampled = scratch.resampled;
    const frames = this.#resampler.process(pcm, 0, decoded, decoder.sampleRate, this.sampleRate, resampled, 0);
    this.#writeAt(start, resampled, frames);
  }

  /** Writes `count` frames at timeline frame `start`: silence before, never backwards. */
  #writeAt(start: number, pcm: Int16Array, count: number): void {
    if (start > this.#written) {
      this.#sink.writeSilence(start - this.#written);
      this.#written = start;
    }
    const skip = this.#written - start;
    if (skip >= count) {
      this.#counters.framesDropped += count;
      return;
    }
    this.#counters.framesDropped += skip;
    this.#sink.writeSamples(pcm, skip, count - skip);
    this.#written += count - skip;
  }

  #silenceTo(frame: number): void {
    if (frame <= this.#written) return;
    this.#sink.writeSilence(frame - this.#written);
    this.#written = frame;
    this.#resampler.reset();
  }

  /** RFC 4733: one event per timestamp, however many packets (and retransmitted ends) carry it. */
  #event(slot: number): void {
    const ts = this.#buffer.timestamp[slot] ?? 0;
    if (ts === this.#lastEventTs || (this.#buffer.length[slot] ?? 0) < 4) return;
    this.#lastEventTs = ts;
    this.#counters.telephoneEvents++;
    if (!this.#keepDigits) return;
    const code = this.#buffer.payload(slot)[0] ?? 255;
    if (code < DTMF_DIGITS.length) this.#digits += DTMF_DIGITS.charAt(code);
  }

  /** A new stream on this leg: anchored at the wall clock, codec state forgotten. */
  #restartStream(): void {
    this.#position.reset();
    this.#resampler.reset();
    this.#lastDecoder = null;
    this.#lastEventTs = -1;
  }

  #control(step: () => void): void {
    try {
      step();
    } catch (error) {
      this.#fail(error);
    }
  }

  #fail(error: unknown): void {
    this.#counters.errors++;
    this.#lastError = error;
  }
}
