/**
 * The recording decision (SPEC §3, issue 4), as a table over the decision matrix:
 *  - profiles are evaluated in order, disabled ones skipped, the first match records, a call is
 *    recorded at most once;
 *  - inbound: a called number is a recorded group's number or a recorded user's number (direct
 *    number, extension, company DID); with recordDirectCallsToActiveMembers also the direct
 *    number of an active member of a recorded group;
 *  - outbound: the caller is an active member of a recorded group or an explicitly recorded user
 *    (logged in or not); the caller is identified by P-Asserted-Identity before From;
 *  - the inbound / outbound / enabled / recordDirectCallsToActiveMembers switches, each on and off;
 *  - numbers in every format; unknown numbers are never recorded.
 * Users, groups and numbering are those of config/callrec.example.json, plus carol (no group).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig, type CallrecConfig } from '../../../src/config/index.js';
import {
  allMembersActive,
  decide,
  type CallFacts,
  type MatchKind,
  type MembershipView,
  type PolicyInput,
  type PolicyProfile,
} from '../../../src/policy/index.js';
import { repoRoot } from '../../support/paths.js';

// The composition root passes the loaded config itself: CallrecConfig must stay assignable.
type AssertAssignable<Target, Source extends Target> = Source;
export type ConfigIsPolicyInput = AssertAssignable<PolicyInput, CallrecConfig>;
export type ProfileIsPolicyProfile = AssertAssignable<PolicyProfile, CallrecConfig['profiles'][number]>;

const ALICE = '+4930123456201';
const BOB = '+4930123456202';
const GROUP = '+4930123456500';
const EXTERNAL = '+4930999';

function profile(id: string, settings: Partial<Omit<PolicyProfile, 'id'>> = {}): PolicyProfile {
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

function policyWith(profiles: readonly PolicyProfile[]): PolicyInput {
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

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}

/** Members listed as `group/user` are logged out; everyone else is logged in. */
function loggedOut(...pairs: string[]): MembershipView {
  return { isActive: (group, user) => !pairs.includes(`${group}/${user}`) };
}

const inbound = (...calledNumbers: string[]): CallFacts => ({
  direction: 'inbound',
  calledNumbers,
  callingNumbers: ['+4989555123'],
});
const outbound = (...callingNumbers: string[]): CallFacts => ({
  direction: 'outbound',
  calledNumbers: ['+4989555123'],
  callingNumbers,
});

// Profiles used across the table.
const trading = profile('trading', { groups: ['trading'] });
const tradingDirect = profile('trading', { groups: ['trading'], recordDirectCallsToActiveMembers: true });
const bobOnly = profile('bob-only', { users: ['bob'] });
const carolOnly = profile('carol-only', { users: ['carol'] });

interface Recorded {
  readonly profileId: string;
  readonly kind: MatchKind;
  readonly groupId?: string;
  readonly userId?: string;
  readonly number: string;
  /** The exact reason, where the case pins it. */
  readonly reason?: string;
}

interface Case {
  readonly name: string;
  readonly profiles: readonly PolicyProfile[];
  readonly call: CallFacts;
  readonly membership?: MembershipView;
  /** A match, or a pattern the reason of "not recorded" must match. */
  readonly expect: Recorded | RegExp;
}

