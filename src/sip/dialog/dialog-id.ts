import type { SipRequest, SipResponse } from '../message/index.js';

/**
 * A dialog ID (RFC 3261 §12): Call-ID, local tag and remote tag, from this UA's point of view.
 * A missing tag (RFC 2543 peers) is the empty string: "the tag is considered to have a value of
 * null" (§12.1.1, §12.1.2).
 */
export interface DialogId {
  readonly callId: string;
  readonly localTag: string;
  readonly remoteTag: string;
}

/** A Map key for a dialog ID. */
export function dialogKey(id: DialogId): string {
  return `${id.callId}\u0000${id.localTag}\u0000${id.remoteTag}`;
}

/** Whether two IDs denote the same dialog (Call-ID and tags compare case-sensitively). */
export function sameDialogId(a: DialogId, b: DialogId): boolean {
  return a.callId === b.callId && a.localTag === b.localTag && a.remoteTag === b.remoteTag;
}

/**
 * The ID of the dialog an incoming request belongs to (§12.2.2): local tag = To tag, remote tag =
 * From tag. Undefined when the To tag is absent (the request is outside any dialog).
 */
export function dialogIdOfRequest(request: SipRequest): DialogId | undefined {
  const localTag = request.to.params.get('tag');
  if (localTag === undefined || localTag === null) return undefined;
  return { callId: request.callId, localTag, remoteTag: request.from.params.get('tag') ?? '' };
}

/**
 * The ID of the dialog a response to one of our requests belongs to (§12.1.2): local tag = From
 * tag, remote tag = To tag ('' for a tagless RFC 2543 response). Undefined without a From tag,
 * which this UA always sets.
 */
export function dialogIdOfResponse(response: SipResponse): DialogId | undefined {
  const localTag = response.from.params.get('tag');
  if (localTag === undefined || localTag === null) return undefined;
  return { callId: response.callId, localTag, remoteTag: response.to.params.get('tag') ?? '' };
}
