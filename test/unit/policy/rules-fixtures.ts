/**
 * Shared fixtures for the recording-decision tests (SPEC §3, issue 4): the users, groups and numbering
 * of config/callrec.example.json plus carol (no group), call builders, profiles and the matrix check.
 */
import assert from 'node:assert/strict';
import {
  allMembersActive,
  decide,
  type CallFacts,
  type MatchKind,
  type MembershipView,
  type PolicyInput,
  type PolicyProfile,
} from '../../../src/policy/index.js';

export const ALICE = '+4930123456201';
export const BOB = '+4930123456202';
export const GROUP = '+4930123456500';
export const EXTERNAL = '+4930999';

export function profile(id: string, settings: Partial<Omit<PolicyProfile, 'id'>> = {}): PolicyProfile {
  return {
    id,
    enabled: true,
    groups: [],
    users: [],
    inbound: true,
    outbound: true,
    recordDirectCallsToActiveMembers: false,
    ...settings,
  };
}

export function policyWith(profiles: readonly PolicyProfile[]): PolicyInput {
  return deepFreeze({
    numbering: {
      countryCode: '49',
      areaCode: '30',
      internationalPrefix: '00',
      nationalPrefix: '0',
      companyNumber: '+4930123456',
    },
    users: [
      { id: 'alice', name: 'Alice Example', extension: '201', numbers: [ALICE] },
      { id: 'bob', name: 'Bob Example', extension: '202', numbers: [BOB] },
      { id: 'carol', extension: '203', numbers: [] },
    ],
    groups: [{ id: 'trading', numbers: [GROUP], members: ['alice', 'bob'] }],
    profiles,
  });
}

export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}

/** Members listed as `group/user` are logged out; everyone else is logged in. */
export function loggedOut(...pairs: string[]): MembershipView {
  return { isActive: (group, user) => !pairs.includes(`${group}/${user}`) };
}

export const inbound = (...calledNumbers: string[]): CallFacts => ({
  direction: 'inbound',
  calledNumbers,
  callingNumbers: ['+4989555123'],
});
export const outbound = (...callingNumbers: string[]): CallFacts => ({
  direction: 'outbound',
  calledNumbers: ['+4989555123'],
  callingNumbers,
});

// Profiles used across the table.
export const trading = profile('trading', { groups: ['trading'] });
export const tradingDirect = profile('trading', { groups: ['trading'], recordDirectCallsToActiveMembers: true });
export const bobOnly = profile('bob-only', { users: ['bob'] });
export const carolOnly = profile('carol-only', { users: ['carol'] });

export interface Recorded {
  readonly profileId: string;
  readonly kind: MatchKind;
  readonly groupId?: string;
  readonly userId?: string;
  readonly number: string;
  /** The exact reason, where the case pins it. */
  readonly reason?: string;
}

export interface Case {
  readonly name: string;
  readonly profiles: readonly PolicyProfile[];
  readonly call: CallFacts;
  readonly membership?: MembershipView;
  /** A match, or a pattern the reason of "not recorded" must match. */
  readonly expect: Recorded | RegExp;
}

/** Checks one row of the decision matrix against decide(). */
export function assertCase(c: Case): void {
  const decision = decide(c.call, policyWith(c.profiles), c.membership ?? allMembersActive);
  if (c.expect instanceof RegExp) {
    assert.equal(decision.record, false, `expected not recorded, got ${JSON.stringify(decision)}`);
    assert.match(decision.reason, c.expect);
    return;
  }
  const { reason, ...expected } = c.expect;
  assert.ok(decision.record, `expected recorded, got: ${decision.reason}`);
  assert.equal(decision.profileId, expected.profileId);
  assert.deepEqual(decision.matched, {
    kind: expected.kind,
    ...(expected.groupId === undefined ? {} : { groupId: expected.groupId }),
    ...(expected.userId === undefined ? {} : { userId: expected.userId }),
    number: expected.number,
  });
  assert.ok(decision.reason.startsWith(`profile "${expected.profileId}": `), decision.reason);
  assert.ok(decision.reason.includes(expected.number), decision.reason);
  if (reason !== undefined) assert.equal(decision.reason, reason);
}