const cases: Case[] = [
  // --- inbound: group number -------------------------------------------------------------------
  {
    name: 'inbound to the group number records with the group profile',
    profiles: [trading],
    call: inbound(GROUP),
    expect: {
      profileId: 'trading',
      kind: 'group-number',
      groupId: 'trading',
      number: GROUP,
      reason: 'profile "trading": inbound call to number +4930123456500 of recorded group "trading"',
    },
  },
  {
    name: 'inbound to the group number as 0049… records',
    profiles: [trading],
    call: inbound('004930123456500'),
    expect: { profileId: 'trading', kind: 'group-number', groupId: 'trading', number: GROUP },
  },
  {
    name: 'inbound to the group number as 030… records',
    profiles: [trading],
    call: inbound('030123456500'),
    expect: { profileId: 'trading', kind: 'group-number', groupId: 'trading', number: GROUP },
  },
  {
    name: 'inbound to the group number as a local number records',
    profiles: [trading],
    call: inbound('123456500'),
    expect: { profileId: 'trading', kind: 'group-number', groupId: 'trading', number: GROUP },
  },
  {
    name: 'inbound to the group number as its DID suffix (extension form) records',
    profiles: [trading],
    call: inbound('500'),
    expect: {
      profileId: 'trading',
      kind: 'group-number',
      groupId: 'trading',
      number: '500',
      reason: 'profile "trading": inbound call to extension 500 of recorded group "trading"',
    },
  },
  {
    name: 'inbound to the group number as tel: with separators records',
    profiles: [trading],
    call: inbound('tel:+49-30-123456-500'),
    expect: { profileId: 'trading', kind: 'group-number', groupId: 'trading', number: GROUP },
  },
  {
    name: 'inbound to the group number as a whole sip: URI with user=phone records',
    profiles: [trading],
    call: inbound('sip:+4930123456500@203.0.113.10;user=phone'),
    expect: { profileId: 'trading', kind: 'group-number', groupId: 'trading', number: GROUP },
  },
  {
    name: 'inbound to the group number given only in To (Request-URI unknown) records',
    profiles: [trading],
    call: inbound('sip:callrec@203.0.113.10', '<sip:+49 (30) 123456-500@trunk>'),
    expect: { profileId: 'trading', kind: 'group-number', groupId: 'trading', number: GROUP },
  },
  {
    name: 'inbound to the group number is not recorded when the profile does not list the group',
    profiles: [bobOnly],
    call: inbound(GROUP),
    expect: /^no enabled profile records inbound calls to number \+4930123456500$/,
  },

  // --- inbound: recorded user's number ----------------------------------------------------------
  {
    name: "inbound to a recorded user's direct number records",
    profiles: [bobOnly],
    call: inbound(BOB),
    expect: {
      profileId: 'bob-only',
      kind: 'user-number',
      userId: 'bob',
      number: BOB,
      reason: 'profile "bob-only": inbound call to number +4930123456202 of recorded user "bob"',
    },
  },
  {
    name: "inbound to a recorded user's extension records",
    profiles: [bobOnly],
    call: inbound('sip:202@10.0.0.5'),
    expect: { profileId: 'bob-only', kind: 'user-number', userId: 'bob', number: '202' },
  },
  {
    name: "inbound to a recorded user's company DID records even without configured numbers",
    profiles: [carolOnly],
    call: inbound('030 123456-203'),
    expect: { profileId: 'carol-only', kind: 'user-number', userId: 'carol', number: '+4930123456203' },
  },
  {
    name: "inbound to a recorded user's number records even when the user is logged out of a group",
    profiles: [profile('both', { groups: ['trading'], users: ['bob'] })],
    call: inbound(BOB),
    membership: loggedOut('trading/bob'),
    expect: { profileId: 'both', kind: 'user-number', userId: 'bob', number: BOB },
  },
  {
    name: "inbound to another user's number is not recorded by a user profile",
    profiles: [bobOnly],
    call: inbound(ALICE),
    expect: /^no enabled profile records inbound calls to number \+4930123456201$/,
  },

  // --- inbound: direct number of an active member (recordDirectCallsToActiveMembers) ------------
  {
    name: 'inbound to the direct number of an active member records with the option on',
    profiles: [tradingDirect],
    call: inbound(ALICE),
    expect: {
      profileId: 'trading',
      kind: 'active-member-direct',
      groupId: 'trading',
      userId: 'alice',
      number: ALICE,
      reason:
        'profile "trading": inbound call to number +4930123456201 of user "alice", an active member of recorded group "trading"',
    },
  },
  {
    name: 'inbound to the extension of an active member records with the option on',
    profiles: [tradingDirect],
    call: inbound('201'),
    expect: { profileId: 'trading', kind: 'active-member-direct', groupId: 'trading', userId: 'alice', number: '201' },
  },
  {
    name: 'inbound to the direct number of a member is not recorded with the option off',
    profiles: [trading],
    call: inbound(ALICE),
    expect:
      /^profile "trading": inbound call to number \+4930123456201 of user "alice", a member of recorded group "trading", is not recorded because recordDirectCallsToActiveMembers is off$/,
  },
  {
    name: 'inbound to the direct number of a logged-out member is not recorded with the option on',
    profiles: [tradingDirect],
    call: inbound(ALICE),
    membership: loggedOut('trading/alice'),
    expect: /^profile "trading": .*user "alice", a member of recorded group "trading", .*"alice" is logged out/,
  },
  {
    name: 'inbound to an active member records while another member is logged out',
    profiles: [tradingDirect],
    call: inbound(ALICE),
    membership: loggedOut('trading/bob'),
    expect: { profileId: 'trading', kind: 'active-member-direct', groupId: 'trading', userId: 'alice', number: ALICE },
  },
  {
    name: 'inbound to the group number records even when every member is logged out',
    profiles: [tradingDirect],
    call: inbound(GROUP),
    membership: loggedOut('trading/alice', 'trading/bob'),
    expect: { profileId: 'trading', kind: 'group-number', groupId: 'trading', number: GROUP },
  },
  {
    name: 'inbound to a user who is no member of a recorded group is not recorded with the option on',
    profiles: [tradingDirect],
    call: inbound('+4930123456203'),
    expect: /^no enabled profile records inbound calls to number \+4930123456203$/,
  },

  // --- inbound switch, enabled switch -----------------------------------------------------------
  {
    name: 'inbound to the group number is not recorded when the profile has inbound off',
    profiles: [profile('trading', { groups: ['trading'], inbound: false })],
    call: inbound(GROUP),
    expect:
      /^profile "trading" would record the inbound call to number \+4930123456500 of recorded group "trading" but does not record inbound calls$/,
  },
  {
    name: 'inbound to the group number is not recorded when the profile is disabled',
    profiles: [profile('trading', { groups: ['trading'], enabled: false })],
    call: inbound(GROUP),
    expect: /^profile "trading" would record the inbound call .* but is disabled$/,
  },
  {
    name: 'inbound with outbound off still records',
    profiles: [profile('trading', { groups: ['trading'], outbound: false })],
    call: inbound(GROUP),
    expect: { profileId: 'trading', kind: 'group-number', groupId: 'trading', number: GROUP },
  },

  // --- inbound: ordering and first match ---------------------------------------------------------
  {
    name: 'an inbound call matching two profiles records with the first only',
    profiles: [tradingDirect, bobOnly],
    call: inbound(BOB),
    expect: { profileId: 'trading', kind: 'active-member-direct', groupId: 'trading', userId: 'bob', number: BOB },
  },
  {
    name: 'the same call with the profiles swapped records with the other one',
    profiles: [bobOnly, tradingDirect],
    call: inbound(BOB),
    expect: { profileId: 'bob-only', kind: 'user-number', userId: 'bob', number: BOB },
  },
  {
    name: 'a disabled first profile is skipped and the next match records',
    profiles: [profile('off', { groups: ['trading'], enabled: false }), profile('on', { groups: ['trading'] })],
    call: inbound(GROUP),
    expect: { profileId: 'on', kind: 'group-number', groupId: 'trading', number: GROUP },
  },
  {
    name: 'a first profile with inbound off is skipped and the next match records',
    profiles: [profile('out-only', { groups: ['trading'], inbound: false }), bobOnly],
    call: inbound(BOB),
    expect: { profileId: 'bob-only', kind: 'user-number', userId: 'bob', number: BOB },
  },
  {
    name: 'a member logged out for the first profile still records with a later user profile',
    profiles: [tradingDirect, bobOnly],
    call: inbound(BOB),
    membership: loggedOut('trading/bob'),
    expect: { profileId: 'bob-only', kind: 'user-number', userId: 'bob', number: BOB },
  },
  {
    name: 'the Request-URI is tried before To',
    profiles: [profile('mixed', { groups: ['trading'], users: ['bob'] })],
    call: inbound(BOB, GROUP),
    expect: { profileId: 'mixed', kind: 'user-number', userId: 'bob', number: BOB },
  },

  // --- inbound: unknown numbers -----------------------------------------------------------------
  {
    name: 'inbound to an unknown number is not recorded',
    profiles: [tradingDirect, bobOnly],
    call: inbound(EXTERNAL),
    expect: /^no enabled profile records inbound calls to number \+4930999$/,
  },
  {
    name: 'inbound to a feature code is not recorded',
    profiles: [tradingDirect],
    call: inbound('sip:*51@10.0.0.5'),
    expect: /^no enabled profile records inbound calls to unknown number "\*51"$/,
  },
  {
    name: 'inbound without called numbers is not recorded',
    profiles: [tradingDirect],
    call: inbound(),
    expect: /^no enabled profile records inbound calls to an unknown number$/,
  },
  {
    name: 'inbound is not recorded when there are no profiles',
    profiles: [],
    call: inbound(GROUP),
    expect: /^no enabled profile records inbound calls/,
  },
  {
    name: 'the calling number does not matter for an inbound call',
    profiles: [trading],
    call: { direction: 'inbound', calledNumbers: [EXTERNAL], callingNumbers: [ALICE, GROUP] },
    expect: /^no enabled profile records inbound calls to number \+4930999$/,
  },

  // --- outbound: active member of a recorded group ----------------------------------------------
  {
    name: 'outbound from an active member (extension) records',
    profiles: [trading],
    call: outbound('201'),
    expect: {
      profileId: 'trading',
      kind: 'active-member-caller',
      groupId: 'trading',
      userId: 'alice',
      number: '201',
      reason:
        'profile "trading": outbound call from extension 201 of user "alice", an active member of recorded group "trading"',
    },
  },
  {
    name: 'outbound from an active member as a sip: URI records',
    profiles: [trading],
    call: outbound('"Alice" <sip:201@10.0.0.5>;tag=x'),
    expect: { profileId: 'trading', kind: 'active-member-caller', groupId: 'trading', userId: 'alice', number: '201' },
  },
  {
    name: 'outbound from an active member as E.164 records',
    profiles: [trading],
    call: outbound(ALICE),
    expect: { profileId: 'trading', kind: 'active-member-caller', groupId: 'trading', userId: 'alice', number: ALICE },
  },
  {
    name: 'outbound from an active member as 0049… records',
    profiles: [trading],
    call: outbound('004930123456201'),
    expect: { profileId: 'trading', kind: 'active-member-caller', groupId: 'trading', userId: 'alice', number: ALICE },
  },
  {
    name: 'outbound from an active member as 030… records',
    profiles: [trading],
    call: outbound('030123456201'),
    expect: { profileId: 'trading', kind: 'active-member-caller', groupId: 'trading', userId: 'alice', number: ALICE },
  },
  {
    name: 'outbound from an active member as a local number records',
    profiles: [trading],
    call: outbound('123456201'),
    expect: { profileId: 'trading', kind: 'active-member-caller', groupId: 'trading', userId: 'alice', number: ALICE },
  },
  {
    name: 'outbound from an active member as tel: with separators records',
    profiles: [trading],
    call: outbound('tel:+49 (30) 123456-201'),
    expect: { profileId: 'trading', kind: 'active-member-caller', groupId: 'trading', userId: 'alice', number: ALICE },
  },
  {
    name: 'outbound from a logged-out member is not recorded',
    profiles: [trading],
    call: outbound('201'),
    membership: loggedOut('trading/alice'),
    expect:
      /^profile "trading": caller "alice" \(extension 201\) is a member of recorded group "trading" but logged out$/,
  },
  {
    name: 'outbound from a logged-out member who is also an explicitly recorded user records',
    profiles: [profile('both', { groups: ['trading'], users: ['bob'] })],
    call: outbound('202'),
    membership: loggedOut('trading/bob'),
    expect: {
      profileId: 'both',
      kind: 'recorded-user-caller',
      userId: 'bob',
      number: '202',
      reason: 'profile "both": outbound call from extension 202 of recorded user "bob"',
    },
  },
  {
    name: 'outbound from a member records with recordDirectCallsToActiveMembers off',
    profiles: [trading],
    call: outbound('202'),
    expect: { profileId: 'trading', kind: 'active-member-caller', groupId: 'trading', userId: 'bob', number: '202' },
  },
  {
    name: 'outbound from a member records with recordDirectCallsToActiveMembers on',
    profiles: [tradingDirect],
    call: outbound('202'),
    expect: { profileId: 'trading', kind: 'active-member-caller', groupId: 'trading', userId: 'bob', number: '202' },
  },
  {
    name: 'outbound from a user who is no member of a recorded group is not recorded',
    profiles: [trading],
    call: outbound('203'),
    expect: /^no enabled profile records outbound calls from user "carol" \(extension 203\)$/,
  },

  // --- outbound: explicitly recorded user ---------------------------------------------------------
  {
    name: 'outbound from an explicitly recorded user records',
    profiles: [bobOnly],
    call: outbound(BOB),
    expect: { profileId: 'bob-only', kind: 'recorded-user-caller', userId: 'bob', number: BOB },
  },
  {
    name: 'outbound from an explicitly recorded user records even when logged out of every group',
    profiles: [bobOnly],
    call: outbound('202'),
    membership: { isActive: () => false },
    expect: { profileId: 'bob-only', kind: 'recorded-user-caller', userId: 'bob', number: '202' },
  },
  {
    name: 'outbound from an explicitly recorded user by company DID records',
    profiles: [carolOnly],
    call: outbound('+4930123456203'),
    expect: { profileId: 'carol-only', kind: 'recorded-user-caller', userId: 'carol', number: '+4930123456203' },
  },

  // --- outbound switch, enabled switch ----------------------------------------------------------
  {
    name: 'outbound from an active member is not recorded when the profile has outbound off',
    profiles: [profile('trading', { groups: ['trading'], outbound: false })],
    call: outbound('201'),
    expect:
      /^profile "trading" would record the outbound call from extension 201 of user "alice", an active member of recorded group "trading" but does not record outbound calls$/,
  },
  {
    name: 'outbound from an explicitly recorded user is not recorded when the profile is disabled',
    profiles: [profile('bob-only', { users: ['bob'], enabled: false })],
    call: outbound('202'),
    expect: /^profile "bob-only" would record the outbound call .* but is disabled$/,
  },
  {
    name: 'outbound with inbound off still records',
    profiles: [profile('trading', { groups: ['trading'], inbound: false })],
    call: outbound('201'),
    expect: { profileId: 'trading', kind: 'active-member-caller', groupId: 'trading', userId: 'alice', number: '201' },
  },

  // --- outbound: ordering and first match --------------------------------------------------------
  {
    name: 'an outbound call matching two profiles records with the first only',
    profiles: [bobOnly, trading],
    call: outbound('202'),
    expect: { profileId: 'bob-only', kind: 'recorded-user-caller', userId: 'bob', number: '202' },
  },
  {
    name: 'the same outbound call with the profiles swapped records with the other one',
    profiles: [trading, bobOnly],
    call: outbound('202'),
    expect: { profileId: 'trading', kind: 'active-member-caller', groupId: 'trading', userId: 'bob', number: '202' },
  },
  {
    name: 'a logged-out member is recorded by a later profile that records the user explicitly',
    profiles: [trading, bobOnly],
    call: outbound('202'),
    membership: loggedOut('trading/bob'),
    expect: { profileId: 'bob-only', kind: 'recorded-user-caller', userId: 'bob', number: '202' },
  },
  {
    name: 'a disabled first profile is skipped for outbound calls',
    profiles: [profile('off', { users: ['bob'], enabled: false }), trading],
    call: outbound('202'),
    expect: { profileId: 'trading', kind: 'active-member-caller', groupId: 'trading', userId: 'bob', number: '202' },
  },

  // --- outbound: P-Asserted-Identity before From, unknown callers -------------------------------
  {
    name: 'P-Asserted-Identity is preferred over From',
    profiles: [profile('alice-only', { users: ['alice'] })],
    call: outbound('<sip:+4930123456202@10.0.0.5>', 'sip:201@10.0.0.5'),
    expect: /^no enabled profile records outbound calls from user "bob" \(number \+4930123456202\)$/,
  },
  {
    name: 'P-Asserted-Identity identifies the recorded caller even when From names another user',
    profiles: [bobOnly],
    call: outbound('sip:+4930123456202@10.0.0.5', 'sip:201@10.0.0.5'),
    expect: { profileId: 'bob-only', kind: 'recorded-user-caller', userId: 'bob', number: BOB },
  },
  {
    name: 'From identifies the caller when P-Asserted-Identity is the company main number',
    profiles: [trading],
    call: outbound('sip:+4930123456@trunk', 'sip:201@10.0.0.5'),
    expect: { profileId: 'trading', kind: 'active-member-caller', groupId: 'trading', userId: 'alice', number: '201' },
  },
  {
    name: 'From identifies the caller when P-Asserted-Identity is anonymous',
    profiles: [trading],
    call: outbound('sip:anonymous@anonymous.invalid', 'tel:+49-30-123456-202'),
    expect: { profileId: 'trading', kind: 'active-member-caller', groupId: 'trading', userId: 'bob', number: BOB },
  },
  {
    name: 'outbound from an unknown number is not recorded',
    profiles: [trading, bobOnly],
    call: outbound(EXTERNAL),
    expect:
      /^no enabled profile records outbound calls from number \+4930999: it is no number or extension of a configured user$/,
  },
  {
    name: 'outbound from the group number is not recorded (a group is no caller)',
    profiles: [trading],
    call: outbound(GROUP),
    expect: /^no enabled profile records outbound calls from number \+4930123456500/,
  },
  {
    name: 'outbound without calling numbers is not recorded',
    profiles: [trading],
    call: outbound(),
    expect: /^no enabled profile records outbound calls from an unknown caller/,
  },
  {
    name: 'the called number does not matter for an outbound call',
    profiles: [trading],
    call: { direction: 'outbound', calledNumbers: [GROUP, ALICE], callingNumbers: [EXTERNAL] },
    expect: /^no enabled profile records outbound calls from number \+4930999/,
  },
];

