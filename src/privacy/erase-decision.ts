import type { RecordingRecord } from '../store/index.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** What decides whether a recording may be erased: its catalogue row, as far as it matters. */
export type ErasureFacts = Pick<RecordingRecord, 'id' | 'state' | 'start' | 'hold' | 'statutory' | 'retentionDays'>;

/** How erasure was asked for. */
export interface ErasureRequest {
  /** The time the statutory retention is judged at. */
  readonly now: Date;
  /** `--force`: erase also inside a statutory retention (never under a legal hold). */
  readonly force: boolean;
  /** `--reason`: required with `force`. */
  readonly reason?: string;
}

/** The verdict for one recording. */
export type ErasureDecision =
  | {
      readonly erase: true;
      /** Erased inside its statutory retention by `--force --reason`; until when it was to be kept. */
      readonly forcedUntil?: string;
    }
  | {
      readonly erase: false;
      /** Why not, one sentence for the admin. */
      readonly why: string;
      /** `hold`, `unsealed` or `statutory`. */
      readonly rule: 'hold' | 'unsealed' | 'statutory';
    };

/**
 * Whether erasure (GDPR Art. 17) may delete this recording, in this order:
 *  1. under legal hold → refused, also with `--force`: a hold is placed for a legal claim
 *     (Art. 17(3)(e)) and only `callrec recordings release` lifts it;
 *  2. not sealed yet (`recording`, `finalizing`) → refused: erase it once it is sealed;
 *  3. statutory retention (`statutory`) whose end (start + `retentionDays`; none given: kept
 *     indefinitely) is after `now` → refused (Art. 17(3)(b), a legal obligation), unless
 *     `force` with a non-empty `reason`;
 *  4. otherwise erased.
 */
export function decideErasure(recording: ErasureFacts, request: ErasureRequest): ErasureDecision {
  if (recording.hold !== null) {
    const { since, by, reason } = recording.hold;
    return {
      erase: false,
      rule: 'hold',
      why: `under legal hold since ${since} by ${by} (${reason}); a legal hold wins over --force: release it first with "callrec recordings release ${recording.id}"`,
    };
  }
  if (recording.state === 'recording' || recording.state === 'finalizing') {
    return {
      erase: false,
      rule: 'unsealed',
      why: `still ${recording.state === 'recording' ? 'being recorded' : 'being finalised'}; erase it once it is sealed`,
    };
  }
  if (recording.statutory) {
    const until = statutoryEnd(recording);
    if (until === undefined || until.getTime() > request.now.getTime()) {
      const untilText = until === undefined ? 'indefinitely (no retentionDays)' : `until ${until.toISOString()}`;
      if (request.force && (request.reason ?? '').trim() !== '') {
        return { erase: true, forcedUntil: until?.toISOString() ?? 'indefinitely' };
      }
      return {
        erase: false,
        rule: 'statutory',
        why: `kept by law (statutory retention) ${untilText}; erase it early only with --force --reason <text>`,
      };
    }
  }
  return { erase: true };
}

/** Start + `retentionDays`; `undefined` when the recording has no retention period (kept indefinitely). */
export function statutoryEnd(recording: Pick<RecordingRecord, 'start' | 'retentionDays'>): Date | undefined {
  if (recording.retentionDays === null) return undefined;
  return new Date(Date.parse(recording.start) + recording.retentionDays * DAY_MS);
}
