import type { SipResponse, ViaSentBy } from '../sip/index.js';
import { rehostParty } from './rehost-party.js';

const REASONS_FOR_503 = 'SIP;cause=503;text="callee side unavailable"';

/** The caller's final response for a callee's failure, and why the call then ends. */
export interface FailureToCaller {
  readonly status: number;
  readonly reason: string;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /** Why the call ends; `undefined` for a digest challenge (401/407), which the caller may answer. */
  readonly endReason: string | undefined;
}

/**
 * How a final failure (3xx–6xx) of the callee's INVITE is relayed to the caller: a challenge as
 * is, redirect targets through callrec, a 503 as 500, anything else as is. `carried` are the
 * response's header fields the header policy carries; `local` is callrec's sent-by toward the caller.
 */
export function failureToCaller(
  response: SipResponse,
  carried: ReadonlyArray<readonly [string, string]>,
  local: ViaSentBy,
): FailureToCaller {
  const status = response.status;
  if (status === 401 || status === 407) {
    return { status, reason: response.reason, headers: carried, endReason: undefined };
  }
  if (status >= 300 && status < 400) {
    // Redirect targets are relayed through callrec, never as the far side's addresses
    const contacts = response.contact.flatMap((c) =>
      c.wildcard === true ? [] : [rehostParty(c, local.host, local.port)],
    );
    return {
      status,
      reason: response.reason,
      headers: [...carried, ...contacts.map((c) => ['Contact', c] as const)],
      endReason: 'redirected',
    };
  }
  if (status === 503) {
    // Overload of the far side is not ours to propagate (cf. RFC 3261 §16.7 step 6)
    return {
      status: 500,
      reason: 'Callee Side Unavailable',
      headers: [...carried.filter(([n]) => n !== 'Retry-After'), ['Reason', REASONS_FOR_503]],
      endReason: 'callee side 503',
    };
  }
  return { status, reason: response.reason, headers: carried, endReason: 'rejected' };
}
