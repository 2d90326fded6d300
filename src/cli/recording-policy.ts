import type { CallFacts, CallPolicy, FeatureCodeAction, FeatureCodeOutcome } from '../b2bua/index.js';
import type { CallrecConfig } from '../config/index.js';
import {
  admitRecordedCall,
  createNumberNormaliser,
  decide,
  describeNumber,
  type Membership,
  type RecorderHealth,
} from '../policy/index.js';

/** The policy plus what the call rows need: the parties' numbers normalised the same way. */
export interface RecordingPolicy extends CallPolicy {
  /** Normalised caller and callee for the protocol database; `null` when not a number. */
  parties(facts: CallFacts): { caller: string | null; callee: string | null };
}

/** SIP status for a recorded call refused because the recorder cannot take it (RFC 3261 §21.5.4). */
const RECORDING_UNAVAILABLE_STATUS = 503;

/**
 * The B2BUA's view of the recording policy, built from one loaded config (a reload builds a new
 * one; running calls keep the decision they got). Membership is shared across reloads: it is the
 * database's state, refreshed by the server when another process changes it. `health` tells
 * whether the recorder can take a call now; a profile with `onRecordingFailure: reject` refuses
 * calls while it cannot (SPEC §4).
 */
export function createRecordingPolicy(
  config: CallrecConfig,
  membership: Membership,
  health: () => RecorderHealth = () => ({ problems: [] }),
): RecordingPolicy {
  const normaliser = createNumberNormaliser(config.numbering, config.users);
  const codes = new Map<string, FeatureCodeAction>([
    [config.featureCodes.groupLogout, 'group-logout'],
    [config.featureCodes.groupLogin, 'group-login'],
  ]);

  /** The configured user a calling number belongs to: extension, direct number or company DID. */
  const callerUser = (callingNumbers: readonly string[]): CallrecConfig['users'][number] | undefined => {
    for (const raw of callingNumbers) {
      const user = config.users.find(
        (candidate) =>
          (candidate.extension !== undefined && normaliser.sameNumber(raw, candidate.extension)) ||
          candidate.numbers.some((number) => normaliser.sameNumber(raw, number)),
      );
      if (user !== undefined) return user;
    }
    return undefined;
  };

  const numberOf = (raw: string | undefined): string | null => {
    if (raw === undefined) return null;
    const number = normaliser.normalise(raw);
    return number.kind === 'unknown' ? null : number.value;
  };

  return {
    parties: (facts) => ({ caller: numberOf(facts.callingNumbers[0]), callee: numberOf(facts.calledNumbers[0]) }),

    decide: (facts) => {
      const decision = decide(facts, config, membership);
      if (!decision.record) return { record: false, reason: decision.reason };
      const profile = config.profiles.find((candidate) => candidate.id === decision.profileId);
      const admission = admitRecordedCall(profile?.onRecordingFailure ?? 'continue', health());
      if (admission.admit) return { record: true, profileId: decision.profileId, reason: decision.reason };
      return {
        record: false,
        reason: `${decision.reason}; refused: ${admission.reason}`,
        refuse: { profileId: decision.profileId, status: RECORDING_UNAVAILABLE_STATUS, text: admission.reason },
      };
    },

    featureCode: (dialled) => codes.get(decodeDialled(dialled)),

    async applyFeatureCode(action, callingNumbers): Promise<FeatureCodeOutcome> {
      const user = callerUser(callingNumbers);
      if (user === undefined) {
        const who =
          callingNumbers[0] === undefined ? 'unknown caller' : describeNumber(normaliser.normalise(callingNumbers[0]));
        return { ok: false, message: `${who} is not a configured user` };
      }
      const groups = membership.groupsOf(user.id);
      if (groups.length === 0) return { ok: false, message: `${user.id} is in no group` };
      const actor = `extension:${user.extension ?? user.numbers[0] ?? user.id}`;
      for (const group of groups) {
        if (action === 'group-logout') await membership.logout(group, user.id, actor);
        else await membership.login(group, user.id, actor);
      }
      const verb = action === 'group-logout' ? 'logged out of' : 'logged in to';
      return { ok: true, message: `${user.id} ${verb} ${groups.join(', ')}` };
    },
  };
}

/** `%2A51` and `*51` are the same dialled code (RFC 3261 §19.1.2 escaping in the user part). */
function decodeDialled(dialled: string): string {
  try {
    return decodeURIComponent(dialled);
  } catch {
    return dialled;
  }
}
