import { DigitSequence, type DtmfDigit } from '../media/index.js';
import type { TimerHandle } from '../sip/index.js';
import type { PauseCodes } from './announcement-plan.js';
import type { CallContext, LegName } from './call-context.js';
import type { CallMediaPort, RecordingAction } from './call-media-port.js';
import { consentEvidence, optOutAfterConnect, type ConsentEvidence, type ConsentRules } from './consent.js';

/** An opt-out key still accepted after the announcement (legal basis `opt-out`). */
export interface OptOutWindow {
  readonly rules: ConsentRules;
  /** The evidence so far (outcome `announced`); the opt-out replaces it. */
  readonly evidence: ConsentEvidence;
  /** How long after now the key still counts. */
  readonly windowMs: number;
  /** The key came in time: the session stops (or never starts) the recording. */
  readonly onOptOut: (evidence: ConsentEvidence) => void;
}

export interface RecordingControlInit {
  readonly context: CallContext;
  /** The call's id, for log lines. */
  readonly callId: string;
  readonly port: CallMediaPort;
  /** The recorded (internal) party's leg, whose keys pause: the callee inbound, the caller outbound. */
  readonly recordedLeg: LegName;
  readonly pauseCodes: PauseCodes | undefined;
  readonly optOut: OptOutWindow | undefined;
}

/**
 * Control of a connected call's recording (SPEC §4): the recorded party's pause and resume codes
 * (RFC 4733 keys and SIP INFO), callrec's API (`pause` / `resume`), and a late opt-out key from
 * the caller. Keys are matched and forgotten — never stored or logged.
 */
export class RecordingControl {
  readonly #init: RecordingControlInit;
  readonly #codes: DigitSequence<RecordingAction> | undefined;
  readonly #stops: Array<() => void> = [];
  #optOutTimer: TimerHandle | undefined;
  #optOut: OptOutWindow | undefined;
  #stopped = false;

  constructor(init: RecordingControlInit) {
    this.#init = init;
    const codes = init.pauseCodes;
    this.#codes =
      codes === undefined
        ? undefined
        : new DigitSequence<RecordingAction>({
            codes: new Map([
              [codes.pauseCode, 'pause'],
              [codes.resumeCode, 'resume'],
            ]),
            now: () => init.context.clock.now(),
          });
    this.#optOut = init.optOut;
    for (const leg of ['a', 'b'] as const) {
      const pauses = this.#codes !== undefined && leg === init.recordedLeg;
      const optsOut = this.#optOut !== undefined && leg === 'a';
      if (pauses || optsOut) this.#stops.push(init.port.onDigit(leg, (key) => this.onKey(leg, key)));
    }
    if (this.#optOut !== undefined)
      this.#optOutTimer = init.context.clock.setTimer(() => this.#closeOptOut(), this.#optOut.windowMs);
  }

  /** A key from leg `leg` (its RTP, or an INFO in its dialog). */
  onKey(leg: LegName, key: DtmfDigit): void {
    if (this.#stopped) return;
    const optOut = this.#optOut;
    if (leg === 'a' && optOut !== undefined && optOutAfterConnect(optOut.rules, key, 0)) {
      this.#closeOptOut();
      const evidence = consentEvidence(
        optOut.rules,
        { outcome: 'opted-out', key },
        new Date(),
        optOut.evidence.announcement,
      );
      this.#init.context.logger.info(
        { call: this.#init.callId, legalBasis: 'opt-out', outcome: 'opted-out', key },
        'caller opted out of the recording',
      );
      optOut.onOptOut(evidence);
      return;
    }
    if (leg !== this.#init.recordedLeg) return;
    const action = this.#codes?.push(key);
    if (action !== undefined) this.control(action, 'dtmf');
  }

  /** Pauses or resumes the recording; true when it is now in that state. */
  control(action: RecordingAction, by: string): boolean {
    if (this.#stopped) return false;
    return this.#init.port.controlRecording(action, by);
  }

  /** The call ended; idempotent. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#closeOptOut();
    for (const stop of this.#stops.splice(0)) stop();
  }

  #closeOptOut(): void {
    this.#optOut = undefined;
    if (this.#optOutTimer !== undefined) this.#init.context.clock.clearTimer(this.#optOutTimer);
    this.#optOutTimer = undefined;
  }
}
