import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createDecoder, type PayloadFormat } from '../media/codec/index.js';
import { createRtpHeaderView, parseRtp } from '../media/rtp/index.js';
import { chooseOutputSampleRate, LegRecorder } from './leg-recorder.js';
import type { LegStats } from './leg-stats.js';
import type { PcmSink } from './pcm-sink.js';
import type { RecorderPacket } from './recorder-packet.js';
import { RecordingClock } from './timeline.js';
import { repairWavFile } from './wav-repair.js';
import { WavWriter, type WavBacklog, type WavFileSummary } from './wav-writer.js';

/** SPEC §2 channel modes: which legs are recorded and how the files are laid out. */
export type ChannelMode = 'caller' | 'callee' | 'both-separate' | 'both-stereo';

/** The caller's leg faces the party that sent the INVITE; the callee's the party it went to. */
export type RecordedParty = 'caller' | 'callee';

export interface CallRecordingOptions {
  /** The recording id (the call's id): file names start with it. */
  readonly id: string;
  /** `<dataDir>/recordings/<id>`; created. */
  readonly dir: string;
  readonly channels: ChannelMode;
  /** Payload types per party, from SDP. */
  readonly formats: Readonly<Record<RecordedParty, ReadonlyMap<number, PayloadFormat>>>;
  /** Monotonic ms, the clock the relay stamps arrivals with. */
  readonly now: () => number;
  /** WAV writer knobs (tests cross RF64 with small files). */
  readonly rf64ThresholdBytes?: number;
  readonly patchIntervalMs?: number;
  /** Keep RFC 4733 digits in the stats (they can be PINs). @default false */
  readonly keepDigits?: boolean;
  /** Called once per failure of a file (disk full, …); the call goes on. */
  readonly onError?: (party: RecordedParty, error: Error) => void;
  /** Called once per backlog episode of a file (the disk is slower than the audio); the call goes on. */
  readonly onBacklog?: (party: RecordedParty, backlog: WavBacklog) => void;
}

/** One recorded party's file and completeness figures. */
export interface RecordedLeg {
  readonly party: RecordedParty;
  /** File name in the recording's folder (before a stereo merge: the per-party file). */
  readonly file: string;
  readonly wav: WavFileSummary | undefined;
  readonly stats: LegStats;
  /** Why the file could not be completed, when it could not. */
  readonly error: string | undefined;
}

/** What {@link CallRecording.finish} hands to the pipeline. */
export interface FinishedRecording {
  readonly id: string;
  readonly dir: string;
  readonly channels: ChannelMode;
  /** Length of the recorded timeline (answer to end of call), ms. */
  readonly durationMs: number;
  readonly legs: readonly RecordedLeg[];
  /** What the owner flagged about the recording (e.g. started while the spool was below its reserve). */
  readonly problems?: readonly string[];
}

type MutablePacket = { -readonly [K in keyof RecorderPacket]: RecorderPacket[K] };

/** A sink that keeps what arrives until its file is open (a few ms after the answer). */
class PendingSink implements PcmSink {
  target: PcmSink | undefined;
  readonly #queued: Array<Int16Array | number> = [];

  writeSamples(pcm: Int16Array, offset: number, count: number): void {
    if (this.target !== undefined) this.target.writeSamples(pcm, offset, count);
    else this.#queued.push(pcm.slice(offset, offset + count));
  }

  writeSilence(frames: number): void {
    if (this.target !== undefined) this.target.writeSilence(frames);
    else this.#queued.push(frames);
  }

  attach(target: PcmSink): void {
    for (const item of this.#queued) {
      if (typeof item === 'number') target.writeSilence(item);
      else target.writeSamples(item, 0, item.length);
    }
    this.#queued.length = 0;
    this.target = target;
  }
}

interface Leg {
  readonly party: RecordedParty;
  readonly file: string;
  readonly sink: PendingSink;
  readonly recorder: LegRecorder;
  readonly packet: MutablePacket;
  writer: WavWriter | undefined;
  error: string | undefined;
}

