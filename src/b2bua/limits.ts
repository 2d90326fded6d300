import type { Logger } from '../observability/index.js';
import type { IncomingRequest } from '../sip/index.js';
import type { CallDirection, CallRefusal } from './call-policy.js';

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

/**
 * At most one log line per key and interval, so that a flood of refused INVITEs cannot flood the
 * log as well; the next line tells how many were left out.
 */
export class LogThrottle {
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #last = new Map<string, { at: number; suppressed: number }>();

  /** @param intervalMs the least time between two lines of one key */
  constructor(intervalMs: number, now: () => number = () => performance.now()) {
    this.#intervalMs = intervalMs;
    this.#now = now;
  }

  /** The number of lines left out since the last one when a line for `key` may be logged now; else undefined. */
  allow(key: string): number | undefined {
    const now = this.#now();
    const entry = this.#last.get(key);
    if (entry !== undefined && now - entry.at < this.#intervalMs) {
      entry.suppressed++;
      return undefined;
    }
    if (entry === undefined && this.#last.size >= MAX_TRACKED_SOURCES) this.#last.clear();
    this.#last.set(key, { at: now, suppressed: 0 });
    return entry?.suppressed ?? 0;
  }
}

/** How often one kind of refusal is logged (per source, or per profile). */
const REFUSAL_LOG_INTERVAL_MS = 10_000;

export interface CallAdmissionOptions extends CallLimitsOptions {
  /** `Retry-After` of every 503 (RFC 3261 §21.5.4). */
  readonly retryAfterSeconds: number;
  readonly logger: Logger;
}

/**
 * The 503 answers to new calls callrec cannot take (SPEC §4, §9): over `maxCalls`, over the
 * per-source INVITE rate, or a recorded call whose recording cannot be guaranteed. Each carries
 * `Retry-After`; the WARN lines are rate-limited per source and per profile.
 */
export class CallAdmission {
  readonly #limits: CallLimits;
  readonly #retryAfter: string;
  readonly #logger: Logger;
  readonly #throttle: LogThrottle;

  constructor(options: CallAdmissionOptions) {
    this.#limits = new CallLimits(options);
    this.#retryAfter = String(options.retryAfterSeconds);
    this.#logger = options.logger;
    this.#throttle = new LogThrottle(REFUSAL_LOG_INTERVAL_MS, options.now);
  }

  /** Answers 503 and returns true when a new call from the request's source is over a limit. */
  refuseOverLimit(incoming: IncomingRequest, activeCalls: number): boolean {
    const source = incoming.source.address;
    const limit = this.#limits.admit(source, activeCalls);
    if (limit === undefined) return false;
    incoming.respond(503, {
      reason: limit === 'rate' ? 'Too Many Calls From Source' : 'Call Limit Reached',
      headers: [['Retry-After', this.#retryAfter]],
    });
    const suppressed = this.#throttle.allow(`${limit}\u0000${source}`);
    if (suppressed !== undefined)
      this.#logger.warn({ source, limit, activeCalls, suppressed }, 'new call refused: limit reached');
    return true;
  }

  /** Answers a recorded call the recorder cannot take (before the callee is called). */
  refuseUnrecordable(incoming: IncomingRequest, direction: CallDirection, refusal: CallRefusal): void {
    incoming.respond(refusal.status, {
      reason: 'Recording Unavailable',
      headers: [
        ['Retry-After', this.#retryAfter],
        // RFC 3261 §20.43: 399 miscellaneous warning, the agent a pseudonym, the text quoted
        ['Warning', `399 callrec "${refusal.text.replace(/["\\]/g, "'")}"`],
      ],
    });
    const suppressed = this.#throttle.allow(`recording\u0000${refusal.profileId}`);
    if (suppressed !== undefined)
      this.#logger.warn(
        {
          source: incoming.source.address,
          direction,
          profile: refusal.profileId,
          status: refusal.status,
          suppressed,
        },
        `new call refused: ${refusal.text}`,
      );
  }
}
