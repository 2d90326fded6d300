/**
 * The announcement player: sends an encoded clip as RTP (RFC 3550 §5.1) through a function the
 * caller gives — in callrec the caller-side relay leg's socket, so the packets leave from the port
 * the caller's SDP answer named and NAT bindings and latching hold. One 20 ms packet per tick,
 * paced against the start instant (not the previous tick), so timer jitter does not accumulate.
 */
import { randomInt } from 'node:crypto';
import { PACKET_MS, type EncodedClip } from './audio-clip.js';
import { RTP_FIXED_HEADER_LENGTH, writeRtpHeader } from './rtp/rtp-packet.js';

/** Timers and the clock the player paces with (tests pass a fake one). */
export interface PlayerScheduler {
  /** Monotonic milliseconds. */
  now(): number;
  setTimer(callback: () => void, delayMs: number): unknown;
  clearTimer(handle: unknown): void;
}

/** Real timers and performance.now. */
export const SYSTEM_SCHEDULER: PlayerScheduler = {
  now: () => performance.now(),
  setTimer: (callback, delayMs) => setTimeout(callback, Math.max(0, delayMs)),
  clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** How a playback ended. */
export type PlaybackEnd = 'completed' | 'stopped';

export interface PlayOptions {
  readonly clip: EncodedClip;
  /** The payload type the receiver negotiated for the clip's encoding. */
  readonly payloadType: number;
  /** Sends one datagram; false (or an exception) counts as not sent, the playback goes on. */
  readonly send: (datagram: Buffer) => boolean;
  /** @default SYSTEM_SCHEDULER */
  readonly scheduler?: PlayerScheduler;
  /** @default random (RFC 3550 §8.1) */
  readonly ssrc?: number;
  /** @default random (RFC 3550 §5.1) */
  readonly firstSequence?: number;
  /** @default random (RFC 3550 §5.1) */
  readonly firstTimestamp?: number;
  /** A packet more than this late re-anchors the pacing instead of bursting to catch up. @default 100 */
  readonly maxLagMs?: number;
}

/**
 * One clip being played. The first packet (marker bit set, RFC 3551 §4.1: start of a talkspurt)
 * goes out synchronously in the constructor; `done` resolves when the last packet's 20 ms have
 * elapsed ('completed') or on `stop()` ('stopped').
 */
export class Playback {
  /** Resolves once, with how the playback ended. */
  readonly done: Promise<PlaybackEnd>;
  readonly ssrc: number;
  readonly clip: EncodedClip;
  readonly #options: PlayOptions;
  readonly #scheduler: PlayerScheduler;
  readonly #maxLagMs: number;
  readonly #firstSequence: number;
  readonly #firstTimestamp: number;
  #resolve: ((end: PlaybackEnd) => void) | undefined;
  #startMs: number;
  #next = 0;
  #timer: unknown;
  #ended = false;
  #sent = 0;
  #failed = 0;

  constructor(options: PlayOptions) {
    this.#options = options;
    this.clip = options.clip;
    this.#scheduler = options.scheduler ?? SYSTEM_SCHEDULER;
    this.#maxLagMs = options.maxLagMs ?? 100;
    this.ssrc = (options.ssrc ?? randomInt(1, 0xffffffff)) >>> 0;
    this.#firstSequence = options.firstSequence ?? randomInt(0, 0x10000);
    this.#firstTimestamp = options.firstTimestamp ?? randomInt(0, 0x100000000);
    this.done = new Promise((resolve) => (this.#resolve = resolve));
    this.#startMs = this.#scheduler.now();
    this.#tick();
  }

  /** Packets handed to `send` that it accepted. */
  get packetsSent(): number {
    return this.#sent;
  }

  /** Packets `send` refused or threw on. */
  get packetsFailed(): number {
    return this.#failed;
  }

  /** Whether the playback has ended (completed or stopped). */
  get ended(): boolean {
    return this.#ended;
  }

  /** Stops sending; `done` resolves 'stopped' unless the playback already completed. Idempotent. */
  stop(): void {
    this.#end('stopped');
  }

  readonly #tick = (): void => {
    this.#timer = undefined;
    if (this.#ended) return;
    const payloads = this.#options.clip.payloads;
    let now = this.#scheduler.now();
    if (now - this.#due(this.#next) > this.#maxLagMs) {
      // A stalled event loop: continue from now rather than burst the backlog at the caller
      this.#startMs = now - this.#next * PACKET_MS;
    }
    while (this.#next < payloads.length && this.#due(this.#next) <= now) {
      this.#sendPacket(this.#next);
      this.#next += 1;
      now = this.#scheduler.now();
    }
    // After the last packet, wait for its 20 ms to play out before reporting the end.
    const wakeAt = this.#due(this.#next);
    if (this.#next >= payloads.length && wakeAt <= now) {
      this.#end('completed');
      return;
    }
    this.#timer = this.#scheduler.setTimer(this.#tick, wakeAt - now);
  };

  #due(index: number): number {
    return this.#startMs + index * PACKET_MS;
  }

  #sendPacket(index: number): void {
    const clip = this.#options.clip;
    const payload = clip.payloads[index];
    if (payload === undefined) return;
    const datagram = Buffer.allocUnsafe(RTP_FIXED_HEADER_LENGTH + payload.length);
    writeRtpHeader(datagram, {
      payloadType: this.#options.payloadType,
      sequenceNumber: (this.#firstSequence + index) & 0xffff,
      timestamp: (this.#firstTimestamp + index * clip.timestampStep) >>> 0,
      ssrc: this.ssrc,
      marker: index === 0,
    });
    payload.copy(datagram, RTP_FIXED_HEADER_LENGTH);
    let accepted = false;
    try {
      accepted = this.#options.send(datagram);
    } catch {
      accepted = false;
    }
    if (accepted) this.#sent += 1;
    else this.#failed += 1;
  }

  #end(end: PlaybackEnd): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#timer !== undefined) this.#scheduler.clearTimer(this.#timer);
    this.#timer = undefined;
    const resolve = this.#resolve;
    this.#resolve = undefined;
    resolve?.(end);
  }
}

/** Starts playing `options.clip`; the first packet is sent before this returns. */
export function playClip(options: PlayOptions): Playback {
  return new Playback(options);
}