/**
 * The recording of one connected call: a LegRecorder per recorded party on one timeline, each
 * writing a streaming WAV (`<id>.wav` for one party, `<id>-caller.wav` / `<id>-callee.wav` for
 * both; the stereo merge happens after the call, in the pipeline). Fed by the relay's fork.
 */
export class CallRecording {
  readonly id: string;
  readonly dir: string;
  readonly channels: ChannelMode;
  readonly #options: CallRecordingOptions;
  readonly #clock: RecordingClock;
  readonly #legs: Partial<Record<RecordedParty, Leg>> = {};
  readonly #view = createRtpHeaderView();
  readonly #opened: Promise<void>;
  readonly #problems: string[] = [];
  #finished: Promise<FinishedRecording> | undefined;
  #paused = false;

  constructor(options: CallRecordingOptions) {
    this.#options = options;
    this.id = options.id;
    this.dir = options.dir;
    this.channels = options.channels;
    this.#clock = new RecordingClock({ now: options.now });
    const parties: RecordedParty[] =
      options.channels === 'caller' ? ['caller'] : options.channels === 'callee' ? ['callee'] : ['caller', 'callee'];
    for (const party of parties) {
      const formats = options.formats[party];
      const sink = new PendingSink();
      const recorder = new LegRecorder({
        clock: this.#clock,
        sink,
        formats,
        decoderFor: createDecoder,
        outputSampleRate: chooseOutputSampleRate(formats, createDecoder),
        keepDigits: options.keepDigits ?? false,
        // Arrival times are stamped when the event loop gets to a datagram, so a busy process sees
        // packets hundreds of ms "late" in bursts. Idle silence stays 1 s behind the wall clock
        // and a lag must persist 0.5 s before it re-synchronises, so such bursts are not dropped.
        silenceLagMs: 1000,
        resyncConfirmMs: 500,
      });
      const file = parties.length === 1 ? `${options.id}.wav` : `${options.id}-${party}.wav`;
      const packet: MutablePacket = {
        payloadType: 0,
        sequenceNumber: 0,
        timestamp: 0,
        ssrc: 0,
        marker: false,
        payload: new Uint8Array(0),
        arrivalMs: 0,
      };
      this.#legs[party] = { party, file, sink, recorder, packet, writer: undefined, error: undefined };
    }
    this.#opened = this.#open();
  }

