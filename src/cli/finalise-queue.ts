/** Options of {@link FinaliseQueue}. */
export interface FinaliseQueueOptions {
  /** Finalisations (merge, metadata, seal) running at once. */
  readonly concurrency: number;
  /** Waiting finalisations from which on the recorder reports a backlog. */
  readonly backlogThreshold: number;
  /** Monotonic ms. @default performance.now */
  readonly now?: () => number;
}

/** What {@link FinaliseQueue.backlog} reports while the queue is behind. */
export interface FinaliseBacklog {
  readonly waiting: number;
  readonly running: number;
  /** How long the oldest waiting recording has waited, ms. */
  readonly oldestWaitMs: number;
}

interface Waiting {
  readonly since: number;
  readonly start: () => void;
}

/**
 * Runs recordings' finalisations a few at a time, in the order the calls ended. A burst of
 * hang-ups (or a machine too busy to keep up) then waits here holding only its finished files'
 * summaries, instead of merging and hashing hundreds of recordings at once, each with its read
 * buffers: memory stays bounded, and the backlog is visible (`backlog()`) so it can alarm and
 * `reject` profiles can refuse new calls while it lasts (SPEC §4).
 */
export class FinaliseQueue {
  readonly #concurrency: number;
  readonly #threshold: number;
  readonly #now: () => number;
  readonly #waiting: Waiting[] = [];
  #head = 0;
  #running = 0;

  constructor(options: FinaliseQueueOptions) {
    if (!(options.concurrency >= 1)) throw new RangeError(`concurrency must be at least 1, not ${options.concurrency}`);
    this.#concurrency = options.concurrency;
    this.#threshold = Math.max(1, options.backlogThreshold);
    this.#now = options.now ?? (() => performance.now());
  }

  get waiting(): number {
    return this.#waiting.length - this.#head;
  }

  get running(): number {
    return this.#running;
  }

  /** Runs `task` when a slot is free; settles with its outcome. */
  run<T>(task: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const start = (): void => {
        this.#running++;
        task()
          .then(resolve, reject)
          .finally(() => {
            this.#running--;
            this.#next();
          });
      };
      if (this.#running < this.#concurrency && this.waiting === 0) start();
      else this.#waiting.push({ since: this.#now(), start });
    });
  }

  /** The backlog while at least `backlogThreshold` recordings wait; `undefined` otherwise. */
  backlog(): FinaliseBacklog | undefined {
    if (this.waiting < this.#threshold) return undefined;
    const oldest = this.#waiting[this.#head];
    return {
      waiting: this.waiting,
      running: this.#running,
      oldestWaitMs: oldest === undefined ? 0 : Math.round(this.#now() - oldest.since),
    };
  }

  #next(): void {
    while (this.#running < this.#concurrency && this.waiting > 0) {
      const next = this.#waiting[this.#head++];
      if (this.#head > 1024 && this.#head * 2 > this.#waiting.length) {
        this.#waiting.splice(0, this.#head);
        this.#head = 0;
      }
      next?.start();
    }
  }
}
