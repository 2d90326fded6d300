import { createNumberNormaliser, describeNumber, numberKey, type NumberNormaliser } from './numbering.js';
import type {
  CallFacts,
  Decision,
  DecisionMatch,
  MembershipView,
  NormalisedNumber,
  PolicyGroup,
  PolicyInput,
  PolicyProfile,
  PolicyUser,
} from './policy-types.js';

/** The default membership view: every configured member of a group is logged in. */
export const allMembersActive: MembershipView = Object.freeze({ isActive: (): boolean => true });

/**
 * Decides whether a call is recorded and by which profile (SPEC §3). Pure: the result depends
 * only on the arguments. Profiles are tried in order, disabled ones skipped; the first that
 * matches records the call, so a call is recorded at most once.
 *
 * Inbound (profile.inbound): a called number is a number of a recorded group (`group-number`),
 * a direct number or extension of a recorded user (`user-number`), or, with
 * `recordDirectCallsToActiveMembers`, the direct number of an active member of a recorded group
 * (`active-member-direct`). Called numbers are tried in order: Request-URI, then To.
 *
 * Outbound (profile.outbound): the caller is an active member of a recorded group
 * (`active-member-caller`) or an explicitly recorded user, logged in or not
 * (`recorded-user-caller`). The caller is the first calling number (P-Asserted-Identity, then
 * From) that is a configured user's number, extension or DID.
 *
 * `policy` is treated as immutable: what is derived from it is cached per object.
 */
export function decide(call: CallFacts, policy: PolicyInput, membership: MembershipView = allMembersActive): Decision {
  const compiled = compile(policy);
  return call.direction === 'inbound'
    ? decideInbound(call, policy, compiled, membership)
    : decideOutbound(call, policy, compiled, membership);
}

// ---------------------------------------------------------------------------------------------
// Derived lookups, built once per policy object

interface Owners {
  readonly groups: readonly PolicyGroup[];
  readonly users: readonly PolicyUser[];
}

interface CompiledPolicy {
  readonly normaliser: NumberNormaliser;
  readonly groupsById: ReadonlyMap<string, PolicyGroup>;
  /** Groups and users a number (or any of its aliases) belongs to, in config order. */
  owners(number: NormalisedNumber): Owners;
}

const compiledPolicies = new WeakMap<PolicyInput, CompiledPolicy>();

function compile(policy: PolicyInput): CompiledPolicy {
  const cached = compiledPolicies.get(policy);
  if (cached !== undefined) return cached;
  const normaliser = createNumberNormaliser(policy.numbering, policy.users);
  const groupKeys = new Map<string, Set<PolicyGroup>>();
  const userKeys = new Map<string, Set<PolicyUser>>();
  const add = <T>(index: Map<string, Set<T>>, key: string, owner: T): void => {
    const set = index.get(key);
    if (set === undefined) index.set(key, new Set([owner]));
    else set.add(owner);
  };
  for (const group of policy.groups) {
    for (const n of group.numbers) add(groupKeys, numberKey(normaliser.normalise(n)), group);
  }
  for (const user of policy.users) {
    for (const n of user.numbers) add(userKeys, numberKey(normaliser.normalise(n)), user);
    if (user.extension !== undefined) add(userKeys, numberKey({ kind: 'extension', value: user.extension }), user);
  }
  const owners = (number: NormalisedNumber): Owners => {
    if (number.kind === 'unknown') return { groups: [], users: [] };
    const keys = normaliser.aliases(number).map(numberKey);
    const groups = new Set(keys.flatMap((k) => [...(groupKeys.get(k) ?? [])]));
    const users = new Set(keys.flatMap((k) => [...(userKeys.get(k) ?? [])]));
    return { groups: policy.groups.filter((g) => groups.has(g)), users: policy.users.filter((u) => users.has(u)) };
  };
  const compiled: CompiledPolicy = {
    normaliser,
    groupsById: new Map(policy.groups.map((g) => [g.id, g])),
    owners,
  };
  compiledPolicies.set(policy, compiled);
  return compiled;
}

// ---------------------------------------------------------------------------------------------
// Inbound

/** A profile's verdict before its enabled/direction switches: a match, a near miss, or nothing. */
type ProfileMatch =
  | { readonly matched: DecisionMatch; readonly description: string }
  | { readonly matched?: undefined; readonly miss?: string };

interface CalledNumber {
  readonly number: NormalisedNumber;
  readonly owners: Owners;
}

function decideInbound(
  call: CallFacts,
  policy: PolicyInput,
  compiled: CompiledPolicy,
  membership: MembershipView,
): Decision {
  const called: CalledNumber[] = call.calledNumbers.map((raw) => {
    const number = compiled.normaliser.normalise(raw);
    return { number, owners: compiled.owners(number) };
  });
  return firstMatch(
    policy,
    'inbound',
    (profile) => matchInbound(profile, called, compiled, membership),
    () => {
      const numbers = [...new Set(called.map((c) => describeNumber(c.number)))];
      return `no enabled profile records inbound calls to ${numbers.length === 0 ? 'an unknown number' : numbers.join(' or ')}`;
    },
  );
}