describe('decide: the decision matrix', () => {
  for (const c of cases) {
    it(c.name, () => {
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
    });
  }
});

describe('decide: properties', () => {
  it('treats every configured member as active by default', () => {
    const decision = decide(inbound(ALICE), policyWith([tradingDirect]));
    assert.equal(decision.record, true);
  });

  it('asks the membership view only about configured members of recorded groups', () => {
    const asked: string[] = [];
    const view: MembershipView = {
      isActive: (group, user) => {
        asked.push(`${group}/${user}`);
        return true;
      },
    };
    decide(outbound('203'), policyWith([trading]), view);
    decide(outbound('201'), policyWith([bobOnly]), view);
    decide(inbound(ALICE), policyWith([trading]), view);
    assert.deepEqual(asked, []);
    decide(outbound('201'), policyWith([trading]), view);
    assert.deepEqual(asked, ['trading/alice']);
  });

  it('gives the same decision for the same input and leaves the input untouched', () => {
    const policy = policyWith([tradingDirect, bobOnly]);
    const call = deepFreeze(inbound('030 123456-202', GROUP));
    const first = decide(call, policy, loggedOut('trading/bob'));
    const second = decide(call, policy, loggedOut('trading/bob'));
    assert.deepEqual(first, second);
    assert.deepEqual(decide(call, policyWith([tradingDirect, bobOnly]), loggedOut('trading/bob')), first);
  });

  it('names every near miss in the reason when nothing records', () => {
    const decision = decide(
      inbound(BOB),
      policyWith([tradingDirect, profile('service-quality', { users: ['bob'], enabled: false })]),
      loggedOut('trading/bob'),
    );
    assert.equal(decision.record, false);
    assert.equal(
      decision.reason,
      'profile "trading": inbound call to number +4930123456202 of user "bob", a member of recorded group "trading", ' +
        'is not recorded because "bob" is logged out of the group; ' +
        'profile "service-quality" would record the inbound call to number +4930123456202 of recorded user "bob" but is disabled',
    );
  });

  it('matches a number that is both a group number and a user number as the group number first', () => {
    const policy = deepFreeze({
      ...policyWith([profile('both', { groups: ['trading'], users: ['alice'] })]),
      groups: [{ id: 'trading', numbers: [ALICE], members: ['alice'] }],
    });
    const decision = decide(inbound(ALICE), policy);
    assert.ok(decision.record);
    assert.equal(decision.matched.kind, 'group-number');
  });
});

