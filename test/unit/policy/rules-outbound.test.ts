/**
 * The recording decision (SPEC §3, issue 4), outbound rows of the decision matrix:
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
import { describe, it } from 'node:test';
import {
  ALICE,
  BOB,
  GROUP,
  EXTERNAL,
  profile,
  loggedOut,
  outbound,
  trading,
  tradingDirect,
  bobOnly,
  carolOnly,
  type Case,
  assertCase,
} from './rules-fixtures.js';

const cases: Case[] = [
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
    it(c.name, () => assertCase(c));
  }
});
