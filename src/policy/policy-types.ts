/**
 * Inputs and outputs of the recording policy. The input types are structural subsets of the
 * config types (`NumberingConfig`, `UserConfig`, `GroupConfig`, `ProfileConfig`) so the
 * composition root passes the loaded config as it is; policy never imports config.
 */

/** The number plan (`numbering` in the config). */
export interface PolicyNumbering {
  /** Country calling code without `+`, e.g. `"49"`. */
  readonly countryCode: string;
  /** Area code without the national prefix, e.g. `"30"`; enables local numbers. */
  readonly areaCode?: string;
  /** Dialled before a country code, e.g. `"00"`. */
  readonly internationalPrefix: string;
  /** Dialled before an area code, e.g. `"0"`; may be empty. */
  readonly nationalPrefix: string;
  /** The company's main number in E.164; `companyNumber + extension` is that extension's DID. */
  readonly companyNumber?: string;
  /** Digits of an extension; absent: the lengths of the users' extensions. */
  readonly extensionLength?: number;
}

/** A person with an extension and direct numbers (`users[]`). */
export interface PolicyUser {
  readonly id: string;
  readonly name?: string;
  readonly extension?: string;
  /** Direct numbers in E.164. */
  readonly numbers: readonly string[];
}

/** A group such as a trading desk (`groups[]`). */
export interface PolicyGroup {
  readonly id: string;
  /** Group numbers in E.164. */
  readonly numbers: readonly string[];
  /** User ids of the configured members. */
  readonly members: readonly string[];
}

/** The matching part of a recording profile (`profiles[]`). */
export interface PolicyProfile {
  readonly id: string;
  readonly enabled: boolean;
  /** Recorded group ids. */
  readonly groups: readonly string[];
  /** Explicitly recorded user ids. */
  readonly users: readonly string[];
  readonly inbound: boolean;
  readonly outbound: boolean;
  readonly recordDirectCallsToActiveMembers: boolean;
}

/** Everything `decide` needs; a loaded `CallrecConfig` is one. Treated as immutable. */
export interface PolicyInput {
  readonly numbering: PolicyNumbering;
  readonly users: readonly PolicyUser[];
  readonly groups: readonly PolicyGroup[];
  /** Evaluated in order; the first match records. */
  readonly profiles: readonly PolicyProfile[];
}

/**
 * A number in the form matching uses: E.164 (`+4930123456201`), an internal extension (`201`),
 * or anything else (`*51`, `anonymous`), kept as given without visual separators.
 */
export type NormalisedNumber =
  | { readonly kind: 'e164'; readonly value: string }
  | { readonly kind: 'extension'; readonly value: string }
  | { readonly kind: 'unknown'; readonly value: string };

/** What the B2BUA knows about a call when it decides; numbers are raw header/URI strings. */
export interface CallFacts {
  /** `inbound`: from the trunk toward the PBX; `outbound`: from the PBX toward the trunk. */
  readonly direction: 'inbound' | 'outbound';
  /** Request-URI user first, then To. */
  readonly calledNumbers: readonly string[];
  /** P-Asserted-Identity first, then From. */
  readonly callingNumbers: readonly string[];
}

/** Whether a configured member is currently logged in to a group (the database answers). */
export interface MembershipView {
  isActive(groupId: string, userId: string): boolean;
}

/** Which rule recorded the call. */
export type MatchKind =
  'group-number' | 'user-number' | 'active-member-direct' | 'active-member-caller' | 'recorded-user-caller';

/** The rule, group/user and normalised number that made a profile record a call. */
export interface DecisionMatch {
  readonly kind: MatchKind;
  readonly groupId?: string;
  readonly userId?: string;
  /** The matched number, normalised (`+4930123456500`, `201`). */
  readonly number: string;
}

/** The outcome of `decide`, with a one-sentence reason for the call's log line. */
export type Decision =
  | { readonly record: true; readonly profileId: string; readonly reason: string; readonly matched: DecisionMatch }
  | { readonly record: false; readonly reason: string };
