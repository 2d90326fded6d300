import { AppError } from '../../errors.js';
import { endpointKey, type Endpoint } from '../transport/transport.js';
import type { Clock, TimerHandle } from './clock.js';

/**
 * The machinery shared by the four RFC 3261 §17 state machines: transition tables (what each
 * event does in each state), named timers on an injected clock, and an ordered queue of TU
 * notifications that runs after a transition is complete.
 */

/** An event of a state machine: a discriminated union on `type`. */
export interface MachineEvent {
  readonly type: string;
}

/** Runs the effects of `event` in one state; returns the next state, or undefined to stay. */
export type TransitionHandler<S extends string, E extends MachineEvent, M> = (machine: M, event: E) => S | undefined;

/**
 * For every state, the events it reacts to. An event without a handler in the current state is
 * absorbed (ignored) — which is what §17 prescribes for e.g. retransmitted responses in Completed.
 */
export type TransitionTable<S extends string, E extends MachineEvent, M> = {
  readonly [State in S]: {
    readonly [T in E['type']]?: (machine: M, event: Extract<E, { readonly type: T }>) => S | undefined;
  };
};

/** The handler for `type` in `state`, or undefined when the event is absorbed there. */
export function handlerFor<S extends string, E extends MachineEvent, M>(
  table: TransitionTable<S, E, M>,
  state: S,
  type: E['type'],
): TransitionHandler<S, E, M> | undefined {
  const row = table[state] as Readonly<Record<string, TransitionHandler<S, E, M> | undefined>>;
  return row[type];
}

/** Named, restartable timers on a Clock (one handle per name). */
export class NamedTimers<N extends string> {
  readonly #clock: Clock;
  readonly #handles = new Map<N, TimerHandle>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Starts (or restarts) `name`; `onFire` runs once when it expires. */
  start(name: N, delayMs: number, onFire: () => void): void {
    this.stop(name);
    const handle = this.#clock.setTimer(() => {
      this.#handles.delete(name);
      onFire();
    }, delayMs);
    this.#handles.set(name, handle);
  }

  stop(name: N): void {
    const handle = this.#handles.get(name);
    if (handle === undefined) return;
    this.#clock.clearTimer(handle);
    this.#handles.delete(name);
  }

  stopAll(): void {
    for (const handle of this.#handles.values()) this.#clock.clearTimer(handle);
    this.#handles.clear();
  }

  isRunning(name: N): boolean {
    return this.#handles.has(name);
  }
}

/**
 * TU notifications queued during a transition and delivered, in order, once the machine has
 * reached its new state. A throwing listener is isolated and reported; nested pushes (a listener
 * that causes another transition) are delivered by the same flush, after the current ones.
 */
export class NotificationQueue {
  readonly #queue: Array<() => void> = [];
  readonly #onError: (error: unknown) => void;
  #flushing = false;

  constructor(onError: (error: unknown) => void) {
    this.#onError = onError;
  }

  push(notify: () => void): void {
    this.#queue.push(notify);
  }

  flush(): void {
    if (this.#flushing) return;
    this.#flushing = true;
    try {
      for (let next = this.#queue.shift(); next !== undefined; next = this.#queue.shift()) {
        try {
          next();
        } catch (error) {
          this.#onError(error);
        }
      }
    } finally {
      this.#flushing = false;
    }
  }
}

/** What a transaction needs from the layer that owns it. */
export interface TransactionContext {
  readonly clock: Clock;
  /** Hands bytes to the transport; rejects when they cannot be sent. */
  send(data: Buffer, destination: Endpoint): Promise<void>;
  /** Called once when the transaction enters Terminated, so the layer forgets it. */
  onTerminated(transaction: object): void;
  /** An exception thrown by a TU callback (isolated, never propagated into the state machine). */
  onUserError(error: unknown, transaction: object): void;
}

/** A transport failure as the TU sees it (RFC 3261 §17.1.4, §17.2.4). */
export function transportError(error: unknown, destination: Endpoint): AppError {
  if (error instanceof AppError && error.code === 'SIP_TRANSPORT_ERROR') return error;
  return new AppError('SIP_TRANSPORT_ERROR', `cannot send to ${endpointKey(destination)}`, { cause: error });
}

/**
 * Sends through the context; a failure (rejection or synchronous throw) is reported to
 * `onFailure` asynchronously, never inside the transition that sent.
 */
export function sendOrReport(
  context: TransactionContext,
  data: Buffer,
  destination: Endpoint,
  onFailure: (error: AppError) => void,
): void {
  let sent: Promise<void>;
  try {
    sent = context.send(data, destination);
  } catch (error) {
    sent = Promise.reject(error);
  }
  sent.catch((error: unknown) => onFailure(transportError(error, destination)));
}

/** Transaction state names (RFC 3261 §17 figures 5–8, RFC 6026 `Accepted`). */
export const TransactionState = {
  Calling: 'Calling',
  Trying: 'Trying',
  Proceeding: 'Proceeding',
  Completed: 'Completed',
  Confirmed: 'Confirmed',
  Accepted: 'Accepted',
  Terminated: 'Terminated',
} as const;
export type TransactionState = (typeof TransactionState)[keyof typeof TransactionState];
