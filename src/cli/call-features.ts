import type { CallDirection, ConsentRules, RecordedCallFeatures } from '../b2bua/index.js';
import type { CallrecConfig, ProfileConfig } from '../config/index.js';

/** @default 603 Decline (RFC 3261 §21.6.2): the caller declined to be recorded. */
const DEFAULT_REJECT_STATUS = 603;

/** A profile's consent settings as the B2BUA applies them. */
export function consentRulesOf(profile: ProfileConfig): ConsentRules {
  const consent = profile.consent;
  const onRefusal: ConsentRules['onRefusal'] =
    consent.onRefusal === 'reject'
      ? { kind: 'reject', status: consent.rejectStatus ?? DEFAULT_REJECT_STATUS }
      : consent.onRefusal === 'route' && consent.routeTo !== undefined
        ? { kind: 'route', to: consent.routeTo }
        : { kind: 'connect-unrecorded' };
  return {
    legalBasis: consent.legalBasis,
    acceptKey: consent.acceptDigit,
    refuseKey: consent.refuseDigit,
    timeoutMs: consent.timeoutSeconds * 1000,
    onRefusal,
  };
}

/**
 * What a recorded call's profile asks of the call besides recording it (SPEC §2, §4): the
 * announcement of its direction with the consent rules (a stage also runs without a file when
 * consent or opt-out must be asked), and the pause/resume codes. Read from the config current at
 * the call's start; running calls keep what they started with.
 */
export function callFeaturesFor(
  config: () => CallrecConfig,
): (profileId: string, direction: CallDirection) => RecordedCallFeatures | undefined {
  return (profileId, direction) => {
    const profile = config().profiles.find((candidate) => candidate.id === profileId);
    if (profile === undefined) return undefined;
    const file = direction === 'inbound' ? profile.announcement.inbound : profile.announcement.outbound;
    const consent = consentRulesOf(profile);
    const staged = file !== undefined || consent.legalBasis !== 'obligation';
    return {
      ...(staged ? { announcement: { file, mode: profile.announcement.mode ?? 'early-media', consent } } : {}),
      ...(profile.pause === undefined ? {} : { pauseCodes: profile.pause }),
    };
  };
}
