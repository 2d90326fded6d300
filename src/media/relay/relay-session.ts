import type { PortAllocator, PortPair } from './port-allocator.js';
import { RelayLeg, type LegName, type RelayLegStats } from './relay-leg.js';

/** Options of RelaySession (MediaConfig plus the recorder fork and the timeout listener). */
export interface RelaySessionOptions {
  /**
   * true: a leg accepts packets only from its SDP address (the first packet latches the port);
   * false: a leg latches onto the first source from anywhere. Others are dropped and counted.
   * @default true
   */
  readonly strictSource?: boolean;
  /** Seconds without RTP on both legs before onTimeout; 0 disables. @default 0 */
  readonly timeoutSeconds?: number;
  /**
   * The recorder fork: called synchronously for every accepted RTP packet before it is relayed.
   * Must be cheap and must not modify `datagram` (the same buffer is sent on). Exceptions are
   * caught and counted per leg (`forkErrors`); they never stop the relay.
   */
  readonly onRtp?: (leg: LegName, datagram: Buffer, arrivalMs: number) => void;
  /** Called once when the media timeout expires (SPEC §1: BYE both legs). */
  readonly onTimeout?: () => void;
  /** Clock for arrival times and the timeout. @default Date.now */
  readonly now?: () => number;
}

/** A snapshot of a session's counters. */
export interface RelaySessionStats {
  readonly a: RelayLegStats;
  readonly b: RelayLegStats;
  readonly timedOut: boolean;
  /** Exceptions thrown by onTimeout (isolated, counted). */
  readonly listenerErrors: number;
  readonly closed: boolean;
}

/**
 * The media of one call: leg "a" (caller side) and leg "b" (callee side), each with its own
 * RTP/RTCP ports from the allocator. What a leg's peer sends is relayed to the other leg's peer,
 * RTP to RTP and RTCP to RTCP, with every accepted RTP packet forked to `onRtp` first.
 *
 * Media timeout (SPEC §1): once started with startMediaTimeout() (the B2BUA calls it when the
 * call is answered), onTimeout fires once after `timeoutSeconds` in which neither leg received
 * RTP. While either peer's SDP is not sendrecv (hold: sendonly, recvonly, inactive, legacy
 * c=0.0.0.0) the time does not count, and every setRemote (re-INVITE, UPDATE) starts a new window.
 *
 * Owns its legs and port pairs; close() is idempotent and releases the ports.
 */
export class RelaySession {
  /** [a, b]. */
  readonly legs: readonly [RelayLeg, RelayLeg];
  readonly #allocator: PortAllocator;
  readonly #pairs: readonly [PortPair, PortPair];
  readonly #now: () => number;
  readonly #timeoutMs: number;
  readonly #onTimeout: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #armed = false;
  #timedOut = false;
  #windowStartMs = 0;
  #listenerErrors = 0;
  #closed = false;

  /** Allocates two port pairs and starts relaying; MEDIA_PORTS_EXHAUSTED / MEDIA_SOCKET on failure. */
  static async open(allocator: PortAllocator, options: RelaySessionOptions = {}): Promise<RelaySession> {
    const a = await allocator.allocate();
    let b: PortPair;
    try {
      b = await allocator.allocate();
    } catch (error) {
      allocator.release(a);
      throw error;
    }
    return new RelaySession(allocator, [a, b], options);
  }

  private constructor(allocator: PortAllocator, pairs: readonly [PortPair, PortPair], options: RelaySessionOptions) {
    this.#allocator = allocator;
    this.#pairs = pairs;
    this.#now = options.now ?? Date.now;
    this.#timeoutMs = Math.max(0, (options.timeoutSeconds ?? 0) * 1000);
    this.#onTimeout = options.onTimeout;
    const legOptions = {
      strictSource: options.strictSource ?? true,
      now: this.#now,
      onRtp: options.onRtp,
      onRemoteChanged: this.#restartWindow,
    };
    const a = new RelayLeg('a', pairs[0], legOptions);
    const b = new RelayLeg('b', pairs[1], legOptions);
    a.link(b);
    b.link(a);
    this.legs = [a, b];
  }

  /** The leg by name. */
  leg(name: LegName): RelayLeg {
    return name === 'a' ? this.legs[0] : this.legs[1];
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** True once onTimeout has fired. */
  get timedOut(): boolean {
    return this.#timedOut;
  }

  /** Starts watching for the media timeout; no-op when disabled, already started or closed. */
  startMediaTimeout(): void {
    if (this.#closed || this.#armed || this.#timeoutMs === 0) return;
    this.#armed = true;
    this.#windowStartMs = this.#now();
    this.#schedule(this.#timeoutMs);
  }

  /** A snapshot of both legs' counters. */
  stats(): RelaySessionStats {
    return {
      a: this.legs[0].stats(),
      b: this.legs[1].stats(),
      timedOut: this.#timedOut,
      listenerErrors: this.#listenerErrors,
      closed: this.#closed,
    };
  }

  /** Stops relaying, cancels the timeout and releases both port pairs. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const leg of this.legs) leg.close();
    for (const pair of this.#pairs) this.#allocator.release(pair);
  }

  readonly #restartWindow = (): void => {
    this.#windowStartMs = this.#now();
  };

  #schedule(delayMs: number): void {
    this.#timer = setTimeout(this.#check, Math.max(1, delayMs));
    this.#timer.unref();
  }

  readonly #check = (): void => {
    this.#timer = undefined;
    if (this.#closed || this.#timedOut) return;
    const now = this.#now();
    const [a, b] = this.legs;
    if (a.onHold || b.onHold) {
      this.#windowStartMs = now;
      this.#schedule(this.#timeoutMs);
      return;
    }
    const idleMs = now - Math.max(this.#windowStartMs, a.lastPacketMs, b.lastPacketMs);
    if (idleMs < this.#timeoutMs) {
      this.#schedule(this.#timeoutMs - idleMs);
      return;
    }
    this.#timedOut = true;
    try {
      this.#onTimeout?.();
    } catch {
      // A listener's failure must not escape a timer callback (it would end the process); counted.
      this.#listenerErrors += 1;
    }
  };
}
