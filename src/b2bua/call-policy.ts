/** Inbound: from the trunk; outbound: from the PBX. */
export type CallDirection = 'inbound' | 'outbound';

/** The numbers of a new call as signalled, before normalisation. */
export interface CallFacts {
  readonly direction: CallDirection;
  /** Request-URI user first, then the To user. */
  readonly calledNumbers: readonly string[];
  /** P-Asserted-Identity users first, then the From user. */
  readonly callingNumbers: readonly string[];
}

/**
 * Whether and why a call is recorded (the reason goes into the call's log lines). A call that must
 * be recorded but cannot be (`onRecordingFailure: reject`) is not recorded and carries `refuse`:
 * the caller gets that answer and the callee is never called.
 */
export type RecordingDecision =
  | { readonly record: true; readonly profileId: string; readonly reason: string }
  | { readonly record: false; readonly reason: string; readonly refuse?: CallRefusal };

/** A new call refused by the recording policy (SPEC §4 fail policy). */
export interface CallRefusal {
  /** The profile that would have recorded the call. */
  readonly profileId: string;
  /** SIP status, e.g. 503. */
  readonly status: number;
  /** Text for the caller (`Warning` header) and the log, e.g. `recording unavailable: …`. */
  readonly text: string;
}

/** A group feature code dialled from the PBX side. */
export type FeatureCodeAction = 'group-logout' | 'group-login';

/** The outcome of a feature code, told to the caller in the reason phrase and the log. */
export interface FeatureCodeOutcome {
  readonly ok: boolean;
  /** Short, readable, e.g. `alice logged out of trading`. */
  readonly message: string;
}

/**
 * What the B2BUA asks the recording policy (built by the composition root from the config and the
 * membership state; swapped on config reload — running calls keep their decision).
 */
export interface CallPolicy {
  decide(facts: CallFacts): RecordingDecision;
  /** The feature code a dialled number is, if any (e.g. `*51`). */
  featureCode(dialled: string): FeatureCodeAction | undefined;
  /** Applies a feature code for the caller; `callingNumbers` as in CallFacts. */
  applyFeatureCode(
    action: FeatureCodeAction,
    callingNumbers: readonly string[],
    dialled: string,
  ): Promise<FeatureCodeOutcome>;
}

/** Records nothing and knows no feature codes (privacy by default, SPEC §7). */
export const RECORD_NOTHING: CallPolicy = {
  decide: () => ({ record: false, reason: 'no recording policy configured' }),
  featureCode: () => undefined,
  applyFeatureCode: () => Promise.resolve({ ok: false, message: 'feature codes not configured' }),
};