  /** The file names being written, per party. */
  get files(): string[] {
    return Object.values(this.#legs).map((leg) => leg.file);
  }

  /** Notes a problem for the metadata's completeness report (the recording is then incomplete). */
  flag(problem: string): void {
    if (!this.#problems.includes(problem)) this.#problems.push(problem);
  }

  /** An RTP datagram of `party` (the relay's fork); junk and RTCP are ignored. Never throws. */
  push(party: RecordedParty, datagram: Buffer, arrivalMs: number): void {
    const leg = this.#legs[party];
    if (leg === undefined || this.#finished !== undefined) return;
    const view = this.#view;
    if (!parseRtp(datagram, view)) return;
    const packet = leg.packet;
    packet.payloadType = view.payloadType;
    packet.sequenceNumber = view.sequenceNumber;
    packet.timestamp = view.timestamp;
    packet.ssrc = view.ssrc;
    packet.marker = view.marker;
    packet.payload = datagram.subarray(view.payloadOffset, view.payloadOffset + view.payloadLength);
    packet.arrivalMs = arrivalMs;
    leg.recorder.push(packet);
  }

  /** Advances every leg's timeline (called every few tens of ms by the owner). */
  tick(): void {
    if (this.#finished !== undefined) return;
    const now = this.#clock.now();
    for (const leg of Object.values(this.#legs)) leg.recorder.tick(now);
  }

  /** New formats or hold state of a party after a re-INVITE / UPDATE. */
  update(party: RecordedParty, formats: ReadonlyMap<number, PayloadFormat>, onHold: boolean): void {
    const leg = this.#legs[party];
    if (leg === undefined || this.#finished !== undefined) return;
    leg.recorder.setFormats(formats);
    leg.recorder.setHold(onHold, 'hold');
  }

  /** Whether the recording is paused now. */
  get paused(): boolean {
    return this.#paused;
  }

  /**
   * Pauses every party at once (SPEC §4): what arrives until `resume` becomes silence on the same
   * timeline, the span is listed with `reason` in the stats. False when already paused or finished.
   */
  pause(reason: string): boolean {
    if (this.#finished !== undefined || this.#paused) return false;
    this.#paused = true;
    for (const leg of Object.values(this.#legs)) leg.recorder.pause(reason);
    return true;
  }

  /** Ends the pause of every party; false when not paused or finished. */
  resume(): boolean {
    if (this.#finished !== undefined || !this.#paused) return false;
    this.#paused = false;
    for (const leg of Object.values(this.#legs)) leg.recorder.resume();
    return true;
  }

  /** Ends the timeline now, closes the files; idempotent. Never rejects: failures are in the legs. */
  finish(): Promise<FinishedRecording> {
    this.#finished ??= this.#finish();
    return this.#finished;
  }

  async #open(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await Promise.all(
      Object.values(this.#legs).map(async (leg) => {
        try {
          const writer = await WavWriter.open(join(this.dir, leg.file), {
            format: 'pcm16',
            channels: 1,
            sampleRate: leg.recorder.sampleRate,
            ...(this.#options.rf64ThresholdBytes === undefined
              ? {}
              : { rf64ThresholdBytes: this.#options.rf64ThresholdBytes }),
            ...(this.#options.patchIntervalMs === undefined ? {} : { patchIntervalMs: this.#options.patchIntervalMs }),
            onError: (error) => {
              leg.error ??= error.message;
              this.#options.onError?.(leg.party, error);
            },
            onBacklog: (backlog) => this.#options.onBacklog?.(leg.party, backlog),
          });
          leg.writer = writer;
          leg.sink.attach(writer);
        } catch (error) {
          leg.error = error instanceof Error ? error.message : String(error);
          this.#options.onError?.(leg.party, error instanceof Error ? error : new Error(String(error)));
        }
      }),
    );
  }

  async #finish(): Promise<FinishedRecording> {
    const endMs = this.#clock.now();
    const durationMs = Math.max(0, endMs - this.#clock.startMs);
    const stats = Object.values(this.#legs).map((leg) => ({ leg, stats: leg.recorder.finish(endMs) }));
    await this.#opened;
    const legs = await Promise.all(
      stats.map(async ({ leg, stats: legStats }): Promise<RecordedLeg> => {
        let wav: WavFileSummary | undefined;
        if (leg.writer !== undefined) {
          try {
            wav = await leg.writer.close();
          } catch (error) {
            leg.error ??= error instanceof Error ? error.message : String(error);
            wav = await salvage(leg.writer.path);
          }
        }
        return { party: leg.party, file: leg.file, wav, stats: legStats, error: leg.error };
      }),
    );
    return { id: this.id, dir: this.dir, channels: this.channels, durationMs, legs, problems: [...this.#problems] };
  }
}

/**
 * A file whose writer failed (disk full, I/O error) keeps the audio that reached the disk: its
 * header is made to describe exactly that, so it is sealed and archived with the failure stated in
 * the metadata. `undefined` when nothing usable is left.
 */
async function salvage(path: string): Promise<WavFileSummary | undefined> {
  try {
    const { info } = await repairWavFile(path);
    return {
      path,
      format: info.format,
      channels: info.channels,
      sampleRate: info.sampleRate,
      container: info.container,
      frames: info.frames,
      dataBytes: info.dataBytes,
      fileBytes: info.dataOffset + info.dataBytes + (info.dataBytes & 1),
      droppedBytes: 0,
      durationMs: (info.frames * 1000) / info.sampleRate,
    };
  } catch {
    return undefined;
  }
}
