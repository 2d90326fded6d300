/** Options of {@link RecordingClock}. */
export interface RecordingClockOptions {
  /** Monotonic milliseconds (e.g. `performance.now`); the same clock that stamps RTP arrivals. */
  readonly now: () => number;
  /** The recording's start instant on that clock. @default now() at construction */
  readonly startMs?: number;
}

/**
 * The one timeline all legs of a call are recorded on: position 0 is the recording's start
 * instant, and every leg maps arrival instants to sample positions through the same clock, so the
 * legs' files line up sample for sample (up to rounding to one frame).
 */
export class RecordingClock {
  /** Start of the recording, in monotonic milliseconds. */
  readonly startMs: number;
  readonly #now: () => number;

  constructor(options: RecordingClockOptions) {
    this.#now = options.now;
    this.startMs = options.startMs ?? options.now();
  }

  /** The current monotonic instant in milliseconds. */
  now(): number {
    return this.#now();
  }

  /** Milliseconds from the recording's start to `atMs` (negative before the start). */
  positionMs(atMs: number): number {
    return atMs - this.startMs;
  }

  /** The frame index at `sampleRate` of the instant `atMs` (rounded; negative before the start). */
  frameAt(atMs: number, sampleRate: number): number {
    return Math.round(((atMs - this.startMs) * sampleRate) / 1000);
  }

  /** The timeline position in milliseconds of frame `frame` at `sampleRate`. */
  msAtFrame(frame: number, sampleRate: number): number {
    return (frame * 1000) / sampleRate;
  }
}
