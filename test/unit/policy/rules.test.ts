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
  type MembershipView,
  type PolicyInput,
  type PolicyProfile,
} from '../../../src/policy/index.js';
import { repoRoot } from '../../support/paths.js';
import {
  ALICE,
  BOB,
  GROUP,
  EXTERNAL,
  profile,
  policyWith,
  deepFreeze,
  loggedOut,
  inbound,
  outbound,
  trading,
  tradingDirect,
  bobOnly,
} from './rules-fixtures.js';

// The composition root passes the loaded config itself: CallrecConfig must stay assignable.
type AssertAssignable<Target, Source extends Target> = Source;
export type ConfigIsPolicyInput = AssertAssignable<PolicyInput, CallrecConfig>;
export type ProfileIsPolicyProfile = AssertAssignable<PolicyProfile, CallrecConfig['profiles'][number]>;

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
