import { randomUUID } from 'node:crypto';
import type { Logger } from '../observability/index.js';
import type { Dialog, DialogLayer, IncomingRequest } from '../sip/index.js';
import { playOutcomeTone } from './announcement-tone.js';
import type { MediaAnchor } from './call-media-port.js';
import type { CallContext } from './call-context.js';
import type { CallFacts, CallPolicy, FeatureCodeAction } from './call-policy.js';
import { maskDigits } from './call-summary.js';
import { FeatureCodeCall } from './feature-code-call.js';

/** What {@link FeatureCodes} registers answered calls with and logs to. */
export interface FeatureCodesOptions {
  /** The B2BUA's dialog layer: an answered feature-code call's dialog is found through it. */
  readonly dialogs: DialogLayer;
  readonly logger: Logger;
  /** Log numbers unmasked. */
  readonly personalData: boolean;
}

/** One dialled feature code: what it does, for whom, and what callrec answers it with. */
export interface FeatureCodeDialled {
  readonly policy: CallPolicy;
  readonly action: FeatureCodeAction;
  readonly facts: CallFacts;
  readonly dialled: string;
  readonly context: CallContext;
  /** Media anchoring, for the confirmation tone; without it the call is answered silently. */
  readonly media?: MediaAnchor | undefined;
}

/** Group feature codes from the PBX side: answered by callrec, never sent to the trunk. */
export class FeatureCodes {
  readonly #options: FeatureCodesOptions;
  readonly #calls = new Map<Dialog, FeatureCodeCall>();

  constructor(options: FeatureCodesOptions) {
    this.#options = options;
  }

  /** The answered feature-code call a dialog belongs to, if any. */
  callOf(dialog: Dialog | undefined): FeatureCodeCall | undefined {
    return dialog === undefined ? undefined : this.#calls.get(dialog);
  }

  /** Applies the feature code through the policy and answers the INVITE with the outcome. */
  answer(incoming: IncomingRequest, code: FeatureCodeDialled): void {
    const { policy, action, facts, dialled, context } = code;
    incoming.respond(100);
    void policy
      .applyFeatureCode(action, facts.callingNumbers, dialled)
      .catch((error: unknown) => ({
        ok: false,
        message: `failed: ${error instanceof Error ? error.message : String(error)}`,
      }))
      .then(async (outcome) => {
        this.#options.logger.info(
          { action, ok: outcome.ok, outcome: maskDigits(outcome.message, this.#options.personalData) },
          'feature code',
        );
        const { logger } = this.#options;
        const tone = await playOutcomeTone({ incoming, outcome, media: code.media, id: randomUUID(), facts, logger });
        const answered: { dialog?: Dialog } = {};
        const call = new FeatureCodeCall(context, incoming, () => {
          if (answered.dialog !== undefined) this.#calls.delete(answered.dialog);
          tone?.close();
        });
        answered.dialog = call.answer(outcome, tone?.sdp);
        if (answered.dialog !== undefined) {
          this.#options.dialogs.add(answered.dialog);
          this.#calls.set(answered.dialog, call);
        }
      });
  }
}
