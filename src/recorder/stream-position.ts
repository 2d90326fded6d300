/** Options of {@link StreamPosition}. */
export interface StreamPositionOptions {
  /** Frames per second of the timeline (the leg's output rate). */
  readonly sampleRate: number;
  /** Drift between timestamp and wall clock that triggers a re-synchronisation. */
  readonly thresholdMs: number;
  /** How long a "late" drift (timestamps behind the wall clock) must persist before it does. */
  readonly confirmMs: number;
}

/**
 * Maps the RTP timestamps of one stream to frames on the recording timeline. The first packet is
 * anchored at its arrival (wall clock); later packets follow their timestamps (32-bit wrap
 * handled) so loss and silence suppression become gaps of exactly the right length. When the
 * timestamp-implied position leaves the wall clock by more than the threshold the stream is
 * re-anchored at the wall clock: at once when timestamps run ahead (a jump: re-INVITE, transfer,
 * restart — network delay cannot cause that) or when the position is already written over; after
 * `confirmMs` when they fall behind (a network delay spike must not move the stream).
 */
export class StreamPosition {
  readonly #rate: number;
  readonly #thresholdFrames: number;
  readonly #confirmMs: number;
  #anchored = false;
  #anchorFrame = 0;
  #anchorTs = 0;
  #anchorClock = 8000;
  #lastTs32 = 0;
  #extTs = 0;
  #suspectSinceMs = NaN;
  #hinted = false;
  #hintTs32 = 0;
  #hintFrame = 0;
  /** Re-synchronisations to the wall clock so far. */
  resyncs = 0;

  constructor(options: StreamPositionOptions) {
    this.#rate = options.sampleRate;
    this.#thresholdFrames = (options.thresholdMs * options.sampleRate) / 1000;
    this.#confirmMs = options.confirmMs;
  }

  /** Whether the next packet will be anchored at its arrival. */
  get anchored(): boolean {
    return this.#anchored;
  }

  /** Forgets the stream (new SSRC, resume): the next packet is anchored at its arrival. */
  reset(): void {
    this.#anchored = false;
    this.#hinted = false;
    this.#suspectSinceMs = NaN;
  }

  /**
   * Notes every packet that arrives before the stream is anchored (they wait in the reorder
   * window). The anchor is derived from the packet that arrived earliest relative to its
   * timestamp: after an event-loop stall the first packets are all stamped late, and only the
   * last of such a burst shows the stream's true timing.
   */
  hint(timestamp: number, wallFrame: number, clockRate = 8000): void {
    if (this.#anchored) return;
    const ts32 = timestamp >>> 0;
    if (!this.#hinted) {
      this.#hinted = true;
      this.#hintTs32 = ts32;
      this.#hintFrame = wallFrame;
      return;
    }
    // Where the first hinted packet would sit if this one had arrived on time
    const implied = wallFrame - Math.round((((ts32 - this.#hintTs32) | 0) * this.#rate) / clockRate);
    if (implied < this.#hintFrame && this.#hintFrame - implied <= this.#thresholdFrames * 5) this.#hintFrame = implied;
  }

  /**
   * The timeline frame where a packet starts. `wallFrame` is its arrival on the timeline,
   * `written` the leg's write head (a new stream never starts behind it).
   */
  place(timestamp: number, clockRate: number, arrivalMs: number, wallFrame: number, written: number): number {
    const ts32 = timestamp >>> 0;
    if (!this.#anchored) {
      this.#anchored = true;
      this.#lastTs32 = ts32;
      this.#extTs = ts32;
      let frame = wallFrame;
      if (this.#hinted) {
        const fromHint = this.#hintFrame + Math.round((((ts32 - this.#hintTs32) | 0) * this.#rate) / clockRate);
        // Arrivals are only ever late, never early: an earlier implied start (up to 1 s) is the truer one
        if (fromHint < frame && frame - fromHint <= this.#thresholdFrames * 5) frame = fromHint;
      }
      this.#anchorAt(Math.max(frame, written), clockRate);
      return this.#anchorFrame;
    }
    // Signed 32-bit difference: RTP timestamps wrap at 2^32.
    this.#extTs += (ts32 - this.#lastTs32) | 0;
    this.#lastTs32 = ts32;
    if (clockRate !== this.#anchorClock) this.#anchorAt(this.#position(), clockRate);
    const position = this.#position();
    const lag = wallFrame - position;
    if (lag < -this.#thresholdFrames || (lag > this.#thresholdFrames && position < written)) {
      return this.#resync(wallFrame, clockRate);
    }
    if (lag > this.#thresholdFrames) {
      if (Number.isNaN(this.#suspectSinceMs)) this.#suspectSinceMs = arrivalMs;
      else if (arrivalMs - this.#suspectSinceMs >= this.#confirmMs) return this.#resync(wallFrame, clockRate);
    } else {
      this.#suspectSinceMs = NaN;
    }
    return position;
  }

  #position(): number {
    return Math.round(this.#anchorFrame + ((this.#extTs - this.#anchorTs) * this.#rate) / this.#anchorClock);
  }

  #anchorAt(frame: number, clockRate: number): void {
    this.#anchorFrame = frame;
    this.#anchorTs = this.#extTs;
    this.#anchorClock = clockRate;
    this.#suspectSinceMs = NaN;
  }

  #resync(wallFrame: number, clockRate: number): number {
    this.resyncs++;
    this.#anchorAt(wallFrame, clockRate);
    return wallFrame;
  }
}
