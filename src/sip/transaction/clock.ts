/** Time source for transaction and dialog timers, injectable so tests run on virtual time. */
export interface TimerHandle {
  readonly id: number;
}

export interface Clock {
  /** Milliseconds, monotonic. */
  now(): number;
  setTimer(callback: () => void, delayMs: number): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

/**
 * The real clock: `performance.now()` and `setTimeout`. Timers are unref'd so pending SIP timers
 * (Timer D, K, ...) never keep the process alive on shutdown.
 */
export class SystemClock implements Clock {
  readonly #timeouts = new Map<number, NodeJS.Timeout>();
  #nextId = 1;

  now(): number {
    return performance.now();
  }

  setTimer(callback: () => void, delayMs: number): TimerHandle {
    const id = this.#nextId++;
    const timeout = setTimeout(() => {
      this.#timeouts.delete(id);
      callback();
    }, delayMs);
    timeout.unref();
    this.#timeouts.set(id, timeout);
    return { id };
  }

  clearTimer(handle: TimerHandle): void {
    const timeout = this.#timeouts.get(handle.id);
    if (timeout === undefined) return;
    clearTimeout(timeout);
    this.#timeouts.delete(handle.id);
  }
}
