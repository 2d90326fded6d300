import type { LoopClock } from '../../../../src/sip/transport/index.js';

interface PendingTimer {
  readonly id: number;
  readonly at: number;
  readonly callback: () => void;
}

/** Virtual time for tests: timers run only inside `advance`, in due order (ties in creation order). */
export class FakeClock implements LoopClock {
  #now = 0;
  #nextId = 1;
  readonly #timers = new Map<number, PendingTimer>();

  now(): number {
    return this.#now;
  }

  setTimer(callback: () => void, delayMs: number): { readonly id: number } {
    const timer: PendingTimer = { id: this.#nextId++, at: this.#now + Math.max(0, delayMs), callback };
    this.#timers.set(timer.id, timer);
    return { id: timer.id };
  }

  clearTimer(handle: { readonly id: number }): void {
    this.#timers.delete(handle.id);
  }

  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time forward by `ms`, running every timer that falls due (including ones set meanwhile). */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let next: PendingTimer | undefined;
      for (const timer of this.#timers.values()) {
        if (
          timer.at <= end &&
          (next === undefined || timer.at < next.at || (timer.at === next.at && timer.id < next.id))
        ) {
          next = timer;
        }
      }
      if (next === undefined) break;
      this.#timers.delete(next.id);
      this.#now = next.at;
      next.callback();
    }
    this.#now = end;
  }
}
