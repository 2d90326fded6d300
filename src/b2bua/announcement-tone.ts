import type { Logger } from '../observability/index.js';
import type { IncomingRequest } from '../sip/index.js';
import { CONFIRMATION_TONE } from './announcement-media.js';
import type { CallMediaPort, MediaAnchor } from './call-media-port.js';
import type { CallFacts, FeatureCodeOutcome } from './call-policy.js';
import type { CallSummary } from './call-summary.js';

/** A tone played in early media; `sdp` is callrec's answer (for the final 200), `close` frees the ports. */
export interface PlayedTone {
  readonly sdp: Buffer;
  close(): void;
}

export interface OutcomeToneOptions {
  readonly incoming: IncomingRequest;
  readonly outcome: FeatureCodeOutcome;
  readonly media: MediaAnchor | undefined;
  /** The feature-code call's id (log lines, the media's id). */
  readonly id: string;
  readonly facts: CallFacts;
  readonly logger: Logger;
}

/**
 * The confirmation tone of a feature code that worked (SPEC §3): 183 Session Progress with
 * callrec's SDP, then about half a second of tone to the caller; resolves once it has played.
 * A refused code gets its 403 at once (callers and test scenarios expect no early media before
 * it). Undefined (nothing sent) for a refusal, when the INVITE offered no audio callrec can play,
 * or without media anchoring. Never rejects: a failed tone leaves the call to its final response.
 */
export async function playOutcomeTone(options: OutcomeToneOptions): Promise<PlayedTone | undefined> {
  const { incoming, media } = options;
  if (!options.outcome.ok || media === undefined || incoming.request.body.length === 0) return undefined;
  let port: CallMediaPort | undefined;
  const startedAt = new Date();
  try {
    port = await media.open({
      id: options.id,
      direction: options.facts.direction,
      decision: { record: false, reason: 'feature code' },
      onMediaTimeout: () => undefined,
    });
    const answer = port.answerCaller(incoming.request.body);
    if (!answer.ok) throw new Error(answer.reason);
    incoming.respond(183, {
      reason: 'Session Progress',
      headers: [['Content-Type', 'application/sdp']],
      body: answer.body,
    });
    const playback = await port.playToCaller({ clip: CONFIRMATION_TONE });
    await playback.done;
    const opened = port;
    options.logger.debug({ call: options.id }, 'feature code tone played');
    return { sdp: answer.body, close: () => closeQuietly(opened, summaryOf(options, startedAt)) };
  } catch (error) {
    options.logger.debug({ call: options.id, err: error instanceof Error ? error.message : String(error) }, 'no tone');
    if (port !== undefined) closeQuietly(port, summaryOf(options, startedAt));
    return undefined;
  }
}

function closeQuietly(port: CallMediaPort, summary: CallSummary): void {
  try {
    port.close(summary);
  } catch {
    // the ports of a feature-code call: nothing to finish, nothing to report
  }
}

/** The CDR-shaped facts the media close wants (no recording, no callee). */
function summaryOf(options: OutcomeToneOptions, startedAt: Date): CallSummary {
  const request = options.incoming.request;
  return {
    id: options.id,
    direction: options.facts.direction,
    callIdA: request.callId,
    callIdB: '',
    facts: options.facts,
    callerName: undefined,
    calleeName: undefined,
    decision: { record: false, reason: 'feature code' },
    startedAt,
    answeredAt: undefined,
    endedAt: new Date(),
    endedBy: 'callrec',
    finalStatus: 200,
    endReason: 'feature code',
  };
}
