/**
 * Transaction timer values (RFC 3261 §17, Table 4; RFC 6026 §8 for Timers L and M), derived from
 * T1/T2/T4 and the reliability of the transport. Retransmission timers (A, E, G) are `undefined`
 * on reliable transports: they are never started there.
 */

/** Base timer values in milliseconds. */
export interface TimerConfig {
  /** RTT estimate. @default 500 */
  readonly t1Ms: number;
  /** Maximum retransmit interval for non-INVITE requests and INVITE responses. @default 4000 */
  readonly t2Ms: number;
  /** Maximum duration a message will remain in the network. @default 5000 */
  readonly t4Ms: number;
}

/** RFC 3261 Table 4 defaults. */
export const DEFAULT_TIMER_CONFIG: TimerConfig = Object.freeze({ t1Ms: 500, t2Ms: 4000, t4Ms: 5000 });

/** Fills defaults and checks the values (a bug, not an input error, if they are nonsense). */
export function resolveTimerConfig(partial: Partial<TimerConfig> = {}): TimerConfig {
  const config: TimerConfig = {
    t1Ms: partial.t1Ms ?? DEFAULT_TIMER_CONFIG.t1Ms,
    t2Ms: partial.t2Ms ?? DEFAULT_TIMER_CONFIG.t2Ms,
    t4Ms: partial.t4Ms ?? DEFAULT_TIMER_CONFIG.t4Ms,
  };
  for (const [name, value] of Object.entries(config)) {
    if (!Number.isFinite(value) || value <= 0) throw new Error(`timer ${name} must be a positive number, got ${value}`);
  }
  if (config.t2Ms < config.t1Ms) throw new Error(`T2 (${config.t2Ms} ms) must not be below T1 (${config.t1Ms} ms)`);
  return Object.freeze(config);
}

/** All transaction timer durations (ms) for one transport reliability. */
export interface TransactionTimers {
  readonly reliable: boolean;
  readonly t1Ms: number;
  readonly t2Ms: number;
  readonly t4Ms: number;
  /** INVITE request retransmit interval, initially T1 (unreliable only). */
  readonly TIMER_A: number | undefined;
  /** INVITE transaction timeout, 64*T1. */
  readonly TIMER_B: number;
  /** Wait time for response retransmits: ≥ 32 s unreliable, 0 reliable. */
  readonly TIMER_D: number;
  /** Non-INVITE request retransmit interval, initially T1 (unreliable only). */
  readonly TIMER_E: number | undefined;
  /** Non-INVITE transaction timeout, 64*T1. */
  readonly TIMER_F: number;
  /** INVITE response retransmit interval, initially T1 (unreliable only). */
  readonly TIMER_G: number | undefined;
  /** Wait time for ACK receipt, 64*T1. */
  readonly TIMER_H: number;
  /** Wait time for ACK retransmits: T4 unreliable, 0 reliable. */
  readonly TIMER_I: number;
  /** Wait time for non-INVITE request retransmits: 64*T1 unreliable, 0 reliable. */
  readonly TIMER_J: number;
  /** Wait time for non-INVITE response retransmits: T4 unreliable, 0 reliable. */
  readonly TIMER_K: number;
  /** RFC 6026: wait time for accepted INVITE request retransmits, 64*T1. */
  readonly TIMER_L: number;
  /** RFC 6026: wait time for retransmitted or forked 2xx responses, 64*T1. */
  readonly TIMER_M: number;
}

/** RFC 3261 Table 4 (+ RFC 6026 L, M) for `config` on a reliable or unreliable transport. */
export function transactionTimers(config: TimerConfig, reliable: boolean): TransactionTimers {
  const { t1Ms, t2Ms, t4Ms } = config;
  const t64 = 64 * t1Ms;
  return Object.freeze({
    reliable,
    t1Ms,
    t2Ms,
    t4Ms,
    // RFC 3261 §17.1.1.2: Timer A only "if an unreliable transport is being used".
    TIMER_A: reliable ? undefined : t1Ms,
    TIMER_B: t64,
    // RFC 3261 §17.1.1.2: Timer D "at least 32 seconds for unreliable transports, and a value of
    // zero seconds for reliable transports". With a tuned T1 above 500 ms we keep it ≥ 64*T1 so
    // the ICT outlives the server's final-response retransmissions (which run up to Timer H).
    TIMER_D: reliable ? 0 : Math.max(32_000, t64),
    // RFC 3261 §17.1.2.2: Timer E only for unreliable transports.
    TIMER_E: reliable ? undefined : t1Ms,
    TIMER_F: t64,
    // RFC 3261 §17.2.1: Timer G only "if an unreliable transport is being used".
    TIMER_G: reliable ? undefined : t1Ms,
    TIMER_H: t64,
    TIMER_I: reliable ? 0 : t4Ms,
    TIMER_J: reliable ? 0 : t64,
    TIMER_K: reliable ? 0 : t4Ms,
    TIMER_L: t64,
    TIMER_M: t64,
  });
}

/** RFC 3261 §17.1.1.2: Timer A doubles on each retransmission (no cap). */
export function nextTimerA(previousMs: number): number {
  return 2 * previousMs;
}

/**
 * RFC 3261 §17.1.2.2 (Timer E) and §17.2.1 (Timer G): the interval doubles up to T2.
 */
export function nextCappedInterval(previousMs: number, t2Ms: number): number {
  return Math.min(2 * previousMs, t2Ms);
}
