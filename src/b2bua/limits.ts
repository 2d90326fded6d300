/** Admission limits for new calls (SPEC §9 overload): total calls and INVITEs per source. */
export interface CallLimitsOptions {
  readonly maxCalls: number;
  /** Sustained new INVITEs per second from one source; the bucket holds twice that. */
  readonly invitesPerSecondPerSource: number;
  /** Monotonic milliseconds. @default performance.now */
  readonly now?: () => number;
}

interface Bucket {
  tokens: number;
  updated: number;
}

const MAX_TRACKED_SOURCES = 10_000;

export class CallLimits {
  readonly #options: CallLimitsOptions;
  readonly #buckets = new Map<string, Bucket>();
  readonly #now: () => number;

  constructor(options: CallLimitsOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Why a new call from `source` must be refused now, or undefined to admit it (takes a token). */
  admit(source: string, activeCalls: number): 'max-calls' | 'rate' | undefined {
    if (activeCalls >= this.#options.maxCalls) return 'max-calls';
    const rate = this.#options.invitesPerSecondPerSource;
    const capacity = rate * 2;
    const now = this.#now();
    let bucket = this.#buckets.get(source);
    if (bucket === undefined) {
      if (this.#buckets.size >= MAX_TRACKED_SOURCES) this.#buckets.clear();
      bucket = { tokens: capacity, updated: now };
      this.#buckets.set(source, bucket);
    } else {
      bucket.tokens = Math.min(capacity, bucket.tokens + ((now - bucket.updated) / 1000) * rate);
      bucket.updated = now;
    }
    if (bucket.tokens < 1) return 'rate';
    bucket.tokens -= 1;
    return undefined;
  }
}