function matchInbound(
  profile: PolicyProfile,
  called: readonly CalledNumber[],
  compiled: CompiledPolicy,
  membership: MembershipView,
): ProfileMatch {
  let miss: string | undefined;
  for (const { number, owners } of called) {
    const to = `inbound call to ${describeNumber(number)}`;
    const group = owners.groups.find((g) => profile.groups.includes(g.id));
    if (group !== undefined) {
      return {
        matched: { kind: 'group-number', groupId: group.id, number: number.value },
        description: `${to} of recorded group "${group.id}"`,
      };
    }
    const user = owners.users.find((u) => profile.users.includes(u.id));
    if (user !== undefined) {
      return {
        matched: { kind: 'user-number', userId: user.id, number: number.value },
        description: `${to} of recorded user "${user.id}"`,
      };
    }
    for (const member of owners.users) {
      for (const recorded of recordedGroupsOf(member, profile, compiled)) {
        const of = `${to} of user "${member.id}", a member of recorded group "${recorded.id}"`;
        if (!profile.recordDirectCallsToActiveMembers) {
          miss ??= `profile "${profile.id}": ${of}, is not recorded because recordDirectCallsToActiveMembers is off`;
        } else if (membership.isActive(recorded.id, member.id)) {
          return {
            matched: { kind: 'active-member-direct', groupId: recorded.id, userId: member.id, number: number.value },
            description: `${to} of user "${member.id}", an active member of recorded group "${recorded.id}"`,
          };
        } else {
          miss ??= `profile "${profile.id}": ${of}, is not recorded because "${member.id}" is logged out of the group`;
        }
      }
    }
  }
  return miss === undefined ? {} : { miss };
}

// ---------------------------------------------------------------------------------------------
// Outbound

interface Caller {
  readonly number: NormalisedNumber;
  readonly users: readonly PolicyUser[];
}

function decideOutbound(
  call: CallFacts,
  policy: PolicyInput,
  compiled: CompiledPolicy,
  membership: MembershipView,
): Decision {
  const numbers = call.callingNumbers.map((raw) => compiled.normaliser.normalise(raw));
  let caller: Caller | undefined;
  for (const number of numbers) {
    const { users } = compiled.owners(number);
    if (users.length > 0) {
      caller = { number, users };
      break;
    }
  }
  if (caller === undefined) {
    const first = numbers[0];
    const from = first === undefined ? 'an unknown caller' : describeNumber(first);
    return {
      record: false,
      reason: `no enabled profile records outbound calls from ${from}: it is no number or extension of a configured user`,
    };
  }
  const identified = caller;
  return firstMatch(
    policy,
    'outbound',
    (profile) => matchOutbound(profile, identified, compiled, membership),
    () => {
      const who = identified.users.map((u) => `user "${u.id}"`).join(' or ');
      return `no enabled profile records outbound calls from ${who} (${describeNumber(identified.number)})`;
    },
  );
}

function matchOutbound(
  profile: PolicyProfile,
  caller: Caller,
  compiled: CompiledPolicy,
  membership: MembershipView,
): ProfileMatch {
  const from = `outbound call from ${describeNumber(caller.number)}`;
  let miss: string | undefined;
  for (const user of caller.users) {
    for (const recorded of recordedGroupsOf(user, profile, compiled)) {
      if (membership.isActive(recorded.id, user.id)) {
        return {
          matched: { kind: 'active-member-caller', groupId: recorded.id, userId: user.id, number: caller.number.value },
          description: `${from} of user "${user.id}", an active member of recorded group "${recorded.id}"`,
        };
      }
      miss ??= `profile "${profile.id}": caller "${user.id}" (${describeNumber(caller.number)}) is a member of recorded group "${recorded.id}" but logged out`;
    }
    if (profile.users.includes(user.id)) {
      return {
        matched: { kind: 'recorded-user-caller', userId: user.id, number: caller.number.value },
        description: `${from} of recorded user "${user.id}"`,
      };
    }
  }
  return miss === undefined ? {} : { miss };
}

// ---------------------------------------------------------------------------------------------
// Shared

/** Profiles in order: the first enabled one for `direction` that matches records the call. */
function firstMatch(
  policy: PolicyInput,
  direction: 'inbound' | 'outbound',
  match: (profile: PolicyProfile) => ProfileMatch,
  nothing: () => string,
): Decision {
  const misses: string[] = [];
  for (const profile of policy.profiles) {
    const outcome = match(profile);
    const switchedOn = direction === 'inbound' ? profile.inbound : profile.outbound;
    if (outcome.matched !== undefined) {
      if (profile.enabled && switchedOn) {
        return {
          record: true,
          profileId: profile.id,
          reason: `profile "${profile.id}": ${outcome.description}`,
          matched: outcome.matched,
        };
      }
      const why = profile.enabled ? `does not record ${direction} calls` : 'is disabled';
      misses.push(`profile "${profile.id}" would record the ${outcome.description} but ${why}`);
    } else if (outcome.miss !== undefined && profile.enabled && switchedOn) {
      misses.push(outcome.miss);
    }
  }
  return { record: false, reason: misses.length > 0 ? misses.join('; ') : nothing() };
}

/** The profile's recorded groups that list `user` as a member, in the profile's order. */
function recordedGroupsOf(user: PolicyUser, profile: PolicyProfile, compiled: CompiledPolicy): PolicyGroup[] {
  return profile.groups.flatMap((id) => {
    const group = compiled.groupsById.get(id);
    return group !== undefined && group.members.includes(user.id) ? [group] : [];
  });
}
