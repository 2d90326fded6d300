import { resolveTimerConfig, type Clock, type TimerConfig, type TimerHandle } from '../transaction/index.js';

export interface Uas2xxRetransmitterOptions {
  readonly clock: Clock;
  /** T1/T2 overrides. @default { t1Ms: 500, t2Ms: 4000 } */
  readonly timers?: Partial<TimerConfig>;
  /**
   * Passes the 2xx to the transport again — through the INVITE server transaction while it is
   * Accepted (RFC 6026 §8.5), or statelessly.
   */
  retransmit(): void;
  /**
   * RFC 3261 §13.3.1.4: 64*T1 passed without an ACK. "The dialog is confirmed, but the session
   * SHOULD be terminated" — the UA sends BYE.
   */
  onNoAck(): void;
  /** An exception thrown by `retransmit` (isolated; retransmission goes on). @default process.emitWarning */
  onError?(error: unknown): void;
}

/** Where the retransmitter is. */
export type Uas2xxRetransmitterState = 'idle' | 'retransmitting' | 'acknowledged' | 'gave-up' | 'stopped';

/**
 * The UAS core's 2xx retransmission (RFC 3261 §13.3.1.4): after the 2xx is first sent, resend it
 * after T1, then at intervals doubling up to T2, until the ACK arrives; give up after 64*T1.
 * It runs on every transport, as §13.3.1.4 asks: a reliable first hop does not make the 2xx
 * reliable end to end through proxies.
 */
export class Uas2xxRetransmitter {
  readonly #options: Uas2xxRetransmitterOptions;
  readonly #t1Ms: number;
  readonly #t2Ms: number;
  #state: Uas2xxRetransmitterState = 'idle';
  #interval = 0;
  #retransmissions = 0;
  #retransmitTimer: TimerHandle | undefined;
  #giveUpTimer: TimerHandle | undefined;

  constructor(options: Uas2xxRetransmitterOptions) {
    this.#options = options;
    const config = resolveTimerConfig(options.timers);
    this.#t1Ms = config.t1Ms;
    this.#t2Ms = config.t2Ms;
  }

  get state(): Uas2xxRetransmitterState {
    return this.#state;
  }

  /** How many times the 2xx was passed to the transport again. */
  get retransmissions(): number {
    return this.#retransmissions;
  }

  /** Call right after the 2xx was sent the first time. */
  start(): void {
    if (this.#state !== 'idle') throw new Error(`Uas2xxRetransmitter already ${this.#state}`);
    this.#state = 'retransmitting';
    const clock = this.#options.clock;
    // RFC 3261 §13.3.1.4: give up "for 64*T1 seconds without receiving an ACK". Scheduled first,
    // so it wins a tie with a retransmission due at the same instant.
    this.#giveUpTimer = clock.setTimer(() => this.#giveUp(), 64 * this.#t1Ms);
    this.#interval = this.#t1Ms;
    this.#retransmitTimer = clock.setTimer(() => this.#fire(), this.#interval);
  }

  /** The ACK for the 2xx arrived: stop (§13.3.1.4 "retransmissions cease when an ACK ... is received"). */
  acknowledge(): void {
    if (this.#state !== 'retransmitting') return;
    this.#state = 'acknowledged';
    this.#clearTimers();
  }

  /** Stops without an outcome (call torn down otherwise); idempotent. */
  stop(): void {
    if (this.#state !== 'retransmitting' && this.#state !== 'idle') return;
    this.#state = 'stopped';
    this.#clearTimers();
  }

  #fire(): void {
    this.#retransmitTimer = undefined;
    if (this.#state !== 'retransmitting') return;
    this.#retransmissions++;
    try {
      this.#options.retransmit();
    } catch (error) {
      (this.#options.onError ?? defaultError)(error);
    }
    if (this.#state !== 'retransmitting') return;
    // RFC 3261 §13.3.1.4: "an interval that starts at T1 seconds and doubles for each
    // retransmission until it reaches T2 seconds".
    this.#interval = Math.min(2 * this.#interval, this.#t2Ms);
    this.#retransmitTimer = this.#options.clock.setTimer(() => this.#fire(), this.#interval);
  }

  #giveUp(): void {
    this.#giveUpTimer = undefined;
    if (this.#state !== 'retransmitting') return;
    this.#state = 'gave-up';
    this.#clearTimers();
    this.#options.onNoAck();
  }

  #clearTimers(): void {
    if (this.#retransmitTimer !== undefined) this.#options.clock.clearTimer(this.#retransmitTimer);
    if (this.#giveUpTimer !== undefined) this.#options.clock.clearTimer(this.#giveUpTimer);
    this.#retransmitTimer = undefined;
    this.#giveUpTimer = undefined;
  }
}

function defaultError(error: unknown): void {
  process.emitWarning(error instanceof Error ? error : new Error(String(error)), { type: 'Uas2xxRetransmitterError' });
}
