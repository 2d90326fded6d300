import type { Clock, TimerHandle } from './clock.js';

interface FakeTimer {
  readonly id: number;
  readonly due: number;
  readonly callback: () => void;
}

/**
 * Virtual time for tests: nothing fires until `advance(ms)`, which runs every due timer in order
 * of due time (ties in scheduling order), including timers scheduled by the callbacks it runs.
 */
export class FakeClock implements Clock {
  #now: number;
  #nextId = 1;
  readonly #timers = new Map<number, FakeTimer>();

  /** @param startMs the initial virtual time. @default 0 */
  constructor(startMs = 0) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  setTimer(callback: () => void, delayMs: number): TimerHandle {
    const id = this.#nextId++;
    this.#timers.set(id, { id, due: this.#now + Math.max(0, delayMs), callback });
    return { id };
  }

  clearTimer(handle: TimerHandle): void {
    this.#timers.delete(handle.id);
  }

  /** Moves virtual time forward by `ms`, firing due timers at their own due time. */
  advance(ms: number): void {
    if (ms < 0) throw new Error(`FakeClock.advance: negative step ${ms}`);
    this.advanceTo(this.#now + ms);
  }

  /** Moves virtual time to `timeMs` (absolute), firing due timers on the way. */
  advanceTo(timeMs: number): void {
    if (timeMs < this.#now) throw new Error(`FakeClock.advanceTo: ${timeMs} is in the past (now ${this.#now})`);
    for (;;) {
      const next = this.#earliest();
      if (next === undefined || next.due > timeMs) break;
      this.#timers.delete(next.id);
      this.#now = next.due;
      next.callback();
    }
    this.#now = timeMs;
  }

  /** Fires timers until none is left (bounded, against timers that reschedule forever). */
  runAll(maxTimers = 10_000): void {
    for (let fired = 0; fired < maxTimers; fired++) {
      const next = this.#earliest();
      if (next === undefined) return;
      this.advanceTo(next.due);
    }
    throw new Error(`FakeClock.runAll: more than ${maxTimers} timers fired`);
  }

  /** Number of scheduled, not yet fired or cleared timers. */
  pendingTimers(): number {
    return this.#timers.size;
  }

  /** Due time of the next timer, or undefined. */
  nextDue(): number | undefined {
    return this.#earliest()?.due;
  }

  #earliest(): FakeTimer | undefined {
    let best: FakeTimer | undefined;
    // Map iteration is insertion order and ids grow, so `<` keeps scheduling order for ties.
    for (const timer of this.#timers.values()) if (best === undefined || timer.due < best.due) best = timer;
    return best;
  }
}
