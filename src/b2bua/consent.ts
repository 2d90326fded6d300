/**
 * Consent by legal basis (SPEC §4) as a transition table: what the caller's keys, the end of the
 * announcement and the key timeout mean for the call. Pure — the announcement stage feeds it
 * events and carries out what it returns (connect, recorded or not; reject; route elsewhere).
 *
 *   obligation  the announcement informs; keys change nothing; the call is recorded.
 *   consent     recorded only after acceptKey (during the announcement or within the timeout
 *               after it); refuseKey or the timeout apply `onRefusal`.
 *   opt-out     recorded unless refuseKey is pressed during the announcement or within the
 *               timeout after it (then the recording stops, the call goes on).
 */

/** SPEC §4: why the call may be recorded. */
export type LegalBasis = 'obligation' | 'consent' | 'opt-out';

/** What the caller's behaviour amounted to; `not-announced`: the announcement could not be played. */
export type ConsentOutcome = 'announced' | 'accepted' | 'refused' | 'timeout' | 'opted-out' | 'not-announced';

/** What happens when consent is refused or not given in time. */
export type RefusalAction =
  | { readonly kind: 'connect-unrecorded' }
  | { readonly kind: 'reject'; readonly status: number }
  | { readonly kind: 'route'; readonly to: string };

/** One profile's consent settings, as the B2BUA applies them. */
export interface ConsentRules {
  readonly legalBasis: LegalBasis;
  /** consent: the key that gives consent. */
  readonly acceptKey: string;
  /** consent: the key that refuses at once; opt-out: the key that opts out. */
  readonly refuseKey: string | undefined;
  /** consent / opt-out: how long after the announcement a key still counts. */
  readonly timeoutMs: number;
  readonly onRefusal: RefusalAction;
}

/** What the announcement stage hands the gate. */
export type ConsentEvent =
  | { readonly type: 'key'; readonly key: string }
  | { readonly type: 'announcement-ended' }
  | { readonly type: 'announcement-failed' }
  | { readonly type: 'timeout' };

/** What the call does next. `key` is the configured key that decided it, never any other. */
export type ConsentDecision =
  | { readonly kind: 'wait' }
  /** Undecided at the end of the announcement: wait `ms` for a key, then send `timeout`. */
  | { readonly kind: 'await-key'; readonly ms: number }
  | {
      readonly kind: 'connect';
      readonly record: boolean;
      readonly outcome: ConsentOutcome;
      readonly key: string | null;
      /** opt-out: the key still counts for `ms` after the announcement (see `optOutAfterConnect`). */
      readonly optOutWindowMs: number;
    }
  | { readonly kind: 'reject'; readonly status: number; readonly outcome: ConsentOutcome; readonly key: string | null }
  | { readonly kind: 'route'; readonly to: string; readonly outcome: ConsentOutcome; readonly key: string | null };

type GateState = 'announcing' | 'awaiting-key' | 'decided';

/**
 * One call's consent: `next(event)` returns what to do; once decided, further events return
 * `wait` (the decision stands). The post-announcement opt-out window is `optOutAfterConnect`.
 */
export class ConsentGate {
  readonly #rules: ConsentRules;
  #state: GateState = 'announcing';

  constructor(rules: ConsentRules) {
    this.#rules = rules;
  }

  get decided(): boolean {
    return this.#state === 'decided';
  }

  next(event: ConsentEvent): ConsentDecision {
    if (this.#state === 'decided') return WAIT;
    const rules = this.#rules;
    switch (rules.legalBasis) {
      case 'obligation':
        if (event.type === 'announcement-ended') return this.#connect(true, 'announced', null, 0);
        if (event.type === 'announcement-failed') return this.#connect(true, 'not-announced', null, 0);
        return WAIT;
      case 'opt-out':
        if (event.type === 'key' && event.key === rules.refuseKey)
          return this.#connect(false, 'opted-out', event.key, 0);
        if (event.type === 'announcement-ended') return this.#connect(true, 'announced', null, rules.timeoutMs);
        if (event.type === 'announcement-failed') return this.#refuse('not-announced', null);
        return WAIT;
      case 'consent':
        if (event.type === 'key' && event.key === rules.acceptKey) return this.#connect(true, 'accepted', event.key, 0);
        if (event.type === 'key' && event.key === rules.refuseKey) return this.#refuse('refused', event.key);
        if (event.type === 'announcement-failed') return this.#refuse('not-announced', null);
        if (event.type === 'announcement-ended' && this.#state === 'announcing') {
          this.#state = 'awaiting-key';
          return { kind: 'await-key', ms: rules.timeoutMs };
        }
        if (event.type === 'timeout' && this.#state === 'awaiting-key') return this.#refuse('timeout', null);
        return WAIT;
    }
  }

  #connect(record: boolean, outcome: ConsentOutcome, key: string | null, optOutWindowMs: number): ConsentDecision {
    this.#state = 'decided';
    return { kind: 'connect', record, outcome, key, optOutWindowMs };
  }

  #refuse(outcome: ConsentOutcome, key: string | null): ConsentDecision {
    this.#state = 'decided';
    const action = this.#rules.onRefusal;
    if (action.kind === 'reject') return { kind: 'reject', status: action.status, outcome, key };
    if (action.kind === 'route') return { kind: 'route', to: action.to, outcome, key };
    return { kind: 'connect', record: false, outcome, key, optOutWindowMs: 0 };
  }
}

const WAIT: ConsentDecision = { kind: 'wait' };

/** opt-out after the announcement: whether `key`, pressed `sinceEndMs` after it ended, opts out. */
export function optOutAfterConnect(rules: ConsentRules, key: string, sinceEndMs: number): boolean {
  return rules.legalBasis === 'opt-out' && key === rules.refuseKey && sinceEndMs <= rules.timeoutMs;
}

/** The announcement as played, for the evidence. */
export interface AnnouncementEvidence {
  readonly file: string;
  readonly sha256: string;
  readonly mode: 'early-media' | 'answer-first';
  readonly startedAt: string;
  readonly endedAt: string;
}

/** The consent evidence that goes into the signed metadata (recorder's RecordingConsent). */
export interface ConsentEvidence {
  readonly legalBasis: LegalBasis;
  readonly outcome: ConsentOutcome;
  readonly digit: string | null;
  readonly decidedAt: string;
  readonly timeoutSeconds?: number;
  readonly announcement: AnnouncementEvidence | null;
}

/** The evidence for a decision taken at `decidedAt`. */
export function consentEvidence(
  rules: ConsentRules,
  decision: { readonly outcome: ConsentOutcome; readonly key: string | null },
  decidedAt: Date,
  announcement: AnnouncementEvidence | null,
): ConsentEvidence {
  return {
    legalBasis: rules.legalBasis,
    outcome: decision.outcome,
    digit: decision.key,
    decidedAt: decidedAt.toISOString(),
    ...(rules.legalBasis === 'obligation' ? {} : { timeoutSeconds: Math.round(rules.timeoutMs / 1000) }),
    announcement,
  };
}