describe('decide with the example config', () => {
  async function exampleConfig(): Promise<CallrecConfig> {
    const path = join(repoRoot, 'config', 'callrec.example.json');
    const result = await loadConfig(path);
    if (!result.ok) assert.fail(JSON.stringify(result.errors));
    return result.config;
  }

  it('takes the loaded config as the policy', async () => {
    const config = await exampleConfig();
    const rows: Array<[CallFacts, MembershipView, string | undefined]> = [
      [inbound(GROUP), allMembersActive, 'trading'],
      [inbound('030123456202'), allMembersActive, 'trading'],
      [inbound('030123456202'), loggedOut('trading/bob'), undefined],
      [outbound('sip:201@10.0.0.5'), allMembersActive, 'trading'],
      [outbound('sip:201@10.0.0.5'), loggedOut('trading/alice'), undefined],
      [outbound(EXTERNAL), allMembersActive, undefined],
    ];
    for (const [call, membership, profileId] of rows) {
      const decision = decide(call, config, membership);
      assert.equal(decision.record ? decision.profileId : undefined, profileId, decision.reason);
    }
  });

  it('explains that the disabled service-quality profile would record bob', async () => {
    const decision = decide(inbound(BOB), await exampleConfig(), loggedOut('trading/bob'));
    assert.equal(decision.record, false);
    assert.match(decision.reason, /profile "service-quality" would record .* but is disabled/);
  });
});
