/**
 * The recording decision (SPEC §3, issue 4), inbound rows of the decision matrix:
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
  inbound,
  trading,
  tradingDirect,
  bobOnly,
  carolOnly,
  type Case,
  assertCase,
} from './rules-fixtures.js';

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
];

describe('decide: the decision matrix', () => {
  for (const c of cases) {
    it(c.name, () => assertCase(c));
  }
});
